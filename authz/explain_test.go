package authz_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/casbin/casbin/v2"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/authz"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/role"
)

// explainOrg is appOrg with a guest, a member holding a direct grant, a
// member who has expired and one who needs a second factor.
func explainOrg() *access.Snapshot {
	s := appOrg()
	s.Members = append(s.Members,
		access.Member{MembershipID: "m-gina", UserID: "u-gina", RoleIDs: []string{"r-admin"}, Guest: true},
		access.Member{MembershipID: "m-hugo", UserID: "u-hugo", RoleIDs: []string{"r-none"}, Grants: []access.Grant{{Subject: "skus", Action: "*"}}},
		access.Member{MembershipID: "m-old", UserID: "u-old", RoleIDs: []string{"r-admin"}, ExpiresAt: attrNow.Add(-time.Hour)},
		access.Member{MembershipID: "m-mia", UserID: "u-mia", RoleIDs: []string{"r-admin"}, MFARequired: true},
	)
	return s
}

func TestExplain(t *testing.T) {
	granted := decision(true, true, authz.Granted)
	tests := []struct {
		name        string
		givePrin    access.Principal
		giveSubject string
		giveAct     role.Action
		want        authz.Explanation
	}{
		{"admin role", ann(), "customers", role.ActionDestroy, authz.Explanation{
			Decision: granted, Line: []string{"role:r-admin", "org:attr", "*", "*", "allow"}, MembershipID: "m-ann", RoleID: "r-admin",
		}},
		{"custom role's permission", through("u-ann", "c-app"), "orders", role.ActionRead, authz.Explanation{
			Decision: granted, Line: []string{"role:r-orders", appDomain("attr", "c-app"), "orders", "read", "allow"}, MembershipID: "m-ann",
			AppMembershipID: "am-ann", RoleID: "r-orders", PermissionID: "p-orders",
		}},
		{"application membership of a profile", through("u-pat", "c-app"), "skus", role.ActionUpdate, authz.Explanation{
			Decision: granted, Line: []string{"role:r-skus", appDomain("attr", "c-app"), "skus", "update", "allow"}, MembershipID: "m-pat",
			AppMembershipID: "am-skus", ProfileID: "pf-skus", RoleID: "r-skus", PermissionID: "p-skus",
		}},
		{"admin in an application", through("u-ann", "c-other"), "orders", role.ActionCreate, authz.Explanation{
			Decision: granted, Line: []string{"role:r-admin", appDomain("attr", "c-other"), "*", "*", "allow"}, MembershipID: "m-ann",
			AppMembershipID: "am-ann-other", RoleID: "r-admin",
		}},
		{"no grant in the application", through("u-ann", "c-app"), "orders", role.ActionCreate, authz.Explanation{
			Decision: decision(false, true, authz.NoGrant), MembershipID: "m-ann",
		}},
		{"direct grant", access.Principal{Kind: access.KindUser, ID: "u-hugo", MFA: true}, "skus", role.ActionDestroy, authz.Explanation{
			Decision: granted, Line: []string{"user:u-hugo", "org:attr", "skus", "*", "allow"}, MembershipID: "m-hugo",
		}},
		{"baseline", access.Principal{Kind: access.KindUser, ID: "u-hugo", MFA: true}, "memberships", role.ActionRead, authz.Explanation{
			Decision: granted, Line: []string{"builtin:member", "org:attr", "memberships", "read", "allow"}, MembershipID: "m-hugo",
		}},
		{"guest denied", access.Principal{Kind: access.KindUser, ID: "u-gina", MFA: true}, "roles", role.ActionUpdate, authz.Explanation{
			Decision: decision(false, true, authz.Denied), Line: []string{"builtin:guest", "org:attr", "roles", "update", "deny"}, MembershipID: "m-gina",
		}},
		{"guest granted elsewhere", access.Principal{Kind: access.KindUser, ID: "u-gina", MFA: true}, "orders", role.ActionUpdate, authz.Explanation{
			Decision: granted, Line: []string{"role:r-admin", "org:attr", "*", "*", "allow"}, MembershipID: "m-gina", RoleID: "r-admin",
		}},
		{"credential's role", api(), "orders", role.ActionUpdate, authz.Explanation{
			Decision: decision(true, false, authz.Granted), Line: []string{"role:r-admin", "org:attr", "*", "*", "allow"}, RoleID: "r-admin",
		}},
		{"no grant", access.Principal{Kind: access.KindUser, ID: "u-hugo", MFA: true}, "orders", role.ActionRead, authz.Explanation{
			Decision: decision(false, true, authz.NoGrant), MembershipID: "m-hugo",
		}},
		{"expired", access.Principal{Kind: access.KindUser, ID: "u-old", MFA: true}, "orders", role.ActionRead, authz.Explanation{
			Decision: decision(false, false, authz.Expired), MembershipID: "m-old",
		}},
		{"second factor missing", access.Principal{Kind: access.KindUser, ID: "u-mia"}, "orders", role.ActionRead, authz.Explanation{
			Decision: decision(false, true, authz.MFARequired), MembershipID: "m-mia",
		}},
		{"not a member", access.Principal{Kind: access.KindUser, ID: "u-gone", MFA: true}, "orders", role.ActionRead, authz.Explanation{
			Decision: decision(false, false, authz.NotMember),
		}},
	}
	st := newStore(t, explainOrg())
	a := authz.New(authz.WithClock(func() time.Time { return attrNow }))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := a.Explain(context.Background(), st, tt.givePrin, "attr", tt.giveSubject, tt.giveAct)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", tt.want) {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if d := mustCheck(t, a, st, tt.givePrin, "attr", tt.giveSubject, tt.giveAct); got.Decision != d {
				t.Errorf("Explain decision %+v, Check %+v", got.Decision, d)
			}
		})
	}
}

