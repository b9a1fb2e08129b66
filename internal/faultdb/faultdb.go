// Package faultdb wraps a database/sql driver so that tests can count the
// statements an operation issues and make any one of them fail, lose its
// reply, or find its context cancelled.
//
// A step is one round trip the library asks of the driver: Begin, Prepare,
// Exec, Query (on the connection or on a prepared statement), Commit and
// Rollback. Opening a connection, Ping, ResetSession and reading rows are
// not steps. Steps are numbered from 1 across every connection of the
// wrapped pool, from the last call of Controller.Start (or one of the
// *At methods), so an operation that runs alone sees the same numbering on
// every run.
//
// What a planned step does:
//
//   - FailAt: the step does not run and returns the error (by default an
//     *Error with code SQLITE_IOERR, which a storage layer classifying SQLite
//     codes sees as a plain failure, not as a transient one to retry). A
//     failed Commit or Rollback rolls the real transaction back first, as a
//     server that refuses a commit does, so the connection stays usable.
//   - LoseReplyAt: the step runs, then returns the error (by default
//     ErrConnLost, which wraps driver.ErrBadConn, so database/sql discards
//     the connection). On Commit this is the "outcome unknown" case: the
//     transaction committed, the caller is told it failed.
//   - CancelAt: the test's hook runs (it cancels the operation's context),
//     then the step runs with that context: a step that takes a context
//     (Begin, Prepare, Exec, Query) returns the context's error without
//     running, as a driver that notices the cancellation before sending does.
//     Commit and Rollback take no context in database/sql/driver; they run.
//
// Only the planned step is affected; later steps run normally (database/sql
// itself refuses those whose context is done).
package faultdb

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Kind is the kind of a step.
type Kind uint8

// The kinds of steps.
const (
	Begin Kind = iota + 1
	Prepare
	Exec
	Query
	Commit
	Rollback
)

func (k Kind) String() string {
	switch k {
	case Begin:
		return "Begin"
	case Prepare:
		return "Prepare"
	case Exec:
		return "Exec"
	case Query:
		return "Query"
	case Commit:
		return "Commit"
	case Rollback:
		return "Rollback"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Step is one counted step.
type Step struct {
	N     int  // 1-based, since the controller started counting
	Kind  Kind // what the library asked
	InTx  bool // the step belongs to a transaction (Commit and Rollback always do)
	Query string
}

func (s Step) String() string {
	if s.Query == "" {
		return fmt.Sprintf("#%d %s", s.N, s.Kind)
	}
	return fmt.Sprintf("#%d %s %s", s.N, s.Kind, s.Query)
}

// SQLite result codes the injected errors carry.
const (
	CodeBusy  = 5  // SQLITE_BUSY: transient, a storage layer retries it
	CodeIOErr = 10 // SQLITE_IOERR: a plain failure
)

// Error is an injected failure. Code returns a SQLite result code, as the
// errors of modernc.org/sqlite and mattn/go-sqlite3 do, so that code-based
// classification treats it as that driver error.
type Error struct {
	Step Step // the step that failed (set when it fires)
	code int
}

// Failure returns the error FailAt injects by default: SQLITE_IOERR, a
// failure that is neither a constraint nor transient.
func Failure() *Error { return &Error{code: CodeIOErr} }

// Busy returns a transient failure (SQLITE_BUSY), which a storage layer
// retries: plan it to test retries.
func Busy() *Error { return &Error{code: CodeBusy} }

func (e *Error) Error() string {
	return fmt.Sprintf("faultdb: injected failure (code %d) at step %s", e.code, e.Step)
}

// Code returns the SQLite result code.
func (e *Error) Code() int { return e.code }

// ErrConnLost is what LoseReplyAt returns by default: the step ran, the
// connection broke before its answer arrived. It wraps driver.ErrBadConn
// and io.ErrUnexpectedEOF and has no result code.
var ErrConnLost = fmt.Errorf("faultdb: connection lost after the step ran: %w", errors.Join(driver.ErrBadConn, io.ErrUnexpectedEOF))

type action uint8

const (
	pass action = iota
	fail
	loseReply
	cancel
)

// Controller plans and records the steps of the connections it wraps. The
// zero value records nothing until Start. It is safe for concurrent use.
type Controller struct {
	mu    sync.Mutex
	on    bool
	steps []Step
	at    int
	act   action
	err   error
	hook  func()
	fired *Step
}

// Start starts counting from zero, with no fault planned.
func (c *Controller) Start() { c.plan(0, pass, nil, nil) }

// Stop stops counting and clears the plan; Steps still returns what was counted.
func (c *Controller) Stop() {
	c.mu.Lock()
	c.on, c.at, c.act, c.err, c.hook = false, 0, pass, nil, nil
	c.mu.Unlock()
}

// FailAt starts counting from zero and makes step n fail with err without
// running (nil err: Failure()).
func (c *Controller) FailAt(n int, err error) {
	if err == nil {
		err = Failure()
	}
	c.plan(n, fail, err, nil)
}

// LoseReplyAt starts counting from zero and makes step n run, then return
// err (nil err: ErrConnLost).
func (c *Controller) LoseReplyAt(n int, err error) {
	if err == nil {
		err = ErrConnLost
	}
	c.plan(n, loseReply, err, nil)
}

// CancelAt starts counting from zero and calls hook just before step n
// (see the package comment for what the step then does).
func (c *Controller) CancelAt(n int, hook func()) { c.plan(n, cancel, nil, hook) }

func (c *Controller) plan(n int, a action, err error, hook func()) {
	c.mu.Lock()
	c.on, c.steps, c.at, c.act, c.err, c.hook, c.fired = true, nil, n, a, err, hook, nil
	c.mu.Unlock()
}

// Steps returns the steps counted since counting started.
func (c *Controller) Steps() []Step {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Step(nil), c.steps...)
}

// Count returns the number of steps counted since counting started.
func (c *Controller) Count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.steps)
}

