package bunstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/driver/pgdriver"
	"github.com/uptrace/bun/migrate"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/appmembership"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/idp"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/profile"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/user"
)

//go:embed migrations
var migrationFiles embed.FS

// Store is the bun implementation of every provisioning Store. It is safe
// for concurrent use. The host owns the *bun.DB.
type Store struct {
	db      *bun.DB
	dialect dialect.Name
	retries int
	// listens: the database is PostgreSQL through bun's pgdriver, whose
	// Listener the policy store can watch PolicyChannel with, and whose
	// connections begin closes when a transaction's context ends.
	listens bool
	// busyMS is SQLite's busy timeout in milliseconds plus one, once read
	// (beginSQLite); 0 before.
	busyMS atomic.Int64
	// hot are the prepared statements of the write path, once prepared
	// (prepareHot, under hotMu).
	hot   atomic.Pointer[hotStmts]
	hotMu sync.Mutex

	orgs     orgStore
	users    userStore
	members  memberStore
	profiles profileStore
	roles    roleStore
	versions versionStore
	policy   policyStore
	idps     identityProviderStore
	creds    credentialStore
	apps     appMembershipStore
	security securityStore
	keys     keyStore

	// txOptions are the options of every transaction: READ COMMITTED on
	// MySQL, whose default (REPEATABLE READ) would make a row read again
	// after a lock show the snapshot of the first read, not the row the
	// lock protects; the other dialects' defaults already behave so.
	txOptions *sql.TxOptions
}

// Compile-time checks that Store provides every contract.
var (
	_ organization.Store = orgStore{}
	_ user.Store         = userStore{}
	_ membership.Store   = memberStore{}
	_ profile.Store      = profileStore{}
	_ role.Store         = roleStore{}
	_ audit.Store        = versionStore{}
	_ access.Store       = policyStore{}
)

// Option configures a Store.
type Option interface{ apply(*Store) }

type optionFunc func(*Store)

func (f optionFunc) apply(s *Store) { f(s) }

// WithRetries sets how many times InTx retries a transaction that failed
// with a transient error (a serialization failure, a deadlock, SQLite busy).
// The default is 5.
func WithRetries(n int) Option { return optionFunc(func(s *Store) { s.retries = max(n, 0) }) }

