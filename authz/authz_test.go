package authz_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/authz"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/role"
)

// fakeStore is an access.Store over snapshots kept by (organization, revision),
// so that a revision can be moved back to an older snapshot.
type fakeStore struct {
	mu            sync.Mutex
	current       map[string]string
	snaps         map[[2]string]*access.Snapshot
	snapshotCalls int
	failRevision  error
	failSnapshot  error
}

var _ access.Store = (*fakeStore)(nil)

func newStore(tb testing.TB, snaps ...*access.Snapshot) *fakeStore {
	tb.Helper()
	st := &fakeStore{current: map[string]string{}, snaps: map[[2]string]*access.Snapshot{}}
	for _, s := range snaps {
		st.set(s.OrganizationID, s)
	}
	return st
}

// set stores s under org and makes its revision the current one.
func (f *fakeStore) set(org string, s *access.Snapshot) { f.put(org, s.Revision, s) }

// put stores s under (org, rev) and makes rev the current revision.
func (f *fakeStore) put(org, rev string, s *access.Snapshot) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snaps[[2]string{org, rev}] = s
	f.current[org] = rev
}

// setRevision moves org to a revision stored earlier.
func (f *fakeStore) setRevision(org, rev string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.current[org] = rev
}

func (f *fakeStore) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snapshotCalls
}

func (f *fakeStore) Revision(_ context.Context, org string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failRevision != nil {
		return "", f.failRevision
	}
	rev, ok := f.current[org]
	if !ok {
		return "", fault.E("fake.Revision", fault.NotFound, nil)
	}
	return rev, nil
}

func (f *fakeStore) Snapshot(_ context.Context, org string) (*access.Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snapshotCalls++
	if f.failSnapshot != nil {
		return nil, f.failSnapshot
	}
	s, ok := f.snaps[[2]string{org, f.current[org]}]
	if !ok {
		return nil, fault.E("fake.Snapshot", fault.NotFound, nil)
	}
	return s, nil
}

// acme has one role of each kind, a custom role "r-shared" whose id is also
// an admin role of beta, and a custom role without permissions.
func acme() *access.Snapshot {
	return &access.Snapshot{
		OrganizationID: "acme",
		Revision:       "acme-1",
		OwnerUserID:    "u-owner",
		Roles: []access.RoleGrant{
			{ID: "r-admin", Kind: role.KindAdmin},
			{ID: "r-ro", Kind: role.KindReadOnly},
			{ID: "r-shared", Kind: role.KindCustom},
			{ID: "r-empty", Kind: role.KindCustom},
		},
		Permissions: []role.Permission{
			{ID: "p1", OrganizationID: "acme", RoleID: "r-shared", Subject: "orders", CanCreate: true, CanRead: true},
			{ID: "p2", RoleID: "r-shared", Subject: "skus", CanUpdate: true},
			{ID: "p3", RoleID: "r-admin", Subject: "orders"}, // flags of an admin role: the kind decides
		},
		Members: []access.Member{
			{UserID: "u-owner", RoleIDs: []string{"r-admin"}},
			{UserID: "u-admin", RoleIDs: []string{"r-admin"}},
			{UserID: "u-ro", RoleIDs: []string{"r-ro"}},
			{UserID: "u-custom", RoleIDs: []string{"r-shared"}},
			{UserID: "u-plain", RoleIDs: []string{"r-empty"}},
		},
	}
}

// beta reuses acme's role ids, with other kinds: only the domain tells them apart.
func beta() *access.Snapshot {
	return &access.Snapshot{
		OrganizationID: "beta",
		Revision:       "beta-1",
		OwnerUserID:    "u-beta",
		Roles: []access.RoleGrant{
			{ID: "r-shared", Kind: role.KindAdmin},
			{ID: "r-admin", Kind: role.KindAdmin},
		},
		Members: []access.Member{{UserID: "u-beta", RoleIDs: []string{"r-shared"}}},
	}
}

func cred(id string) access.Principal { return access.Principal{Kind: access.KindCredential, ID: id} }

