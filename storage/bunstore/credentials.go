package bunstore

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
)

type credentialRow struct {
	bun.BaseModel  `bun:"table:provisioning_api_credentials,alias:ac"`
	ID             string    `bun:"id,pk"`
	OrganizationID string    `bun:"organization_id,notnull"`
	Name           string    `bun:"name,notnull"`
	Kind           string    `bun:"kind,notnull"`
	RedirectURI    string    `bun:"redirect_uri,nullzero"`
	ClientID       string    `bun:"client_id,notnull"`
	Scopes         string    `bun:"scopes,nullzero"`
	ExpiresIn      int       `bun:"expires_in,notnull"`
	Mode           string    `bun:"mode,notnull"`
	Custom         bool      `bun:"custom,notnull"`
	RoleID         string    `bun:"role_id,nullzero"`
	CreatorUserID  string    `bun:"creator_user_id,nullzero"`
	ExpiresAt      time.Time `bun:"expires_at,nullzero"`
	RevokedAt      time.Time `bun:"revoked_at,nullzero"`
	LastUsedAt     time.Time `bun:"last_used_at,nullzero"`
	AllowedIPs     jsonList  `bun:"allowed_ips,type:text"`
	commonCols
}

// credentialSecretRow holds the hash of one secret, never the secret.
type credentialSecretRow struct {
	bun.BaseModel `bun:"table:provisioning_api_credential_secrets,alias:acs"`
	ID            string    `bun:"id,pk"`
	CredentialID  string    `bun:"credential_id,notnull"`
	Hash          string    `bun:"hash,notnull"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
	ExpiresAt     time.Time `bun:"expires_at,nullzero"`
}

type credentialStore struct{ base }

var _ credential.Store = credentialStore{}

// maxClientIDLen bounds the client ids worth a query.
const maxClientIDLen = 128

func toCredentialRow(c *credential.Credential) *credentialRow {
	return &credentialRow{ID: c.ID, OrganizationID: c.OrganizationID, Name: c.Name, Kind: string(c.Kind),
		RedirectURI: c.RedirectURI, ClientID: c.ClientID, Scopes: c.Scopes, ExpiresIn: c.ExpiresIn, Mode: string(c.Mode),
		Custom: c.Custom, RoleID: c.RoleID, CreatorUserID: c.CreatorUserID, ExpiresAt: c.ExpiresAt.UTC(),
		RevokedAt: c.RevokedAt.UTC(), LastUsedAt: c.LastUsedAt.UTC(), AllowedIPs: listOf(c.AllowedIPs),
		commonCols: fromCommon(c.Common)}
}

func (r *credentialRow) domain() credential.Credential {
	k := credential.Kind(r.Kind)
	return credential.Credential{ID: r.ID, OrganizationID: r.OrganizationID, Name: r.Name, Kind: k,
		Confidential: k.Confidential(), RedirectURI: r.RedirectURI, ClientID: r.ClientID, Scopes: r.Scopes,
		ExpiresIn: r.ExpiresIn, Mode: credential.Mode(r.Mode), Custom: r.Custom, RoleID: r.RoleID,
		CreatorUserID: r.CreatorUserID, ExpiresAt: utcOrZero(r.ExpiresAt), RevokedAt: utcOrZero(r.RevokedAt),
		LastUsedAt: utcOrZero(r.LastUsedAt), AllowedIPs: r.AllowedIPs.prefixes(), Common: r.common()}
}

func toSecretRow(s *credential.Secret) *credentialSecretRow {
	return &credentialSecretRow{ID: s.ID, CredentialID: s.CredentialID, Hash: s.Hash, CreatedAt: s.CreatedAt.UTC(), ExpiresAt: s.ExpiresAt.UTC()}
}

func (r *credentialSecretRow) domain() credential.Secret {
	return credential.Secret{ID: r.ID, CredentialID: r.CredentialID, Hash: r.Hash, CreatedAt: r.CreatedAt.UTC(), ExpiresAt: utcOrZero(r.ExpiresAt)}
}

// utcOrZero returns t in UTC, and the zero time as the zero time.
func utcOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func (s credentialStore) Create(ctx context.Context, c *credential.Credential, first *credential.Secret) error {
	const op = "credential.Create"
	row := toCredentialRow(c)
	if err := checkJSON(op, row.Metadata); err != nil {
		return err
	}
	return s.s.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.idb(ctx).NewInsert().Model(row).Returning("NULL").Exec(ctx); err != nil {
			return s.err(op, err)
		}
		_, err := s.idb(ctx).NewInsert().Model(toSecretRow(first)).Returning("NULL").Exec(ctx)
		return s.err(op, err)
	})
}

func (s credentialStore) Get(ctx context.Context, id string) (*credential.Credential, error) {
	const op = "credential.Get"
	if !resource.ValidID(id) {
		return nil, fault.E(op, fault.NotFound, nil)
	}
	var row credentialRow
	if err := s.idb(ctx).NewSelect().Model(&row).Where("ac.id = ? AND ac.revoked_at IS NULL", id).Scan(ctx); err != nil {
		return nil, s.one(op, err)
	}
	c := row.domain()
	return &c, nil
}

func (s credentialStore) List(ctx context.Context, f credential.Filter) (resource.Page[credential.Credential], error) {
	var rows []credentialRow
	q := s.idb(ctx).NewSelect().Model(&rows).Where("ac.revoked_at IS NULL")
	if f.Kind != "" {
		q = q.Where("ac.kind = ?", string(f.Kind))
	}
	if f.Mode != "" {
		q = q.Where("ac.mode = ?", string(f.Mode))
	}
	if f.Name != "" {
		q = q.Where("ac.name = ?", f.Name)
	}
	if f.ClientID != "" {
		q = q.Where("ac.client_id = ?", f.ClientID)
	}
	if f.RoleID != "" {
		q = q.Where("ac.role_id = ?", f.RoleID)
	}
	q = inOrganizations(q, "ac.organization_id", f.OrganizationID, f.OrganizationIDs)
	return page(ctx, s.base, "credential.List", q, &rows, "ac", credentialColumns, f.PageRequest, (*credentialRow).domain,
		func(c credential.Credential) string { return c.ID })
}

func (s credentialStore) Update(ctx context.Context, c *credential.Credential) error {
	const op = "credential.Update"
	row := toCredentialRow(c)
	if err := checkJSON(op, row.Metadata); err != nil {
		return err
	}
	res, err := s.idb(ctx).NewUpdate().Model(row).
		ExcludeColumn("id", "organization_id", "kind", "client_id", "scopes", "mode", "custom", "creator_user_id",
			"revoked_at", "last_used_at", "created_at").
		WherePK().Where("revoked_at IS NULL").Exec(ctx)
	return s.affected(op, res, err)
}

func (s credentialStore) Revoke(ctx context.Context, id string, at time.Time) error {
	const op = "credential.Revoke"
	res, err := s.idb(ctx).NewUpdate().Model((*credentialRow)(nil)).
		Set("revoked_at = ?", at.UTC()).Set("updated_at = ?", at.UTC()).
		Where("id = ? AND revoked_at IS NULL", id).Exec(ctx)
	return s.affected(op, res, err)
}

func (s credentialStore) AddSecret(ctx context.Context, sec *credential.Secret) error {
	_, err := s.idb(ctx).NewInsert().Model(toSecretRow(sec)).Returning("NULL").Exec(ctx)
	return s.err("credential.AddSecret", err)
}

func (s credentialStore) Secrets(ctx context.Context, credentialID string) ([]credential.Secret, error) {
	const op = "credential.Secrets"
	if !resource.ValidID(credentialID) {
		return nil, nil
	}
	var rows []credentialSecretRow
	err := s.idb(ctx).NewSelect().Model(&rows).Where("acs.credential_id = ?", credentialID).OrderExpr("acs.id ASC").Scan(ctx)
	if err != nil {
		return nil, s.err(op, err)
	}
	out := make([]credential.Secret, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, nil
}

func (s credentialStore) ExpireSecret(ctx context.Context, id string, at time.Time) error {
	res, err := s.idb(ctx).NewUpdate().Model((*credentialSecretRow)(nil)).
		Set("expires_at = ?", at.UTC()).Where("id = ?", id).Exec(ctx)
	return s.affected("credential.ExpireSecret", res, err)
}

func (s credentialStore) Login(ctx context.Context, clientID string) (*credential.Credential, []credential.Secret, error) {
	const op = "credential.Login"
	if clientID == "" || len(clientID) > maxClientIDLen {
		return nil, nil, fault.E(op, fault.NotFound, nil)
	}
	var row credentialRow
	if err := s.idb(ctx).NewSelect().Model(&row).Where("ac.client_id = ?", clientID).Scan(ctx); err != nil {
		return nil, nil, s.one(op, err)
	}
	secrets, err := s.Secrets(ctx, row.ID)
	if err != nil {
		return nil, nil, err
	}
	c := row.domain()
	return &c, secrets, nil
}

func (s credentialStore) Touch(ctx context.Context, id string, at time.Time, every time.Duration) error {
	_, err := s.idb(ctx).NewUpdate().Model((*credentialRow)(nil)).
		Set("last_used_at = ?", at.UTC()).
		Where("id = ? AND (last_used_at IS NULL OR last_used_at <= ?)", id, at.Add(-every).UTC()).Exec(ctx)
	return s.err("credential.Touch", err)
}

// snapshotCredentials reads the credentials of an organization that are not
// revoked, as the policy sees them.
func (s credentialStore) snapshotCredentials(ctx context.Context, orgID string) ([]access.Credential, error) {
	var rows []credentialRow
	err := s.idb(ctx).NewSelect().Model(&rows).Column("id", "role_id", "expires_at", "allowed_ips").
		Where("ac.organization_id = ? AND ac.revoked_at IS NULL", orgID).OrderExpr("ac.id ASC").Scan(ctx)
	if err != nil {
		return nil, s.err("access.Snapshot", err)
	}
	var out []access.Credential
	for _, r := range rows {
		out = append(out, access.Credential{ID: r.ID, RoleID: r.RoleID, ExpiresAt: utcOrZero(r.ExpiresAt),
			AllowedIPs: r.AllowedIPs.prefixes()})
	}
	return out, nil
}

// credentialOrganization returns, as a one-element list, the organization
// of a credential that is not revoked when its id is greater than after
// (or after is empty); none otherwise.
func (s credentialStore) credentialOrganization(ctx context.Context, credID, after string) ([]string, error) {
	q := s.idb(ctx).NewSelect().Model((*credentialRow)(nil)).Column("organization_id").
		Where("ac.id = ? AND ac.revoked_at IS NULL", credID)
	if after != "" {
		q = q.Where("ac.organization_id > ?", after)
	}
	ids := []string{}
	err := q.Scan(ctx, &ids)
	return ids, s.err("access.Organizations", err)
}