// Fired returns the planned step once it has been reached.
func (c *Controller) Fired() (Step, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fired == nil {
		return Step{}, false
	}
	return *c.fired, true
}

// step counts a step and returns what to do with it.
func (c *Controller) step(k Kind, inTx bool, query string) (action, func(), error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.on {
		return pass, nil, nil
	}
	const maxQuery = 200
	if len(query) > maxQuery {
		query = query[:maxQuery] + "…"
	}
	s := Step{N: len(c.steps) + 1, Kind: k, InTx: inTx, Query: query}
	c.steps = append(c.steps, s)
	if s.N != c.at {
		return pass, nil, nil
	}
	c.fired = &s
	err := c.err
	var fe *Error
	if errors.As(err, &fe) {
		cp := *fe
		cp.Step = s
		err = &cp
	}
	return c.act, c.hook, err
}

// Open returns a connector for dsn on d whose connections c controls.
func Open(d driver.Driver, dsn string, c *Controller) (driver.Connector, error) {
	if dc, ok := d.(driver.DriverContext); ok {
		cn, err := dc.OpenConnector(dsn)
		if err != nil {
			return nil, err
		}
		return Wrap(cn, c), nil
	}
	return Wrap(dsnConnector{d: d, dsn: dsn}, c), nil
}

// Wrap returns a connector whose connections, made by cn, c controls. Use
// it with sql.OpenDB.
func Wrap(cn driver.Connector, c *Controller) driver.Connector {
	return &connector{inner: cn, c: c}
}

type dsnConnector struct {
	d   driver.Driver
	dsn string
}

func (d dsnConnector) Connect(context.Context) (driver.Conn, error) { return d.d.Open(d.dsn) }
func (d dsnConnector) Driver() driver.Driver                        { return d.d }

type connector struct {
	inner driver.Connector
	c     *Controller
}

func (cn *connector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := cn.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &fconn{inner: conn, c: cn.c}, nil
}

func (cn *connector) Driver() driver.Driver { return cn.inner.Driver() }

// fconn is a controlled connection.
type fconn struct {
	inner driver.Conn
	c     *Controller
	inTx  bool // a transaction begun through this connection is open
}

var (
	_ driver.Conn               = (*fconn)(nil)
	_ driver.ConnBeginTx        = (*fconn)(nil)
	_ driver.ConnPrepareContext = (*fconn)(nil)
	_ driver.ExecerContext      = (*fconn)(nil)
	_ driver.QueryerContext     = (*fconn)(nil)
	_ driver.Pinger             = (*fconn)(nil)
	_ driver.SessionResetter    = (*fconn)(nil)
	_ driver.Validator          = (*fconn)(nil)
	_ driver.NamedValueChecker  = (*fconn)(nil)
)

// before handles the planned action of a step that takes a context: it
// returns done with the step's error when the step must not run.
func before(ctx context.Context, a action, err error, hook func()) (bool, error) {
	switch a {
	case fail:
		return true, err
	case cancel:
		if hook != nil {
			hook()
		}
		if ctx.Err() != nil {
			return true, ctx.Err()
		}
	}
	return false, nil
}

func (cn *fconn) Begin() (driver.Tx, error) {
	return cn.BeginTx(context.Background(), driver.TxOptions{})
}

func (cn *fconn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	a, hook, ferr := cn.c.step(Begin, true, "")
	if done, err := before(ctx, a, ferr, hook); done {
		return nil, err
	}
	var tx driver.Tx
	var err error
	if b, ok := cn.inner.(driver.ConnBeginTx); ok {
		tx, err = b.BeginTx(ctx, opts)
	} else {
		//lint:ignore SA1019 the fallback database/sql uses too, for drivers without BeginTx
		tx, err = cn.inner.Begin()
	}
	if err != nil {
		return nil, err
	}
	if a == loseReply {
		_ = tx.Rollback()
		return nil, ferr
	}
	cn.inTx = true
	return &ftx{inner: tx, cn: cn}, nil
}

