package bunstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/storage/bunstore"
	"github.com/provisionkit/provisioning/storage/postgres"
	"github.com/provisionkit/provisioning/storage/storagetest"
	"github.com/provisionkit/provisioning/user"
)

// TestAccessIsWatcherOnPostgresOnly: only PostgreSQL can tell of policy
// changes early; on the other backends callers must poll.
func TestAccessIsWatcherOnPostgresOnly(t *testing.T) {
	tests := []struct {
		name        string
		giveOpen    storagetest.Opener
		wantWatcher bool
	}{
		{"sqlite", storagetest.SQLite, false},
		{"postgres", storagetest.Postgres, true},
		{"mysql", storagetest.MySQL, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := bunstore.New(tt.giveOpen(t))
			must(t, err)
			if _, ok := s.Access().(access.Watcher); ok != tt.wantWatcher {
				t.Errorf("Access() is an access.Watcher: %v, want %v", ok, tt.wantWatcher)
			}
		})
	}
}

// TestWatchPolicyPostgres: every committed write of a policy revision
// (Create, SetOwner, BumpPolicy) reaches WatchPolicy with the
// organization's id; a rolled-back one never does; cancelling the context
// ends WatchPolicy with nil.
func TestWatchPolicyPostgres(t *testing.T) {
	s := migrated(t, storagetest.Postgres(t))
	w, ok := s.Access().(access.Watcher)
	if !ok {
		t.Fatal("Access() on PostgreSQL is not an access.Watcher")
	}
	// Written before the watch starts, so that their own notifications are
	// never heard: only the writes below can be.
	ready, bumped, marker := newOrg(t, s), newOrg(t, s), newOrg(t, s)
	rolledBack := newOrg(t, s)
	owned, newOwner := newOrg(t, s), ""
	{
		r := &role.Role{ID: newID(), OrganizationID: owned.ID, Name: "Admin", Kind: role.KindAdmin, Common: common()}
		must(t, s.Roles().CreateRole(t.Context(), r))
		u := &user.User{ID: newID(), Email: newID() + "@example.com", Common: common()}
		must(t, s.Users().Create(t.Context(), u))
		m := &membership.Membership{ID: newID(), OrganizationID: owned.ID, UserID: u.ID, UserEmail: u.Email,
			Status: membership.Active, RoleID: r.ID, Common: common()}
		must(t, s.Memberships().Create(t.Context(), m, nil))
		newOwner = m.ID
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	heard := make(chan string, 1024)
	done := make(chan error, 1)
	go func() {
		done <- w.WatchPolicy(ctx, func(id string) {
			select {
			case heard <- id:
			default: // full: the test fails for want of the id it waits for
			}
		})
	}()
	// The watch listens once it hears a change: bump until it does.
	listening := false
	for deadline := time.Now().Add(10 * time.Second); !listening && time.Now().Before(deadline); {
		must(t, s.Organizations().BumpPolicy(t.Context(), ready.ID))
		listening = waitFor(heard, ready.ID, 100*time.Millisecond) != nil
	}
	if !listening {
		t.Fatal("WatchPolicy heard nothing in 10s")
	}

	created := org()
	commits := []struct {
		name     string
		giveID   string
		giveCall func(ctx context.Context) error
	}{
		{"Create", created.ID, func(ctx context.Context) error { return s.Organizations().Create(ctx, created) }},
		{"BumpPolicy", bumped.ID, func(ctx context.Context) error { return s.Organizations().BumpPolicy(ctx, bumped.ID) }},
		{"SetOwner", owned.ID, func(ctx context.Context) error {
			return s.Organizations().SetOwner(ctx, owned.ID, "", newOwner)
		}},
	}
	for _, tt := range commits {
		t.Run("committed "+tt.name, func(t *testing.T) {
			must(t, tt.giveCall(t.Context()))
			if waitFor(heard, tt.giveID, 5*time.Second) == nil {
				t.Errorf("%s of %s committed: not heard in 5s", tt.name, tt.giveID)
			}
		})
	}

	t.Run("rolled back", func(t *testing.T) {
		errRollback := errors.New("rollback")
		neverCreated := org()
		err := s.InTx(t.Context(), func(ctx context.Context) error {
			must(t, s.Organizations().BumpPolicy(ctx, rolledBack.ID))
			must(t, s.Organizations().Create(ctx, neverCreated))
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatalf("InTx = %v, want %v", err, errRollback)
		}
		if id := waitFor(heard, rolledBack.ID, 200*time.Millisecond); id != nil {
			t.Errorf("rolled-back BumpPolicy heard: %v", id)
		}
		// Notifications arrive in commit order: by the time the marker's
		// is heard, a notification of the rolled-back writes would have been.
		must(t, s.Organizations().BumpPolicy(t.Context(), marker.ID))
		before := waitFor(heard, marker.ID, 5*time.Second)
		if before == nil {
			t.Fatal("marker BumpPolicy not heard in 5s")
		}
		for _, id := range before {
			if id == rolledBack.ID || id == neverCreated.ID {
				t.Errorf("rolled-back write of %s heard", id)
			}
		}
	})

	select {
	case err := <-done:
		t.Fatalf("WatchPolicy returned %v before its context ended", err)
	default:
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("WatchPolicy after cancel = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WatchPolicy still running 5s after its context ended")
	}
}

// TestWatchPolicyPostgresConnectionLost: WatchPolicy returns an error, not
// nil, when its connection is killed while its context is alive.
func TestWatchPolicyPostgresConnectionLost(t *testing.T) {
	dsn := os.Getenv(storagetest.PostgresEnv)
	if dsn == "" {
		t.Skip(storagetest.PostgresEnv + " is not set")
	}
	u, err := url.Parse(dsn)
	must(t, err)
	app := "watch_" + newID()
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	db, err := postgres.Open(t.Context(), u.String())
	must(t, err)
	t.Cleanup(func() { db.Close() })
	s, err := bunstore.New(db)
	must(t, err)
	w, ok := s.Access().(access.Watcher)
	if !ok {
		t.Fatal("Access() on PostgreSQL is not an access.Watcher")
	}
	done := make(chan error, 1)
	go func() { done <- w.WatchPolicy(t.Context(), func(string) {}) }()

	killed := false
	for deadline := time.Now().Add(10 * time.Second); !killed && time.Now().Before(deadline); {
		var n int
		err := db.NewRaw("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "+
			"WHERE application_name = ? AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()", app).Scan(t.Context(), &n)
		must(t, err)
		killed = n > 0
		if !killed {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if !killed {
		t.Fatal("no listening connection in 10s")
	}
	select {
	case err := <-done:
		if err == nil {
			t.Error("WatchPolicy after its connection was killed = nil, want the error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WatchPolicy still running 10s after its connection was killed")
	}
}

// waitFor reads heard until id comes, and returns the ids read before it,
// or nil when id does not come within d.
func waitFor(heard <-chan string, id string, d time.Duration) []string {
	timeout := time.After(d)
	before := []string{}
	for {
		select {
		case got := <-heard:
			if got == id {
				return before
			}
			before = append(before, got)
		case <-timeout:
			return nil
		}
	}
}

func migrated(tb testing.TB, db *bun.DB) *bunstore.Store {
	tb.Helper()
	s, err := bunstore.New(db)
	must(tb, err)
	must(tb, s.Migrate(tb.Context()))
	return s
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "w" + hex.EncodeToString(b[:])
}

func common() resource.Common {
	t := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	return resource.Common{CreatedAt: t, UpdatedAt: t}
}

func org() *organization.Organization {
	id := newID()
	return &organization.Organization{ID: id, Name: "Org " + id, Slug: "org-" + id, Domain: "org-" + id + organization.DomainSuffix,
		Region: organization.DefaultRegion, Common: common()}
}

func newOrg(tb testing.TB, s *bunstore.Store) *organization.Organization {
	tb.Helper()
	o := org()
	must(tb, s.Organizations().Create(tb.Context(), o))
	return o
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
