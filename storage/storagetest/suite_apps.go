package storagetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/appmembership"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/resource"
)

// appMembershipCases are the subtests of the application membership store.
var appMembershipCases = []testCase{
	{"RoundTrip", testAppRoundTrip},
	{"Taken", testAppTaken},
	{"Update", testAppUpdate},
	{"List", testAppList},
	{"Cascade", testAppCascade},
	{"Snapshot", testAppSnapshot},
}

// appFixture is a tenant with an orders app, a profile and a member.
type appFixture struct {
	tenant
	app     *credential.Credential
	member  *membership.Membership
	profile string
}

func (e *env) appFixture(t *testing.T) appFixture {
	t.Helper()
	tn := e.newTenant(t)
	app := e.newCredential(t, tn.org.ID, "", func(c *credential.Credential) { c.Kind = "orders" })
	pf := e.newProfile(t, tn.org.ID, access.LiveAccess)
	m := e.newMember(t, tn.org.ID, tn.admin.ID, activeFor(e.newUser(t)))
	return appFixture{tenant: tn, app: app, member: m, profile: pf.ID}
}

func (e *env) newApp(t *testing.T, f appFixture, mods ...func(*appmembership.AppMembership)) *appmembership.AppMembership {
	t.Helper()
	a := &appmembership.AppMembership{ID: e.id(), OrganizationID: f.org.ID, CredentialID: f.app.ID,
		MembershipID: f.member.ID, RoleID: f.admin.ID, Common: common()}
	for _, m := range mods {
		m(a)
	}
	must(t, e.s.AppMemberships().Create(t.Context(), a))
	return a
}

func testAppRoundTrip(t *testing.T, e *env) {
	f := e.appFixture(t)
	tests := []struct {
		name string
		mod  func(*appmembership.AppMembership)
	}{
		{"membership, filters", func(a *appmembership.AppMembership) {
			a.Filters = map[string]any{"market_id_in": []any{float64(202), float64(203)}}
			a.Reference, a.Metadata = "ext", richMetadata()
		}},
		{"profile, no filters", func(a *appmembership.AppMembership) { a.MembershipID, a.ProfileID = "", f.profile }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := e.newApp(t, f, tt.mod)
			got, err := e.s.AppMemberships().Get(t.Context(), want.ID)
			must(t, err)
			wantEqual(t, "Get", *got, *want)
		})
	}
	for _, id := range []string{"nosuchid", "Not An Id"} {
		if _, err := e.s.AppMemberships().Get(t.Context(), id); fault.KindOf(err) != fault.NotFound {
			t.Errorf("Get(%q): %v, want not found", id, err)
		}
	}
}

// testAppTaken: one application membership per (credential, holder).
func testAppTaken(t *testing.T, e *env) {
	f := e.appFixture(t)
	e.newApp(t, f)
	e.newApp(t, f, func(a *appmembership.AppMembership) { a.MembershipID, a.ProfileID = "", f.profile })
	for _, mod := range []func(*appmembership.AppMembership){
		func(*appmembership.AppMembership) {},
		func(a *appmembership.AppMembership) { a.MembershipID, a.ProfileID = "", f.profile },
	} {
		a := &appmembership.AppMembership{ID: e.id(), OrganizationID: f.org.ID, CredentialID: f.app.ID,
			MembershipID: f.member.ID, RoleID: f.admin.ID, Common: common()}
		mod(a)
		err := e.s.AppMemberships().Create(t.Context(), a)
		var fe *fault.Error
		if !errors.As(err, &fe) || fe.Kind != fault.Conflict || fe.Field != "api_credential" {
			t.Errorf("second application membership of a holder: %v, want a conflict on api_credential", err)
		}
	}
}

func testAppUpdate(t *testing.T, e *env) {
	f := e.appFixture(t)
	a := e.newApp(t, f, func(a *appmembership.AppMembership) { a.MembershipID, a.ProfileID = "", f.profile })
	other := e.newProfile(t, f.org.ID, access.AllAccess)
	a.ProfileID, a.Filters, a.Reference = other.ID, map[string]any{"name_eq": "x"}, "changed"
	must(t, e.s.AppMemberships().Update(t.Context(), a))
	got, err := e.s.AppMemberships().Get(t.Context(), a.ID)
	must(t, err)
	wantEqual(t, "after Update", *got, *a)
	gone := *a
	gone.ID = "nosuchid"
	if err := e.s.AppMemberships().Update(t.Context(), &gone); fault.KindOf(err) != fault.NotFound {
		t.Errorf("Update of a missing one: %v, want not found", err)
	}
}

