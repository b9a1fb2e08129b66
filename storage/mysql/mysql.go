// Package mysql opens a *bun.DB on MySQL or MariaDB for provisioning. The
// connection is set to UTC, parses times, reports found (not changed) rows,
// and runs in strict SQL mode so that an over-long value is an error, never a
// silent truncation. A host that opens its own *bun.DB must set the same
// (go-sql-driver/mysql: parseTime=true, loc=UTC, clientFoundRows=true, a
// strict sql_mode).
// MariaDB 10.11 is the server the test suite runs against.
package mysql

import (
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"fmt"
	"time"

	driver "github.com/go-sql-driver/mysql"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/mysqldialect"
)

// Open connects to the database named by dsn (user:password@tcp(host:port)/database).
func Open(ctx context.Context, dsn string) (*bun.DB, error) {
	cn, err := Connector(dsn)
	if err != nil {
		return nil, err
	}
	return OpenConnector(ctx, cn)
}

// Connector returns the driver connector Open uses for dsn, with the
// settings above: a host (or a test) that wraps it opens the result with
// OpenConnector.
func Connector(dsn string) (sqldriver.Connector, error) {
	cfg, err := driver.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("mysql: open: %w", err)
	}
	cfg.ParseTime = true
	// Affected rows must count the rows matched, not only those changed, or an
	// update that sets equal values would look like a missing row.
	cfg.ClientFoundRows = true
	cfg.Loc = time.UTC
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["sql_mode"] = "'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'"
	cfg.Params["time_zone"] = "'+00:00'"
	connector, err := driver.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql: open: %w", err)
	}
	return connector, nil
}

// OpenConnector opens a *bun.DB on cn, a connector of Connector (perhaps
// wrapped), as Open does.
func OpenConnector(ctx context.Context, cn sqldriver.Connector) (*bun.DB, error) {
	sqldb := sql.OpenDB(cn)
	sqldb.SetMaxOpenConns(16)
	sqldb.SetConnMaxLifetime(5 * time.Minute)
	if err := sqldb.PingContext(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("mysql: open: %w", err)
	}
	return bun.NewDB(sqldb, mysqldialect.New()), nil
}
