package authz_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/authz"
	"github.com/provisionkit/provisioning/role"
)

// escOrg has roles of every kind and members holding them, some refused by
// an attribute rule.
func escOrg() *access.Snapshot {
	crud := func(id, roleID, subject string) role.Permission {
		return role.Permission{ID: id, RoleID: roleID, Subject: subject, CanCreate: true, CanRead: true, CanUpdate: true, CanDestroy: true}
	}
	s := &access.Snapshot{
		OrganizationID: "esc",
		Revision:       "esc-1",
		Roles: []access.RoleGrant{
			{ID: "ra", Kind: role.KindAdmin},
			{ID: "rr", Kind: role.KindReadOnly},
			{ID: "rc-small", Kind: role.KindCustom},   // orders: read
			{ID: "rc-big", Kind: role.KindCustom},     // orders: all; skus: read
			{ID: "rc-super", Kind: role.KindCustom},   // rc-big, and skus: all
			{ID: "rc-members", Kind: role.KindCustom}, // memberships: create
			{ID: "rc-all", Kind: role.KindCustom},     // read on every subject, one by one
			{ID: "rc-empty", Kind: role.KindCustom},   // nothing
		},
		Permissions: []role.Permission{
			{ID: "p-small", RoleID: "rc-small", Subject: "orders", CanRead: true},
			crud("p-big-orders", "rc-big", "orders"),
			{ID: "p-big-skus", RoleID: "rc-big", Subject: "skus", CanRead: true},
			crud("p-super-orders", "rc-super", "orders"),
			crud("p-super-skus", "rc-super", "skus"),
			{ID: "p-members", RoleID: "rc-members", Subject: "memberships", CanCreate: true},
		},
		Members: []access.Member{
			{UserID: "u-admin", RoleIDs: []string{"ra"}},
			{UserID: "u-ro", RoleIDs: []string{"rr"}},
			{UserID: "u-big", RoleIDs: []string{"rc-big"}},
			{UserID: "u-all", RoleIDs: []string{"rc-all"}},
			{UserID: "u-wild", RoleIDs: []string{"rc-empty"}, Grants: []access.Grant{{Subject: "*", Action: "read"}}},
			{UserID: "u-guest", RoleIDs: []string{"ra"}, Guest: true},
			{UserID: "u-expired", RoleIDs: []string{"ra"}, ExpiresAt: attrNow.Add(-time.Second)},
			{UserID: "u-fenced", RoleIDs: []string{"ra"}, AllowedIPs: []netip.Prefix{}},
			{UserID: "u-mfa", RoleIDs: []string{"ra"}, MFARequired: true},
		},
	}
	every, _ := role.NewSubjects("widgets") // the built-in subjects, and one of the host's
	for i, subj := range every.List() {
		s.Permissions = append(s.Permissions, role.Permission{ID: fmt.Sprintf("p-all-%d", i), RoleID: "rc-all", Subject: subj, CanRead: true})
	}
	return s
}

