package storagetest

import (
	"net/netip"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/user"
)

// rulesCases are the subtests of the membership rules' columns: several
// roles, direct permissions, allowlists, guests, expiry, MFA and the
// default organization.
var rulesCases = []testCase{
	{"RoundTrip", testRulesRoundTrip},
	{"NullAndEmptyAllowlist", testRulesNullAndEmptyAllowlist},
	{"Update", testRulesUpdate},
	{"Snapshot", testRulesSnapshot},
	{"OrganizationMFA", testRulesOrganizationMFA},
	{"OrganizationNumber", testRulesOrganizationNumber},
	{"UserMFADisabled", testRulesUserMFADisabled},
	{"CredentialAllowlist", testRulesCredentialAllowlist},
	{"DefaultOrganization", testRulesDefaultOrganization},
	{"OldestActiveOrganization", testRulesOldestActive},
}

func prefixes(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(s))
	for i, v := range s {
		out[i] = netip.MustParsePrefix(v)
	}
	return out
}

// withRules gives a membership more roles and every rule field.
func withRules(extra ...string) func(*membership.Membership) {
	return func(m *membership.Membership) {
		m.RoleIDs = append([]string{m.RoleID}, extra...)
		m.Permissions = []string{"*:read", "orders:update"}
		m.AllowedIPs = prefixes("8.8.8.0/24", "2001:4860::/32")
		m.Guest, m.MFARequired = true, true
		m.ExpiresAt = t0.Add(48 * time.Hour).In(zone)
	}
}

// testRulesRoundTrip: every rule field comes back as written, in Get, by
// email, by user and in lists; the roles keep their order.
func testRulesRoundTrip(t *testing.T, e *env) {
	tn := e.newTenant(t)
	r2, r3 := e.newRole(t, tn.org.ID, role.KindCustom), e.newRole(t, tn.org.ID, role.KindReadOnly)
	u := e.newUser(t)
	m := e.newMember(t, tn.org.ID, tn.admin.ID, activeFor(u), withRules(r3.ID, r2.ID))
	got, err := e.s.Memberships().Get(t.Context(), m.ID)
	must(t, err)
	wantEqual(t, "RoleIDs", got.RoleIDs, []string{tn.admin.ID, r3.ID, r2.ID})
	wantEqual(t, "Permissions", got.Permissions, m.Permissions)
	wantEqual(t, "AllowedIPs", got.AllowedIPs, m.AllowedIPs)
	wantEqual(t, "Guest, MFARequired", [2]bool{got.Guest, got.MFARequired}, [2]bool{true, true})
	wantEqual(t, "ExpiresAt", got.ExpiresAt, t0.Add(48*time.Hour))
	byUser, err := e.s.Memberships().GetByUser(t.Context(), tn.org.ID, u.ID)
	must(t, err)
	wantEqual(t, "GetByUser", *byUser, *got)
	page, err := e.s.Memberships().List(t.Context(), membership.Filter{OrganizationID: tn.org.ID, UserID: u.ID})
	must(t, err)
	if len(page.Items) != 1 {
		t.Fatalf("List: %d items, want 1", len(page.Items))
	}
	wantEqual(t, "List", page.Items[0], *got)

	plain, err := e.s.Memberships().Get(t.Context(), tn.om.ID)
	must(t, err)
	if plain.Permissions != nil || plain.AllowedIPs != nil || plain.Guest || plain.MFARequired || !plain.ExpiresAt.IsZero() {
		t.Errorf("a membership without rules reads %+v", plain)
	}
	wantEqual(t, "RoleIDs without extra roles", plain.RoleIDs, []string{tn.admin.ID})
}

