package storagetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/profile"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/user"
)

// Run is the conformance suite of the storage contracts: it takes a store
// from newStore, migrates it (twice, to prove Migrate idempotent) and
// exercises every method of every Store through the store's accessors. It
// proves an adapter (Run(t, Bun(SQLite))) or a decorator over one alike: the
// suite sees only the Store interface and the optional capabilities that
// Factory documents. The assertions are the same on every backend: the same
// sequence of calls gives the same results (RELIABILITY I22).
//
// Subtests share the store; each builds its own organizations, users and
// memberships, so they do not see each other's rows.
func Run(t *testing.T, newStore Factory) {
	t.Helper()
	e := newEnv(t, newStore)
	for _, g := range suite {
		t.Run(g.name, func(t *testing.T) {
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) { c.fn(t, e) })
			}
		})
	}
}

type testCase struct {
	name string
	fn   func(t *testing.T, e *env)
}

// suite lists the subtests by store. Every method of every Store appears in
// at least one of them.
var suite = []struct {
	name  string
	cases []testCase
}{
	{"Migrate", []testCase{
		{"Idempotent", testMigrateIdempotent},
		{"Concurrent", testMigrateConcurrent},
	}},
	{"Organizations", []testCase{
		{"RoundTrip", testOrgRoundTrip},
		{"Update", testOrgUpdate},
		{"SlugTaken", testOrgSlugTaken},
		{"Lock", testOrgLock},
		{"LockSerializesReadModifyWrite", testOrgLockSerializes},
		{"SetOwner", testOrgSetOwner},
		{"SetOwnerConcurrent", testOrgSetOwnerConcurrent},
		{"BumpPolicy", testOrgBumpPolicy},
		{"ListForUser", testOrgListForUser},
		{"ListForCredential", testOrgListForCredential},
		{"SlugsWithPrefix", testOrgSlugsWithPrefix},
	}},
	{"MembershipRules", rulesCases},
	{"ListQueries", queryCases},
	{"ListsAcrossOrganizations", acrossCases},
	{"SecurityEvents", securityCases},
	{"IdempotencyKeys", keyCases},
	{"Bulk", bulkCases},
	{"Slices", sliceCases},
	{"Plan", []testCase{
		{"RoundTrip", testPlanRoundTrip},
		{"CountMemberships", testPlanCountMemberships},
		{"CountOwned", testPlanCountOwned},
		{"UserLock", testUserLock},
		{"UserLockSerializes", testUserLockSerializes},
	}},
	{"Users", []testCase{
		{"RoundTrip", testUserRoundTrip},
		{"TimePrecision", testUserTimePrecision},
		{"GetByEmail", testUserGetByEmail},
		{"EmailTaken", testUserEmailTaken},
		{"Update", testUserUpdate},
		{"EmailChange", testUserEmailChange},
		{"MetadataWithNUL", testUserMetadataNUL},
	}},
	{"Keys", []testCase{
		{"UserEmailIsExact", testKeyUserEmail},
		{"MembershipEmailIsExact", testKeyMembershipEmail},
		{"FiltersAreExact", testKeyFilters},
	}},
	{"NotFound", []testCase{
		{"Get", testNotFound},
		{"UnknownIDOnWrite", testNotFoundOnWrite},
		{"UpdateWithoutChange", testUpdateWithoutChange},
	}},
	{"Memberships", []testCase{
		{"RoundTrip", testMemberRoundTrip},
		{"UniqueKeys", testMemberUniqueKeys},
		{"GetByEmailAndUser", testMemberGetBy},
		{"GetByInvitation", testMemberGetByInvitation},
		{"SetInvitation", testMemberSetInvitation},
		{"Activate", testMemberActivate},
		{"Update", testMemberUpdate},
		{"Delete", testMemberDelete},
		{"ViewFields", testMemberViewFields},
		{"Pages", testMemberPages},
		{"Filters", testMemberFilters},
		{"PendingForEmail", testMemberPendingForEmail},
		{"ForeignKeys", testMemberForeignKeys},
		{"ConcurrentCreate", testMemberConcurrentCreate},
	}},
	{"Invitations", inviteCases},
	{"Profiles", []testCase{
		{"RoundTrip", testProfileRoundTrip},
		{"Update", testProfileUpdate},
		{"Delete", testProfileDelete},
		{"List", testProfileList},
	}},
	{"Roles", []testCase{
		{"RoundTrip", testRoleRoundTrip},
		{"UpdateRole", testRoleUpdate},
		{"ListRoles", testRoleList},
		{"RoleOfKind", testRoleOfKind},
		{"PermissionRoundTrip", testPermissionRoundTrip},
		{"PermissionTaken", testPermissionTaken},
		{"UpdatePermission", testPermissionUpdate},
		{"ListPermissions", testPermissionList},
		{"PermissionSubjects", testPermissionSubjects},
	}},
	{"IdentityProviders", idpCases},
	{"Credentials", credentialCases},
	{"Tokens", tokenCases},
	{"AppMemberships", appMembershipCases},
	{"Versions", []testCase{
		{"RoundTrip", testVersionRoundTrip},
		{"List", testVersionList},
		{"SinceUntil", testVersionSinceUntil},
		{"Purge", testVersionPurge},
	}},
	{"Access", []testCase{
		{"Revision", testAccessRevision},
		{"Snapshot", testAccessSnapshot},
		{"SnapshotInTx", testAccessSnapshotInTx},
		{"Organizations", testAccessOrganizations},
		{"OrganizationsLimit", testAccessOrganizationsLimit},
		{"OrganizationsInvalidPrincipal", testAccessOrganizationsInvalid},
	}},
	{"InTx", []testCase{
		{"Commit", testTxCommit},
		{"RollbackOnError", testTxRollback},
		{"Nested", testTxNested},
		{"Panic", testTxPanic},
		{"CancelInside", testTxCancel},
		{"ConstraintErrorKeepsTxUsable", testTxAfterConstraintError},
	}},
}