func mustCheck(tb testing.TB, a *authz.Authorizer, st access.Store, p access.Principal, org, subject string, act role.Action) authz.Decision {
	tb.Helper()
	d, err := a.Check(context.Background(), st, p, org, subject, act)
	if err != nil {
		tb.Fatalf("Check(%s, %s, %s, %s): %v", p.Subject(), org, subject, act, err)
	}
	return d
}

func TestCheckDecisions(t *testing.T) {
	st := newStore(t, acme(), beta())
	a := authz.New()
	acme1 := func(allowed, member, owner bool) authz.Decision {
		return authz.Decision{Allowed: allowed, Member: member, Owner: owner, Reason: reasonOf(allowed, member), Revision: "acme-1"}
	}
	tests := []struct {
		name        string
		givePrin    access.Principal
		giveOrg     string
		giveSubject string
		giveAct     role.Action
		want        authz.Decision
	}{
		{"admin creates orders", access.User("u-admin"), "acme", "orders", role.ActionCreate, acme1(true, true, false)},
		{"admin destroys versions", access.User("u-admin"), "acme", "versions", role.ActionDestroy, acme1(true, true, false)},
		{"owner flag", access.User("u-owner"), "acme", "organizations", role.ActionUpdate, acme1(true, true, true)},
		{"read_only reads anything", access.User("u-ro"), "acme", "customers", role.ActionRead, acme1(true, true, false)},
		{"read_only reads versions", access.User("u-ro"), "acme", "versions", role.ActionRead, acme1(true, true, false)},
		{"read_only cannot update", access.User("u-ro"), "acme", "customers", role.ActionUpdate, acme1(false, true, false)},
		{"read_only cannot create memberships", access.User("u-ro"), "acme", "memberships", role.ActionCreate, acme1(false, true, false)},
		{"custom flag create", access.User("u-custom"), "acme", "orders", role.ActionCreate, acme1(true, true, false)},
		{"custom flag read", access.User("u-custom"), "acme", "orders", role.ActionRead, acme1(true, true, false)},
		{"custom unflagged update", access.User("u-custom"), "acme", "orders", role.ActionUpdate, acme1(false, true, false)},
		{"custom flag on other subject", access.User("u-custom"), "acme", "skus", role.ActionUpdate, acme1(true, true, false)},
		{"custom unflagged on other subject", access.User("u-custom"), "acme", "skus", role.ActionRead, acme1(false, true, false)},
		{"custom role id is admin in beta only", access.User("u-custom"), "acme", "customers", role.ActionDestroy, acme1(false, true, false)},
		{"baseline reads memberships", access.User("u-plain"), "acme", "memberships", role.ActionRead, acme1(true, true, false)},
		{"baseline reads identity_providers", access.User("u-plain"), "acme", "identity_providers", role.ActionRead, acme1(true, true, false)},
		{"baseline cannot create memberships", access.User("u-plain"), "acme", "memberships", role.ActionCreate, acme1(false, true, false)},
		{"baseline excludes versions", access.User("u-plain"), "acme", "versions", role.ActionRead, acme1(false, true, false)},
		{"baseline excludes core subjects", access.User("u-plain"), "acme", "orders", role.ActionRead, acme1(false, true, false)},
		{"non-member denied", access.User("u-stranger"), "acme", "memberships", role.ActionRead, acme1(false, false, false)},
		{"admin of acme denied in beta", access.User("u-admin"), "beta", "memberships", role.ActionRead, authz.Decision{Reason: authz.NotMember, Revision: "beta-1"}},
		{"admin of beta allowed in beta", access.User("u-beta"), "beta", "orders", role.ActionCreate, authz.Decision{Allowed: true, Member: true, Owner: true, Reason: authz.Granted, Revision: "beta-1"}},
		{"admin of beta denied in acme", access.User("u-beta"), "acme", "orders", role.ActionRead, acme1(false, false, false)},
		{"credential with a member's id", cred("u-admin"), "acme", "orders", role.ActionRead, acme1(false, false, false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustCheck(t, a, st, tt.givePrin, tt.giveOrg, tt.giveSubject, tt.giveAct)
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// reasonOf is the reason of a decision that no attribute rule or deny line made.
func reasonOf(allowed, member bool) authz.Reason {
	switch {
	case allowed:
		return authz.Granted
	case !member:
		return authz.NotMember
	}
	return authz.NoGrant
}

func TestCheckErrors(t *testing.T) {
	storeErr := errors.New("connection reset")
	tests := []struct {
		name        string
		givePrin    access.Principal
		giveOrg     string
		giveSubject string
		giveAct     role.Action
		giveRevErr  error
		giveSnapErr error
		want        error
	}{
		{"system principal", access.Principal{Kind: access.KindSystem, ID: "boot"}, "acme", "orders", role.ActionRead, nil, nil, fault.ErrInternal},
		{"zero principal", access.Principal{}, "acme", "orders", role.ActionRead, nil, nil, fault.ErrUnauthenticated},
		{"principal without id", access.User(""), "acme", "orders", role.ActionRead, nil, nil, fault.ErrUnauthenticated},
		{"principal id with comma", access.User("u-admin,r-admin"), "acme", "orders", role.ActionRead, nil, nil, fault.ErrUnauthenticated},
		{"empty organization", access.User("u-admin"), "", "orders", role.ActionRead, nil, nil, fault.ErrInvalid},
		{"malformed organization", access.User("u-admin"), "acme,beta", "orders", role.ActionRead, nil, nil, fault.ErrNotFound},
		{"unknown organization", access.User("u-admin"), "gamma", "orders", role.ActionRead, nil, nil, fault.ErrNotFound},
		{"empty subject", access.User("u-admin"), "acme", "", role.ActionRead, nil, nil, fault.ErrInvalid},
		{"wildcard subject", access.User("u-admin"), "acme", "*", role.ActionRead, nil, nil, fault.ErrInvalid},
		{"empty action", access.User("u-admin"), "acme", "orders", "", nil, nil, fault.ErrInvalid},
		{"wildcard action", access.User("u-admin"), "acme", "orders", "*", nil, nil, fault.ErrInvalid},
		{"revision fails", access.User("u-admin"), "acme", "orders", role.ActionRead, storeErr, nil, storeErr},
		{"snapshot fails", access.User("u-admin"), "acme", "orders", role.ActionRead, nil, storeErr, storeErr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStore(t, acme())
			st.failRevision, st.failSnapshot = tt.giveRevErr, tt.giveSnapErr
			got, err := authz.New().Check(context.Background(), st, tt.givePrin, tt.giveOrg, tt.giveSubject, tt.giveAct)
			if !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
			if got != (authz.Decision{}) {
				t.Errorf("decision %+v, want the zero Decision", got)
			}
		})
	}
}

func TestLines(t *testing.T) {
	s := &access.Snapshot{
		OrganizationID: "o1",
		Revision:       "rev",
		Roles: []access.RoleGrant{
			{ID: "ra", Kind: role.KindAdmin},
			{ID: "rr", Kind: role.KindReadOnly},
			{ID: "rc", Kind: role.KindCustom},
		},
		Permissions: []role.Permission{
			{ID: "p1", RoleID: "rc", Subject: "orders", CanCreate: true, CanDestroy: true},
			{ID: "p2", RoleID: "ra", Subject: "orders", CanRead: true},
		},
		Members: []access.Member{{UserID: "u1", RoleIDs: []string{"rc"}}},
	}
	wantP := [][]string{
		{"role:ra", "org:o1", "*", "*", "allow"},
		{"role:rr", "org:o1", "*", "read", "allow"},
		{"role:rc", "org:o1", "orders", "create", "allow"},
		{"role:rc", "org:o1", "orders", "destroy", "allow"},
		{"builtin:member", "org:o1", "organizations", "read", "allow"},
		{"builtin:member", "org:o1", "memberships", "read", "allow"},
		{"builtin:member", "org:o1", "membership_profiles", "read", "allow"},
		{"builtin:member", "org:o1", "roles", "read", "allow"},
		{"builtin:member", "org:o1", "permissions", "read", "allow"},
		{"builtin:member", "org:o1", "api_credentials", "read", "allow"},
		{"builtin:member", "org:o1", "application_memberships", "read", "allow"},
		{"builtin:member", "org:o1", "identity_providers", "read", "allow"},
	}
	wantG := [][]string{
		{"user:u1", "role:rc", "org:o1"},
		{"user:u1", "builtin:member", "org:o1"},
	}
	p, g, err := authz.Lines(s)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(p, wantP, slices.Equal) {
		t.Errorf("p lines\n got %q\nwant %q", p, wantP)
	}
	if !slices.EqualFunc(g, wantG, slices.Equal) {
		t.Errorf("g lines\n got %q\nwant %q", g, wantG)
	}
}

// renameRole renames a role of s everywhere, so that the new id is the only fault.
func renameRole(s *access.Snapshot, from, to string) {
	for i := range s.Roles {
		if s.Roles[i].ID == from {
			s.Roles[i].ID = to
		}
	}
	for i := range s.Permissions {
		if s.Permissions[i].RoleID == from {
			s.Permissions[i].RoleID = to
		}
	}
	for i := range s.Members {
		for j, r := range s.Members[i].RoleIDs {
			if r == from {
				s.Members[i].RoleIDs[j] = to
			}
		}
	}
}

func TestHygiene(t *testing.T) {
	tests := []struct {
		name         string
		give         func(s *access.Snapshot)
		wantLinesErr bool
	}{
		{"role id with comma", func(s *access.Snapshot) { renameRole(s, "r-admin", "r-admin, org:beta") }, true},
		{"role id with quote", func(s *access.Snapshot) { renameRole(s, "r-admin", `r"admin`) }, true},
		{"role id with newline", func(s *access.Snapshot) { renameRole(s, "r-admin", "r-admin\ng") }, true},
		{"role id with carriage return", func(s *access.Snapshot) { renameRole(s, "r-admin", "r-admin\r") }, true},
		{"role id with leading space", func(s *access.Snapshot) { renameRole(s, "r-admin", " r-admin") }, true},
		{"role id with trailing space", func(s *access.Snapshot) { renameRole(s, "r-admin", "r-admin ") }, true},
		{"role id with inner space", func(s *access.Snapshot) { renameRole(s, "r-admin", "r admin") }, true},
		{"empty role id", func(s *access.Snapshot) { renameRole(s, "r-admin", "") }, true},
		{"role id that is a name", func(s *access.Snapshot) { renameRole(s, "r-admin", "Admin") }, true},
		{"duplicate role id", func(s *access.Snapshot) { s.Roles[1].ID = "r-admin" }, true},
		{"unknown kind", func(s *access.Snapshot) { s.Roles[0].Kind = "superuser" }, true},
		{"member id with comma", func(s *access.Snapshot) { s.Members[1].UserID = "u-admin,u-x" }, true},
		{"member id with newline", func(s *access.Snapshot) { s.Members[1].UserID = "u-admin\np" }, true},
		{"member id that is an email", func(s *access.Snapshot) { s.Members[1].UserID = "ann@example.com" }, true},
		{"empty member id", func(s *access.Snapshot) { s.Members[1].UserID = "" }, true},
		{"empty member role", func(s *access.Snapshot) { s.Members[1].RoleIDs = []string{""} }, true},
		{"member without a role", func(s *access.Snapshot) { s.Members[1].RoleIDs = nil }, true},
		{"member of an unknown role", func(s *access.Snapshot) { s.Members[1].RoleIDs = []string{"r-admin", "r-ghost"} }, true},
		{"member listed twice", func(s *access.Snapshot) { s.Members[1].UserID = s.Members[0].UserID }, true},
		{"grant with comma", func(s *access.Snapshot) { s.Members[1].Grants = []access.Grant{{Subject: "orders,x", Action: "read"}} }, true},
		{"grant of an unknown action", func(s *access.Snapshot) { s.Members[1].Grants = []access.Grant{{Subject: "orders", Action: "own"}} }, true},
		{"empty grant", func(s *access.Snapshot) { s.Members[1].Grants = []access.Grant{{}} }, true},
		{"credential id with comma", func(s *access.Snapshot) { s.Credentials = []access.Credential{{ID: "c1,role:r-admin"}} }, true},
		{"credential of an unknown role", func(s *access.Snapshot) { s.Credentials = []access.Credential{{ID: "c1", RoleID: "r-ghost"}} }, true},
		{"application membership of an unknown credential", func(s *access.Snapshot) {
			s.AppMemberships = []access.AppMembership{{ID: "am1", CredentialID: "c-ghost", RoleID: "r-admin", UserID: "u-plain"}}
		}, true},
		{"application membership with user and profile", func(s *access.Snapshot) {
			s.Credentials = []access.Credential{{ID: "c1"}}
			s.AppMemberships = []access.AppMembership{{ID: "am1", CredentialID: "c1", RoleID: "r-admin", UserID: "u-plain", ProfileID: "pf"}}
		}, true},
		{"application membership without holder", func(s *access.Snapshot) {
			s.Credentials = []access.Credential{{ID: "c1"}}
			s.AppMemberships = []access.AppMembership{{ID: "am1", CredentialID: "c1", RoleID: "r-admin"}}
		}, true},
		{"subject with comma", func(s *access.Snapshot) { s.Permissions[0].Subject = "orders, org:beta" }, true},
		{"subject with newline", func(s *access.Snapshot) { s.Permissions[0].Subject = "orders\n" }, true},
		{"subject with space", func(s *access.Snapshot) { s.Permissions[0].Subject = " orders" }, true},
		{"wildcard subject", func(s *access.Snapshot) { s.Permissions[0].Subject = "*" }, true},
		{"empty subject", func(s *access.Snapshot) { s.Permissions[0].Subject = "" }, true},
		{"permission of an unknown role", func(s *access.Snapshot) { s.Permissions[0].RoleID = "r-ghost" }, true},
		{"permission of another organization", func(s *access.Snapshot) { s.Permissions[0].OrganizationID = "beta" }, true},
		{"malformed owner", func(s *access.Snapshot) { s.OwnerUserID = "u-owner, x" }, true},
		{"snapshot of another organization", func(s *access.Snapshot) { s.OrganizationID, s.Permissions[0].OrganizationID = "beta", "" }, false},
		{"malformed organization id", func(s *access.Snapshot) { s.OrganizationID = "acme, beta" }, true},
		{"empty snapshot revision", func(s *access.Snapshot) { s.Revision = "" }, false},
	}
	principals := []access.Principal{access.User("u-owner"), access.User("u-admin"), access.User("u-plain"), access.User("u-stranger")}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := acme()
			tt.give(s)
			_, _, err := authz.Lines(s)
			if (err != nil) != tt.wantLinesErr {
				t.Errorf("Lines error %v, want error: %v", err, tt.wantLinesErr)
			}
			st := newStore(t)
			st.put("acme", "acme-1", s) // under acme-1 even when the snapshot says otherwise
			a := authz.New()
			for _, p := range principals {
				for _, act := range role.Actions {
					d, err := a.Check(context.Background(), st, p, "acme", "memberships", act)
					if !errors.Is(err, fault.ErrInternal) || d != (authz.Decision{}) {
						t.Errorf("Check(%s, %s) = %+v, %v; want the zero Decision and an internal error", p.ID, act, d, err)
					}
				}
			}
		})
	}
}