// testRulesNullAndEmptyAllowlist: a null allowlist (no restriction) and an
// empty one (no address at all) stay apart: one must never read as the other.
func testRulesNullAndEmptyAllowlist(t *testing.T, e *env) {
	tn := e.newTenant(t)
	null := e.newMember(t, tn.org.ID, tn.admin.ID)
	empty := e.newMember(t, tn.org.ID, tn.admin.ID, func(m *membership.Membership) { m.AllowedIPs = []netip.Prefix{} })
	got, err := e.s.Memberships().Get(t.Context(), null.ID)
	must(t, err)
	if got.AllowedIPs != nil {
		t.Errorf("null allowlist reads %v, want nil", got.AllowedIPs)
	}
	got, err = e.s.Memberships().Get(t.Context(), empty.ID)
	must(t, err)
	if got.AllowedIPs == nil || len(got.AllowedIPs) != 0 {
		t.Errorf("empty allowlist reads %#v, want an empty, non-nil list", got.AllowedIPs)
	}
}

// testRulesUpdate: Update writes the roles and every rule field, and can
// clear them all.
func testRulesUpdate(t *testing.T, e *env) {
	tn := e.newTenant(t)
	r2 := e.newRole(t, tn.org.ID, role.KindCustom)
	m := e.newMember(t, tn.org.ID, tn.admin.ID, activeFor(e.newUser(t)))
	give := *m
	withRules(r2.ID)(&give)
	must(t, e.s.Memberships().Update(t.Context(), &give))
	got, err := e.s.Memberships().Get(t.Context(), m.ID)
	must(t, err)
	want := give
	want.ExpiresAt = give.ExpiresAt.UTC()
	want.UserFirstName, want.UserLastName = got.UserFirstName, got.UserLastName
	wantEqual(t, "Get after Update", *got, want)

	give = *got
	give.RoleIDs, give.Permissions, give.AllowedIPs = []string{tn.admin.ID}, nil, nil
	give.Guest, give.MFARequired, give.ExpiresAt = false, false, time.Time{}
	must(t, e.s.Memberships().Update(t.Context(), &give))
	got, err = e.s.Memberships().Get(t.Context(), m.ID)
	must(t, err)
	wantEqual(t, "Get after clearing", *got, give)
}

// testRulesSnapshot: the policy snapshot carries each active member's
// roles, direct grants, guest flag, expiry, MFA flag and allowlist.
func testRulesSnapshot(t *testing.T, e *env) {
	tn := e.newTenant(t)
	r2 := e.newRole(t, tn.org.ID, role.KindReadOnly)
	u := e.newUser(t)
	m := e.newMember(t, tn.org.ID, tn.admin.ID, activeFor(u), withRules(r2.ID))
	e.newMember(t, tn.org.ID, tn.admin.ID, withRules()) // pending: not in the policy
	snap, err := e.s.Access().Snapshot(t.Context(), tn.org.ID)
	must(t, err)
	var got *access.Member
	for i := range snap.Members {
		if snap.Members[i].UserID == u.ID {
			got = &snap.Members[i]
		}
	}
	if len(snap.Members) != 2 || got == nil {
		t.Fatalf("Snapshot.Members = %+v, want the owner and %s", snap.Members, u.ID)
	}
	wantEqual(t, "member", *got, access.Member{MembershipID: m.ID, UserID: u.ID, RoleIDs: []string{tn.admin.ID, r2.ID},
		Grants: []access.Grant{{Subject: "*", Action: "read"}, {Subject: "orders", Action: "update"}}, Guest: true,
		ExpiresAt: t0.Add(48 * time.Hour), MFARequired: true, AllowedIPs: prefixes("8.8.8.0/24", "2001:4860::/32")})
}

// testRulesOrganizationMFA: the organization's MFA flag is stored, updated
// and read by the snapshot.
func testRulesOrganizationMFA(t *testing.T, e *env) {
	o := e.newOrg(t, func(o *organization.Organization) { o.MFARequired = true })
	got, err := e.s.Organizations().Get(t.Context(), o.ID)
	must(t, err)
	if !got.MFARequired {
		t.Fatal("Get: MFARequired = false, want true")
	}
	snap, err := e.s.Access().Snapshot(t.Context(), o.ID)
	must(t, err)
	if !snap.MFARequired {
		t.Error("Snapshot: MFARequired = false, want true")
	}
	got.MFARequired = false
	must(t, e.s.Organizations().Update(t.Context(), got))
	again, err := e.s.Organizations().Get(t.Context(), o.ID)
	must(t, err)
	if again.MFARequired {
		t.Error("after Update: MFARequired = true, want false")
	}
}

