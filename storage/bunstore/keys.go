package bunstore

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/provisionkit/provisioning/resource"
)

type idempotencyKeyRow struct {
	bun.BaseModel `bun:"table:provisioning_idempotency_keys,alias:ik"`
	Principal     string    `bun:"principal,pk"`
	Key           string    `bun:"idempotency_key,pk"`
	Operation     string    `bun:"operation,notnull"`
	ResourceID    string    `bun:"resource_id,notnull"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
}

type keyStore struct{ base }

var _ resource.KeyStore = keyStore{}

func (s keyStore) Find(ctx context.Context, principal, key string) (string, string, error) {
	var row idempotencyKeyRow
	err := s.idb(ctx).NewSelect().Model(&row).Where("ik.principal = ? AND ik.idempotency_key = ?", principal, key).Scan(ctx)
	if err != nil {
		return "", "", s.one("idempotency.Find", err)
	}
	return row.Operation, row.ResourceID, nil
}

func (s keyStore) Put(ctx context.Context, principal, key, op, resourceID string, at time.Time) error {
	row := &idempotencyKeyRow{Principal: principal, Key: key, Operation: op, ResourceID: resourceID, CreatedAt: at.UTC()}
	_, err := s.idb(ctx).NewInsert().Model(row).Returning("NULL").Exec(ctx)
	return s.err("idempotency.Put", err)
}
