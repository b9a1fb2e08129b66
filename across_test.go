package provisioning_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/appmembership"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/storage/storagetest"
	"github.com/provisionkit/provisioning/user"
)

// acrossWorld: ann owns A and B; C is a stranger's, where ann is nobody;
// D is the stranger's too, where ann is a member with a custom role that
// grants nothing (every member reads the memberships, not the versions,
// and only its own application memberships); E is the stranger's, where
// ann's membership requires a second factor. Every organization has
// pending invitations of addresses of one shape (a letter, two digits, one
// domain), interleaved across organizations.
type acrossWorld struct {
	e                 *env
	ann, stranger     *user.User
	a, b, c, d, eOrg  *organization.Organization
	annInD            *membership.Membership
	emails            map[string][]string // organization id → the emails of its memberships
	appA, appD, appD2 *appmembership.AppMembership
}

func newAcrossWorld(t *testing.T, e *env) *acrossWorld {
	t.Helper()
	ctx := context.Background()
	w := &acrossWorld{e: e, ann: e.user(t, "ann@example.com"), stranger: e.user(t, "stranger@example.com"), emails: map[string][]string{}}
	var aAdmin, dAdmin, eAdmin *role.Role
	var aRO, bRO, cRO, dRO *role.Role
	w.a, aAdmin, aRO = e.org(t, w.ann, "Alpha")
	w.b, _, bRO = e.org(t, w.ann, "Beta")
	w.c, _, cRO = e.org(t, w.stranger, "Gamma")
	w.d, dAdmin, dRO = e.org(t, w.stranger, "Delta")
	w.eOrg, eAdmin, _ = e.org(t, w.stranger, "Epsilon")
	ann, str := e.as(w.ann), e.as(w.stranger)
	nothing, err := str.CreateRole(ctx, role.Create{OrganizationID: w.d.ID, Name: "Nothing"})
	if err != nil {
		t.Fatal(err)
	}
	w.annInD = e.member(t, str, w.d.ID, w.ann, nothing.ID)
	annInE := e.member(t, str, w.eOrg.ID, w.ann, eAdmin.ID)
	yes := true
	if _, err := str.UpdateMembership(ctx, annInE.ID, membership.Update{MFARequired: &yes}); err != nil {
		t.Fatal(err)
	}
	orgs := []struct {
		s   *provisioning.Session
		org *organization.Organization
		ro  *role.Role
	}{{ann, w.a, aRO}, {ann, w.b, bRO}, {str, w.c, cRO}, {str, w.d, dRO}}
	for i := range 16 {
		o := orgs[(i*3)%4]
		email := fmt.Sprintf("m%02d@acme.test", (i*7)%16)
		if _, err := o.s.Invite(ctx, membership.Invite{OrganizationID: o.org.ID, UserEmail: email, RoleID: o.ro.ID}); err != nil {
			t.Fatal(err)
		}
		w.emails[o.org.ID] = append(w.emails[o.org.ID], email)
	}
	appA := newCred(t, ann, w.a.ID, "orders", "")
	appD := newCred(t, str, w.d.ID, "orders", "")
	appD2 := newCred(t, str, w.d.ID, "skus", "")
	if w.appA, err = ann.CreateAppMembership(ctx, appmembership.Create{OrganizationID: w.a.ID, CredentialID: appA.Credential.ID,
		MembershipID: w.a.OwnerMembershipID, RoleID: aAdmin.ID}); err != nil {
		t.Fatal(err)
	}
	if w.appD, err = str.CreateAppMembership(ctx, appmembership.Create{OrganizationID: w.d.ID, CredentialID: appD.Credential.ID,
		MembershipID: w.annInD.ID, RoleID: dAdmin.ID}); err != nil {
		t.Fatal(err)
	}
	if w.appD2, err = str.CreateAppMembership(ctx, appmembership.Create{OrganizationID: w.d.ID, CredentialID: appD2.Credential.ID,
		MembershipID: w.d.OwnerMembershipID, RoleID: dAdmin.ID}); err != nil {
		t.Fatal(err)
	}
	return w
}

// want returns the invited emails of orgs, sorted (as every backend sorts
// these).
func (w *acrossWorld) want(orgs ...*organization.Organization) []string {
	var out []string
	for _, o := range orgs {
		out = append(out, w.emails[o.ID]...)
	}
	slices.Sort(out)
	return out
}

// notMFA narrows to the organizations without E, whose rules refuse ann.
func (w *acrossWorld) notMFA() []string { return []string{w.a.ID, w.b.ID, w.c.ID, w.d.ID} }

