package storagetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/appmembership"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/idp"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/profile"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

// acrossCases are the subtests of lists across organizations: one query
// over a set of organizations (OrganizationIDs), ordered, paged and
// counted by the database.
var acrossCases = []testCase{
	{"OrderAndPages", testAcrossOrderAndPages},
	{"EmptySet", testAcrossEmptySet},
	{"EveryList", testAcrossEveryList},
	{"AppMembershipHolders", testAcrossAppHolders},
}

// acrossFixture is three organizations, A, B and C, with twelve pending
// memberships spread over them, their emails in an order that is neither
// the ids' nor the organizations'. Every email has the same shape (a
// letter, two digits, one domain), so that every backend's collation
// orders them as Go orders bytes.
type acrossFixture struct {
	a, b, c tenant
	emails  map[string]string // membership id → email
	orgOf   map[string]string // membership id → organization id
}

func (e *env) acrossFixture(t *testing.T) acrossFixture {
	t.Helper()
	f := acrossFixture{a: e.newTenant(t), b: e.newTenant(t), c: e.newTenant(t), emails: map[string]string{}, orgOf: map[string]string{}}
	orgs := []tenant{f.a, f.b, f.c}
	for i := range 12 {
		tn := orgs[(i*7)%3]
		email := fmt.Sprintf("m%02d@acme.test", (i*5)%12)
		m := e.newMember(t, tn.org.ID, tn.admin.ID, func(m *membership.Membership) { m.UserEmail = email })
		f.emails[m.ID], f.orgOf[m.ID] = email, tn.org.ID
	}
	return f
}