func TestRevision(t *testing.T) {
	ctx := context.Background()
	st := newStore(t, acme())
	a := authz.New()
	plain := access.User("u-plain")
	want := func(t *testing.T, allowed bool, rev string, calls int) {
		t.Helper()
		d, err := a.Check(ctx, st, plain, "acme", "orders", role.ActionCreate)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed != allowed || d.Revision != rev || st.calls() != calls {
			t.Fatalf("got allowed=%v revision=%s snapshots=%d; want %v %s %d", d.Allowed, d.Revision, st.calls(), allowed, rev, calls)
		}
	}

	for range 5 {
		want(t, false, "acme-1", 1) // cached: one snapshot for many checks
	}

	granted := acme()
	granted.Revision = "acme-2"
	granted.Members[4].RoleIDs = []string{"r-admin"} // u-plain becomes admin
	st.set("acme", granted)
	want(t, true, "acme-2", 2)
	want(t, true, "acme-2", 2)

	st.setRevision("acme", "acme-1") // the grant is gone again: the old revision comes back
	want(t, false, "acme-1", 3)
	want(t, false, "acme-1", 3)

	a.Invalidate("acme")
	want(t, false, "acme-1", 4)
}

func TestEviction(t *testing.T) {
	st := newStore(t, acme(), beta())
	a := authz.New(authz.WithMaxOrganizations(1))
	for _, org := range []string{"acme", "acme", "beta", "beta", "acme"} {
		mustCheck(t, a, st, access.User("u-admin"), org, "orders", role.ActionRead)
	}
	if got := st.calls(); got != 3 {
		t.Errorf("snapshots read: %d, want 3 (one organization cached at a time)", got)
	}
	if d := mustCheck(t, a, st, access.User("u-admin"), "acme", "orders", role.ActionRead); !d.Allowed {
		t.Errorf("admin denied after eviction: %+v", d)
	}
}

