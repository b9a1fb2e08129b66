package bunstore_test

import (
	"testing"

	"github.com/provisionkit/provisioning/storage/storagetest"
)

// TestConformance runs the storage conformance suite on bunstore over every
// backend, through the suite's factory of stores: SQLite always; PostgreSQL
// and MySQL (MariaDB) when their DSN variables are set, skipped visibly
// otherwise (CI sets both and fails on a skip).
func TestConformance(t *testing.T) {
	backends := []struct {
		name     string
		newStore storagetest.Factory
	}{
		{"sqlite", storagetest.Bun(storagetest.SQLite)},
		{"postgres", storagetest.Bun(storagetest.Postgres)},
		{"mysql", storagetest.Bun(storagetest.MySQL)},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { storagetest.Run(t, b.newStore) })
	}
}
