package authz_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/authz"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/role"
)

// attrNow is the time of the clock of the attribute tests.
var attrNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// attrOrg is an organization with an admin role, a custom role on orders and
// one member and one credential of the admin role; give edits it.
func attrOrg(give func(s *access.Snapshot)) *access.Snapshot {
	s := &access.Snapshot{
		OrganizationID: "attr",
		Revision:       "attr-1",
		OwnerUserID:    "u-owner",
		Roles: []access.RoleGrant{
			{ID: "r-admin", Kind: role.KindAdmin},
			{ID: "r-orders", Kind: role.KindCustom},
		},
		Permissions: []role.Permission{{ID: "p-orders", RoleID: "r-orders", Subject: "orders", CanRead: true, CanUpdate: true}},
		Members:     []access.Member{{MembershipID: "m-ann", UserID: "u-ann", RoleIDs: []string{"r-admin"}}},
		Credentials: []access.Credential{{ID: "c-api", RoleID: "r-admin"}},
	}
	if give != nil {
		give(s)
	}
	return s
}

// ann is the member of attrOrg, with a second factor and no address.
func ann() access.Principal { return access.Principal{Kind: access.KindUser, ID: "u-ann", MFA: true} }

// api is the credential of attrOrg, with no address.
func api() access.Principal { return access.Principal{Kind: access.KindCredential, ID: "c-api"} }

func withIP(p access.Principal, addr string) access.Principal {
	p.IP = netip.MustParseAddr(addr)
	return p
}

func withoutMFA(p access.Principal) access.Principal {
	p.MFA = false
	return p
}

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(ss)) // never nil: nil means unrestricted
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// decision builds the expected Decision at attrOrg's revision.
func decision(allowed, member bool, reason authz.Reason) authz.Decision {
	return authz.Decision{Allowed: allowed, Member: member, Reason: reason, Revision: "attr-1"}
}

// attrCase is one attribute rule question: p asks to update orders in the
// organization that give makes of attrOrg.
type attrCase struct {
	name     string
	give     func(s *access.Snapshot)
	givePrin access.Principal
	want     authz.Decision
}

