package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/uptrace/bun"

	"github.com/provisionkit/provisioning/storage/sqlite"
)

// open opens path and closes the database at cleanup.
func open(tb testing.TB, path string) *bun.DB {
	tb.Helper()
	db, err := sqlite.Open(tb.Context(), path)
	if err != nil {
		tb.Fatalf("Open(%q): %v", path, err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// conns takes n connections of db's pool at once, released at cleanup, so
// that each is a distinct connection.
func conns(tb testing.TB, db *bun.DB, n int) []bun.Conn {
	tb.Helper()
	out := make([]bun.Conn, n)
	for i := range out {
		c, err := db.Conn(tb.Context())
		if err != nil {
			tb.Fatalf("connection %d: %v", i, err)
		}
		tb.Cleanup(func() { c.Close() })
		out[i] = c
	}
	return out
}

func pragma(tb testing.TB, c bun.Conn, name string) string {
	tb.Helper()
	var v string
	if err := c.QueryRowContext(tb.Context(), "PRAGMA "+name).Scan(&v); err != nil {
		tb.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

// TestPragmasOnEveryConnection: the pragmas are in the DSN, so every pooled
// connection has them, not only the first (RELIABILITY 1.6).
func TestPragmasOnEveryConnection(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "pragmas.db"))
	want := []struct{ name, want string }{
		{"foreign_keys", "1"},
		{"busy_timeout", "10000"},
		{"journal_mode", "wal"},
		{"synchronous", "1"}, // NORMAL
	}
	for i, c := range conns(t, db, 8) {
		for _, p := range want {
			if got := pragma(t, c, p.name); got != p.want {
				t.Errorf("connection %d: PRAGMA %s = %s, want %s", i, p.name, got, p.want)
			}
		}
	}
}

// TestForeignKeysEnforced: an orphan row is refused on any connection.
func TestForeignKeysEnforced(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "fk.db"))
	ctx := t.Context()
	for _, q := range []string{
		"CREATE TABLE parent (id TEXT PRIMARY KEY)",
		"CREATE TABLE child (id TEXT PRIMARY KEY, parent_id TEXT NOT NULL REFERENCES parent (id))",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range conns(t, db, 8) {
		if _, err := c.ExecContext(ctx, "INSERT INTO child VALUES (?, 'missing')", i); err == nil {
			t.Errorf("connection %d: orphan insert succeeded", i)
		}
	}
}

// TestMemoryIsOneDatabase: every call on an in-memory database sees the
// same database, and two in-memory databases are private to each other.
func TestMemoryIsOneDatabase(t *testing.T) {
	db, other := open(t, sqlite.Memory), open(t, sqlite.Memory)
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (v INTEGER)"); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if _, err := db.ExecContext(ctx, "INSERT INTO t VALUES (?)", i); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 10 {
		t.Errorf("count = %d, %v; want 10 rows", n, err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 10 {
		t.Errorf("count in a transaction = %d, %v; want 10 rows", n, err)
	}
	must(t, tx.Rollback())
	if _, err := other.ExecContext(ctx, "SELECT count(*) FROM t"); err == nil {
		t.Error("a second in-memory database sees the first one's table")
	}
	c := conns(t, db, 1)[0]
	if got := pragma(t, c, "foreign_keys"); got != "1" {
		t.Errorf("in-memory PRAGMA foreign_keys = %s, want 1", got)
	}
}

// TestWriteTransactionsWait: transactions that read then write, on every
// pooled connection at once, wait for each other instead of failing with
// SQLITE_BUSY (they begin IMMEDIATE).
func TestWriteTransactionsWait(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "busy.db"))
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, "CREATE TABLE counter (n INTEGER NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO counter VALUES (0)"); err != nil {
		t.Fatal(err)
	}
	const n = 16
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				var v int
				if err := tx.QueryRowContext(ctx, "SELECT n FROM counter").Scan(&v); err != nil {
					return err
				}
				_, err := tx.ExecContext(ctx, "UPDATE counter SET n = ?", v+1)
				return err
			})
		}()
	}
	close(start)
	wg.Wait()
	must(t, errors.Join(errs...))
	var v int
	must(t, db.QueryRowContext(ctx, "SELECT n FROM counter").Scan(&v))
	if v != n {
		t.Errorf("counter = %d after %d increments", v, n)
	}
}

func TestOpenRefusesBadPaths(t *testing.T) {
	for _, give := range []string{"", "a.db?mode=ro", "file:x.db?_pragma=foreign_keys(0)", filepath.Join(t.TempDir(), "q?.db")} {
		db, err := sqlite.Open(t.Context(), give)
		if err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", give)
		}
	}
}

func TestDSN(t *testing.T) {
	file := sqlite.DSN("/var/lib/app.db")
	for _, want := range []string{"_pragma=foreign_keys(1)", "_pragma=busy_timeout(10000)", "_txlock=immediate", "_pragma=journal_mode(WAL)"} {
		if !strings.Contains(file, want) {
			t.Errorf("DSN(file) = %q, missing %q", file, want)
		}
	}
	a, b := sqlite.DSN(sqlite.Memory), sqlite.DSN(sqlite.Memory)
	if a == b {
		t.Errorf("two in-memory DSNs are the same: %q", a)
	}
	if !strings.Contains(a, "mode=memory") || !strings.Contains(a, "_pragma=foreign_keys(1)") {
		t.Errorf("DSN(Memory) = %q", a)
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
