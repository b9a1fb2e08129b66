package provisioning_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/storage/storagetest"
)

// TestRereadUnderLockSeesCommittedChanges: a call reads a membership, waits
// for its organization's lock, and reads it again under the lock; that
// second read must see what the holder of the lock committed meanwhile, or
// the call's write would undo it. MySQL's default REPEATABLE READ returned
// the first read's snapshot (found in review): the store runs its
// transactions at READ COMMITTED there.
func TestRereadUnderLockSeesCommittedChanges(t *testing.T) {
	for name, open := range map[string]storagetest.Opener{"mysql": storagetest.MySQL, "postgres": storagetest.Postgres} {
		t.Run(name, func(t *testing.T) { rereadUnderLock(t, open(t)) })
	}
}

func rereadUnderLock(t *testing.T, db *bun.DB) {
	ctx := context.Background()
	e := newEnvOn(t, db)
	owner := e.user(t, "owner@example.com")
	org, _, readOnly := e.org(t, owner, "Acme")
	reader := e.user(t, "reader@example.com")
	m, err := e.as(owner).AddMember(ctx, membership.Add{OrganizationID: org.ID, UserID: reader.ID, RoleIDs: []string{readOnly.ID}})
	if err != nil {
		t.Fatal(err)
	}
	side, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := side.NewRaw("SELECT id FROM provisioning_organizations WHERE id = ? FOR UPDATE", org.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	yes := true
	go func() {
		_, err := e.as(owner).UpdateMembership(ctx, m.ID, membership.Update{MFARequired: &yes})
		done <- err
	}()
	// Let UpdateMembership read the membership and wait for the lock (were
	// it slower, the test would pass without proving anything, never fail).
	time.Sleep(500 * time.Millisecond)
	if _, err := side.NewRaw(`UPDATE provisioning_memberships SET permissions = '["orders:read"]' WHERE id = ?`, m.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if err := side.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got, err := e.as(owner).GetMembership(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Permissions, []string{"orders:read"}) || !got.MFARequired {
		t.Errorf("after the concurrent change: permissions %v, mfa %v; want [orders:read], true (lost update)", got.Permissions, got.MFARequired)
	}
}