// New returns a Store over db. db's dialect must be SQLite, PostgreSQL or MySQL.
func New(db *bun.DB, opts ...Option) (*Store, error) {
	name := db.Dialect().Name()
	switch name {
	case dialect.SQLite, dialect.PG, dialect.MySQL:
	default:
		return nil, fmt.Errorf("bunstore: unsupported dialect %s", name)
	}
	_, pgdrv := db.Driver().(pgdriver.Driver)
	s := &Store{db: db, dialect: name, retries: 5, listens: name == dialect.PG && pgdrv}
	for _, o := range opts {
		o.apply(s)
	}
	b := base{s}
	s.orgs, s.users, s.members, s.profiles = orgStore{b}, userStore{b}, memberStore{b}, profileStore{b}
	s.roles, s.versions, s.policy = roleStore{b}, versionStore{b}, policyStore{b}
	s.idps = identityProviderStore{b}
	s.creds = credentialStore{b}
	s.apps = appMembershipStore{b}
	s.security = securityStore{b}
	s.keys = keyStore{b}
	if s.dialect == dialect.MySQL {
		s.txOptions = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	return s, nil
}

// DB returns the database the store works on.
func (s *Store) DB() *bun.DB { return s.db }

// Organizations returns the organization store.
func (s *Store) Organizations() organization.Store { return s.orgs }

// Users returns the user store.
func (s *Store) Users() user.Store { return s.users }

// Memberships returns the membership store.
func (s *Store) Memberships() membership.Store { return s.members }

// Profiles returns the membership profile store.
func (s *Store) Profiles() profile.Store { return s.profiles }

// Roles returns the role and permission store.
func (s *Store) Roles() role.Store { return s.roles }

// Versions returns the audit store.
func (s *Store) Versions() audit.Store { return s.versions }

// IdentityProviders returns the identity provider store.
func (s *Store) IdentityProviders() idp.Store { return s.idps }

// Credentials returns the API credential store.
func (s *Store) Credentials() credential.Store { return s.creds }

// IdempotencyKeys returns the idempotency key store.
func (s *Store) IdempotencyKeys() resource.KeyStore { return s.keys }

// SecurityEvents returns the security event store.
func (s *Store) SecurityEvents() audit.SecurityStore { return s.security }

// AppMemberships returns the application membership store.
func (s *Store) AppMemberships() appmembership.Store { return s.apps }

// Access returns the policy snapshot store. On PostgreSQL through bun's
// pgdriver it is also an access.Watcher, told of every committed change of
// a policy revision by LISTEN on PolicyChannel; elsewhere it is not one, and
// callers poll the revision instead.
func (s *Store) Access() access.Store {
	if s.listens {
		return watchingPolicyStore{s.policy}
	}
	return s.policy
}

// Migrate applies the embedded migrations that are missing. It is safe to
// call from several processes at once: a lock table lets one run them.
func (s *Store) Migrate(ctx context.Context) error {
	dir := map[dialect.Name]string{dialect.SQLite: "sqlite", dialect.PG: "postgres", dialect.MySQL: "mysql"}[s.dialect]
	sub, err := fs.Sub(migrationFiles, "migrations/"+dir)
	if err != nil {
		return fmt.Errorf("bunstore: migrations: %w", err)
	}
	ms := migrate.NewMigrations()
	if err := ms.Discover(sub); err != nil {
		return fmt.Errorf("bunstore: migrations: %w", err)
	}
	data, err := s.templateData(ctx)
	if err != nil {
		return fmt.Errorf("bunstore: migrations: %w", err)
	}
	m := migrate.NewMigrator(s.db, ms,
		migrate.WithTableName("provisioning_migrations"),
		migrate.WithLocksTableName("provisioning_migration_locks"),
		migrate.WithMarkAppliedOnSuccess(true),
		migrate.WithTemplateData(data))
	if s.dialect == dialect.PG {
		// CREATE TABLE IF NOT EXISTS races on PostgreSQL: serialize whole
		// migrations across processes with an advisory lock held on one connection.
		conn, err := s.db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("bunstore: migrations: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(?)", migrationLockKey); err != nil {
			return fmt.Errorf("bunstore: migrations: lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(?)", migrationLockKey) //nolint:errcheck // closing the session releases it too
	}
	if err := m.Init(ctx); err != nil {
		return fmt.Errorf("bunstore: migrations: init: %w", err)
	}
	for i := 0; ; i++ {
		err := m.Lock(ctx)
		if err == nil {
			break
		}
		if i == 100 {
			return fmt.Errorf("bunstore: migrations: lock: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	defer m.Unlock(context.WithoutCancel(ctx)) //nolint:errcheck // an unlock failure leaves a row a later Unlock removes
	if _, err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("bunstore: migrations: %w", err)
	}
	return nil
}

// migrationLockKey is the PostgreSQL advisory lock of migrations ("provisioning" in ASCII).
const migrationLockKey = 0x70726f7669736e

// migrationData is what the SQL migrations are rendered with.
type migrationData struct {
	// Collation is MySQL's binary, NO PAD collation: MariaDB and MySQL 8
	// name it differently, and a PAD SPACE one ('a' = 'a ') would make keys
	// and filters differ from SQLite and PostgreSQL.
	Collation string
}

func (s *Store) templateData(ctx context.Context) (migrationData, error) {
	if s.dialect != dialect.MySQL {
		return migrationData{}, nil
	}
	var version string
	if err := s.db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		return migrationData{}, err
	}
	if strings.Contains(strings.ToLower(version), "mariadb") {
		return migrationData{Collation: "utf8mb4_nopad_bin"}, nil
	}
	return migrationData{Collation: "utf8mb4_0900_bin"}, nil
}

type txKey struct{}

// InTx runs fn in a transaction carried by the ctx it passes to fn. When ctx
// already carries one, fn joins it. An error from a Store method ends the
// transaction: fn must return it (PostgreSQL refuses any further statement
// in an aborted transaction), and nothing of fn is committed. A transient failure (serialization
// failure, deadlock, SQLite busy) retries fn from the start, a bounded number
// of times; fn must therefore have no effect outside the transaction. An
// error on COMMIT that may hide a successful commit is fault.ErrCommitUnknown.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.inTx(ctx, s.txOptions, fn)
}

// inReadTx runs fn, which only reads, in a read-only transaction whose
// statements all see the same snapshot of the database (REPEATABLE READ on
// PostgreSQL and MySQL; on SQLite a deferred transaction, which in WAL mode
// neither waits for the writer nor holds it back), or in ctx's transaction.
func (s *Store) inReadTx(ctx context.Context, fn func(ctx context.Context) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.dialect != dialect.SQLite {
		opts.Isolation = sql.LevelRepeatableRead
	}
	return s.inTx(ctx, opts, fn)
}

func (s *Store) inTx(ctx context.Context, opts *sql.TxOptions, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{}).(bun.Tx); ok {
		return fn(ctx)
	}
	var err error
	for attempt := 0; ; attempt++ {
		err = s.runTx(ctx, opts, fn)
		if err == nil || fault.KindOf(err) != fault.Busy || attempt >= s.retries || ctx.Err() != nil {
			return endedTx(ctx, err)
		}
		select {
		case <-ctx.Done():
			return endedTx(ctx, err)
		case <-time.After(time.Duration(1<<attempt) * time.Millisecond):
		}
	}
}

func (s *Store) runTx(ctx context.Context, opts *sql.TxOptions, fn func(ctx context.Context) error) (err error) {
	t, err := s.begin(ctx, opts)
	if err != nil {
		return endedTx(ctx, err)
	}
	defer t.release()
	tx := t.tx
	done := false
	defer func() {
		if !done {
			_ = tx.Rollback()
			if p := recover(); p != nil {
				panic(p)
			}
		}
	}()
	txCtx := context.WithValue(context.WithValue(ctx, txKey{}, tx), txStateKey{}, &txState{})
	if err := fn(txCtx); err != nil {
		done = true
		_ = tx.Rollback()
		return endedTx(ctx, err)
	}
	done = true
	// A context that ended before COMMIT is sent ends the transaction
	// there: it is rolled back, certainly (database/sql would refuse the
	// commit too, but then an error of COMMIT could not tell).
	if cerr := contextErr(ctx); !t.stopWatch() || cerr != nil {
		_ = tx.Rollback()
		if cerr == nil {
			cerr = context.Cause(ctx) // the watch closed the connection: ctx has ended
		}
		return endedTx(ctx, cerr)
	}
	if err := tx.Commit(); err != nil {
		return s.translateCommit(err)
	}
	return nil
}

// openTx is a transaction of runTx, perhaps on a connection of its own.
type openTx struct {
	tx   bun.Tx
	conn *bun.Conn // the connection the transaction holds, when it has one of its own
	// stop, when set, stops the watch of the context that closes the
	// connection once the context ends, and reports whether it stopped it
	// before it did so.
	stop func() bool
}

// stopWatch stops the watch of the context, and reports whether the
// connection is still open.
func (t *openTx) stopWatch() bool {
	if t.stop == nil {
		return true
	}
	return t.stop()
}

// release returns the transaction's own connection to the pool, once the
// transaction has ended.
func (t *openTx) release() {
	t.stopWatch()
	if t.conn != nil {
		_ = t.conn.Close()
	}
}

// begin begins a transaction that the end of ctx ends, whatever it waits
// for:
//   - on SQLite, a write transaction waits at BEGIN IMMEDIATE for the
//     database's write lock, in SQLite's busy handler, which sleeps through
//     the busy timeout without looking at the context: beginSQLite waits
//     for the lock itself instead;
//   - on PostgreSQL through bun's pgdriver, which reads until the context's
//     deadline but ignores its cancellation, the connection is closed when
//     the context is cancelled (the server then rolls the transaction
//     back), so that a statement waiting for a row lock ends;
//   - go-sql-driver/mysql ends a statement when its context ends by itself.
//
// Every context takes the same path, one that can never end too
// (context.Background): the statements of a call do not depend on it.
func (s *Store) begin(ctx context.Context, opts *sql.TxOptions) (*openTx, error) {
	if opts == nil || !opts.ReadOnly {
		if err := s.prepareHot(ctx); err != nil {
			return nil, s.translate("begin", err)
		}
	}
	switch {
	case s.dialect == dialect.SQLite && (opts == nil || !opts.ReadOnly):
		return s.beginSQLite(ctx, opts)
	case s.listens:
		return s.beginWatched(ctx, opts)
	}
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return nil, s.translate("begin", err)
	}
	return &openTx{tx: tx}, nil
}

