// Package sqlite opens a *bun.DB on SQLite (modernc.org/sqlite through bun's
// sqliteshim: pure Go, no cgo) configured for provisioning: foreign keys on,
// WAL, a busy timeout, and write transactions that begin IMMEDIATE so that
// concurrent writers wait instead of failing (a transaction of package
// bunstore waits up to the busy timeout, but no longer than its context).
// Every pragma is in the DSN, so every pooled connection gets it.
package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/sqliteshim"
)

// Memory is the path that opens a private in-memory database.
const Memory = ":memory:"

// DSN returns the data source name for path with provisioning's pragmas.
// For Memory it names a fresh private in-memory database.
func DSN(path string) string {
	params := "_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_txlock=immediate"
	if path == Memory {
		var b [8]byte
		_, _ = rand.Read(b[:])
		return "file:mem" + hex.EncodeToString(b[:]) + "?mode=memory&" + params
	}
	u := url.URL{Scheme: "file", Opaque: path}
	return u.String() + "?" + params + "&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
}

// Open opens the SQLite database at path (created if missing), or a private
// in-memory database for Memory. An in-memory database lives on one
// connection, which the pool keeps open until Close.
func Open(ctx context.Context, path string) (*bun.DB, error) {
	if path == "" || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlite: invalid path %q", path)
	}
	sqldb, err := sql.Open(sqliteshim.ShimName, DSN(path))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	if path == Memory {
		sqldb.SetMaxOpenConns(1)
		sqldb.SetMaxIdleConns(1)
		sqldb.SetConnMaxLifetime(0)
		sqldb.SetConnMaxIdleTime(0)
	} else {
		sqldb.SetMaxOpenConns(8)
		sqldb.SetMaxIdleConns(8)
	}
	if err := sqldb.PingContext(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	return bun.NewDB(sqldb, sqlitedialect.New()), nil
}