func (cn *fconn) Prepare(query string) (driver.Stmt, error) {
	return cn.PrepareContext(context.Background(), query)
}

func (cn *fconn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	a, hook, ferr := cn.c.step(Prepare, cn.inTx, query)
	if done, err := before(ctx, a, ferr, hook); done {
		return nil, err
	}
	var st driver.Stmt
	var err error
	if p, ok := cn.inner.(driver.ConnPrepareContext); ok {
		st, err = p.PrepareContext(ctx, query)
	} else {
		st, err = cn.inner.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	if a == loseReply {
		_ = st.Close()
		return nil, ferr
	}
	return &stmt{inner: st, cn: cn, query: query}, nil
}

func (cn *fconn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	ex, ok := cn.inner.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip // database/sql prepares instead: that step is counted
	}
	a, hook, ferr := cn.c.step(Exec, cn.inTx, query)
	if done, err := before(ctx, a, ferr, hook); done {
		return nil, err
	}
	res, err := ex.ExecContext(ctx, query, args)
	if err == nil && a == loseReply {
		return nil, ferr
	}
	return res, err
}

func (cn *fconn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := cn.inner.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	a, hook, ferr := cn.c.step(Query, cn.inTx, query)
	if done, err := before(ctx, a, ferr, hook); done {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, query, args)
	if err == nil && a == loseReply {
		_ = rows.Close()
		return nil, ferr
	}
	return rows, err
}

func (cn *fconn) Close() error { return cn.inner.Close() }

func (cn *fconn) Ping(ctx context.Context) error {
	if p, ok := cn.inner.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (cn *fconn) ResetSession(ctx context.Context) error {
	if r, ok := cn.inner.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (cn *fconn) IsValid() bool {
	if v, ok := cn.inner.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (cn *fconn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := cn.inner.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

type ftx struct {
	inner driver.Tx
	cn    *fconn
}

func (t *ftx) Commit() error { return t.end(Commit) }

func (t *ftx) Rollback() error { return t.end(Rollback) }

func (t *ftx) end(k Kind) error {
	t.cn.inTx = false
	a, hook, ferr := t.cn.c.step(k, true, "")
	if a == cancel && hook != nil {
		hook() // driver.Tx takes no context: the step runs
	}
	if a == fail {
		// Refused: nothing committed, and the connection is left clean.
		_ = t.inner.Rollback()
		return ferr
	}
	var err error
	if k == Commit {
		err = t.inner.Commit()
	} else {
		err = t.inner.Rollback()
	}
	if err == nil && a == loseReply {
		return ferr
	}
	return err
}

type stmt struct {
	inner driver.Stmt
	cn    *fconn
	query string
}

var (
	_ driver.StmtExecContext  = (*stmt)(nil)
	_ driver.StmtQueryContext = (*stmt)(nil)
)

func (s *stmt) Close() error  { return s.inner.Close() }
func (s *stmt) NumInput() int { return s.inner.NumInput() }

func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), named(args))
}

func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), named(args))
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	a, hook, ferr := s.cn.c.step(Exec, s.cn.inTx, s.query)
	if done, err := before(ctx, a, ferr, hook); done {
		return nil, err
	}
	var res driver.Result
	var err error
	if ex, ok := s.inner.(driver.StmtExecContext); ok {
		res, err = ex.ExecContext(ctx, args)
	} else {
		//lint:ignore SA1019 the fallback database/sql uses too, for drivers without ExecContext
		res, err = s.inner.Exec(values(args))
	}
	if err == nil && a == loseReply {
		return nil, ferr
	}
	return res, err
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	a, hook, ferr := s.cn.c.step(Query, s.cn.inTx, s.query)
	if done, err := before(ctx, a, ferr, hook); done {
		return nil, err
	}
	var rows driver.Rows
	var err error
	if q, ok := s.inner.(driver.StmtQueryContext); ok {
		rows, err = q.QueryContext(ctx, args)
	} else {
		//lint:ignore SA1019 the fallback database/sql uses too, for drivers without QueryContext
		rows, err = s.inner.Query(values(args))
	}
	if err == nil && a == loseReply {
		_ = rows.Close()
		return nil, ferr
	}
	return rows, err
}

func (s *stmt) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := s.inner.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return s.cn.CheckNamedValue(nv)
}

func named(args []driver.Value) []driver.NamedValue {
	out := make([]driver.NamedValue, len(args))
	for i, v := range args {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return out
}

func values(args []driver.NamedValue) []driver.Value {
	out := make([]driver.Value, len(args))
	for i, a := range args {
		out[i] = a.Value
	}
	return out
}