// want returns the ids of the fixture's memberships in orgs, ordered by
// less, then by id.
func (f acrossFixture) want(orgs []string, less func(a, b string) int) []string {
	var ids []string
	for id, org := range f.orgOf {
		if slices.Contains(orgs, org) {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(x, y string) int {
		if d := less(f.emails[x], f.emails[y]); d != 0 {
			return d
		}
		return strings.Compare(x, y)
	})
	return ids
}

// testAcrossOrderAndPages: a list over organizations A and B is one order
// across both (sort keys, then id), paged by offset at every page size,
// counted whole, and never shows C's; without sort keys it pages by cursor
// in id order.
func testAcrossOrderAndPages(t *testing.T, e *env) {
	f := e.acrossFixture(t)
	set := []string{f.a.org.ID, f.b.org.ID}
	pending := []resource.Condition{cond(resource.Eq, "status", "pending")} // not the owners
	list := func(pr resource.PageRequest) (resource.Page[membership.Membership], error) {
		return e.s.Memberships().List(t.Context(), membership.Filter{OrganizationIDs: set, PageRequest: pr})
	}
	asc := strings.Compare
	desc := func(a, b string) int { return strings.Compare(b, a) }
	tests := []struct {
		name string
		sort []resource.SortKey
		want []string
	}{
		{"by email", []resource.SortKey{{Field: "user_email"}}, f.want(set, asc)},
		{"by email, descending", []resource.SortKey{{Field: "user_email", Desc: true}}, f.want(set, desc)},
		{"by status, a tie: then by id", []resource.SortKey{{Field: "status"}}, f.want(set, func(string, string) int { return 0 })},
	}
	for _, tt := range tests {
		if len(tt.want) != 8 {
			t.Fatalf("%s: the fixture has %d memberships in A and B; want 8", tt.name, len(tt.want))
		}
		for _, size := range []int{1, 3, 5, 8, 25} {
			var got []string
			pages := (len(tt.want) + size - 1) / size
			for n := range pages + 1 { // and one page past the end
				p, err := list(resource.PageRequest{Where: pending, Sort: tt.sort, Offset: n * size, Limit: size, Count: true})
				must(t, err)
				if wantLen := min(size, max(len(tt.want)-n*size, 0)); len(p.Items) != wantLen || p.Total != len(tt.want) || p.Next != "" {
					t.Errorf("%s by %d, page %d: %d items, total %d, next %q; want %d, %d, no cursor", tt.name, size, n+1, len(p.Items), p.Total, p.Next, wantLen, len(tt.want))
				}
				got = append(got, idsOf(p.Items, memberID)...)
			}
			wantEqual(t, fmt.Sprintf("%s by %d, the pages together", tt.name, size), got, tt.want)
		}
	}
	for _, limit := range []int{1, 4, 100} {
		ids, _ := walk(t, limit, func(pr resource.PageRequest) (resource.Page[membership.Membership], error) {
			pr.Where = pending
			return list(pr)
		}, memberID)
		wantEqual(t, fmt.Sprintf("by cursor, %d a page", limit), ids, f.want(set, func(string, string) int { return 0 }))
	}
	for _, tt := range []struct {
		name string
		give []string
		want []string
	}{
		{"one organization of the set", []string{f.b.org.ID}, f.want([]string{f.b.org.ID}, asc)},
		{"an organization twice", []string{f.c.org.ID, f.a.org.ID, f.c.org.ID}, f.want([]string{f.a.org.ID, f.c.org.ID}, asc)},
		{"an unknown organization", []string{e.id(), f.c.org.ID}, f.want([]string{f.c.org.ID}, asc)},
	} {
		p, err := e.s.Memberships().List(t.Context(), membership.Filter{OrganizationIDs: tt.give,
			PageRequest: resource.PageRequest{Where: pending, Sort: []resource.SortKey{{Field: "user_email"}}, Count: true}})
		must(t, err)
		wantEqual(t, tt.name, idsOf(p.Items, memberID), tt.want)
		wantEqual(t, tt.name+": total", p.Total, len(tt.want))
	}
	// OrganizationID, when set, is the list's one organization.
	p, err := e.s.Memberships().List(t.Context(), membership.Filter{OrganizationID: f.c.org.ID, OrganizationIDs: set,
		PageRequest: resource.PageRequest{Where: pending, Sort: []resource.SortKey{{Field: "user_email"}}}})
	must(t, err)
	wantEqual(t, "OrganizationID and a set", idsOf(p.Items, memberID), f.want([]string{f.c.org.ID}, asc))
}

// testAcrossEmptySet: no organization at all lists nothing (never every
// organization's), counts zero, and still refuses bad conditions and sort
// keys.
func testAcrossEmptySet(t *testing.T, e *env) {
	f := e.acrossFixture(t)
	for _, give := range [][]string{nil, {}} {
		p, err := e.s.Memberships().List(t.Context(), membership.Filter{OrganizationIDs: give,
			PageRequest: resource.PageRequest{Sort: []resource.SortKey{{Field: "user_email"}}, Count: true}})
		must(t, err)
		if len(p.Items) != 0 || p.Total != 0 || p.Next != "" {
			t.Errorf("organizations %#v: %d items, total %d, next %q; want none", give, len(p.Items), p.Total, p.Next)
		}
	}
	if p, err := e.s.Memberships().List(t.Context(), membership.Filter{OrganizationIDs: []string{f.a.org.ID}}); err != nil || len(p.Items) == 0 {
		t.Fatalf("the fixture's organization A lists %d memberships (%v); want some", len(p.Items), err)
	}
	for name, pr := range map[string]resource.PageRequest{
		"sort by an unknown attribute": {Sort: []resource.SortKey{{Field: "invitation_token_hash"}}},
		"sort by JSON":                 {Sort: []resource.SortKey{{Field: "metadata"}}},
		"a condition not allowed":      {Where: []resource.Condition{cond(resource.Eq, "invitation_token_hash", "x")}},
		"a time that is not one":       {Where: []resource.Condition{cond(resource.Gt, "created_at", "yesterday")}},
		"a negative offset":            {Offset: -1},
		"a malformed cursor":           {After: "%%%"},
	} {
		_, err := e.s.Memberships().List(t.Context(), membership.Filter{PageRequest: pr})
		wantIs(t, "no organization, "+name, err, fault.ErrInvalid)
	}
}

// acrossList is one store's list, by organization or across a set, as ids.
type acrossList struct {
	name string
	add  func(tn tenant)
	list func(one string, set []string, pr resource.PageRequest) ([]string, int, error)
}

// testAcrossEveryList: every list by organization also lists across a set
// of them: exactly the items of each organization's own list, in one id
// order, counted together; none for an empty set.
func testAcrossEveryList(t *testing.T, e *env) {
	ctx := t.Context()
	lists := []acrossList{
		{"memberships", func(tn tenant) { e.newMember(t, tn.org.ID, tn.admin.ID) },
			func(one string, set []string, pr resource.PageRequest) ([]string, int, error) {
				p, err := e.s.Memberships().List(ctx, membership.Filter{OrganizationID: one, OrganizationIDs: set, PageRequest: pr})
				return idsOf(p.Items, memberID), p.Total, err
			}},
		{"profiles", func(tn tenant) { e.newProfile(t, tn.org.ID, access.LiveAccess) },
			func(one string, set []string, pr resource.PageRequest) ([]string, int, error) {
				p, err := e.s.Profiles().List(ctx, profile.Filter{OrganizationID: one, OrganizationIDs: set, PageRequest: pr})
				return idsOf(p.Items, profileID), p.Total, err
			}},
		{"roles", func(tn tenant) { e.newRole(t, tn.org.ID, role.KindCustom) },
			func(one string, set []string, pr resource.PageRequest) ([]string, int, error) {
				p, err := e.s.Roles().ListRoles(ctx, role.Filter{OrganizationID: one, OrganizationIDs: set, PageRequest: pr})
				return idsOf(p.Items, roleID), p.Total, err
			}},
		{"permissions", func(tn tenant) { e.newPermission(t, tn.admin, "subject_"+e.id()) },
			func(one string, set []string, pr resource.PageRequest) ([]string, int, error) {
				p, err := e.s.Roles().ListPermissions(ctx, role.PermissionFilter{OrganizationID: one, OrganizationIDs: set, PageRequest: pr})
				return idsOf(p.Items, permissionID), p.Total, err
			}},
		{"credentials", func(tn tenant) {
			e.newCredential(t, tn.org.ID, tn.admin.ID)
			must(t, e.s.Credentials().Revoke(ctx, e.newCredential(t, tn.org.ID, tn.admin.ID).ID, t0)) // never listed
		}, func(one string, set []string, pr resource.PageRequest) ([]string, int, error) {
			p, err := e.s.Credentials().List(ctx, credential.Filter{OrganizationID: one, OrganizationIDs: set, PageRequest: pr})
			return idsOf(p.Items, credID), p.Total, err
		}},
		{"identity providers", func(tn tenant) { e.newProvider(t, tn.org.ID, tn.owner.ID) },
			func(one string, set []string, pr resource.PageRequest) ([]string, int, error) {
				p, err := e.s.IdentityProviders().List(ctx, idp.Filter{OrganizationID: one, OrganizationIDs: set, PageRequest: pr})
				return idsOf(p.Items, providerID), p.Total, err
			}},
		{"versions", func(tn tenant) { e.newVersion(t, tn.org.ID) },
			func(one string, set []string, pr resource.PageRequest) ([]string, int, error) {
				p, err := e.s.Versions().List(ctx, audit.Filter{OrganizationID: one, OrganizationIDs: set, PageRequest: pr})
				return idsOf(p.Items, func(v audit.Version) string { return v.ID }), p.Total, err
			}},
		{"application memberships", func(tn tenant) {
			app := e.newCredential(t, tn.org.ID, "")
			must(t, e.s.AppMemberships().Create(ctx, &appmembership.AppMembership{ID: e.id(), OrganizationID: tn.org.ID,
				CredentialID: app.ID, MembershipID: tn.om.ID, RoleID: tn.admin.ID, Common: common()}))
		}, func(one string, set []string, pr resource.PageRequest) ([]string, int, error) {
			p, err := e.s.AppMemberships().List(ctx, appmembership.Filter{OrganizationID: one, OrganizationIDs: set, PageRequest: pr})
			return idsOf(p.Items, func(a appmembership.AppMembership) string { return a.ID }), p.Total, err
		}},
	}
	for _, l := range lists {
		t.Run(l.name, func(t *testing.T) {
			a, b, c := e.newTenant(t), e.newTenant(t), e.newTenant(t)
			for _, tn := range []tenant{a, b, c, a, b, c} {
				l.add(tn)
			}
			all := resource.PageRequest{Limit: resource.MaxPageLimit, Count: true}
			var want []string
			for _, tn := range []tenant{a, b} {
				ids, total, err := l.list(tn.org.ID, nil, all)
				must(t, err)
				if len(ids) < 2 || total != len(ids) {
					t.Fatalf("organization %s lists %d items, total %d; want 2 at least", tn.org.ID, len(ids), total)
				}
				want = append(want, ids...)
			}
			slices.Sort(want)
			got, total, err := l.list("", []string{b.org.ID, a.org.ID}, all)
			must(t, err)
			wantEqual(t, "across A and B", got, want)
			wantEqual(t, "across A and B: total", total, len(want))
			got, _, err = l.list("", []string{b.org.ID, a.org.ID}, resource.PageRequest{Limit: 2, Offset: 1, Sort: []resource.SortKey{{Field: "id", Desc: true}}})
			must(t, err)
			wantEqual(t, "across A and B, by id descending, 2 from the second", got, []string{want[len(want)-2], want[len(want)-3]})
			got, total, err = l.list("", nil, all)
			must(t, err)
			if len(got) != 0 || total != 0 {
				t.Errorf("no organization: %v, total %d; want none", got, total)
			}
			_, _, err = l.list("", nil, resource.PageRequest{Sort: []resource.SortKey{{Field: "no_such_attribute"}}})
			wantIs(t, "no organization, a bad sort key", err, fault.ErrInvalid)
		})
	}
}

// testAcrossAppHolders: across organizations, an organization of Holders
// lists only its holder's application memberships (its membership's, its
// profile's, and never another organization's through the holder), the
// others all of theirs.
func testAcrossAppHolders(t *testing.T, e *env) {
	fa, fb := e.appFixture(t), e.appFixture(t)
	a1 := e.newApp(t, fa)
	b1 := e.newApp(t, fb)
	b2 := e.newApp(t, fb, func(a *appmembership.AppMembership) { a.MembershipID, a.ProfileID = "", fb.profile })
	b3 := e.newApp(t, fb, func(a *appmembership.AppMembership) { a.MembershipID = fb.om.ID })
	both, onlyB := []string{fa.org.ID, fb.org.ID}, []string{fb.org.ID}
	tests := []struct {
		name string
		set  []string
		give map[string]appmembership.Holder
		want []string
	}{
		{"no holder: all of both", both, nil, []string{a1.ID, b1.ID, b2.ID, b3.ID}},
		{"B held by a membership", both, map[string]appmembership.Holder{fb.org.ID: {MembershipID: fb.member.ID}}, []string{a1.ID, b1.ID}},
		{"B held by a membership and its profile", both, map[string]appmembership.Holder{fb.org.ID: {MembershipID: fb.member.ID, ProfileID: fb.profile}}, []string{a1.ID, b1.ID, b2.ID}},
		{"both held", both, map[string]appmembership.Holder{fa.org.ID: {MembershipID: fa.om.ID}, fb.org.ID: {MembershipID: fb.om.ID}}, []string{b3.ID}},
		{"B held by A's membership: none of A's", onlyB, map[string]appmembership.Holder{fb.org.ID: {MembershipID: fa.member.ID, ProfileID: fa.profile}}, []string{}},
		{"a holder of an organization outside the set", onlyB, map[string]appmembership.Holder{fa.org.ID: {MembershipID: fa.member.ID}}, []string{b1.ID, b2.ID, b3.ID}},
	}
	for _, tt := range tests {
		p, err := e.s.AppMemberships().List(t.Context(), appmembership.Filter{OrganizationIDs: tt.set, Holders: tt.give,
			PageRequest: resource.PageRequest{Count: true}})
		must(t, err)
		wantEqual(t, tt.name, idsOf(p.Items, func(a appmembership.AppMembership) string { return a.ID }), tt.want)
		wantEqual(t, tt.name+": total", p.Total, len(tt.want))
	}
}
