package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/storage/bunstore"
	"github.com/provisionkit/provisioning/storage/sqlite"
)

// TestRunPurgesOldVersions: the server purges versions older than
// -versions-retention every -purge-interval, logs it, and stops the purge
// with itself; a retention under a day stops it at start.
func TestRunPurgesOldVersions(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/p.db"
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := bunstore.New(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-72 * time.Hour).UTC()
	for _, id := range []string{"oldversion1", "oldversion2"} {
		if err := st.Versions().Append(ctx, &audit.Version{ID: id, OrganizationID: "org", ResourceType: "roles", ResourceID: "r1",
			Event: audit.Update, Who: audit.Who{Type: "system", ID: "system"}, Common: resource.Common{CreatedAt: at, UpdatedAt: at}}); err != nil {
			t.Fatal(err)
		}
	}
	var logs lockedBuffer
	_, stop := startWith(t, []string{"-db", path, "-versions-retention", "48h", "-purge-interval", "10ms"}, nil, io.Discard, &logs)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "purged versions") {
		if time.Now().After(deadline) {
			t.Fatalf("no purge logged: %s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Versions().Get(ctx, "oldversion1"); err == nil {
		t.Error("an old version is still there")
	}
	if !strings.Contains(logs.String(), "purged=2") {
		t.Errorf("the purge's log line does not count 2: %s", logs.String())
	}

	err = run(ctx, []string{"-db", path, "-addr", "127.0.0.1:0", "-versions-retention", "1h"}, func(string) string { return "" },
		io.Discard, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "-versions-retention") {
		t.Errorf("a retention of an hour: %v, want refused", err)
	}
}
