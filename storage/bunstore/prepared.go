package bunstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/schema"

	"github.com/provisionkit/provisioning/fault"
)

// The statements an invitation runs on every call (its insert, its
// version's, the read of its organization under the lock) are prepared
// once per connection with placeholders on SQLite and PostgreSQL, instead
// of written by bun with every value in the text: SQLite parses a
// statement at each execution otherwise, which costs more than running it,
// and PostgreSQL plans it each time. bun's query hooks do not see these
// statements (bun runs its hooks only for the statements it writes).
// MySQL keeps bun's statements: its driver prepares a statement in a
// round trip of its own.

// hotStmts are the prepared statements of one Store.
type hotStmts struct {
	insertMembership insertion
	insertVersion    insertion
	// recordMembership inserts a membership and its version in one
	// statement (PostgreSQL: a data-modifying WITH).
	recordMembership *sql.Stmt
	lockTarget       *sql.Stmt // LockTarget's statement
}

// prepareHot prepares the hot statements once, for the write transactions
// of SQLite and PostgreSQL. It runs before the transaction takes its
// connection, since preparing takes one from the pool. A failure fails the
// transaction (the statements it prepares are those the transaction would
// run), and the next one tries again.
func (s *Store) prepareHot(ctx context.Context) error {
	if s.dialect != dialect.SQLite && s.dialect != dialect.PG || s.hot.Load() != nil {
		return nil
	}
	s.hotMu.Lock()
	defer s.hotMu.Unlock()
	if s.hot.Load() != nil {
		return nil
	}
	var prepared []*sql.Stmt
	var err error
	prepare := func(query string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		if st, err = s.db.DB.PrepareContext(ctx, query); err != nil {
			return nil
		}
		prepared = append(prepared, st)
		return st
	}
	h := &hotStmts{}
	h.insertMembership = newInsertion(s, (*membershipRow)(nil), prepare)
	h.insertVersion = newInsertion(s, (*versionRow)(nil), prepare)
	h.lockTarget = prepare(s.lockTargetQuery())
	if s.dialect == dialect.PG {
		h.recordMembership = prepare(recordQuery(h.insertMembership, h.insertVersion))
	}
	if err != nil {
		for _, st := range prepared {
			_ = st.Close()
		}
		return err
	}
	s.hot.Store(h)
	return nil
}

// hotTx returns the prepared statements and the transaction of ctx, when
// ctx carries a transaction and the statements are prepared.
func (b base) hotTx(ctx context.Context) (*hotStmts, *sql.Tx) {
	h := b.s.hot.Load()
	if h == nil {
		return nil, nil
	}
	tx, ok := ctx.Value(txKey{}).(bun.Tx)
	if !ok {
		return nil, nil
	}
	return h, tx.Tx
}

// placeholder returns the placeholder of the i-th argument (from 1) of a
// statement on b's database.
func (s *Store) placeholder(i int) string {
	if s.dialect == dialect.PG {
		return "$" + strconv.Itoa(i)
	}
	return "?"
}

// insertion is a prepared INSERT of every column of a table, one row a
// statement, and how to read a row's values for it as bun would write them.
type insertion struct {
	table   *schema.Table
	columns string // the column list, for a statement that embeds the insert
	values  func(offset int) string
	stmt    *sql.Stmt
}

func newInsertion(s *Store, model any, prepare func(string) *sql.Stmt) insertion {
	t := s.db.Table(reflect.TypeOf(model).Elem())
	cols := make([]string, len(t.Fields))
	for i, f := range t.Fields {
		cols[i] = f.Name
	}
	in := insertion{table: t, columns: strings.Join(cols, ", ")}
	in.values = func(offset int) string {
		ph := make([]string, len(t.Fields))
		for i := range ph {
			ph[i] = s.placeholder(offset + i + 1)
		}
		return "(" + strings.Join(ph, ", ") + ")"
	}
	in.stmt = prepare(in.query())
	return in
}

func (in insertion) query() string {
	return "INSERT INTO " + in.table.Name + " (" + in.columns + ") VALUES " + in.values(0)
}

// errNUL is a string value with a NUL character, which bun refuses to
// write into a statement too.
var errNUL = errors.New("bunstore: a string contains the NUL character")

// args returns the values of row, a pointer to a struct of the table, in
// the order of the columns, as bun would write them: NULL for a zero value
// of a nullzero column, a time as bun writes it (UTC, microseconds), a
// driver.Valuer's value.
func (in insertion) args(row any, out []any) ([]any, error) {
	v := reflect.ValueOf(row).Elem()
	for _, f := range in.table.Fields {
		if f.NullZero && f.HasZeroValue(v) {
			out = append(out, nil)
			continue
		}
		val := f.Value(v).Interface()
		if vr, ok := val.(driver.Valuer); ok {
			var err error
			if val, err = vr.Value(); err != nil {
				return nil, err
			}
		}
		switch x := val.(type) {
		case time.Time:
			if x.IsZero() {
				val = nil
			} else {
				val = x.UTC().Format(timeLayout)
			}
		case string:
			if strings.IndexByte(x, 0) >= 0 {
				return nil, errNUL
			}
		}
		out = append(out, val)
	}
	return out, nil
}

// timeLayout is how bun writes a time into a statement.
const timeLayout = "2006-01-02 15:04:05.999999-07:00"

// exec runs the prepared insertion of rows in tx, one execution a row.
func (in insertion) exec(ctx context.Context, tx *sql.Tx, rows ...any) error {
	st := tx.StmtContext(ctx, in.stmt)
	defer st.Close()
	var args []any
	for _, r := range rows {
		var err error
		if args, err = in.args(r, args[:0]); err != nil {
			return fault.E("insert", fault.Internal, err)
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// recordQuery is PostgreSQL's statement that inserts a membership and its
// version in one round trip: a data-modifying WITH runs to its end whether
// the main statement reads it or not.
func recordQuery(m, v insertion) string {
	return "WITH m AS (INSERT INTO " + m.table.Name + " (" + m.columns + ") VALUES " + m.values(0) + ") " +
		"INSERT INTO " + v.table.Name + " (" + v.columns + ") VALUES " + v.values(len(m.table.Fields))
}