// beginWatched begins a transaction on a connection of its own that is
// closed when ctx ends (pgdriver).
func (s *Store) beginWatched(ctx context.Context, opts *sql.TxOptions) (*openTx, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, s.translate("begin", err)
	}
	var pc *pgdriver.Conn
	_ = conn.Raw(func(dc any) error {
		pc, _ = dc.(*pgdriver.Conn) // a wrapped driver (a test's) is not watched
		return nil
	})
	t := &openTx{conn: &conn}
	if pc != nil {
		t.stop = context.AfterFunc(ctx, func() { _ = pc.Close() })
	}
	if t.tx, err = conn.BeginTx(ctx, opts); err != nil {
		t.release()
		return nil, s.translate("begin", err)
	}
	return t, nil
}

// beginSQLite begins a write transaction on SQLite on a connection of its
// own, waiting for the write lock as long as the connection's busy timeout
// allows, but no longer than ctx: BEGIN IMMEDIATE runs without a busy
// timeout, and is tried again after a short pause (at most 20 ms) until it
// gets the lock. The connection's busy timeout is set back once it has, so
// that the statements of the transaction wait as usual.
func (s *Store) beginSQLite(ctx context.Context, opts *sql.TxOptions) (*openTx, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, s.translate("begin", err)
	}
	t := &openTx{conn: &conn}
	timeout, err := s.busyTimeout(ctx, conn)
	if err == nil {
		_, err = conn.ExecContext(ctx, "PRAGMA busy_timeout = 0")
	}
	if err != nil {
		t.release()
		return nil, s.translate("begin", err)
	}
	restore := func() error {
		_, err := conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA busy_timeout = "+strconv.FormatInt(timeout.Milliseconds(), 10))
		return err
	}
	// discard closes the connection, which would keep no busy timeout, so
	// that the pool does not get it back. No transaction may be open on it
	// (database/sql would wait for its end).
	discard := func() { _ = conn.Raw(func(any) error { return driver.ErrBadConn }) }
	giveUp := time.Now().Add(timeout)
	for pause := time.Millisecond; ; pause = min(2*pause, 20*time.Millisecond) {
		t.tx, err = conn.BeginTx(ctx, opts)
		if err == nil {
			if err := restore(); err != nil {
				_ = t.tx.Rollback()
				discard()
				t.release()
				return nil, s.translate("begin", err)
			}
			return t, nil
		}
		wait := time.Until(giveUp)
		if classify(err) != classTransient || wait <= 0 || ctx.Err() != nil {
			break
		}
		timer := time.NewTimer(min(pause, wait))
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-timer.C:
		}
		timer.Stop()
		if ctx.Err() != nil {
			break
		}
	}
	if restore() != nil {
		discard()
	}
	t.release()
	return nil, s.translate("begin", err)
}

