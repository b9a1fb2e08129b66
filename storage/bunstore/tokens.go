package bunstore

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/token"
)

// Tokens returns the bearer token store (migrations 20261122000007 and
// 20261207000002). A token of an API credential ends with its credential
// and its client secret: Find joins them.
func (s *Store) Tokens() token.Store { return tokenStore{base{s}} }

var _ token.Store = tokenStore{}

type tokenStore struct{ base }

type tokenRow struct {
	bun.BaseModel `bun:"table:provisioning_tokens,alias:t"`

	ID            string    `bun:"id,pk"`
	Hash          string    `bun:"hash,notnull"`
	PrincipalKind string    `bun:"principal_kind,notnull"`
	PrincipalID   string    `bun:"principal_id,notnull"`
	SecretID      string    `bun:"secret_id,nullzero"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
	ExpiresAt     time.Time `bun:"expires_at,notnull"`
}

func (r *tokenRow) domain() *token.Token {
	return &token.Token{ID: r.ID, Hash: r.Hash,
		Principal: access.Principal{Kind: access.PrincipalKind(r.PrincipalKind), ID: r.PrincipalID, SecretID: r.SecretID},
		CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC()}
}

// tokenFound is a token with the ends of its credential and secret.
type tokenFound struct {
	tokenRow
	CredentialExpiresAt time.Time `bun:"credential_expires_at"`
	SecretExpiresAt     time.Time `bun:"secret_expires_at"`
}

func (s tokenStore) Create(ctx context.Context, t *token.Token) error {
	row := &tokenRow{ID: t.ID, Hash: t.Hash, PrincipalKind: string(t.Principal.Kind), PrincipalID: t.Principal.ID,
		SecretID: t.Principal.SecretID, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}
	_, err := s.idb(ctx).NewInsert().Model(row).Returning("NULL").Exec(ctx)
	return s.err("token.Create", err)
}

// Find joins the token's credential and client secret, so that a token does
// not outlive them: one of a revoked or missing credential, or of a missing
// secret, is not found, and its expiry is bounded by theirs. No cache
// decides: every process reads what another one changed.
func (s tokenStore) Find(ctx context.Context, hash string) (*token.Token, error) {
	var row tokenFound
	err := s.idb(ctx).NewSelect().Model((*tokenRow)(nil)).ColumnExpr("t.*").
		ColumnExpr("ac.expires_at AS credential_expires_at").ColumnExpr("acs.expires_at AS secret_expires_at").
		Join("LEFT JOIN provisioning_api_credentials AS ac ON t.principal_kind = ? AND ac.id = t.principal_id", string(access.KindCredential)).
		Join("LEFT JOIN provisioning_api_credential_secrets AS acs ON acs.id = t.secret_id AND acs.credential_id = t.principal_id").
		Where("t.hash = ?", hash).
		Where("t.principal_kind <> ? OR (ac.id IS NOT NULL AND ac.revoked_at IS NULL AND (t.secret_id IS NULL OR acs.id IS NOT NULL))",
			string(access.KindCredential)).
		Scan(ctx, &row)
	if err != nil {
		return nil, s.one("token.Find", err)
	}
	t := row.domain()
	for _, end := range []time.Time{row.CredentialExpiresAt, row.SecretExpiresAt} {
		if !end.IsZero() && end.Before(t.ExpiresAt) {
			t.ExpiresAt = end.UTC()
		}
	}
	return t, nil
}

func (s tokenStore) DeletePrincipal(ctx context.Context, p access.Principal) (int, error) {
	res, err := s.idb(ctx).NewDelete().Model((*tokenRow)(nil)).
		Where("principal_kind = ? AND principal_id = ?", string(p.Kind), p.ID).Exec(ctx)
	if err != nil {
		return 0, s.err("token.DeletePrincipal", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fault.E("token.DeletePrincipal", fault.Internal, err)
	}
	return int(n), nil
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
