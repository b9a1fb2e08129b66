// Package postgres opens a *bun.DB on PostgreSQL (bun's pgdriver) for provisioning.
package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/driver/pgdriver"
)

// Open connects to the database named by dsn
// (postgres://user:password@host:port/database?sslmode=disable).
func Open(ctx context.Context, dsn string) (*bun.DB, error) {
	sqldb := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(dsn)))
	sqldb.SetMaxOpenConns(16)
	if err := sqldb.PingContext(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	return bun.NewDB(sqldb, pgdialect.New()), nil
}
