package provisioning_test

import (
	"context"
	"database/sql/driver"
	"fmt"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/internal/faultdb"
	"github.com/provisionkit/provisioning/storage/bunstore"
	"github.com/provisionkit/provisioning/storage/storagetest"
)

// TestFaultSweepServers runs the fault sweep of faults_test.go (the same
// calls, the same checks: sw.count, sw.step, sw.lostCommit) on PostgreSQL
// and MariaDB, through their real drivers wrapped by internal/faultdb.
//
// A server has no database file to copy: the world is built once in a
// template schema (database, on MariaDB), and every run restores the rows
// of every provisioning_* table from it into a schema of its own, with the
// foreign keys off for the copy, before a fresh Provisioner (cold cache)
// starts on it. The schemas are made up front, one per call that runs at
// once, and reused.
//
// Every step of every call is failed, then cancelled, and every call's
// commit reply is lost; the figures are logged per backend.
func TestFaultSweepServers(t *testing.T) {
	backends := []struct {
		name string
		open func(testing.TB, storagetest.Wrap) (*bun.DB, string)
	}{
		{"postgres", storagetest.PostgresWrapped},
		{"mysql", storagetest.MySQLWrapped},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			start := time.Now()
			sw := newServerFaultSweep(t, b.open)
			t.Run("calls", func(t *testing.T) {
				for _, op := range faultOps() {
					t.Run(op.name, func(t *testing.T) {
						t.Parallel()
						var plan faultPlan
						t.Run("count", func(t *testing.T) { plan = sw.count(t, op) })
						if t.Failed() {
							return
						}
						sw.add("calls", 1)
						for i := 1; i <= len(plan.steps); i++ {
							t.Run(fmt.Sprintf("fail/%d", i), func(t *testing.T) {
								sw.add("steps failed", 1)
								sw.step(t, op, plan, i, "fail")
							})
						}
						for i := 1; i <= len(plan.steps); i++ {
							t.Run(fmt.Sprintf("cancel/%d", i), func(t *testing.T) {
								sw.add("steps cancelled", 1)
								sw.step(t, op, plan, i, "cancel")
							})
						}
						t.Run("lost_commit", func(t *testing.T) {
							sw.add("commits lost", 1)
							sw.lostCommit(t, op, plan)
						})
					})
				}
			})
			sw.report(t, start)
		})
	}
}

// serverCopy is a schema of its own, migrated, on a pool whose driver ctl
// controls.
type serverCopy struct {
	db  *bun.DB
	ctl *faultdb.Controller
}

// serverTemplate is the world built once in its own schema, and the
// schemas the runs restore it into.
type serverTemplate struct {
	w      faultWorld // the fixtures (and the template's tables)
	schema string     // the template's schema (database, on MariaDB)
	tables []string   // every provisioning_* table, the security events included
	copies chan *serverCopy
}

// serverParallel is how many calls run at once, each on a copy: the
// servers and the race detector share two cores with the rest.
const serverParallel = 2

func newServerFaultSweep(t *testing.T, open func(testing.TB, storagetest.Wrap) (*bun.DB, string)) *faultSweep {
	t.Helper()
	ctx := context.Background()
	ctl := &faultdb.Controller{}
	wrap := func(cn driver.Connector) driver.Connector { return faultdb.Wrap(cn, ctl) }
	db, schema := open(t, wrap)
	tm := &serverTemplate{w: buildFaultWorld(t, db, ctl), schema: schema, copies: make(chan *serverCopy, serverParallel)}
	tm.tables = append(append([]string(nil), tm.w.tables...), "provisioning_security_events")
	for range serverParallel {
		ctl := &faultdb.Controller{}
		db, _ := open(t, func(cn driver.Connector) driver.Connector { return faultdb.Wrap(cn, ctl) })
		st, err := bunstore.New(db)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		tm.copies <- &serverCopy{db: db, ctl: ctl}
	}
	sw := &faultSweep{open: tm.open, figures: map[string]int{}}
	t.Run("baseline", func(t *testing.T) {
		w := sw.open(t)
		sw.before, sw.baseline = w.dump(t), w.answers(t, w.p)
	})
	if t.Failed() {
		t.FailNow()
	}
	return sw
}

// open takes a copy (until t ends), restores the template's rows into it,
// and returns the world on it with a fresh Provisioner.
func (tm *serverTemplate) open(t testing.TB) *faultWorld {
	t.Helper()
	c := <-tm.copies
	t.Cleanup(func() { tm.copies <- c })
	c.ctl.Stop()
	tm.restore(t, c.db)
	st, err := bunstore.New(c.db)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{db: c.db, store: st, clock: &fakeClock{now: tm.w.clock.Now()}, mail: &mailbox{}}
	e.p, err = provisioning.New(st, provisioning.WithClock(e.clock), provisioning.WithNotifier(e.mail))
	if err != nil {
		t.Fatal(err)
	}
	w := *tm.w.world
	w.env = e
	fw := tm.w
	fw.world, fw.ctl = &w, c.ctl
	return &fw
}

// restore replaces every row of db's provisioning tables with the
// template's, in one transaction with the foreign keys off (the
// organization and its owner's membership refer to each other).
func (tm *serverTemplate) restore(t testing.TB, db *bun.DB) {
	t.Helper()
	ctx := context.Background()
	q := string(db.Dialect().IdentQuote())
	var stmts []string
	switch db.Dialect().Name() {
	case dialect.PG:
		stmts = append(stmts, "SET LOCAL session_replication_role = replica")
	case dialect.MySQL:
		stmts = append(stmts, "SET FOREIGN_KEY_CHECKS = 0")
	}
	for _, name := range tm.tables {
		stmts = append(stmts, "DELETE FROM "+q+name+q)
	}
	for _, name := range tm.tables {
		stmts = append(stmts, "INSERT INTO "+q+name+q+" SELECT * FROM "+q+tm.schema+q+"."+q+name+q)
	}
	if db.Dialect().Name() == dialect.MySQL {
		stmts = append(stmts, "SET FOREIGN_KEY_CHECKS = 1")
	}
	if db.Dialect().Name() == dialect.PG {
		// Copied rows do not move a sequence (MySQL's AUTO_INCREMENT
		// follows them): the organizations' numbers go on after the copy's.
		stmts = append(stmts, "SELECT setval(pg_get_serial_sequence('provisioning_organizations', 'number'), "+
			"(SELECT COALESCE(MAX(number), 0) + 1 FROM provisioning_organizations), false)")
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			t.Fatalf("restore: %s: %v", s, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("restore: %v", err)
	}
}
