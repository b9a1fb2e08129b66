// Package postgres opens a *bun.DB on PostgreSQL (bun's pgdriver) for provisioning.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/driver/pgdriver"
)

// Open connects to the database named by dsn
// (postgres://user:password@host:port/database?sslmode=disable).
func Open(ctx context.Context, dsn string) (*bun.DB, error) {
	return OpenConnector(ctx, Connector(dsn))
}

// Connector returns the driver connector Open uses for dsn: a host (or a
// test) that wraps it opens the result with OpenConnector.
func Connector(dsn string) driver.Connector {
	return pgdriver.NewConnector(pgdriver.WithDSN(dsn))
}

// OpenConnector opens a *bun.DB on cn, a connector of Connector (perhaps
// wrapped), as Open does.
func OpenConnector(ctx context.Context, cn driver.Connector) (*bun.DB, error) {
	sqldb := sql.OpenDB(cn)
	sqldb.SetMaxOpenConns(16)
	if err := sqldb.PingContext(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	return bun.NewDB(sqldb, pgdialect.New()), nil
}
