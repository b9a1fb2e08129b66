package provisioning_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/internal/testkit"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/storage/bunstore"
	"github.com/provisionkit/provisioning/storage/sqlite"
	"github.com/provisionkit/provisioning/user"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// mailbox records invitations and email changes.
type mailbox struct {
	sent    testkit.Recorder[provisioning.Invitation]
	changes testkit.Recorder[provisioning.EmailChange]
}

var _ provisioning.EmailChangeNotifier = (*mailbox)(nil)

func (m *mailbox) EmailChangeRequested(_ context.Context, c provisioning.EmailChange) error {
	m.changes.Add(c)
	return nil
}

func (m *mailbox) Invited(_ context.Context, inv provisioning.Invitation) error {
	m.sent.Add(inv)
	return nil
}

// lastChange is the last email change sent.
func (m *mailbox) lastChange(t testing.TB) provisioning.EmailChange {
	t.Helper()
	return m.changes.Last(t)
}

func (m *mailbox) last(t testing.TB) provisioning.Invitation { t.Helper(); return m.sent.Last(t) }

func (m *mailbox) count() int { return m.sent.Len() }

type env struct {
	db    *bun.DB
	store *bunstore.Store
	p     *provisioning.Provisioner
	clock *fakeClock
	mail  *mailbox
}

// newEnv returns a provisioner on a fresh in-memory SQLite database.
func newEnv(t testing.TB, opts ...provisioning.Option) *env {
	t.Helper()
	db, err := sqlite.Open(context.Background(), sqlite.Memory)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return newEnvOn(t, db, opts...)
}

// newEnvOn returns a provisioner on db, migrated.
func newEnvOn(t testing.TB, db *bun.DB, opts ...provisioning.Option) *env {
	t.Helper()
	st, err := bunstore.New(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, store: st, clock: &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}, mail: &mailbox{}}
	opts = append([]provisioning.Option{provisioning.WithClock(e.clock), provisioning.WithNotifier(e.mail)}, opts...)
	e.p, err = provisioning.New(st, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// user creates a user whose address the host has verified, as at sign-up.
func (e *env) user(t testing.TB, email string) *user.User {
	t.Helper()
	u, err := e.p.System().CreateUser(context.Background(), user.Create{Email: email, FirstName: "First", LastName: "Last", EmailVerified: true})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// unverifiedUser creates a user whose address nobody has verified.
func (e *env) unverifiedUser(t testing.TB, email string) *user.User {
	t.Helper()
	u, err := e.p.System().CreateUser(context.Background(), user.Create{Email: email, FirstName: "First", LastName: "Last"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// changeEmail changes u's address to address as the user would: asks for
// it, then confirms it with the code sent there.
func (e *env) changeEmail(t testing.TB, u *user.User, address string) *user.User {
	t.Helper()
	ctx := context.Background()
	if _, err := e.as(u).UpdateCurrentUser(ctx, user.Update{Email: &address}); err != nil {
		t.Fatal(err)
	}
	got, err := e.as(u).ConfirmEmail(ctx, e.mail.lastChange(t).Code)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (e *env) as(u *user.User) *provisioning.Session { return e.p.As(provisioning.User(u.ID)) }

// org creates an organization owned by owner and returns it with its admin and read_only roles.
func (e *env) org(t testing.TB, owner *user.User, name string) (*organization.Organization, *role.Role, *role.Role) {
	t.Helper()
	ctx := context.Background()
	o, err := e.as(owner).CreateOrganization(ctx, organization.Create{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := e.store.Roles().RoleOfKind(ctx, o.ID, role.KindAdmin)
	if err != nil {
		t.Fatal(err)
	}
	ro, err := e.store.Roles().RoleOfKind(ctx, o.ID, role.KindReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	return o, admin, ro
}

// member makes u an active member of org with roleID, invited by inviter.
func (e *env) member(t testing.TB, inviter *provisioning.Session, orgID string, u *user.User, roleID string) *membership.Membership {
	t.Helper()
	m, err := inviter.Invite(context.Background(), membership.Invite{OrganizationID: orgID, UserEmail: u.Email, RoleID: roleID})
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != membership.Active {
		t.Fatalf("membership of existing user %s is %s, want active", u.Email, m.Status)
	}
	return m
}

// count returns the number of rows of a table matching where.
func (e *env) count(t testing.TB, table, where string, args ...any) int {
	t.Helper()
	n, err := e.db.NewSelect().TableExpr(table).Where(where, args...).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}