func TestExplainErrors(t *testing.T) {
	tests := []struct {
		name     string
		givePrin access.Principal
		giveOrg  string
		want     error
	}{
		{"unknown organization", ann(), "nowhere", fault.ErrNotFound},
		{"empty organization", ann(), "", fault.ErrInvalid},
		{"credential through an application", access.Principal{Kind: access.KindCredential, ID: "c-api", App: "c-app"}, "attr", fault.ErrUnauthenticated},
		{"system principal", access.Principal{Kind: access.KindSystem, ID: "boot"}, "attr", fault.ErrInternal},
	}
	st := newStore(t, explainOrg())
	a := authz.New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := a.Explain(context.Background(), st, tt.givePrin, tt.giveOrg, "orders", role.ActionRead); !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
}

// TestExplainAgreesWithCheck asks random questions of the differential
// test's world of Explain and of Check: the decisions are the same, and the
// explanation names a line of the organization that the principal reaches
// and that decides the question, and the role, permission, application
// membership, profile and membership it came through.
func TestExplainAgreesWithCheck(t *testing.T) {
	const questions = 2_000
	for _, seed := range diffSeeds(t) {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			w := randomWorld(seed, diffOrgs)
			st := newStore(t, w.snaps...)
			a := authz.New()
			snaps := map[string]*access.Snapshot{}
			stocks := map[string]*casbin.Enforcer{} // one per organization
			for _, s := range w.snaps {
				snaps[s.OrganizationID] = s
				stocks[s.OrganizationID] = stockEnforcer(t, readModel(t), s)
			}
			var lines, explained int
			for i, q := range w.questions(seed^0x5eed, questions) {
				ctx := context.Background()
				got, err := a.Explain(ctx, st, q.p, q.org, q.subject, q.act)
				d, checkErr := a.Check(ctx, st, q.p, q.org, q.subject, q.act)
				if fault.KindOf(err) != fault.KindOf(checkErr) || (err == nil) != (checkErr == nil) {
					t.Fatalf("seed %d, question %d (%s): Explain error %v, Check error %v", seed, i, q, err, checkErr)
				}
				if err != nil {
					continue
				}
				explained++
				if got.Decision != d {
					t.Errorf("seed %d, question %d (%s): Explain decision %+v, Check %+v", seed, i, q, got.Decision, d)
				}
				if got.Line != nil {
					lines++
				}
				for _, problem := range explanationProblems(t, snaps[q.org], stocks[q.org], q, got) {
					t.Errorf("seed %d, question %d (%s): %s; explanation %s", seed, i, q, problem, got)
				}
			}
			if explained == 0 || lines == 0 {
				t.Errorf("seed %d: %d explanations, %d with a line; want some", seed, explained, lines)
			}
		})
	}
}