// busyTimeout returns the busy timeout of conn's database, read once: the
// data source name sets it, for every connection alike.
func (s *Store) busyTimeout(ctx context.Context, conn bun.Conn) (time.Duration, error) {
	if ms := s.busyMS.Load(); ms > 0 {
		return time.Duration(ms-1) * time.Millisecond, nil
	}
	var ms int64
	if err := conn.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&ms); err != nil {
		return 0, err
	}
	s.busyMS.Store(ms + 1)
	return time.Duration(ms) * time.Millisecond, nil
}

type txStateKey struct{}

// txState is what a transaction of this package has done so far.
type txState struct {
	mu      sync.Mutex
	revised map[string]bool   // organizations whose policy revision it changed
	locked  map[string]string // the revisions of the organizations it locked, as read under the lock
}

// lock notes the revision of an organization read under its row lock: no
// other transaction changes it before this one ends, so Revision need not
// read it again until this one changes it.
func (t *txState) lock(orgID, rev string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.locked == nil {
		t.locked = make(map[string]string)
	}
	t.locked[orgID] = rev
}

// lockedRevision returns the revision noted by lock, unless the transaction
// has changed it since.
func (t *txState) lockedRevision(orgID string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rev, ok := t.locked[orgID]
	return rev, ok && !t.revised[orgID]
}

func (t *txState) touch(orgID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.revised == nil {
		t.revised = make(map[string]bool)
	}
	t.revised[orgID] = true
}

func (t *txState) touched(orgID string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.revised[orgID]
}

