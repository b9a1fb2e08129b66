package bunstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/storage/bunstore"
	"github.com/provisionkit/provisioning/storage/storagetest"
	"github.com/provisionkit/provisioning/user"
)

// TestSnapshotDoesNotWaitForTheWriter: on SQLite, whose write transactions
// begin IMMEDIATE and hold the database, a policy snapshot reads in a
// deferred, read-only transaction (WAL mode lets it read beside the writer)
// instead of queuing behind the writer until the busy timeout.
func TestSnapshotDoesNotWaitForTheWriter(t *testing.T) {
	st, err := bunstore.New(storagetest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	locked, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- st.InTx(ctx, func(ctx context.Context) error {
			// The transaction holds SQLite's write lock from its BEGIN
			// IMMEDIATE; a write makes sure of it.
			now := time.Now().UTC()
			if err := st.Users().Create(ctx, &user.User{ID: "01writer000000000000000000", Email: "writer@example.com",
				Common: resource.Common{CreatedAt: now, UpdatedAt: now}}); err != nil {
				return err
			}
			close(locked)
			<-release
			return nil
		})
	}()
	<-locked
	// The organization does not exist: the snapshot answers not found at
	// once, having read; a snapshot waiting for the write lock would time out.
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = st.Access().Snapshot(short, "01nosuchorganization000000")
	close(release)
	if fault.KindOf(err) != fault.NotFound {
		t.Errorf("snapshot beside a writer: %v, want not found (read at once)", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