// escRights returns the rights in escOrg of a user with a second factor
// (but u-mfa, who has none).
func escRights(tb testing.TB, user string) *authz.Rights {
	tb.Helper()
	a := authz.New(authz.WithClock(func() time.Time { return attrNow }))
	p := access.Principal{Kind: access.KindUser, ID: user, MFA: user != "u-mfa"}
	r, err := a.Rights(context.Background(), newStore(tb, escOrg()), p, "esc")
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func TestCovers(t *testing.T) {
	tests := []struct {
		giveCaller string
		giveRole   string
		want       bool
	}{
		{"u-admin", "ra", true},
		{"u-admin", "rr", true},
		{"u-admin", "rc-super", true},
		{"u-admin", "rc-all", true},
		{"u-admin", "rc-members", true},
		{"u-ro", "rr", true},
		{"u-ro", "rc-small", true},
		{"u-ro", "rc-all", true},
		{"u-ro", "ra", false},
		{"u-ro", "rc-big", false},
		{"u-big", "rc-big", true},
		{"u-big", "rc-small", true},
		{"u-big", "rc-super", false},
		{"u-big", "rr", false},
		{"u-big", "ra", false},
		{"u-big", "rc-empty", true},
		{"u-all", "rc-small", true},
		{"u-all", "rr", false}, // a list of every subject is no wildcard
		{"u-wild", "rr", true},
		{"u-wild", "rc-all", true},
		{"u-wild", "rc-small", true},
		{"u-wild", "ra", false},
		{"u-guest", "ra", false},
		{"u-guest", "rc-members", false},
		{"u-guest", "rc-big", true},
		{"u-guest", "rr", true}, // guests are denied managing only
		{"u-expired", "rr", false},
		{"u-expired", "rc-small", false},
		{"u-fenced", "rr", false},
		{"u-fenced", "rc-small", false},
		{"u-mfa", "rc-small", false},
		{"u-stranger", "rc-small", false},
		{"u-ro", "r-ghost", true}, // an unknown role carries nothing
		{"u-expired", "r-ghost", true},
	}
	for _, tt := range tests {
		t.Run(tt.giveCaller+" covers "+tt.giveRole, func(t *testing.T) {
			if got := escRights(t, tt.giveCaller).Covers(tt.giveRole); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCoversGrant(t *testing.T) {
	tests := []struct {
		giveCaller string
		giveGrant  access.Grant
		want       bool
	}{
		{"u-admin", access.Grant{Subject: "*", Action: "*"}, true},
		{"u-admin", access.Grant{Subject: "widgets", Action: "destroy"}, true},
		{"u-ro", access.Grant{Subject: "*", Action: "read"}, true},
		{"u-ro", access.Grant{Subject: "orders", Action: "read"}, true},
		{"u-ro", access.Grant{Subject: "widgets", Action: "read"}, true},
		{"u-ro", access.Grant{Subject: "orders", Action: "update"}, false},
		{"u-ro", access.Grant{Subject: "*", Action: "update"}, false},
		{"u-ro", access.Grant{Subject: "*", Action: "*"}, false},
		{"u-big", access.Grant{Subject: "orders", Action: "create"}, true},
		{"u-big", access.Grant{Subject: "orders", Action: "*"}, true},
		{"u-big", access.Grant{Subject: "skus", Action: "read"}, true},
		{"u-big", access.Grant{Subject: "skus", Action: "*"}, false},
		{"u-big", access.Grant{Subject: "*", Action: "read"}, false},
		{"u-big", access.Grant{Subject: "widgets", Action: "read"}, false},
		{"u-all", access.Grant{Subject: "orders", Action: "read"}, true},
		{"u-all", access.Grant{Subject: "*", Action: "read"}, false},
		{"u-all", access.Grant{Subject: "gadgets", Action: "read"}, false}, // named by no line
		{"u-wild", access.Grant{Subject: "*", Action: "read"}, true},
		{"u-wild", access.Grant{Subject: "gadgets", Action: "read"}, true},
		{"u-guest", access.Grant{Subject: "orders", Action: "create"}, true},
		{"u-guest", access.Grant{Subject: "memberships", Action: "create"}, false},
		{"u-guest", access.Grant{Subject: "memberships", Action: "read"}, true},
		{"u-guest", access.Grant{Subject: "*", Action: "create"}, false},
		{"u-guest", access.Grant{Subject: "*", Action: "read"}, true},
		{"u-expired", access.Grant{Subject: "orders", Action: "read"}, false},
		{"u-fenced", access.Grant{Subject: "orders", Action: "read"}, false},
		{"u-admin", access.Grant{Subject: "Orders", Action: "read"}, false},
		{"u-admin", access.Grant{Subject: "orders", Action: "own"}, false},
		{"u-admin", access.Grant{}, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s covers %s on %s", tt.giveCaller, tt.giveGrant.Action, tt.giveGrant.Subject), func(t *testing.T) {
			if got := escRights(t, tt.giveCaller).CoversGrant(tt.giveGrant); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestCoversProperty: in random organizations, whenever a caller covers a
// role (or a grant), the caller may do everything that role (or grant) lets
// its holders do, as a stock enforcer of the organization's lines says, on
// every subject (one that no line names included).
func TestCoversProperty(t *testing.T) {
	grants := []access.Grant{
		{Subject: "*", Action: "*"}, {Subject: "*", Action: "read"}, {Subject: "*", Action: "update"},
		{Subject: "orders", Action: "*"}, {Subject: "orders", Action: "create"}, {Subject: "memberships", Action: "destroy"},
		{Subject: "widgets", Action: "read"},
	}
	for _, seed := range diffSeeds(t) {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			w := randomWorld(seed, diffOrgs)
			st := newStore(t, w.snaps...)
			a := authz.New()
			var covered, refused int
			for _, s := range w.snaps {
				stock := stockEnforcer(t, readModel(t), s)
				var callers []access.Principal
				for _, m := range s.Members {
					callers = append(callers, access.Principal{Kind: access.KindUser, ID: m.UserID, MFA: true})
					for _, app := range askApps {
						callers = append(callers, access.Principal{Kind: access.KindUser, ID: m.UserID, App: app, MFA: true})
					}
				}
				for _, c := range s.Credentials {
					callers = append(callers, access.Principal{Kind: access.KindCredential, ID: c.ID})
				}
				may := func(sub, dom, subject string, act role.Action) bool {
					ok, err := stock.Enforce(sub, dom, subject, string(act))
					if err != nil {
						t.Fatal(err)
					}
					return ok
				}
				for _, p := range callers {
					rights, err := a.Rights(context.Background(), st, p, s.OrganizationID)
					if err != nil {
						t.Fatal(err)
					}
					callerMay := func(subject string, act role.Action) bool {
						q := question{p: p, org: s.OrganizationID, subject: subject, act: act}
						return may(p.Subject(), q.domain(), subject, act)
					}
					for _, rg := range append(s.Roles, access.RoleGrant{ID: "r-ghost"}) {
						if !rights.Covers(rg.ID) {
							refused++
							continue
						}
						covered++
						for _, subj := range askSubjects {
							for _, act := range role.Actions {
								if may("role:"+rg.ID, "org:"+s.OrganizationID, subj, act) && !callerMay(subj, act) {
									t.Errorf("seed %d: %s in %s covers role %s, which may %s %s, but may not itself",
										seed, who(p), s.OrganizationID, rg.ID, act, subj)
								}
							}
						}
					}
					for _, g := range grants {
						if !rights.CoversGrant(g) {
							continue
						}
						for _, subj := range askSubjects {
							for _, act := range role.Actions {
								if (g.Subject == "*" || g.Subject == subj) && (g.Action == "*" || g.Action == string(act)) && !callerMay(subj, act) {
									t.Errorf("seed %d: %s in %s covers grant %s on %s but may not %s %s",
										seed, who(p), s.OrganizationID, g.Action, g.Subject, act, subj)
								}
							}
						}
					}
				}
			}
			t.Logf("seed %d: %d (caller, role) pairs covered, %d not", seed, covered, refused)
			if covered == 0 || refused == 0 {
				t.Errorf("seed %d: covered %d, not covered %d; want some of each", seed, covered, refused)
			}
		})
	}
}