// idb returns the transaction in ctx, or the database.
func (s *Store) idb(ctx context.Context) bun.IDB {
	if tx, ok := ctx.Value(txKey{}).(bun.Tx); ok {
		return tx
	}
	return s.db
}

// InTransaction reports whether ctx carries a transaction of this package.
func InTransaction(ctx context.Context) bool {
	_, ok := ctx.Value(txKey{}).(bun.Tx)
	return ok
}

// base gives the sub-stores the shared helpers.
type base struct{ s *Store }

func (b base) idb(ctx context.Context) bun.IDB { return b.s.idb(ctx) }

// forUpdate locks the selected rows until the transaction ends, where the
// dialect has row locks (SQLite transactions take the database write lock
// at BEGIN, IMMEDIATE, instead).
func (b base) forUpdate(ctx context.Context, q *bun.SelectQuery) *bun.SelectQuery {
	return b.lockRows(ctx, q, "UPDATE")
}

// skipLocked locks the selected rows until the transaction ends and leaves
// out those another transaction holds (FOR UPDATE SKIP LOCKED: PostgreSQL,
// MySQL 8, MariaDB 10.6), so that concurrent callers take disjoint rows
// without waiting for each other. SQLite has one writer: its transactions
// take the database at BEGIN, IMMEDIATE, and never meet.
func (b base) skipLocked(ctx context.Context, q *bun.SelectQuery) *bun.SelectQuery {
	return b.lockRows(ctx, q, "UPDATE SKIP LOCKED")
}

// lockRows adds the locking clause FOR lock in a transaction of a dialect
// with row locks.
func (b base) lockRows(ctx context.Context, q *bun.SelectQuery, lock string) *bun.SelectQuery {
	if b.s.dialect != dialect.SQLite && InTransaction(ctx) {
		q = q.For(lock)
	}
	return q
}

func (b base) err(op string, err error) error { return b.s.translate(op, err) }

// one maps sql.ErrNoRows to fault.ErrNotFound.
func (b base) one(op string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fault.E(op, fault.NotFound, nil)
	}
	return b.err(op, err)
}

// page runs q as one page of a list: narrowed by the request's conditions
// (through cols, the list's allowlist of attributes), counted when asked,
// after the cursor or offset of pr, in the order of its sort keys then by
// the id column of alias, at most pr.Size() items, mapped by conv. A nil q
// is a list known to be empty (see inOrganizations): the request is
// checked as any other, and no query runs.
func page[R, T any](ctx context.Context, b base, op string, q *bun.SelectQuery, rows *[]R, alias string, cols columns,
	pr resource.PageRequest, conv func(*R) T, id func(T) string) (resource.Page[T], error) {
	if err := pr.CheckQuery(); err != nil {
		return resource.Page[T]{}, err
	}
	after, err := pr.AfterID()
	if err != nil {
		return resource.Page[T]{}, err
	}
	if q == nil { // nothing to list: the conditions and sort keys are still checked
		q = b.idb(ctx).NewSelect()
		if q, err = b.where(q, pr, cols); err == nil {
			_, err = order(q, pr, cols, alias)
		}
		return resource.Page[T]{}, err
	}
	if q, err = b.where(q, pr, cols); err != nil {
		return resource.Page[T]{}, err
	}
	total := 0
	if pr.Count {
		n, err := q.Count(ctx)
		if err != nil {
			return resource.Page[T]{}, b.err(op, err)
		}
		total = int(n)
	}
	if after != "" {
		q = q.Where(alias+".id > ?", after)
	}
	if q, err = order(q, pr, cols, alias); err != nil {
		return resource.Page[T]{}, err
	}
	size := pr.Size()
	if err := q.Limit(int64(size + 1)).Offset(int64(pr.Offset)).Scan(ctx); err != nil {
		return resource.Page[T]{}, b.err(op, err)
	}
	out := make([]T, len(*rows))
	for i := range *rows {
		out[i] = conv(&(*rows)[i])
	}
	p := resource.NewPage(out, size, id)
	if len(pr.Sort) > 0 {
		p.Next = "" // the cursor follows ids: a sorted list pages by offset
	}
	p.Total = total
	return p, nil
}

// affected checks that an UPDATE or DELETE touched a row.
func (b base) affected(op string, res sql.Result, err error) error {
	if err != nil {
		return b.err(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return b.err(op, err)
	}
	if n == 0 {
		return fault.E(op, fault.NotFound, nil)
	}
	return nil
}
