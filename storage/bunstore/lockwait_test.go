package bunstore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/sqliteshim"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/storage/bunstore"
	"github.com/provisionkit/provisioning/storage/sqlite"
)

// openSQLite opens a database file with sqlite.Open's pragmas, but a busy
// timeout of busyMS milliseconds, on conns pooled connections.
func openSQLite(t *testing.T, busyMS string, conns int) (*bun.DB, *bunstore.Store) {
	t.Helper()
	dsn := sqlite.DSN(filepath.Join(t.TempDir(), "wait.db"))
	if busyMS != "" {
		// One busy_timeout pragma only: modernc applies them in no set order.
		dsn = strings.Replace(dsn, "busy_timeout(10000)", "busy_timeout("+busyMS+")", 1)
	}
	sqldb, err := sql.Open(sqliteshim.ShimName, dsn)
	if err != nil {
		t.Fatal(err)
	}
	sqldb.SetMaxOpenConns(conns)
	sqldb.SetMaxIdleConns(conns)
	db := bun.NewDB(sqldb, sqlitedialect.New())
	t.Cleanup(func() { db.Close() })
	st, err := bunstore.New(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db, st
}

// hold begins a write transaction on db, which holds SQLite's write lock
// until the returned function rolls it back.
func hold(t *testing.T, db *bun.DB) func() {
	t.Helper()
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(t.Context(), "UPDATE provisioning_migrations SET id = id"); err != nil {
		t.Fatal(err)
	}
	return func() { _ = tx.Rollback() }
}

// TestSQLiteWriteWaitsForTheLock: a write transaction waits for SQLite's
// write lock as long as the connection's busy timeout, then fails with
// fault.ErrBusy; one released meanwhile lets it run; its context ends the
// wait at once; and every connection keeps its busy timeout afterwards.
func TestSQLiteWriteWaitsForTheLock(t *testing.T) {
	t.Run("released", func(t *testing.T) {
		db, st := openSQLite(t, "", 4)
		release := hold(t, db)
		time.AfterFunc(300*time.Millisecond, release)
		start := time.Now()
		if err := st.InTx(t.Context(), func(context.Context) error { return nil }); err != nil {
			t.Fatalf("InTx after the lock was released: %v", err)
		}
		if took := time.Since(start); took < 250*time.Millisecond {
			t.Errorf("InTx returned after %s, before the lock was released", took)
		}
	})
	t.Run("busy timeout", func(t *testing.T) {
		db, _ := openSQLite(t, "400", 4)
		st, err := bunstore.New(db, bunstore.WithRetries(0))
		if err != nil {
			t.Fatal(err)
		}
		defer hold(t, db)()
		start := time.Now()
		err = st.InTx(t.Context(), func(context.Context) error { return nil })
		took := time.Since(start)
		if !errors.Is(err, fault.ErrBusy) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("InTx: %v, want fault.ErrBusy of the busy timeout", err)
		}
		if took < 350*time.Millisecond || took > 5*time.Second {
			t.Errorf("InTx waited %s, want the busy timeout of 400ms", took)
		}
	})
	t.Run("context", func(t *testing.T) {
		const conns = 3
		db, st := openSQLite(t, "", conns)
		release := hold(t, db)
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := st.InTx(ctx, func(context.Context) error { return nil })
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("InTx waited %s, past its deadline", took)
		}
		if !errors.Is(err, fault.ErrBusy) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("InTx: %v, want fault.ErrBusy wrapping context.DeadlineExceeded", err)
		}
		release()
		// Every connection of the pool, the one that waited among them, has
		// the busy timeout of the DSN.
		var held []*sql.Conn
		for range conns {
			c, err := db.DB.Conn(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, c)
			var ms int
			if err := c.QueryRowContext(t.Context(), "PRAGMA busy_timeout").Scan(&ms); err != nil {
				t.Fatal(err)
			}
			if ms != 10000 {
				t.Errorf("a connection's busy timeout is %d ms, want 10000", ms)
			}
		}
		for _, c := range held {
			c.Close()
		}
	})
}