func testAppList(t *testing.T, e *env) {
	f := e.appFixture(t)
	app2 := e.newCredential(t, f.org.ID, "", func(c *credential.Credential) { c.Kind = "skus" })
	m2 := e.newMember(t, f.org.ID, f.admin.ID, activeFor(e.newUser(t)))
	a1 := e.newApp(t, f)
	a2 := e.newApp(t, f, func(a *appmembership.AppMembership) { a.CredentialID = app2.ID })
	a3 := e.newApp(t, f, func(a *appmembership.AppMembership) { a.MembershipID, a.ProfileID = "", f.profile })
	a4 := e.newApp(t, f, func(a *appmembership.AppMembership) { a.MembershipID = m2.ID })
	e.newApp(t, e.appFixture(t)) // another organization's
	ids := func(f appmembership.Filter) []string {
		var out []string
		for {
			page, err := e.s.AppMemberships().List(t.Context(), f)
			must(t, err)
			for _, a := range page.Items {
				out = append(out, a.ID)
			}
			if page.Next == "" {
				return out
			}
			f.After = page.Next
		}
	}
	org := f.org.ID
	tests := []struct {
		name string
		give appmembership.Filter
		want []string
	}{
		{"all, a page of one at a time", appmembership.Filter{OrganizationID: org, PageRequest: resource.PageRequest{Limit: 1}}, []string{a1.ID, a2.ID, a3.ID, a4.ID}},
		{"by credential", appmembership.Filter{OrganizationID: org, CredentialID: app2.ID}, []string{a2.ID}},
		{"by membership", appmembership.Filter{OrganizationID: org, MembershipID: f.member.ID}, []string{a1.ID, a2.ID}},
		{"by profile", appmembership.Filter{OrganizationID: org, ProfileID: f.profile}, []string{a3.ID}},
		{"holder: a membership and its profile", appmembership.Filter{OrganizationID: org, Holder: &appmembership.Holder{MembershipID: m2.ID, ProfileID: f.profile}}, []string{a3.ID, a4.ID}},
		{"holder without a profile", appmembership.Filter{OrganizationID: org, Holder: &appmembership.Holder{MembershipID: m2.ID}}, []string{a4.ID}},
		{"holder and credential", appmembership.Filter{OrganizationID: org, CredentialID: app2.ID, Holder: &appmembership.Holder{MembershipID: m2.ID, ProfileID: f.profile}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ids(tt.give); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// testAppCascade: deleting a membership or a profile deletes their
// application memberships.
func testAppCascade(t *testing.T, e *env) {
	f := e.appFixture(t)
	byMember := e.newApp(t, f)
	byProfile := e.newApp(t, f, func(a *appmembership.AppMembership) { a.MembershipID, a.ProfileID = "", f.profile })
	must(t, e.s.Memberships().Delete(t.Context(), f.member.ID))
	must(t, e.s.Profiles().Delete(t.Context(), f.profile))
	for _, id := range []string{byMember.ID, byProfile.ID} {
		if _, err := e.s.AppMemberships().Get(t.Context(), id); fault.KindOf(err) != fault.NotFound {
			t.Errorf("Get(%s) after its holder went: %v, want not found", id, err)
		}
	}
}

// testAppSnapshot: the snapshot holds the application memberships that can
// grant: of a credential not revoked, held by an active membership (named
// by its user) or a profile.
func testAppSnapshot(t *testing.T, e *env) {
	f := e.appFixture(t)
	pending := e.newMember(t, f.org.ID, f.admin.ID)
	revoked := e.newCredential(t, f.org.ID, "", func(c *credential.Credential) { c.Kind = "skus" })
	byMember := e.newApp(t, f)
	byProfile := e.newApp(t, f, func(a *appmembership.AppMembership) { a.MembershipID, a.ProfileID = "", f.profile })
	e.newApp(t, f, func(a *appmembership.AppMembership) { a.MembershipID = pending.ID })
	e.newApp(t, f, func(a *appmembership.AppMembership) { a.CredentialID = revoked.ID })
	must(t, e.s.Credentials().Revoke(t.Context(), revoked.ID, t0))
	snap, err := e.s.Access().Snapshot(t.Context(), f.org.ID)
	must(t, err)
	want := []access.AppMembership{
		{ID: byMember.ID, CredentialID: f.app.ID, RoleID: f.admin.ID, UserID: f.member.UserID},
		{ID: byProfile.ID, CredentialID: f.app.ID, RoleID: f.admin.ID, ProfileID: f.profile},
	}
	wantEqual(t, "snapshot application memberships", snap.AppMemberships, want)
}