// testRulesCredentialAllowlist: a credential's allowlist is stored, null
// when unset, updated, and read by the snapshot.
func testRulesCredentialAllowlist(t *testing.T, e *env) {
	tn := e.newTenant(t)
	c := e.newCredential(t, tn.org.ID, tn.admin.ID, func(c *credential.Credential) { c.AllowedIPs = prefixes("1.1.1.1/32") })
	plain := e.newCredential(t, tn.org.ID, tn.admin.ID)
	got, err := e.s.Credentials().Get(t.Context(), c.ID)
	must(t, err)
	wantEqual(t, "AllowedIPs", got.AllowedIPs, prefixes("1.1.1.1/32"))
	got.AllowedIPs = prefixes("9.9.9.0/24")
	must(t, e.s.Credentials().Update(t.Context(), got))
	snap, err := e.s.Access().Snapshot(t.Context(), tn.org.ID)
	must(t, err)
	for _, sc := range snap.Credentials {
		switch sc.ID {
		case c.ID:
			wantEqual(t, "snapshot allowlist", sc.AllowedIPs, prefixes("9.9.9.0/24"))
		case plain.ID:
			if sc.AllowedIPs != nil {
				t.Errorf("snapshot allowlist of a credential without one = %v, want nil", sc.AllowedIPs)
			}
		}
	}
}

// testRulesDefaultOrganization: the user's default organization is set and
// cleared, shows on its memberships, and a user Update never touches it.
func testRulesDefaultOrganization(t *testing.T, e *env) {
	a, b := e.newTenant(t), e.newTenant(t)
	u := e.newUser(t)
	ma := e.newMember(t, a.org.ID, a.admin.ID, activeFor(u))
	mb := e.newMember(t, b.org.ID, b.admin.ID, activeFor(u))
	must(t, e.s.Users().SetDefaultOrganization(t.Context(), u.ID, b.org.ID))
	defaults := func() [2]bool {
		x, err := e.s.Memberships().Get(t.Context(), ma.ID)
		must(t, err)
		y, err := e.s.Memberships().Get(t.Context(), mb.ID)
		must(t, err)
		return [2]bool{x.Default, y.Default}
	}
	wantEqual(t, "Default flags", defaults(), [2]bool{false, true})
	got, err := e.s.Users().Get(t.Context(), u.ID)
	must(t, err)
	wantEqual(t, "DefaultOrganizationID", got.DefaultOrganizationID, b.org.ID)

	stale := *u // read before the default was set
	stale.FirstName = "Renamed"
	must(t, e.s.Users().Update(t.Context(), &stale))
	got, err = e.s.Users().Get(t.Context(), u.ID)
	must(t, err)
	wantEqual(t, "DefaultOrganizationID after a user Update", got.DefaultOrganizationID, b.org.ID)

	must(t, e.s.Users().SetDefaultOrganization(t.Context(), u.ID, ""))
	wantEqual(t, "Default flags after clearing", defaults(), [2]bool{false, false})
	wantIs(t, "SetDefaultOrganization of an unknown user", e.s.Users().SetDefaultOrganization(t.Context(), e.id(), a.org.ID), fault.ErrNotFound)
}

// testRulesOldestActive: the oldest active membership's organization, by
// creation time then id; pending memberships do not count.
func testRulesOldestActive(t *testing.T, e *env) {
	a, b, c := e.newTenant(t), e.newTenant(t), e.newTenant(t)
	u := e.newUser(t)
	at := func(d time.Duration) func(*membership.Membership) {
		return func(m *membership.Membership) { m.CreatedAt, m.UpdatedAt = t0.Add(d), t0.Add(d) }
	}
	oldest := func() string {
		id, err := e.s.Memberships().OldestActiveOrganization(t.Context(), u.ID)
		must(t, err)
		return id
	}
	wantEqual(t, "with no membership", oldest(), "")
	e.newMember(t, a.org.ID, a.admin.ID, at(-time.Hour), func(m *membership.Membership) { m.UserEmail = u.Email }) // pending
	wantEqual(t, "with a pending membership only", oldest(), "")
	e.newMember(t, c.org.ID, c.admin.ID, activeFor(u), at(2*time.Hour))
	mb := e.newMember(t, b.org.ID, b.admin.ID, activeFor(u), at(time.Hour))
	wantEqual(t, "oldest of two", oldest(), b.org.ID)
	must(t, e.s.Memberships().Delete(t.Context(), mb.ID))
	wantEqual(t, "after deleting it", oldest(), c.org.ID)
}

