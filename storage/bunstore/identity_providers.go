package bunstore

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/idp"
	"github.com/provisionkit/provisioning/resource"
)

// identityProviderRow is a provider with its sealed client secret. The
// secret columns are written only by Create and SetSecret, and read only by
// Secret, SealedWithOtherKey and SecretKeys.
type identityProviderRow struct {
	bun.BaseModel          `bun:"table:provisioning_identity_providers,alias:ip"`
	ID                     string    `bun:"id,pk"`
	OrganizationID         string    `bun:"organization_id,notnull"`
	UserID                 string    `bun:"user_id,nullzero"`
	Name                   string    `bun:"name,notnull"`
	ClientID               string    `bun:"client_id,notnull"`
	ClientSecretCiphertext []byte    `bun:"client_secret_ciphertext,notnull"`
	ClientSecretNonce      []byte    `bun:"client_secret_nonce,notnull"`
	ClientSecretKeyID      string    `bun:"client_secret_key_id,notnull"`
	ClientSecretLast4      string    `bun:"client_secret_last4,nullzero"`
	Issuer                 string    `bun:"issuer,notnull"`
	Status                 string    `bun:"status,notnull"`
	Domains                string    `bun:"domains,notnull"`
	TokenURL               string    `bun:"token_url,notnull"`
	AuthorizeURL           string    `bun:"authorize_url,notnull"`
	JWKSURL                string    `bun:"jwks_url,notnull"`
	TXTRecord              string    `bun:"txt_record,notnull"`
	AuthorizeOrganization  string    `bun:"authorize_organization,nullzero"`
	DisabledAt             time.Time `bun:"disabled_at,nullzero"`
	VerifyAttempts         int       `bun:"verify_attempts,notnull"`
	VerifyNextAt           time.Time `bun:"verify_next_at,nullzero"`
	commonCols
}

// secretColumns are the columns of the sealed secret.
var secretColumns = []string{"client_secret_ciphertext", "client_secret_nonce", "client_secret_key_id"}

// publicColumns are the columns the read model is made of: every column but
// the ciphertext and the nonce.
var publicColumns = []string{"id", "organization_id", "user_id", "name", "client_id", "client_secret_key_id",
	"client_secret_last4", "issuer", "status", "domains", "token_url", "authorize_url", "jwks_url", "txt_record",
	"authorize_organization", "disabled_at", "verify_attempts", "verify_next_at", "reference", "reference_origin", "metadata", "created_at", "updated_at"}

type identityProviderStore struct{ base }

var _ idp.Store = identityProviderStore{}

func toIdentityProviderRow(p *idp.Provider) *identityProviderRow {
	return &identityProviderRow{ID: p.ID, OrganizationID: p.OrganizationID, UserID: p.UserID, Name: p.Name,
		ClientID: p.ClientID, ClientSecretLast4: p.ClientSecretLast4, Issuer: p.Issuer, Status: string(p.Status),
		Domains: idp.FormatDomains(p.Domains), TokenURL: p.TokenURL, AuthorizeURL: p.AuthorizeURL, JWKSURL: p.JWKSURL,
		TXTRecord: p.TXTRecord, AuthorizeOrganization: p.AuthorizeOrganization, DisabledAt: idpTime(p.DisabledAt),
		VerifyAttempts: p.VerifyAttempts, VerifyNextAt: idpTime(p.NextVerifyAt), commonCols: fromCommon(p.Common)}
}

func (r *identityProviderRow) domain() idp.Provider {
	var domains []string
	if r.Domains != "" {
		domains = idp.ParseDomains(r.Domains)
	}
	return idp.Provider{ID: r.ID, OrganizationID: r.OrganizationID, UserID: r.UserID, Name: r.Name, ClientID: r.ClientID,
		Issuer: r.Issuer, Status: idp.Status(r.Status), Domains: domains, TokenURL: r.TokenURL,
		AuthorizeURL: r.AuthorizeURL, JWKSURL: r.JWKSURL, TXTRecord: r.TXTRecord,
		AuthorizeOrganization: r.AuthorizeOrganization, DisabledAt: idpTime(r.DisabledAt),
		VerifyAttempts: r.VerifyAttempts, NextVerifyAt: idpTime(r.VerifyNextAt), HasClientSecret: r.ClientSecretKeyID != "", ClientSecretLast4: r.ClientSecretLast4, Common: r.common()}
}

func idpTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func (s identityProviderStore) Create(ctx context.Context, p *idp.Provider, secret idp.Sealed) error {
	const op = "idp.Create"
	row := toIdentityProviderRow(p)
	if err := checkJSON(op, row.Metadata); err != nil {
		return err
	}
	row.ClientSecretCiphertext, row.ClientSecretNonce, row.ClientSecretKeyID = secret.Ciphertext, secret.Nonce, secret.KeyID
	_, err := s.idb(ctx).NewInsert().Model(row).Returning("NULL").Exec(ctx)
	return s.err(op, err)
}

func (s identityProviderStore) get(ctx context.Context, op, id string, cols []string) (*identityProviderRow, error) {
	if !resource.ValidID(id) {
		return nil, fault.E(op, fault.NotFound, nil)
	}
	var row identityProviderRow
	if err := s.idb(ctx).NewSelect().Model(&row).Column(cols...).Where("ip.id = ?", id).Scan(ctx); err != nil {
		return nil, s.one(op, err)
	}
	return &row, nil
}