func runAttrCases(t *testing.T, tests []attrCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStore(t, attrOrg(tt.give))
			a := authz.New(authz.WithClock(func() time.Time { return attrNow }))
			got := mustCheck(t, a, st, tt.givePrin, "attr", "orders", role.ActionUpdate)
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			rights, err := a.Rights(context.Background(), st, tt.givePrin, "attr")
			if err != nil {
				t.Fatal(err)
			}
			if got, want := rights.Member(), tt.want.Member; got != want {
				t.Errorf("Rights.Member() = %v, want %v", got, want)
			}
			if got := rights.Decide("orders", role.ActionUpdate); got != tt.want {
				t.Errorf("Rights.Decide = %+v, want %+v", got, tt.want)
			}
			if got := rights.DecideSubject(mustSubject(t, "orders"), role.ActionUpdate); got != tt.want {
				t.Errorf("Rights.DecideSubject = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func memberExpires(at time.Time) func(*access.Snapshot) {
	return func(s *access.Snapshot) { s.Members[0].ExpiresAt = at }
}

func credExpires(at time.Time) func(*access.Snapshot) {
	return func(s *access.Snapshot) { s.Credentials[0].ExpiresAt = at }
}

func TestAttributeExpiry(t *testing.T) {
	runAttrCases(t, []attrCase{
		{"member without expiry", nil, ann(), decision(true, true, authz.Granted)},
		{"member expired before now", memberExpires(attrNow.Add(-time.Nanosecond)), ann(), decision(false, false, authz.Expired)},
		{"member expiring now", memberExpires(attrNow), ann(), decision(false, false, authz.Expired)},
		{"member expiring after now", memberExpires(attrNow.Add(time.Nanosecond)), ann(), decision(true, true, authz.Granted)},
		{"credential without expiry", nil, api(), decision(true, false, authz.Granted)},
		{"credential expired before now", credExpires(attrNow.Add(-time.Hour)), api(), decision(false, false, authz.Expired)},
		{"credential expiring now", credExpires(attrNow), api(), decision(false, false, authz.Expired)},
		{"credential expiring after now", credExpires(attrNow.Add(time.Hour)), api(), decision(true, false, authz.Granted)},
		{"member's expiry does not touch the credential", memberExpires(attrNow.Add(-time.Hour)), api(), decision(true, false, authz.Granted)},
	})
}

// TestRightsSeeAnExpiryAfterTheyAreMade: Rights made before a membership
// expires answer Expired once the clock passes the expiry, as Check does.
func TestRightsSeeAnExpiryAfterTheyAreMade(t *testing.T) {
	st := newStore(t, attrOrg(memberExpires(attrNow.Add(time.Minute))))
	now := attrNow
	a := authz.New(authz.WithClock(func() time.Time { return now }))
	rights, err := a.Rights(context.Background(), st, ann(), "attr")
	if err != nil {
		t.Fatal(err)
	}
	orders := mustSubject(t, "orders")
	if got, want := rights.DecideSubject(orders, role.ActionUpdate), decision(true, true, authz.Granted); got != want {
		t.Errorf("before the expiry: %+v, want %+v", got, want)
	}
	now = attrNow.Add(time.Minute)
	want := mustCheck(t, a, st, ann(), "attr", "orders", role.ActionUpdate)
	if want != decision(false, false, authz.Expired) {
		t.Fatalf("Check at the expiry = %+v, want expired", want)
	}
	if got := rights.DecideSubject(orders, role.ActionUpdate); got != want {
		t.Errorf("Rights.DecideSubject at the expiry = %+v, want Check's %+v", got, want)
	}
	if got := rights.Decide("orders", role.ActionUpdate); got != want {
		t.Errorf("Rights.Decide at the expiry = %+v, want Check's %+v", got, want)
	}
}

// TestSubjectOf: a well-formed name gives its Subject, a malformed one an
// invalid error; the zero Subject is never allowed.
func TestSubjectOf(t *testing.T) {
	if s := mustSubject(t, "orders"); s.Name() != "orders" {
		t.Errorf("Name() = %q, want orders", s.Name())
	}
	for _, give := range []string{"", "*", "Orders", "or ders", "orders!"} {
		if _, err := authz.SubjectOf(give); !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("SubjectOf(%q): error %v, want invalid", give, err)
		}
	}
	st := newStore(t, attrOrg(nil))
	rights, err := authz.New(authz.WithClock(func() time.Time { return attrNow })).Rights(context.Background(), st, ann(), "attr")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rights.DecideSubject(authz.Subject{}, role.ActionUpdate), (authz.Decision{Reason: authz.NoGrant, Revision: "attr-1"}); got != want {
		t.Errorf("DecideSubject of the zero Subject = %+v, want %+v", got, want)
	}
	if got := rights.DecideSubject(mustSubject(t, "orders"), "*"); got.Allowed || got.Reason != authz.NoGrant {
		t.Errorf("DecideSubject of action * = %+v, want refused, no grant", got)
	}
}

func mustSubject(tb testing.TB, name string) authz.Subject {
	tb.Helper()
	s, err := authz.SubjectOf(name)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func memberIPs(nets []netip.Prefix) func(*access.Snapshot) {
	return func(s *access.Snapshot) { s.Members[0].AllowedIPs = nets }
}

func credIPs(nets []netip.Prefix) func(*access.Snapshot) {
	return func(s *access.Snapshot) { s.Credentials[0].AllowedIPs = nets }
}

func TestAttributeAllowedIPs(t *testing.T) {
	v4 := prefixes("10.0.0.0/8", "192.0.2.7/32")
	v6 := prefixes("2001:db8::/32")
	runAttrCases(t, []attrCase{
		{"member, nil list, no address", memberIPs(nil), ann(), decision(true, true, authz.Granted)},
		{"member, nil list, any address", memberIPs(nil), withIP(ann(), "203.0.113.9"), decision(true, true, authz.Granted)},
		{"member, empty list", memberIPs(prefixes()), withIP(ann(), "10.1.2.3"), decision(false, true, authz.IPRefused)},
		{"member, IPv4 inside", memberIPs(v4), withIP(ann(), "10.1.2.3"), decision(true, true, authz.Granted)},
		{"member, IPv4 host prefix", memberIPs(v4), withIP(ann(), "192.0.2.7"), decision(true, true, authz.Granted)},
		{"member, IPv4 outside", memberIPs(v4), withIP(ann(), "192.0.2.8"), decision(false, true, authz.IPRefused)},
		{"member, IPv4-mapped IPv6 inside an IPv4 prefix", memberIPs(v4), withIP(ann(), "::ffff:10.1.2.3"), decision(true, true, authz.Granted)},
		{"member, IPv4-mapped IPv6 outside", memberIPs(v4), withIP(ann(), "::ffff:11.1.2.3"), decision(false, true, authz.IPRefused)},
		{"member, IPv6 inside", memberIPs(v6), withIP(ann(), "2001:db8::1"), decision(true, true, authz.Granted)},
		{"member, IPv6 outside", memberIPs(v6), withIP(ann(), "2001:db9::1"), decision(false, true, authz.IPRefused)},
		{"member, IPv4 address, IPv6 list", memberIPs(v6), withIP(ann(), "10.1.2.3"), decision(false, true, authz.IPRefused)},
		{"member, no address", memberIPs(v4), ann(), decision(false, true, authz.IPRefused)},
		{"credential, nil list", credIPs(nil), withIP(api(), "203.0.113.9"), decision(true, false, authz.Granted)},
		{"credential, empty list", credIPs(prefixes()), withIP(api(), "10.1.2.3"), decision(false, false, authz.IPRefused)},
		{"credential, IPv4 inside", credIPs(v4), withIP(api(), "10.9.9.9"), decision(true, false, authz.Granted)},
		{"credential, IPv4-mapped IPv6 inside", credIPs(v4), withIP(api(), "::ffff:10.9.9.9"), decision(true, false, authz.Granted)},
		{"credential, IPv6 inside", credIPs(v6), withIP(api(), "2001:db8:1::1"), decision(true, false, authz.Granted)},
		{"credential, outside", credIPs(v4), withIP(api(), "203.0.113.9"), decision(false, false, authz.IPRefused)},
		{"credential, no address", credIPs(v4), api(), decision(false, false, authz.IPRefused)},
		{"member's list does not touch the credential", memberIPs(prefixes()), api(), decision(true, false, authz.Granted)},
	})
}

func orgMFA(s *access.Snapshot)    { s.MFARequired = true }
func memberMFA(s *access.Snapshot) { s.Members[0].MFARequired = true }

func TestAttributeMFA(t *testing.T) {
	runAttrCases(t, []attrCase{
		{"not required, without MFA", nil, withoutMFA(ann()), decision(true, true, authz.Granted)},
		{"organization requires, with MFA", orgMFA, ann(), decision(true, true, authz.Granted)},
		{"organization requires, without MFA", orgMFA, withoutMFA(ann()), decision(false, true, authz.MFARequired)},
		{"member requires, with MFA", memberMFA, ann(), decision(true, true, authz.Granted)},
		{"member requires, without MFA", memberMFA, withoutMFA(ann()), decision(false, true, authz.MFARequired)},
		{"organization requires, credential", orgMFA, api(), decision(true, false, authz.Granted)},
	})
}

// guestOrg has guests of an admin role and of a custom role on orders.
func guestOrg() *access.Snapshot {
	return attrOrg(func(s *access.Snapshot) {
		s.Members = append(s.Members,
			access.Member{MembershipID: "m-gina", UserID: "u-gina", RoleIDs: []string{"r-admin"}, Guest: true},
			access.Member{MembershipID: "m-gus", UserID: "u-gus", RoleIDs: []string{"r-orders"}, Guest: true,
				Grants: []access.Grant{{Subject: "*", Action: "*"}}},
		)
	})
}

func TestAttributeGuest(t *testing.T) {
	type guestCase struct {
		name        string
		givePrin    access.Principal
		giveSubject string
		giveAct     role.Action
		want        authz.Decision
	}
	gina := access.Principal{Kind: access.KindUser, ID: "u-gina", MFA: true}
	gus := access.Principal{Kind: access.KindUser, ID: "u-gus", MFA: true}
	var tests []guestCase
	for _, subject := range role.GuestDeniedSubjects() {
		subj := string(subject)
		for _, p := range []access.Principal{gina, gus} {
			tests = append(tests,
				guestCase{p.ID + " creates " + subj, p, subj, role.ActionCreate, decision(false, true, authz.Denied)},
				guestCase{p.ID + " updates " + subj, p, subj, role.ActionUpdate, decision(false, true, authz.Denied)},
				guestCase{p.ID + " destroys " + subj, p, subj, role.ActionDestroy, decision(false, true, authz.Denied)},
				guestCase{p.ID + " reads " + subj, p, subj, role.ActionRead, decision(true, true, authz.Granted)},
			)
		}
		tests = append(tests, guestCase{"non-guest admin creates " + subj, ann(), subj, role.ActionCreate, decision(true, true, authz.Granted)})
	}
	tests = append(tests,
		guestCase{"admin guest creates orders", gina, "orders", role.ActionCreate, decision(true, true, authz.Granted)},
		guestCase{"admin guest destroys versions", gina, "versions", role.ActionDestroy, decision(true, true, authz.Granted)},
		guestCase{"custom guest updates orders", gus, "orders", role.ActionUpdate, decision(true, true, authz.Granted)},
		guestCase{"custom guest with a wildcard grant destroys skus", gus, "skus", role.ActionDestroy, decision(true, true, authz.Granted)},
	)
	st := newStore(t, guestOrg())
	a := authz.New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustCheck(t, a, st, tt.givePrin, "attr", tt.giveSubject, tt.giveAct); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// appOrg gives applications c-app and c-other to members: u-ann (admin) holds
// r-orders in c-app and r-admin in c-other; profile pf-skus holds r-skus in
// c-app, and u-pat has that profile; u-gone, who is no member, holds r-admin
// in c-app.
func appOrg() *access.Snapshot {
	return attrOrg(func(s *access.Snapshot) {
		s.Roles = append(s.Roles, access.RoleGrant{ID: "r-skus", Kind: role.KindCustom}, access.RoleGrant{ID: "r-none", Kind: role.KindCustom})
		s.Permissions = append(s.Permissions, role.Permission{ID: "p-skus", RoleID: "r-skus", Subject: "skus", CanUpdate: true})
		s.Members = append(s.Members, access.Member{MembershipID: "m-pat", UserID: "u-pat", RoleIDs: []string{"r-admin"}, ProfileID: "pf-skus"})
		s.Credentials = append(s.Credentials, access.Credential{ID: "c-app"}, access.Credential{ID: "c-other"})
		s.AppMemberships = []access.AppMembership{
			{ID: "am-ann", CredentialID: "c-app", RoleID: "r-orders", UserID: "u-ann"},
			{ID: "am-ann-other", CredentialID: "c-other", RoleID: "r-admin", UserID: "u-ann"},
			{ID: "am-skus", CredentialID: "c-app", RoleID: "r-skus", ProfileID: "pf-skus"},
			{ID: "am-gone", CredentialID: "c-app", RoleID: "r-admin", UserID: "u-gone"},
		}
	})
}

func through(user, app string) access.Principal {
	return access.Principal{Kind: access.KindUser, ID: user, App: app, MFA: true}
}

func TestAttributeApplication(t *testing.T) {
	tests := []struct {
		name        string
		givePrin    access.Principal
		giveSubject string
		giveAct     role.Action
		want        authz.Decision
	}{
		{"direct application membership grants", through("u-ann", "c-app"), "orders", role.ActionRead, decision(true, true, authz.Granted)},
		{"membership role does not count in the application", through("u-ann", "c-app"), "orders", role.ActionCreate, decision(false, true, authz.NoGrant)},
		{"membership baseline does not count in the application", through("u-ann", "c-app"), "memberships", role.ActionRead, decision(false, true, authz.NoGrant)},
		{"without the application the membership role counts", ann(), "orders", role.ActionCreate, decision(true, true, authz.Granted)},
		{"another profile's application membership", through("u-ann", "c-app"), "skus", role.ActionUpdate, decision(false, true, authz.NoGrant)},
		{"application membership through the profile", through("u-pat", "c-app"), "skus", role.ActionUpdate, decision(true, true, authz.Granted)},
		{"profile member lacks the user's application membership", through("u-pat", "c-app"), "orders", role.ActionRead, decision(false, true, authz.NoGrant)},
		{"admin in one application", through("u-ann", "c-other"), "customers", role.ActionDestroy, decision(true, true, authz.Granted)},
		{"application without membership", through("u-pat", "c-other"), "orders", role.ActionRead, decision(false, true, authz.NoGrant)},
		{"unknown application", through("u-ann", "c-ghost"), "orders", role.ActionRead, decision(false, true, authz.NoGrant)},
		{"credential's own role is no application membership", through("u-pat", "c-api"), "orders", role.ActionRead, decision(false, true, authz.NoGrant)},
		{"application membership of a user who is no member", through("u-gone", "c-app"), "orders", role.ActionRead, decision(false, false, authz.NotMember)},
	}
	st := newStore(t, appOrg())
	a := authz.New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustCheck(t, a, st, tt.givePrin, "attr", tt.giveSubject, tt.giveAct); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestAttributeApplicationPrincipalErrors(t *testing.T) {
	tests := []struct {
		name     string
		givePrin access.Principal
		want     error
	}{
		{"credential acting through an application", access.Principal{Kind: access.KindCredential, ID: "c-api", App: "c-app"}, fault.ErrUnauthenticated},
		{"malformed application id", through("u-ann", "c-app,c-other"), fault.ErrUnauthenticated},
	}
	st := newStore(t, appOrg())
	a := authz.New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := a.Check(context.Background(), st, tt.givePrin, "attr", "orders", role.ActionRead)
			if !errors.Is(err, tt.want) || got != (authz.Decision{}) {
				t.Errorf("got %+v, %v; want the zero Decision and %v", got, err, tt.want)
			}
			if _, err := a.Rights(context.Background(), st, tt.givePrin, "attr"); !errors.Is(err, tt.want) {
				t.Errorf("Rights error %v, want %v", err, tt.want)
			}
		})
	}
}

// TestAttributeGuestThroughApplication: a guest never manages the
// organization "whatever its roles and grants say" (role.GuestDeniedSubjects;
// RELIABILITY.md I5), so not through an application either.
func TestAttributeGuestThroughApplication(t *testing.T) {
	s := appOrg()
	s.Members = append(s.Members, access.Member{MembershipID: "m-gina", UserID: "u-gina", RoleIDs: []string{"r-none"}, Guest: true})
	s.AppMemberships = append(s.AppMemberships, access.AppMembership{ID: "am-gina", CredentialID: "c-app", RoleID: "r-admin", UserID: "u-gina"})
	st := newStore(t, s)
	a := authz.New()
	tests := []struct {
		name        string
		giveSubject string
		giveAct     role.Action
		want        authz.Decision
	}{
		{"guest creates memberships through an application", "memberships", role.ActionCreate, decision(false, true, authz.Denied)},
		{"guest destroys api_credentials through an application", "api_credentials", role.ActionDestroy, decision(false, true, authz.Denied)},
		{"guest creates orders through an application", "orders", role.ActionCreate, decision(true, true, authz.Granted)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustCheck(t, a, st, through("u-gina", "c-app"), "attr", tt.giveSubject, tt.giveAct); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