var pendingOnly = []resource.Condition{{Fields: []string{"status"}, Op: resource.Eq, Values: []string{"pending"}}}

// TestListsAcrossOrganizations checks the facade's lists without an
// organization, on every backend: one order over the caller's
// organizations where it may read, pages and counts by the database, the
// others' items never, and the typed errors of one organization's list.
func TestListsAcrossOrganizations(t *testing.T) {
	ctx := context.Background()
	for name, open := range storagetest.Backends() {
		t.Run(name, func(t *testing.T) {
			w := newAcrossWorld(t, newEnvOn(t, open(t)))
			ann := w.e.as(w.ann)
			emailsOf := func(f membership.Filter) ([]string, int) {
				t.Helper()
				p, err := ann.ListMemberships(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, m := range p.Items {
					out = append(out, m.UserEmail)
				}
				return out, p.Total
			}
			// Paged by offset across A, B and D (ann reads memberships there; C is not hers).
			want := w.want(w.a, w.b, w.d)
			for _, size := range []int{1, 4, 7, 25} {
				var got []string
				for n := 0; n*size <= len(want); n++ {
					page, total := emailsOf(membership.Filter{OrganizationIDs: w.notMFA(), PageRequest: resource.PageRequest{Where: pendingOnly,
						Sort: []resource.SortKey{{Field: "user_email"}}, Offset: n * size, Limit: size, Count: true}})
					if total != len(want) {
						t.Errorf("by %d, page %d: total %d; want %d", size, n+1, total, len(want))
					}
					got = append(got, page...)
				}
				if !slices.Equal(got, want) {
					t.Errorf("by %d, the pages together: %v; want %v", size, got, want)
				}
			}
			got, _ := emailsOf(membership.Filter{OrganizationIDs: []string{w.c.ID, w.b.ID}, PageRequest: resource.PageRequest{Where: pendingOnly,
				Sort: []resource.SortKey{{Field: "user_email", Desc: true}}}})
			if wantB := w.want(w.b); !slices.Equal(got, reversedStrings(wantB)) {
				t.Errorf("B and C (not hers), descending: %v; want B's only, %v", got, reversedStrings(wantB))
			}

			// Versions: every member reads memberships, not versions: none of D's.
			vs, err := ann.ListVersions(ctx, audit.Filter{OrganizationIDs: w.notMFA(), PageRequest: resource.PageRequest{Limit: resource.MaxPageLimit, Count: true}})
			if err != nil {
				t.Fatal(err)
			}
			orgsOf := map[string]int{}
			for _, v := range vs.Items {
				orgsOf[v.OrganizationID]++
			}
			if orgsOf[w.a.ID] == 0 || orgsOf[w.b.ID] == 0 || len(orgsOf) != 2 {
				t.Errorf("versions across organizations, by organization: %v; want A's and B's only", orgsOf)
			}
			// Application memberships: all of A's (ann manages them), only her own of D's.
			apps, err := ann.ListAppMemberships(ctx, appmembership.Filter{OrganizationIDs: w.notMFA(), PageRequest: resource.PageRequest{Count: true}})
			if err != nil {
				t.Fatal(err)
			}
			if ids := appIDs(apps.Items); !slices.Equal(ids, []string{w.appA.ID, w.appD.ID}) || apps.Total != 2 {
				t.Errorf("application memberships across organizations: %v, total %d; want A's and ann's own of D, %v", ids, apps.Total, []string{w.appA.ID, w.appD.ID})
			}

			// E's rules refuse ann without a second factor: a list across all of hers says so.
			if _, err := ann.ListMemberships(ctx, membership.Filter{}); !errors.Is(err, fault.ErrMFARequired) {
				t.Errorf("across every organization of ann's, E's among them: %v; want fault.ErrMFARequired", err)
			}
			mfa := w.e.p.As(provisioning.Principal{Kind: access.KindUser, ID: w.ann.ID, MFA: true})
			all, err := mfa.ListMemberships(ctx, membership.Filter{PageRequest: resource.PageRequest{Where: pendingOnly, Count: true}})
			if err != nil || all.Total != len(w.want(w.a, w.b, w.d)) {
				t.Errorf("with a second factor, across every organization: total %d, %v; want %d", all.Total, err, len(w.want(w.a, w.b, w.d)))
			}

			// Removed from D: none of D's any more.
			if err := w.e.as(w.stranger).DeleteMembership(ctx, w.annInD.ID); err != nil {
				t.Fatal(err)
			}
			got, _ = emailsOf(membership.Filter{OrganizationIDs: w.notMFA(), PageRequest: resource.PageRequest{Where: pendingOnly, Sort: []resource.SortKey{{Field: "user_email"}}}})
			if want := w.want(w.a, w.b); !slices.Equal(got, want) {
				t.Errorf("after her removal from D: %v; want A's and B's, %v", got, want)
			}
		})
	}
}

// TestListsAcrossOrganizationsPrincipals checks who lists across
// organizations: a credential its own organization's, the system only the
// organizations it names, nobody without a principal; and the refusals of
// bad input, which change nothing.
func TestListsAcrossOrganizationsPrincipals(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	w := newAcrossWorld(t, e)
	ann := e.as(w.ann)
	bRO, err := e.store.Roles().RoleOfKind(ctx, w.b.ID, role.KindReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	cred := newCred(t, ann, w.b.ID, credential.Integration, bRO.ID)
	roles, err := e.p.As(provisioning.Credential(cred.Credential.ID)).ListRoles(ctx, role.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range roles.Items {
		if r.OrganizationID != w.b.ID {
			t.Errorf("a credential of B lists a role of %s", r.OrganizationID)
		}
	}
	if len(roles.Items) < 2 {
		t.Errorf("a credential of B lists %d roles; want B's", len(roles.Items))
	}
	system := e.p.System().As(provisioning.Principal{Kind: access.KindSystem, ID: "system"})
	ms, err := system.ListMemberships(ctx, membership.Filter{OrganizationIDs: []string{w.c.ID}, PageRequest: resource.PageRequest{Where: pendingOnly}})
	if err != nil || len(ms.Items) != len(w.emails[w.c.ID]) {
		t.Errorf("the system across C: %d items, %v; want C's %d", len(ms.Items), err, len(w.emails[w.c.ID]))
	}
	tests := []struct {
		name    string
		as      *provisioning.Session
		give    membership.Filter
		wantErr error
	}{
		{"no principal", e.p.As(provisioning.Principal{}), membership.Filter{}, fault.ErrUnauthenticated},
		{"the system, naming no organization", system, membership.Filter{}, fault.ErrForbidden},
		{"an organization and a set", ann, membership.Filter{OrganizationID: w.a.ID, OrganizationIDs: []string{w.b.ID}}, fault.ErrInvalid},
		{"the system, naming too many organizations", system, membership.Filter{OrganizationIDs: manyIDs(1001)}, fault.ErrInvalid},
		{"a malformed organization id", ann, membership.Filter{OrganizationIDs: []string{"not an id"}}, fault.ErrInvalid},
		{"a bad sort key", ann, membership.Filter{OrganizationIDs: w.notMFA(), PageRequest: resource.PageRequest{Sort: []resource.SortKey{{Field: "invitation_token_hash"}}}}, fault.ErrInvalid},
		{"a bad condition", ann, membership.Filter{OrganizationIDs: w.notMFA(), PageRequest: resource.PageRequest{Where: []resource.Condition{{Fields: []string{"password"}, Op: resource.Eq, Values: []string{"x"}}}}}, fault.ErrInvalid},
		{"a bad sort key, where nothing is readable", e.as(e.user(t, "nobody@example.com")), membership.Filter{PageRequest: resource.PageRequest{Sort: []resource.SortKey{{Field: "metadata"}}}}, fault.ErrInvalid},
		{"a bad status", ann, membership.Filter{OrganizationIDs: w.notMFA(), Status: "gone"}, fault.ErrInvalid},
	}
	for _, tt := range tests {
		_, err := tt.as.ListMemberships(ctx, tt.give)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: %v; want %v", tt.name, err, tt.wantErr)
		}
	}
	none, err := e.as(e.user(t, "nobody2@example.com")).ListMemberships(ctx, membership.Filter{PageRequest: resource.PageRequest{Count: true}})
	if err != nil || len(none.Items) != 0 || none.Total != 0 {
		t.Errorf("a user of no organization: %d items, total %d, %v; want none", len(none.Items), none.Total, err)
	}
}

func appIDs(items []appmembership.AppMembership) []string {
	out := []string{}
	for _, a := range items {
		out = append(out, a.ID)
	}
	slices.Sort(out)
	return out
}

func reversedStrings(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

// manyIDs returns n well-formed organization ids.
func manyIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("org%023d", i)
	}
	return out
}