// t0 is the base time of fixtures: microsecond precision, UTC.
var t0 = time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)

// zone is a non-UTC location: times given in it come back in UTC.
var zone = time.FixedZone("UTC+05:30", 5*3600+30*60)

// env is what the subtests share: the store, its factory and an id sequence.
type env struct {
	newStore Factory
	s        Store
	seq      atomic.Int64
}

func newEnv(t *testing.T, newStore Factory) *env {
	t.Helper()
	s := newStore(t)
	for i := 1; i <= 2; i++ {
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate (call %d): %v", i, err)
		}
	}
	return &env{newStore: newStore, s: s}
}

// bunDB returns the bun database of a store with the BunDB capability; ok
// is false (and the test logs that what needs it is left out) without it.
func bunDB(tb testing.TB, s Store) (_ *bun.DB, ok bool) {
	tb.Helper()
	b, ok := s.(BunDB)
	if !ok {
		tb.Logf("the store (%T) has no DB (storagetest.BunDB): its rows are not checked directly", s)
		return nil, false
	}
	return b.DB(), true
}

// inTransaction reports whether ctx carries a transaction of a store with
// the TxReporter capability; known is false without it.
func inTransaction(ctx context.Context, s Store) (in, known bool) {
	r, ok := s.(TxReporter)
	if !ok {
		return false, false
	}
	return r.InTransaction(ctx), true
}

// id returns a fresh id; ids grow in the order they are made, like the
// library's own time-ordered ids.
func (e *env) id() string { return fmt.Sprintf("id%010d", e.seq.Add(1)) }

// hash returns a fresh 32-byte invitation token hash.
func (e *env) hash() []byte {
	b := make([]byte, 32)
	copy(b, e.id())
	return b
}

// common returns common attributes created and updated at t0.
func common() resource.Common { return resource.Common{CreatedAt: t0, UpdatedAt: t0} }

func (e *env) newOrg(tb testing.TB, mods ...func(*organization.Organization)) *organization.Organization {
	tb.Helper()
	id := e.id()
	o := &organization.Organization{ID: id, Name: "Org " + id, Slug: "org-" + id, Domain: "org-" + id + organization.DomainSuffix,
		Region: organization.DefaultRegion, Common: common()}
	for _, m := range mods {
		m(o)
	}
	must(tb, e.s.Organizations().Create(tb.Context(), o))
	return o
}

func (e *env) newUser(tb testing.TB, mods ...func(*user.User)) *user.User {
	tb.Helper()
	id := e.id()
	u := &user.User{ID: id, Email: id + "@example.com", FirstName: "First " + id, LastName: "Last " + id, Common: common()}
	for _, m := range mods {
		m(u)
	}
	must(tb, e.s.Users().Create(tb.Context(), u))
	return u
}

func (e *env) newRole(tb testing.TB, orgID string, kind role.Kind, mods ...func(*role.Role)) *role.Role {
	tb.Helper()
	id := e.id()
	r := &role.Role{ID: id, OrganizationID: orgID, Name: "Role " + id, Kind: kind, Common: common()}
	for _, m := range mods {
		m(r)
	}
	must(tb, e.s.Roles().CreateRole(tb.Context(), r))
	return r
}