// testRulesOrganizationNumber: every organization gets a positive number at
// creation, larger than the ones before, which Create reports, Get and
// GetByNumber read, and Update never changes; a number nobody has is not
// found.
func testRulesOrganizationNumber(t *testing.T, e *env) {
	a, b := e.newOrg(t), e.newOrg(t)
	if a.Number <= 0 || b.Number <= a.Number {
		t.Fatalf("numbers %d then %d; want positive and growing", a.Number, b.Number)
	}
	got, err := e.s.Organizations().GetByNumber(t.Context(), b.Number)
	must(t, err)
	if got.ID != b.ID || got.Number != b.Number {
		t.Errorf("GetByNumber(%d) = %s (%d); want %s", b.Number, got.ID, got.Number, b.ID)
	}
	got.Number, got.Name = a.Number, "Renamed"
	must(t, e.s.Organizations().Update(t.Context(), got))
	again, err := e.s.Organizations().Get(t.Context(), b.ID)
	must(t, err)
	if again.Number != b.Number || again.Name != "Renamed" {
		t.Errorf("after Update: number %d, name %q; want %d, Renamed", again.Number, again.Name, b.Number)
	}
	for _, n := range []int32{0, -1, b.Number + 1000} {
		_, err := e.s.Organizations().GetByNumber(t.Context(), n)
		wantIs(t, "GetByNumber of nothing", err, fault.ErrNotFound)
	}
}

// testRulesUserMFADisabled: a user's MFADisabled is stored at creation, set
// and cleared, and read with the user's memberships and by the snapshot.
func testRulesUserMFADisabled(t *testing.T, e *env) {
	tn := e.newTenant(t)
	u := e.newUser(t, func(u *user.User) { u.MFADisabled = true })
	m := e.newMember(t, tn.org.ID, tn.admin.ID, activeFor(u))
	got, err := e.s.Users().Get(t.Context(), u.ID)
	must(t, err)
	if !got.MFADisabled {
		t.Fatal("Get: MFADisabled = false, want true")
	}
	memberFlag := func() bool {
		t.Helper()
		got, err := e.s.Memberships().Get(t.Context(), m.ID)
		must(t, err)
		return got.UserMFADisabled
	}
	snapFlag := func() bool {
		t.Helper()
		snap, err := e.s.Access().Snapshot(t.Context(), tn.org.ID)
		must(t, err)
		for _, sm := range snap.Members {
			if sm.UserID == u.ID {
				return sm.MFADisabled
			}
		}
		t.Fatalf("the snapshot has no member %s", u.ID)
		return false
	}
	wantEqual(t, "membership, snapshot", [2]bool{memberFlag(), snapFlag()}, [2]bool{true, true})
	later := t0.Add(time.Hour)
	must(t, e.s.Users().SetMFADisabled(t.Context(), u.ID, false, later))
	got, err = e.s.Users().Get(t.Context(), u.ID)
	must(t, err)
	if got.MFADisabled || !got.UpdatedAt.Equal(later) {
		t.Errorf("after SetMFADisabled(false): MFADisabled %v, updated %v; want false, %v", got.MFADisabled, got.UpdatedAt, later)
	}
	wantEqual(t, "membership, snapshot", [2]bool{memberFlag(), snapFlag()}, [2]bool{false, false})
	owner, err := e.s.Users().Get(t.Context(), tn.owner.ID)
	must(t, err)
	if owner.MFADisabled {
		t.Error("another user's MFADisabled is true")
	}
	wantIs(t, "SetMFADisabled of nobody", e.s.Users().SetMFADisabled(t.Context(), e.id(), true, later), fault.ErrNotFound)
}