func TestConcurrentChecks(t *testing.T) {
	granted, revoked := acme(), acme()
	revoked.Revision = "acme-2"
	revoked.Members[1].RoleIDs = []string{"r-empty"} // u-admin loses admin
	st := newStore(t, revoked, granted)
	wantAllowed := map[string]bool{"acme-1": true, "acme-2": false}
	a := authz.New()

	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 500 {
			st.setRevision("acme", []string{"acme-1", "acme-2"}[i%2])
		}
	})
	for range 8 {
		wg.Go(func() {
			for range 300 {
				d, err := a.Check(context.Background(), st, access.User("u-admin"), "acme", "orders", role.ActionDestroy)
				if err != nil {
					t.Error(err)
					return
				}
				if want, ok := wantAllowed[d.Revision]; !ok || d.Allowed != want || !d.Member {
					t.Errorf("decision %+v disagrees with its revision", d)
					return
				}
			}
		})
	}
	wg.Wait()
}

// memAdapter loads fixed lines, in array form, into a stock enforcer.
type memAdapter struct{ rules [][]string }

var _ persist.Adapter = (*memAdapter)(nil)

func (m *memAdapter) LoadPolicy(mod model.Model) error {
	for _, r := range m.rules {
		if err := persist.LoadPolicyArray(r, mod); err != nil {
			return err
		}
	}
	return nil
}
func (m *memAdapter) SavePolicy(model.Model) error                { return errors.New("read-only") }
func (m *memAdapter) AddPolicy(string, string, []string) error    { return errors.New("read-only") }
func (m *memAdapter) RemovePolicy(string, string, []string) error { return errors.New("read-only") }
func (m *memAdapter) RemoveFilteredPolicy(string, string, int, ...string) error {
	return errors.New("read-only")
}

