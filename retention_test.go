package provisioning_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/storage/storagetest"
)

// oldVersions appends n versions of the world's organization created at,
// straight to the store (as if written long ago).
func oldVersions(t testing.TB, e *env, orgID string, at time.Time, n int) {
	t.Helper()
	vs := make([]*audit.Version, n)
	for i := range vs {
		vs[i] = &audit.Version{ID: fmt.Sprintf("%sv%06d", at.Format("20060102150405"), i), OrganizationID: orgID, ResourceType: "roles",
			ResourceID: "r1", Event: audit.Update, Changes: resource.Changes{"name": {"a", "b"}},
			Who: audit.Who{Type: "system", ID: "system"}, Common: resource.Common{CreatedAt: at, UpdatedAt: at}}
	}
	if err := e.store.Versions().AppendMany(context.Background(), vs); err != nil {
		t.Fatal(err)
	}
}

// TestPurgeVersions: versions older than the age go, oldest first, at most
// limit per call, which says whether more remain; younger ones stay; each
// purge that deleted versions is recorded as a security event; bad input
// is invalid and deletes nothing.
func TestPurgeVersions(t *testing.T) {
	for name, open := range map[string]storagetest.Opener{"sqlite": storagetest.SQLite, "postgres": storagetest.Postgres, "mysql": storagetest.MySQL} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorldOn(t, open(t))
			sys := w.p.System()
			now := w.clock.Now()
			year := provisioning.DefaultVersionRetention
			oldVersions(t, w.env, w.org.ID, now.Add(-2*year), 5)
			oldVersions(t, w.env, w.org.ID, now.Add(-year-time.Hour), 3)
			oldVersions(t, w.env, w.org.ID, now.Add(-year+time.Hour), 2) // younger than a year: kept
			all := func() int { return w.count(t, "provisioning_versions", "1 = 1") }
			before := all()

			for _, bad := range []struct {
				age   time.Duration
				limit int
				field string
			}{{time.Hour, 10, "older_than"}, {-year, 10, "older_than"}, {year, 0, "limit"}, {year, provisioning.MaxPurgeBatch + 1, "limit"}} {
				_, _, err := sys.PurgeVersions(ctx, bad.age, bad.limit)
				var ve *fault.ValidationError
				if fault.KindOf(err) != fault.Invalid || !errors.As(err, &ve) || !ve.Has(bad.field) {
					t.Errorf("PurgeVersions(%v, %d) = %v, want invalid %s", bad.age, bad.limit, err, bad.field)
				}
			}
			if got := all(); got != before {
				t.Fatalf("refused purges deleted %d versions", before-got)
			}

			n, more, err := sys.PurgeVersions(ctx, year, 6)
			if err != nil || n != 6 || !more {
				t.Fatalf("first purge = %d, %v, %v; want 6, more", n, more, err)
			}
			// Oldest first: the two-year-old ones are all gone, one of the others.
			if got := w.count(t, "provisioning_versions", "created_at < ?", now.Add(-2*year+time.Minute)); got != 0 {
				t.Errorf("%d of the oldest versions remain", got)
			}
			n, more, err = sys.PurgeVersions(ctx, year, 6)
			if err != nil || n != 2 || more {
				t.Fatalf("second purge = %d, %v, %v; want 2, no more", n, more, err)
			}
			n, more, err = sys.PurgeVersions(ctx, year, 6)
			if err != nil || n != 0 || more {
				t.Fatalf("third purge = %d, %v, %v; want 0, no more", n, more, err)
			}
			if got := all(); got != before-8 {
				t.Errorf("%d versions left, want %d", got, before-8)
			}
			events, err := sys.ListSecurityEvents(ctx, audit.SecurityFilter{Kind: audit.VersionsPurged})
			if err != nil {
				t.Fatal(err)
			}
			var details []string
			for _, e := range events.Items {
				details = append(details, e.Detail)
			}
			cutoff := now.Add(-year).Format(time.RFC3339)
			want := []string{"6 versions created before " + cutoff, "2 versions created before " + cutoff}
			if strings.Join(details, "|") != strings.Join(want, "|") {
				t.Errorf("purge events = %q, want %q", details, want)
			}
		})
	}
}

// TestConcurrentPurges: four purges at once over one database delete every
// old version exactly once between them: their counts add up to what there
// was, and none fails (no deadlock, no double count).
func TestConcurrentPurges(t *testing.T) {
	for name, open := range map[string]storagetest.Opener{"sqlite": storagetest.SQLite, "postgres": storagetest.Postgres, "mysql": storagetest.MySQL} {
		t.Run(name, func(t *testing.T) {
			w := newWorldOn(t, open(t))
			now := w.clock.Now()
			const old = 400
			for i := range 4 {
				oldVersions(t, w.env, w.org.ID, now.Add(-time.Duration(400+i)*24*time.Hour), old/4)
			}
			young := w.count(t, "provisioning_versions", "1 = 1") - old
			var (
				wg    sync.WaitGroup
				mu    sync.Mutex
				total int
				errs  []error
			)
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						n, more, err := w.p.System().PurgeVersions(context.Background(), provisioning.DefaultVersionRetention, 15)
						mu.Lock()
						total += n
						if err != nil {
							errs = append(errs, err)
						}
						mu.Unlock()
						if err != nil || !more && n == 0 {
							return
						}
					}
				}()
			}
			wg.Wait()
			if len(errs) > 0 {
				t.Fatalf("purges failed: %v", errs)
			}
			if total != old {
				t.Errorf("purges counted %d, want %d", total, old)
			}
			if got := w.count(t, "provisioning_versions", "1 = 1"); got != young {
				t.Errorf("%d versions left, want the %d young ones", got, young)
			}
		})
	}
}

// TestRetentionRunsUntilStopped: a started Retention purges on its own and
// Stop ends it; bad settings are refused.
func TestRetentionRunsUntilStopped(t *testing.T) {
	w := newWorld(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent()) // the database's own goroutines stay until cleanup
	oldVersions(t, w.env, w.org.ID, w.clock.Now().Add(-2*provisioning.DefaultVersionRetention), 30)
	r, err := provisioning.NewRetention(w.p, provisioning.RetentionConfig{Interval: time.Hour, Batch: 7})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	old := func() int {
		return w.count(t, "provisioning_versions", "created_at < ?", w.clock.Now().Add(-provisioning.DefaultVersionRetention))
	}
	deadline := time.Now().Add(10 * time.Second)
	for old() != 0 { // batches of 7, one after another while more remain: no wait for the hour
		if time.Now().After(deadline) {
			t.Fatalf("%d old versions remain", old())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := r.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []provisioning.RetentionConfig{{Age: time.Hour}, {Interval: -1}, {Batch: provisioning.MaxPurgeBatch + 1}} {
		if _, err := provisioning.NewRetention(w.p, cfg); err == nil {
			t.Errorf("NewRetention(%+v) succeeded", cfg)
		}
	}
}