func (s identityProviderStore) Get(ctx context.Context, id string) (*idp.Provider, error) {
	row, err := s.get(ctx, "idp.Get", id, publicColumns)
	if err != nil {
		return nil, err
	}
	p := row.domain()
	return &p, nil
}

func (s identityProviderStore) Secret(ctx context.Context, id string) (idp.Sealed, error) {
	row, err := s.get(ctx, "idp.Secret", id, secretColumns)
	if err != nil {
		return idp.Sealed{}, err
	}
	return idp.Sealed{KeyID: row.ClientSecretKeyID, Nonce: row.ClientSecretNonce, Ciphertext: row.ClientSecretCiphertext}, nil
}

func (s identityProviderStore) Update(ctx context.Context, p *idp.Provider) error {
	const op = "idp.Update"
	row := toIdentityProviderRow(p)
	if err := checkJSON(op, row.Metadata); err != nil {
		return err
	}
	res, err := s.idb(ctx).NewUpdate().Model(row).
		ExcludeColumn(append([]string{"id", "organization_id", "user_id", "txt_record", "created_at"}, secretColumns...)...).
		WherePK().Exec(ctx)
	return s.affected(op, res, err)
}

func (s identityProviderStore) SetSecret(ctx context.Context, id string, secret idp.Sealed) error {
	row := &identityProviderRow{ID: id, ClientSecretCiphertext: secret.Ciphertext, ClientSecretNonce: secret.Nonce,
		ClientSecretKeyID: secret.KeyID}
	res, err := s.idb(ctx).NewUpdate().Model(row).Column(secretColumns...).WherePK().Exec(ctx)
	return s.affected("idp.SetSecret", res, err)
}

func (s identityProviderStore) Delete(ctx context.Context, id string) error {
	res, err := s.idb(ctx).NewDelete().Model((*identityProviderRow)(nil)).Where("id = ?", id).Exec(ctx)
	return s.affected("idp.Delete", res, err)
}

func (s identityProviderStore) List(ctx context.Context, f idp.Filter) (resource.Page[idp.Provider], error) {
	var rows []identityProviderRow
	q := s.idb(ctx).NewSelect().Model(&rows).Column(publicColumns...)
	if f.Name != "" {
		q = q.Where("ip.name = ?", f.Name)
	}
	if f.Status != "" {
		q = q.Where("ip.status = ?", string(f.Status))
	}
	if f.Domain != "" {
		// Domains are stored comma-separated; a canonical domain holds only
		// letters, digits, '-' and '.', none of which LIKE treats specially.
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("ip.domains = ?", f.Domain).
				WhereOr("ip.domains LIKE ?", f.Domain+",%").
				WhereOr("ip.domains LIKE ?", "%,"+f.Domain).
				WhereOr("ip.domains LIKE ?", "%,"+f.Domain+",%")
		})
	}
	q = inOrganizations(q, "ip.organization_id", f.OrganizationID, f.OrganizationIDs)
	return page(ctx, s.base, "idp.List", q, &rows, "ip", identityProviderColumns, f.PageRequest, (*identityProviderRow).domain,
		func(p idp.Provider) string { return p.ID })
}

// ClaimDue selects the due providers and moves their next attempt in one
// transaction; on PostgreSQL and MySQL the selection locks them and skips
// those another claim holds (FOR UPDATE SKIP LOCKED), and a claim that
// committed first has moved theirs past now; SQLite has one writer.
func (s identityProviderStore) ClaimDue(ctx context.Context, now, until time.Time, limit int) ([]string, error) {
	const op = "idp.ClaimDue"
	var ids []string
	err := s.s.InTx(ctx, func(ctx context.Context) error {
		ids = nil
		q := s.idb(ctx).NewSelect().Model((*identityProviderRow)(nil)).Column("ip.id").
			Where("ip.status = ?", string(idp.Pending)).Where("ip.verify_next_at <= ?", now.UTC()).
			OrderExpr("ip.verify_next_at ASC, ip.id ASC").Limit(int64(max(limit, 1)))
		if err := s.skipLocked(ctx, q).Scan(ctx, &ids); err != nil {
			return s.err(op, err)
		}
		if len(ids) == 0 {
			return nil
		}
		_, err := s.idb(ctx).NewUpdate().Model((*identityProviderRow)(nil)).Set("verify_next_at = ?", until.UTC()).
			Where("id IN (?)", bun.List(ids)).Exec(ctx)
		return s.err(op, err)
	})
	return ids, err
}

func (s identityProviderStore) SealedWithOtherKey(ctx context.Context, keyID, afterID string, limit int) ([]string, error) {
	var ids []string
	q := s.idb(ctx).NewSelect().Model((*identityProviderRow)(nil)).Column("ip.id").Where("ip.client_secret_key_id <> ?", keyID)
	if afterID != "" {
		q = q.Where("ip.id > ?", afterID)
	}
	err := q.OrderExpr("ip.id ASC").Limit(int64(max(limit, 1))).Scan(ctx, &ids)
	return ids, s.err("idp.SealedWithOtherKey", err)
}

func (s identityProviderStore) SecretKeys(ctx context.Context) (map[string]int, error) {
	var rows []struct {
		KeyID string `bun:"client_secret_key_id"`
		N     int    `bun:"n"`
	}
	err := s.idb(ctx).NewSelect().Model((*identityProviderRow)(nil)).Column("ip.client_secret_key_id").ColumnExpr("COUNT(*) AS n").
		Group("ip.client_secret_key_id").Scan(ctx, &rows)
	if err != nil {
		return nil, s.err("idp.SecretKeys", err)
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.KeyID] = r.N
	}
	return out, nil
}