// stockEnforcer loads the lines of every snapshot into one plain enforcer,
// with modelText as the model.
func stockEnforcer(tb testing.TB, modelText string, snaps ...*access.Snapshot) *casbin.Enforcer {
	tb.Helper()
	var rules [][]string
	for _, s := range snaps {
		p, g, err := authz.Lines(s)
		if err != nil {
			tb.Fatal(err)
		}
		for _, l := range p {
			rules = append(rules, append([]string{"p"}, l...))
		}
		for _, l := range g {
			rules = append(rules, append([]string{"g"}, l...))
		}
	}
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		tb.Fatal(err)
	}
	e, err := casbin.NewEnforcer(m, &memAdapter{rules: rules})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func readModel(tb testing.TB) string {
	tb.Helper()
	b, err := os.ReadFile("model.conf")
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// TestModelComparesDomain shows that acme and beta exercise the domain
// comparison: without it, a stock enforcer holding both organizations lets
// acme's custom "r-shared" act as beta's admin "r-shared".
func TestModelComparesDomain(t *testing.T) {
	good := readModel(t)
	bad := strings.Replace(good, "r.dom == p.dom && ", "", 1)
	if bad == good {
		t.Fatal("model.conf does not compare the domain")
	}
	tests := []struct {
		name  string
		give  string
		wantA bool
	}{
		{"model.conf", good, false},
		{"matcher without r.dom == p.dom", bad, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := stockEnforcer(t, tt.give, acme(), beta())
			got, err := e.Enforce("user:u-custom", "org:acme", "customers", "destroy")
			if err != nil || got != tt.wantA {
				t.Errorf("Enforce = %v, %v; want %v", got, err, tt.wantA)
			}
		})
	}
}

