package provisioningfx_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/goleak"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/provisioningfx"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/storage/bunstore"
	"github.com/provisionkit/provisioning/storage/sqlite"
	"github.com/provisionkit/provisioning/user"
)

// TestMain fails the package when a test leaves a goroutine behind (an fx
// app not stopped, a database not closed).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memoryDB opens an in-memory SQLite database, closed at cleanup: the test
// plays the host, which owns the *bun.DB.
func memoryDB(t testing.TB) *bun.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), sqlite.Memory)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// mailbox is a host Notifier that records invitations.
type mailbox struct {
	mu   sync.Mutex
	sent []provisioning.Invitation
}

func (m *mailbox) Invited(_ context.Context, inv provisioning.Invitation) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, inv)
	return nil
}

func (m *mailbox) all() []provisioning.Invitation {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]provisioning.Invitation(nil), m.sent...)
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// start builds and starts an app with the module over db, populating the
// Provisioner; the app stops at cleanup.
func start(t *testing.T, db *bun.DB, opts ...fx.Option) *provisioning.Provisioner {
	t.Helper()
	var p *provisioning.Provisioner
	app := fxtest.New(t, append([]fx.Option{
		fx.Supply(db),
		provisioningfx.Module,
		fx.Populate(&p),
	}, opts...)...)
	app.RequireStart()
	t.Cleanup(app.RequireStop)
	return p
}

func TestModuleStartStop(t *testing.T) {
	ctx := context.Background()
	p := start(t, memoryDB(t))

	owner, err := p.System().CreateUser(ctx, user.Create{Email: "owner@example.com"})
	if err != nil {
		t.Fatalf("CreateUser after Start: %v", err)
	}
	org, err := p.As(provisioning.User(owner.ID)).CreateOrganization(ctx, organization.Create{Name: "Acme"})
	if err != nil {
		t.Fatalf("CreateOrganization: %v", err)
	}
	if org.Slug != "acme" || org.OwnerMembershipID == "" {
		t.Fatalf("organization: %+v", org)
	}
}

func TestModuleUsesHostNotifierClockAndOptions(t *testing.T) {
	ctx := context.Background()
	mail := &mailbox{}
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	p := start(t, memoryDB(t),
		fx.Provide(fx.Annotate(func() *mailbox { return mail }, fx.As(new(provisioning.Notifier)))),
		fx.Provide(fx.Annotate(func() fixedClock { return fixedClock{now} }, fx.As(new(provisioning.Clock)))),
		provisioningfx.Options(provisioning.WithSubjects("projects"), provisioning.WithInvitationTTL(time.Hour)),
		fx.Provide(fx.Annotate(
			func() provisioning.Option { return provisioning.WithSubjects("invoices") },
			fx.ResultTags(`group:"provisioning_options"`),
		)),
	)

	owner, err := p.System().CreateUser(ctx, user.Create{Email: "owner@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	s := p.As(provisioning.User(owner.ID))
	org, err := s.CreateOrganization(ctx, organization.Create{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	roles, err := s.ListRoles(ctx, role.Filter{OrganizationID: org.ID, Kind: role.KindReadOnly})
	if err != nil || len(roles.Items) != 1 {
		t.Fatalf("read_only role: %v, %d roles", err, len(roles.Items))
	}
	m, err := s.Invite(ctx, membership.Invite{OrganizationID: org.ID, UserEmail: "new@example.com", RoleID: roles.Items[0].ID})
	if err != nil {
		t.Fatal(err)
	}

	sent := mail.all()
	if len(sent) != 1 {
		t.Fatalf("host notifier got %d invitations, want 1", len(sent))
	}
	if inv := sent[0]; inv.MembershipID != m.ID || inv.Email != "new@example.com" || inv.Token == "" {
		t.Fatalf("invitation: %+v", inv)
	}
	if got, want := sent[0].ExpiresAt, now.Add(time.Hour); !got.Equal(want) {
		t.Fatalf("invitation expires at %v, want %v (host clock and WithInvitationTTL from the group)", got, want)
	}
	for _, subject := range []string{"projects", "invoices"} {
		if !p.Subjects().Has(subject) {
			t.Errorf("subject %q from the options group is not registered", subject)
		}
	}
	if ok, err := s.Can(ctx, org.ID, "projects", role.ActionCreate); err != nil || !ok {
		t.Fatalf("owner Can create projects = %v, %v; want true", ok, err)
	}
}

// A host component whose OnStart uses the Provisioner sees a migrated
// schema, even when its module comes before provisioningfx.Module.
func TestMigrationRunsBeforeDependentHooks(t *testing.T) {
	db := memoryDB(t)
	var hookErr error
	app := fxtest.New(t,
		fx.Supply(db),
		fx.Module("host", fx.Invoke(func(lc fx.Lifecycle, p *provisioning.Provisioner) {
			lc.Append(fx.Hook{OnStart: func(ctx context.Context) error {
				_, hookErr = p.System().CreateUser(ctx, user.Create{Email: "early@example.com"})
				return hookErr
			}})
		})),
		provisioningfx.Module,
	)
	app.RequireStart()
	app.RequireStop()
	if hookErr != nil {
		t.Fatalf("host hook: %v", hookErr)
	}
}

// The migration is in OnStart and nothing else: building the app touches no
// table, and a start whose context is already done fails.
func TestMigrationOnlyOnStart(t *testing.T) {
	db := memoryDB(t)
	var st *bunstore.Store
	app := fx.New(fx.NopLogger, fx.Supply(db), provisioningfx.Module, fx.Populate(&st))
	if err := app.Err(); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.NewSelect().ColumnExpr("count(*)").TableExpr("sqlite_master").Where("name LIKE 'provisioning_%'").Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d provisioning tables before Start, want 0", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := app.Start(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Start with a done context: %v, want context.Canceled", err)
	}
	if err := app.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// The module never provides the database: without the host's, the app fails.
func TestModuleNeedsHostDB(t *testing.T) {
	app := fx.New(fx.NopLogger, provisioningfx.Module)
	if app.Err() == nil {
		t.Fatal("fx.New without a *bun.DB succeeded, want a missing-type error")
	}
}

// NewStore and NewProvisioner are plain constructors.
func TestConstructorsWithoutApp(t *testing.T) {
	ctx := context.Background()
	lc := fxtest.NewLifecycle(t)
	st, err := provisioningfx.NewStore(provisioningfx.StoreParams{Lifecycle: lc, DB: memoryDB(t)})
	if err != nil {
		t.Fatal(err)
	}
	p, err := provisioningfx.NewProvisioner(provisioningfx.ProvisionerParams{Lifecycle: lc, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	lc.RequireStart()
	defer lc.RequireStop()
	if _, err := p.System().CreateUser(ctx, user.Create{Email: "someone@example.com"}); err != nil {
		t.Fatal(err)
	}
}