// explanationProblems lists what is wrong with ex as the explanation of q in
// the organization s, whose lines stock holds.
func explanationProblems(tb testing.TB, s *access.Snapshot, stock *casbin.Enforcer, q question, ex authz.Explanation) []string {
	tb.Helper()
	var out []string
	problem := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	pl, _, err := authz.Lines(s)
	if err != nil {
		tb.Fatal(err)
	}
	var member *access.Member
	if i := slices.IndexFunc(s.Members, func(m access.Member) bool { return q.p.Kind == access.KindUser && m.UserID == q.p.ID }); i >= 0 {
		member = &s.Members[i]
	}

	// The membership.
	wantMembership := ""
	if member != nil {
		wantMembership = member.MembershipID
	}
	if ex.MembershipID != wantMembership {
		problem("MembershipID %q, want %q", ex.MembershipID, wantMembership)
	}

	// The line.
	l := ex.Line
	switch {
	case ex.Reason == authz.Granted && (len(l) != 5 || l[4] != "allow"):
		problem("granted by line %q, want an allow line", l)
	case ex.Reason == authz.Denied && (len(l) != 5 || l[0] != "builtin:guest" || l[4] != "deny"):
		problem("denied by line %q, want a guest's deny line", l)
	case ex.Reason != authz.Granted && ex.Reason != authz.Denied && l != nil:
		problem("reason %s with line %q, want none", ex.Reason, l)
	}
	if l == nil {
		if ex.RoleID != "" || ex.PermissionID != "" || ex.AppMembershipID != "" || ex.ProfileID != "" {
			problem("no line but role %q, permission %q, application membership %q, profile %q", ex.RoleID, ex.PermissionID, ex.AppMembershipID, ex.ProfileID)
		}
		return out
	}
	if !slices.ContainsFunc(pl, func(p []string) bool { return slices.Equal(p, l) }) {
		problem("line %q is not one of the organization's", l)
	}
	if len(l) != 5 {
		return out
	}
	if l[1] != q.domain() || (l[2] != "*" && l[2] != q.subject) || (l[3] != "*" && l[3] != string(q.act)) {
		problem("line %q does not match %s in %s", l, q, q.domain())
	}
	reaches, err := stock.HasGroupingPolicy(q.p.Subject(), l[0], l[1])
	if err != nil {
		tb.Fatal(err)
	}
	if l[0] != q.p.Subject() && !reaches {
		problem("the principal does not reach %s", l[0])
	}

	// The role and its permission.
	roleID, isRole := strings.CutPrefix(l[0], "role:")
	if !isRole {
		roleID = ""
	}
	if ex.RoleID != roleID {
		problem("RoleID %q, want %q", ex.RoleID, roleID)
	}
	wantPerm := ""
	if isRole && l[2] != "*" {
		i := slices.IndexFunc(s.Permissions, func(p role.Permission) bool {
			return p.RoleID == roleID && p.Subject == l[2] && p.Allows(q.act)
		})
		if i < 0 {
			problem("no permission of role %s allows %s %s", roleID, q.act, l[2])
		} else {
			wantPerm = s.Permissions[i].ID
		}
	}
	if ex.PermissionID != wantPerm {
		problem("PermissionID %q, want %q", ex.PermissionID, wantPerm)
	}

	// The application membership and its profile.
	if q.p.App == "" || !isRole {
		if ex.AppMembershipID != "" || ex.ProfileID != "" {
			problem("application membership %q, profile %q; want none", ex.AppMembershipID, ex.ProfileID)
		}
		return out
	}
	i := slices.IndexFunc(s.AppMemberships, func(am access.AppMembership) bool { return am.ID == ex.AppMembershipID })
	switch {
	case i < 0:
		problem("AppMembershipID %q names no application membership", ex.AppMembershipID)
	case s.AppMemberships[i].CredentialID != q.p.App || s.AppMemberships[i].RoleID != roleID:
		problem("application membership %+v is not of application %s and role %s", s.AppMemberships[i], q.p.App, roleID)
	case !reachesApp(s.AppMemberships[i], q.p.ID, member):
		problem("application membership %+v does not reach the principal", s.AppMemberships[i])
	case ex.ProfileID != s.AppMemberships[i].ProfileID:
		problem("ProfileID %q, want %q", ex.ProfileID, s.AppMemberships[i].ProfileID)
	}
	return out
}

// reachesApp reports whether the application membership am is the user's
// own or that of the member's profile.
func reachesApp(am access.AppMembership, userID string, member *access.Member) bool {
	return am.UserID != "" && am.UserID == userID ||
		am.ProfileID != "" && member != nil && am.ProfileID == member.ProfileID
}
