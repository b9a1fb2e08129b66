package faultdb_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/uptrace/bun/driver/sqliteshim"

	"github.com/provisionkit/provisioning/internal/faultdb"
)

// open returns a pool of one connection on a fresh SQLite file with table
// t(v), and its controller.
func open(t *testing.T) (*sql.DB, *faultdb.Controller) {
	t.Helper()
	c := &faultdb.Controller{}
	cn, err := faultdb.Open(sqliteshim.Driver(), "file:"+t.TempDir()+"/f.db?_pragma=busy_timeout(1000)&_txlock=immediate", c)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(cn)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec("CREATE TABLE t (v INTEGER NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	return db, c
}

// insertTwo inserts 1 and 2 in one transaction: Begin, Exec, Query, Exec, Commit.
func insertTwo(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if _, err := tx.ExecContext(ctx, "INSERT INTO t (v) VALUES (1)"); err != nil {
		return err
	}
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO t (v) VALUES (2)"); err != nil {
		return err
	}
	return tx.Commit()
}

func rows(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func kinds(steps []faultdb.Step) []faultdb.Kind {
	var out []faultdb.Kind
	for _, s := range steps {
		out = append(out, s.Kind)
	}
	return out
}

func TestCountsSteps(t *testing.T) {
	db, c := open(t)
	if err := insertTwo(context.Background(), db); err != nil { // not counting yet
		t.Fatal(err)
	}
	if got := c.Count(); got != 0 {
		t.Fatalf("counted %d steps before Start", got)
	}
	c.Start()
	if err := insertTwo(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	c.Stop()
	want := []faultdb.Kind{faultdb.Begin, faultdb.Exec, faultdb.Query, faultdb.Exec, faultdb.Commit}
	steps := c.Steps()
	if got := kinds(steps); !slices.Equal(got, want) {
		t.Fatalf("steps %v, want %v", steps, want)
	}
	if steps[1].Query != "INSERT INTO t (v) VALUES (1)" || !steps[1].InTx || steps[4].N != 5 {
		t.Fatalf("steps %+v", steps)
	}
	if _, err := db.Exec("SELECT 1"); err != nil { // stopped: not counted
		t.Fatal(err)
	}
	if got := c.Count(); got != 5 {
		t.Fatalf("counted %d steps after Stop, want 5", got)
	}
}

// TestFailAtEveryStep fails each step in turn: the transaction writes
// nothing, the error is the injected one, and the single connection stays
// usable for the next transaction.
func TestFailAtEveryStep(t *testing.T) {
	for i := 1; i <= 5; i++ {
		db, c := open(t)
		c.FailAt(i, nil)
		err := insertTwo(context.Background(), db)
		c.Stop()
		var fe *faultdb.Error
		if !errors.As(err, &fe) || fe.Code() != faultdb.CodeIOErr || fe.Step.N != i {
			t.Fatalf("step %d: error %v, want the injected failure", i, err)
		}
		if s, ok := c.Fired(); !ok || s.N != i {
			t.Fatalf("step %d: fired %v %v", i, s, ok)
		}
		if n := rows(t, db); n != 0 {
			t.Fatalf("step %d failed, yet %d rows were written", i, n)
		}
		if err := insertTwo(context.Background(), db); err != nil {
			t.Fatalf("step %d: the next transaction: %v", i, err)
		}
		if n := rows(t, db); n != 2 {
			t.Fatalf("step %d: %d rows after the next transaction, want 2", i, n)
		}
	}
}

func TestBusyCarriesTheBusyCode(t *testing.T) {
	db, c := open(t)
	c.FailAt(2, faultdb.Busy())
	err := insertTwo(context.Background(), db)
	var coded interface{ Code() int }
	if !errors.As(err, &coded) || coded.Code() != faultdb.CodeBusy {
		t.Fatalf("error %v, want code %d", err, faultdb.CodeBusy)
	}
}

// TestLoseReplyOnCommit: the commit happens, the caller gets a connection error.
func TestLoseReplyOnCommit(t *testing.T) {
	db, c := open(t)
	c.LoseReplyAt(5, nil)
	err := insertTwo(context.Background(), db)
	c.Stop()
	if !errors.Is(err, faultdb.ErrConnLost) || !errors.Is(err, driver.ErrBadConn) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("error %v, want ErrConnLost", err)
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		t.Fatalf("a lost reply carries code %d: it would read as an answer of the server", coded.Code())
	}
	if n := rows(t, db); n != 2 {
		t.Fatalf("%d rows, want the 2 the lost commit wrote", n)
	}
}

// TestCancelAtEveryStep cancels the context just before each step: the
// steps that take a context fail with it and nothing is written; a cancel
// at Commit lets the commit happen (driver.Tx takes no context).
func TestCancelAtEveryStep(t *testing.T) {
	for i := 1; i <= 5; i++ {
		db, c := open(t)
		ctx, cancel := context.WithCancel(context.Background())
		called := false
		c.CancelAt(i, func() { called = true; cancel() })
		err := insertTwo(ctx, db)
		c.Stop()
		if !called {
			t.Fatalf("step %d: the hook was not called", i)
		}
		want := 0
		if i == 5 {
			want = 2
			if err != nil {
				t.Fatalf("cancel at Commit: %v", err)
			}
		} else if !errors.Is(err, context.Canceled) {
			t.Fatalf("step %d: error %v, want context.Canceled", i, err)
		}
		if n := rows(t, db); n != want {
			t.Fatalf("step %d: %d rows, want %d", i, n, want)
		}
		for _, s := range c.Steps()[i:] {
			if s.Kind != faultdb.Rollback { // database/sql rolls back a cancelled transaction
				t.Fatalf("step %d: step %s ran after the cancel", i, s)
			}
		}
	}
}

// TestPreparedStatements: a prepared statement's executions are steps.
func TestPreparedStatements(t *testing.T) {
	db, c := open(t)
	c.Start()
	st, err := db.Prepare("INSERT INTO t (v) VALUES (?)")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Exec(7); err != nil {
		t.Fatal(err)
	}
	c.FailAt(1, nil)
	if _, err := st.Exec(8); err == nil {
		t.Fatal("the failed execution succeeded")
	}
	c.Stop()
	if n := rows(t, db); n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}
}
