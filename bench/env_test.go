package bench_test

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/storage/bunstore"
	"github.com/provisionkit/provisioning/storage/storagetest"
	"github.com/provisionkit/provisioning/user"
)

// backend opens a fresh database of one kind for a benchmark.
type backend struct {
	name string
	open storagetest.Opener
}

// backends lists SQLite, and PostgreSQL when its DSN is set. SQLite is a
// file database in WAL mode (storagetest.SQLite, as sqlite.Open does for a
// path): the embedded default of a real deployment.
func backends() []backend {
	out := []backend{{"sqlite", storagetest.SQLite}}
	if os.Getenv(storagetest.PostgresEnv) != "" {
		out = append(out, backend{"postgres", storagetest.Postgres})
	}
	return out
}

// world is a migrated store, a Provisioner on it, and an organization
// whose owner makes the calls.
type world struct {
	db    *bun.DB
	store *bunstore.Store
	p     *provisioning.Provisioner
	owner *user.User
	org   *organization.Organization
	ro    *role.Role
	own   *provisioning.Session
}

func newWorld(tb testing.TB, db *bun.DB, opts ...provisioning.Option) *world {
	tb.Helper()
	ctx := context.Background()
	st, err := bunstore.New(db)
	if err != nil {
		tb.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	p, err := provisioning.New(st, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	w := &world{db: db, store: st, p: p}
	w.owner, err = p.System().CreateUser(ctx, user.Create{Email: fmt.Sprintf("owner-%d@example.com", time.Now().UnixNano())})
	if err != nil {
		tb.Fatal(err)
	}
	w.own = p.As(provisioning.User(w.owner.ID))
	w.org, err = w.own.CreateOrganization(ctx, organization.Create{Name: "Bench"})
	if err != nil {
		tb.Fatal(err)
	}
	w.ro, err = st.Roles().RoleOfKind(ctx, w.org.ID, role.KindReadOnly)
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

// datasetBackends lists the backends of the large dataset: SQLite, and
// PostgreSQL when its DSN is set.
func datasetBackends() []string {
	var out []string
	for _, be := range backends() {
		out = append(out, be.name)
	}
	return out
}

// cpuPerOp reports, as cpu-ns/op, the CPU time (user and system) the
// process spent from the call to the returned function's, per op: on a
// machine that other work keeps busy, ns/op also counts the time spent
// waiting for a core, and the CPU time is what a call costs here (the
// database server's, for PostgreSQL, is not in it).
func cpuPerOp(b *testing.B) func(ops int) {
	start := cpuTime(b)
	return func(ops int) {
		if ops > 0 {
			b.ReportMetric(float64((cpuTime(b)-start).Nanoseconds())/float64(ops), "cpu-ns/op")
		}
	}
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