func (e *env) newPermission(tb testing.TB, r *role.Role, subject string, mods ...func(*role.Permission)) *role.Permission {
	tb.Helper()
	p := &role.Permission{ID: e.id(), OrganizationID: r.OrganizationID, RoleID: r.ID, Subject: subject, CanRead: true, Common: common()}
	for _, m := range mods {
		m(p)
	}
	must(tb, e.s.Roles().CreatePermission(tb.Context(), p))
	return p
}

func (e *env) newProfile(tb testing.TB, orgID string, scope access.Scope, mods ...func(*profile.Profile)) *profile.Profile {
	tb.Helper()
	id := e.id()
	p := &profile.Profile{ID: id, OrganizationID: orgID, Name: "Profile " + id, AccessScope: scope, Common: common()}
	for _, m := range mods {
		m(p)
	}
	must(tb, e.s.Profiles().Create(tb.Context(), p))
	return p
}

// newMember creates a pending membership without user or invitation token,
// changed by mods.
func (e *env) newMember(tb testing.TB, orgID, roleID string, mods ...func(*membership.Membership)) *membership.Membership {
	tb.Helper()
	m := e.member(orgID, roleID, mods...)
	must(tb, e.s.Memberships().Create(tb.Context(), m, nil))
	return m
}

// member builds (without storing) a pending membership.
func (e *env) member(orgID, roleID string, mods ...func(*membership.Membership)) *membership.Membership {
	id := e.id()
	m := &membership.Membership{ID: id, OrganizationID: orgID, UserEmail: id + "@example.com", Status: membership.Pending,
		RoleID: roleID, RoleIDs: []string{roleID}, Common: common()}
	for _, mod := range mods {
		mod(m)
	}
	return m
}

// activeFor makes a membership the active one of u.
func activeFor(u *user.User) func(*membership.Membership) {
	return func(m *membership.Membership) {
		m.Status, m.UserID, m.UserEmail = membership.Active, u.ID, u.Email
	}
}

// tenant is an organization with its admin role and its owner.
type tenant struct {
	org   *organization.Organization
	admin *role.Role
	owner *user.User
	om    *membership.Membership // the owner's membership
}

func (e *env) newTenant(tb testing.TB) tenant {
	tb.Helper()
	o := e.newOrg(tb)
	admin := e.newRole(tb, o.ID, role.KindAdmin)
	u := e.newUser(tb)
	m := e.newMember(tb, o.ID, admin.ID, activeFor(u))
	must(tb, e.s.Organizations().SetOwner(tb.Context(), o.ID, "", m.ID))
	o.OwnerMembershipID = m.ID
	return tenant{org: o, admin: admin, owner: u, om: m}
}

// must fails the test on err.
func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// wantIs checks that err matches target.
func wantIs(tb testing.TB, what string, err, target error) {
	tb.Helper()
	if !errors.Is(err, target) {
		tb.Errorf("%s: error = %v, want %v", what, err, target)
	}
}

// wantTaken checks that err is fault.ErrAlreadyExists naming field.
func wantTaken(tb testing.TB, what string, err error, field string) {
	tb.Helper()
	var fe *fault.Error
	switch {
	case !errors.Is(err, fault.ErrAlreadyExists):
		tb.Errorf("%s: error = %v, want fault.ErrAlreadyExists", what, err)
	case !errors.As(err, &fe):
		tb.Errorf("%s: error %v (%T) is not a *fault.Error", what, err, err)
	case fe.Field != field:
		tb.Errorf("%s: Field = %q, want %q (error %v)", what, fe.Field, field, err)
	}
}

