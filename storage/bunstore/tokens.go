package bunstore

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/token"
)

// Tokens returns the bearer token store (migration 000007).
func (s *Store) Tokens() token.Store { return tokenStore{base{s}} }

var _ token.Store = tokenStore{}

type tokenStore struct{ base }

type tokenRow struct {
	bun.BaseModel `bun:"table:provisioning_tokens,alias:t"`

	ID            string    `bun:"id,pk"`
	Hash          string    `bun:"hash,notnull"`
	PrincipalKind string    `bun:"principal_kind,notnull"`
	PrincipalID   string    `bun:"principal_id,notnull"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
	ExpiresAt     time.Time `bun:"expires_at,notnull"`
}

func (r *tokenRow) domain() *token.Token {
	return &token.Token{ID: r.ID, Hash: r.Hash,
		Principal: access.Principal{Kind: access.PrincipalKind(r.PrincipalKind), ID: r.PrincipalID},
		CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC()}
}

func (s tokenStore) Create(ctx context.Context, t *token.Token) error {
	row := &tokenRow{ID: t.ID, Hash: t.Hash, PrincipalKind: string(t.Principal.Kind), PrincipalID: t.Principal.ID,
		CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}
	_, err := s.idb(ctx).NewInsert().Model(row).Returning("NULL").Exec(ctx)
	return s.err("token.Create", err)
}

func (s tokenStore) Find(ctx context.Context, hash string) (*token.Token, error) {
	var row tokenRow
	if err := s.idb(ctx).NewSelect().Model(&row).Where("t.hash = ?", hash).Scan(ctx); err != nil {
		return nil, s.one("token.Find", err)
	}
	return row.domain(), nil
}

func (s tokenStore) Delete(ctx context.Context, id string) error {
	res, err := s.idb(ctx).NewDelete().Model((*tokenRow)(nil)).Where("id = ?", id).Exec(ctx)
	return s.affected("token.Delete", res, err)
}

func (s tokenStore) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	res, err := s.idb(ctx).NewDelete().Model((*tokenRow)(nil)).Where("expires_at <= ?", now).Exec(ctx)
	if err != nil {
		return 0, s.err("token.DeleteExpired", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fault.E("token.DeleteExpired", fault.Internal, err)
	}
	return int(n), nil
}
