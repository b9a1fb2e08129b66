package provisioning_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
)

// lockWaitBound is far below the time a lock wait takes to end by itself
// (SQLite's busy timeout of 10 s; PostgreSQL's read timeout of 10 s; MySQL's
// lock wait timeout of 50 s): a call that returns within it was ended by its
// context.
const lockWaitBound = 5 * time.Second

// interruptions are the two ways a context ends a call: its deadline, or
// its cancellation, each 300 ms after the call began.
var interruptions = []struct {
	name string
	ctx  func(context.Context) (context.Context, context.CancelFunc)
	want error
}{
	{"deadline", func(ctx context.Context) (context.Context, context.CancelFunc) {
		return context.WithTimeout(ctx, 300*time.Millisecond)
	}, context.DeadlineExceeded},
	{"cancel", func(ctx context.Context) (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithCancel(ctx)
		stop := time.AfterFunc(300*time.Millisecond, cancel)
		return ctx, func() { stop.Stop(); cancel() }
	}, context.Canceled},
}

// TestContextEndsLockWait: while another transaction holds the
// organization's row (on SQLite, the database's write lock), Invite waits
// for it; the call's deadline, or its cancellation, ends the wait with
// fault.ErrBusy that wraps the context's error, and nothing is written, on
// every backend.
func TestContextEndsLockWait(t *testing.T) {
	for _, be := range raceBackends {
		t.Run(be.name, func(t *testing.T) {
			e := newEnvOn(t, be.open(t))
			owner := e.user(t, "owner@example.com")
			o, _, ro := e.org(t, owner, "Acme")
			for i, end := range interruptions {
				t.Run(end.name, func(t *testing.T) {
					hold, err := e.db.BeginTx(t.Context(), nil)
					if err != nil {
						t.Fatal(err)
					}
					defer hold.Rollback() //nolint:errcheck // rolled back below
					if _, err := hold.ExecContext(t.Context(), "UPDATE provisioning_organizations SET name = name WHERE id = ?", o.ID); err != nil {
						t.Fatal(err)
					}
					versions := e.count(t, "provisioning_versions", "organization_id = ?", o.ID)
					email := []string{"deadline@example.com", "cancel@example.com"}[i]

					ctx, cancel := end.ctx(t.Context())
					defer cancel()
					start := time.Now()
					_, err = e.as(owner).Invite(ctx, membership.Invite{OrganizationID: o.ID, UserEmail: email, RoleID: ro.ID})
					took := time.Since(start)
					if err := hold.Rollback(); err != nil {
						t.Fatal(err)
					}

					if took >= lockWaitBound {
						t.Errorf("Invite returned after %s, want it ended by its context", took)
					}
					if !errors.Is(err, fault.ErrBusy) || !errors.Is(err, end.want) {
						t.Errorf("Invite: %v (%s), want fault.ErrBusy wrapping %v", err, kindName(fault.KindOf(err)), end.want)
					}
					if n := e.count(t, "provisioning_memberships", "user_email = ?", email); n != 0 {
						t.Errorf("%d memberships of %s written", n, email)
					}
					if n := e.count(t, "provisioning_versions", "organization_id = ?", o.ID); n != versions {
						t.Errorf("%d versions, want %d", n, versions)
					}
				})
			}
		})
	}
}
