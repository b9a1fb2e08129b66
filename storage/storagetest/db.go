// Package storagetest is the conformance suite every storage adapter runs,
// and the helpers that give each test its own database on SQLite,
// PostgreSQL or MySQL.
//
// Run takes a Factory of the storage contract (Store), not a database: an
// adapter or a decorator over one (caching, tracing) is proven by the same
// suite. What the suite checks behind the contract's back (rows counted or
// deleted in the database, several stores over one database, whether a
// context carries a transaction) are optional capabilities of the stores the
// factory makes (BunDB, Sharer, TxReporter). Bun(open) is the factory of
// bunstore stores, with every capability:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, storagetest.Bun(storagetest.SQLite))
//	}
//
// PostgreSQL and MySQL tests run when PROVISIONING_TEST_POSTGRES_DSN and
// PROVISIONING_TEST_MYSQL_DSN are set, and skip otherwise; CI sets both and
// fails on any skip.
package storagetest

import (
	"context"
	"crypto/rand"
	"database/sql/driver"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	drv "github.com/go-sql-driver/mysql"
	"github.com/uptrace/bun"

	"github.com/provisionkit/provisioning/storage/mysql"
	"github.com/provisionkit/provisioning/storage/postgres"
	"github.com/provisionkit/provisioning/storage/sqlite"
)

// The environment variables that name the test servers.
const (
	PostgresEnv = "PROVISIONING_TEST_POSTGRES_DSN" // e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable
	MySQLEnv    = "PROVISIONING_TEST_MYSQL_DSN"    // e.g. root@tcp(127.0.0.1:3306)/test
)

// Opener opens a fresh, empty database for one test.
type Opener func(t testing.TB) *bun.DB

// Backends returns the openers available: SQLite always, PostgreSQL and
// MySQL when their variables are set. Callers that must not miss a backend
// use Postgres and MySQL directly, which skip visibly.
func Backends() map[string]Opener {
	out := map[string]Opener{"sqlite": SQLite}
	if os.Getenv(PostgresEnv) != "" {
		out["postgres"] = Postgres
	}
	if os.Getenv(MySQLEnv) != "" {
		out["mysql"] = MySQL
	}
	return out
}

func name() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "t_" + hex.EncodeToString(b[:])
}

// SQLite opens a fresh SQLite file database (WAL) in a temporary directory.
func SQLite(t testing.TB) *bun.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), t.TempDir()+"/test.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Postgres opens the server of PostgresEnv on a fresh schema, dropped at
// cleanup. It skips the test when the variable is unset.
func Postgres(t testing.TB) *bun.DB {
	t.Helper()
	db, _ := PostgresWrapped(t, nil)
	return db
}

// Wrap wraps a driver connector, e.g. with one of internal/faultdb that
// counts and fails the steps of the connections it makes.
type Wrap func(driver.Connector) driver.Connector

// PostgresWrapped is Postgres with the driver's connector wrapped by wrap
// (nil: not wrapped); it also returns the schema's name.
func PostgresWrapped(t testing.TB, wrap Wrap) (*bun.DB, string) {
	t.Helper()
	dsn := os.Getenv(PostgresEnv)
	if dsn == "" {
		t.Skip(PostgresEnv + " is not set")
	}
	ctx := context.Background()
	admin, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	schema := name()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	drop := func() {
		_, _ = admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	}
	u, err := url.Parse(dsn)
	if err != nil {
		drop()
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	cn := postgres.Connector(u.String())
	if wrap != nil {
		cn = wrap(cn)
	}
	db, err := postgres.OpenConnector(ctx, cn)
	if err != nil {
		drop()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		drop()
	})
	return db, schema
}

// MySQL opens the server of MySQLEnv on a fresh database, dropped at
// cleanup. It skips the test when the variable is unset.
func MySQL(t testing.TB) *bun.DB {
	t.Helper()
	db, _ := MySQLWrapped(t, nil)
	return db
}

// MySQLWrapped is MySQL with the driver's connector wrapped by wrap (nil:
// not wrapped); it also returns the database's name.
func MySQLWrapped(t testing.TB, wrap Wrap) (*bun.DB, string) {
	t.Helper()
	dsn := os.Getenv(MySQLEnv)
	if dsn == "" {
		t.Skip(MySQLEnv + " is not set")
	}
	ctx := context.Background()
	admin, err := mysql.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	dbName := name()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+dbName+" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	drop := func() {
		_, _ = admin.ExecContext(context.Background(), "DROP DATABASE "+dbName)
		admin.Close()
	}
	cfg, err := drv.ParseDSN(dsn)
	if err != nil {
		drop()
		t.Fatal(err)
	}
	cfg.DBName = dbName
	cn, err := mysql.Connector(cfg.FormatDSN())
	if err != nil {
		drop()
		t.Fatal(err)
	}
	if wrap != nil {
		cn = wrap(cn)
	}
	db, err := mysql.OpenConnector(ctx, cn)
	if err != nil {
		drop()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		drop()
	})
	return db, dbName
}

// InCI reports whether the tests run in CI, where a skipped backend is a failure.
func InCI() bool { return strings.EqualFold(os.Getenv("CI"), "true") }