// largeSnapshot has 50 custom roles of 20 subjects each and 500 members.
func largeSnapshot() *access.Snapshot {
	large := &access.Snapshot{OrganizationID: "large", Revision: "large-1", OwnerUserID: "u0"}
	for i := range 50 {
		id := fmt.Sprintf("r%d", i)
		large.Roles = append(large.Roles, access.RoleGrant{ID: id, Kind: role.KindCustom})
		for _, subj := range role.CoreSubjects()[:20] {
			large.Permissions = append(large.Permissions, role.Permission{RoleID: id, Subject: string(subj), CanRead: true, CanUpdate: true})
		}
	}
	for i := range 500 {
		large.Members = append(large.Members, access.Member{UserID: fmt.Sprintf("u%d", i), RoleIDs: []string{fmt.Sprintf("r%d", i%50)}})
	}
	return large
}

// BenchmarkRebuild measures a cold check: the snapshot is read again and the
// organization's shard rebuilt, as after every policy change.
func BenchmarkRebuild(b *testing.B) {
	tests := []struct {
		name string
		give *access.Snapshot
	}{
		{"small", acme()},
		{"large", largeSnapshot()},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			st := newStore(b, tt.give)
			a := authz.New()
			p := access.User(tt.give.OwnerUserID)
			b.ReportAllocs()
			for b.Loop() {
				a.Invalidate(tt.give.OrganizationID)
				if _, err := a.Check(context.Background(), st, p, tt.give.OrganizationID, "orders", role.ActionRead); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func (f *fakeStore) Organizations(_ context.Context, p access.Principal, after string, limit int) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for org, rev := range f.current {
		s := f.snaps[[2]string{org, rev}]
		if s == nil || org <= after {
			continue
		}
		in := slices.ContainsFunc(s.Members, func(m access.Member) bool { return p.Kind == access.KindUser && m.UserID == p.ID }) ||
			slices.ContainsFunc(s.Credentials, func(c access.Credential) bool { return p.Kind == access.KindCredential && c.ID == p.ID })
		if in {
			out = append(out, org)
		}
	}
	slices.Sort(out)
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// TestDecideRefusesMalformedSubjects: a subject no line names and that is
// not the shape of a subject is refused even to a holder of "*".
func TestDecideRefusesMalformedSubjects(t *testing.T) {
	st := newStore(t, acme())
	a := authz.New()
	admin := access.User("u-admin")
	mustCheck(t, a, st, admin, "acme", "orders", role.ActionRead) // load the shard
	for _, subject := range []string{"", "Orders", "orders, org:beta", "orders\n", "*"} {
		d, ok := a.Decide(admin, "acme", "acme-1", subject, role.ActionRead)
		if !ok || d.Allowed || d.Reason != authz.NoGrant {
			t.Errorf("Decide(%q) = %+v, %v; want refused (no_grant)", subject, d, ok)
		}
	}
	if d, ok := a.Decide(admin, "acme", "acme-1", "widgets", role.ActionRead); !ok || !d.Allowed {
		t.Errorf("Decide(widgets) = %+v, %v; want allowed by the admin's wildcard", d, ok)
	}
}