// wantEqual checks got and want are deeply equal.
func wantEqual[T any](tb testing.TB, what string, got, want T) {
	tb.Helper()
	if !reflect.DeepEqual(got, want) {
		tb.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// utcCommon returns c with its times in UTC, as the store returns them.
func utcCommon(c resource.Common) resource.Common {
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c
}

// richMetadata is a JSON object with nested values of every JSON type, in
// the Go types encoding/json decodes them to.
func richMetadata() resource.Metadata {
	return resource.Metadata{
		"string": "héllo ✓ 🎉 <&> \"quoted\" \u2028",
		"number": 1.5, "negative": -0.5, "tiny": 1e-7, "huge": 1e300, "integer": float64(42),
		"yes": true, "no": false, "null": nil,
		"nested": map[string]any{"list": []any{"a", float64(1), nil, true, map[string]any{"deep": "x"}}, "empty": map[string]any{}},
	}
}

// walk reads every page of a list with the given page size and checks the
// keyset invariants: no page larger than limit, Next set on every page but
// the last, no id twice. It returns the ids in order and the page sizes.
func walk[T any](tb testing.TB, limit int, list func(resource.PageRequest) (resource.Page[T], error), id func(T) string) (ids []string, sizes []int) {
	tb.Helper()
	seen := map[string]bool{}
	req := resource.PageRequest{Limit: limit}
	for pages := 0; ; pages++ {
		if pages > 1000 {
			tb.Fatal("more than 1000 pages: the cursor does not advance")
		}
		p, err := list(req)
		if err != nil {
			tb.Fatalf("page %d: %v", pages+1, err)
		}
		if len(p.Items) > req.Size() {
			tb.Errorf("page %d has %d items, more than %d", pages+1, len(p.Items), req.Size())
		}
		sizes = append(sizes, len(p.Items))
		for _, it := range p.Items {
			if seen[id(it)] {
				tb.Errorf("id %s on two pages", id(it))
			}
			seen[id(it)] = true
			ids = append(ids, id(it))
		}
		if p.Next == "" {
			return ids, sizes
		}
		if len(p.Items) == 0 {
			tb.Fatalf("page %d is empty but has a Next cursor", pages+1)
		}
		req.After = p.Next
	}
}

// idsOf returns the ids of items.
func idsOf[T any](items []T, id func(T) string) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, id(it))
	}
	return out
}

func memberID(m membership.Membership) string  { return m.ID }
func orgID(o organization.Organization) string { return o.ID }
func profileID(p profile.Profile) string       { return p.ID }
func roleID(r role.Role) string                { return r.ID }
func permissionID(p role.Permission) string    { return p.ID }
func sortedCopy(s []string) []string           { s = slices.Clone(s); slices.Sort(s); return s }
func membershipIDs(ms []*membership.Membership) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

// race runs fn n times at once, each in its own goroutine released together,
// and returns the errors in goroutine order.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// testMigrateIdempotent: a third Migrate is a no-op that keeps the rows;
// every migration is recorded once and no lock is left behind.
func testMigrateIdempotent(t *testing.T, e *env) {
	u := e.newUser(t)
	db, rows := bunDB(t, e.s)
	var before []string
	if rows {
		before = appliedMigrations(t, db)
	}
	must(t, e.s.Migrate(t.Context()))
	got, err := e.s.Users().Get(t.Context(), u.ID)
	must(t, err)
	wantEqual(t, "user after a third Migrate", got.ID, u.ID)
	if !rows {
		return
	}
	after := appliedMigrations(t, db)
	if len(before) == 0 {
		t.Fatal("no migration recorded")
	}
	wantEqual(t, "applied migrations after a third Migrate", after, before)
	wantEqual(t, "distinct applied migrations", slices.Compact(slices.Clone(after)), after)
	if n := migrationLocks(t, db); n != 0 {
		t.Errorf("%d migration locks left", n)
	}
}

// testMigrateConcurrent: four stores migrate one fresh database at once;
// every call succeeds and the schema is created once.
func testMigrateConcurrent(t *testing.T, e *env) {
	first := e.newStore(t)
	sharer, ok := first.(Sharer)
	if !ok {
		t.Skipf("the store (%T) cannot share its database (storagetest.Sharer)", first)
	}
	stores := []Store{first}
	for range 3 {
		s, err := sharer.Share()
		must(t, err)
		stores = append(stores, s)
	}
	errs := race(len(stores), func(i int) error { return stores[i].Migrate(t.Context()) })
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate in goroutine %d: %v", i, err)
		}
	}
	if db, ok := bunDB(t, first); ok {
		if suiteDB, ok := bunDB(t, e.s); ok {
			wantEqual(t, "applied migrations", appliedMigrations(t, db), appliedMigrations(t, suiteDB))
		}
		if n := migrationLocks(t, db); n != 0 {
			t.Errorf("%d migration locks left", n)
		}
	}
	u := &user.User{ID: e.id(), Email: "migrated@example.com", Common: common()}
	must(t, stores[len(stores)-1].Users().Create(t.Context(), u))
	got, err := first.Users().Get(t.Context(), u.ID)
	must(t, err)
	wantEqual(t, "user written by one store, read by another", got.Email, u.Email)
}

func appliedMigrations(tb testing.TB, db *bun.DB) []string {
	tb.Helper()
	var names []string
	err := db.NewSelect().Table("provisioning_migrations").Column("name").OrderExpr("name ASC").Scan(tb.Context(), &names)
	must(tb, err)
	return names
}

func migrationLocks(tb testing.TB, db *bun.DB) int {
	tb.Helper()
	n, err := db.NewSelect().Table("provisioning_migration_locks").Count(tb.Context())
	must(tb, err)
	return int(n)
}
