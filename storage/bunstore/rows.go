package bunstore

import (
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/uptrace/bun"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
)

// checkJSON refuses a U+0000 in the JSON columns of a row on every backend,
// since PostgreSQL's jsonb cannot hold one. It runs before the query: bun
// does not pass a Valuer's error on, it writes it into the SQL text.
func checkJSON(op string, cols ...jsonObject) error {
	for _, c := range cols {
		if resource.HasNUL(map[string]any(c)) {
			return fault.E(op, fault.Invalid, errors.New("JSON must not contain the NUL character"))
		}
	}
	return nil
}

// jsonObject is a JSON object column; nil is NULL.
type jsonObject map[string]any

// Value implements driver.Valuer.
func (j jsonObject) Value() (driver.Value, error) { return jsonValue(j == nil, map[string]any(j)) }

// Scan implements sql.Scanner.
func (j *jsonObject) Scan(src any) error {
	var m map[string]any
	null, err := jsonScan(src, &m, "a JSON object")
	if err == nil {
		*j = m
		if null {
			*j = nil
		}
	}
	return err
}

// jsonList is a JSON array of strings column; nil is NULL, so that a null
// list (no restriction) and an empty one stay apart.
type jsonList []string

// Value implements driver.Valuer.
func (j jsonList) Value() (driver.Value, error) { return jsonValue(j == nil, []string(j)) }

// Scan implements sql.Scanner.
func (j *jsonList) Scan(src any) error {
	l := []string{}
	null, err := jsonScan(src, &l, "a JSON list")
	if err == nil {
		*j = l
		if null {
			*j = nil
		}
	}
	return err
}

// jsonValue is the column value of v in JSON: NULL when null.
func jsonValue(null bool, v any) (driver.Value, error) {
	if null {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// jsonScan decodes a JSON column into dst and reports whether it was NULL.
func jsonScan(src, dst any, what string) (null bool, err error) {
	switch v := src.(type) {
	case nil:
		return true, nil
	case []byte:
		return false, json.Unmarshal(v, dst)
	case string:
		return false, json.Unmarshal([]byte(v), dst)
	}
	return false, fmt.Errorf("bunstore: cannot scan %T into %s", src, what)
}

// prefixes parses a stored allowlist; nil stays nil. The entries were
// canonical when written; one that no longer parses is left out and the
// list stays non-nil, so a damaged list fails closed: it can only allow
// less, never everyone.
func (j jsonList) prefixes() []netip.Prefix {
	if j == nil {
		return nil
	}
	out := make([]netip.Prefix, 0, len(j))
	for _, v := range j {
		if p, err := netip.ParsePrefix(v); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// listOf stores an allowlist: canonical prefixes in CIDR form; nil stays nil.
func listOf(ps []netip.Prefix) jsonList {
	if ps == nil {
		return nil
	}
	out := make(jsonList, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// commonCols are the columns every table has.
type commonCols struct {
	Reference       string     `bun:"reference,nullzero"`
	ReferenceOrigin string     `bun:"reference_origin,nullzero"`
	Metadata        jsonObject `bun:"metadata,type:text"`
	CreatedAt       time.Time  `bun:"created_at,notnull"`
	UpdatedAt       time.Time  `bun:"updated_at,notnull"`
}

func fromCommon(c resource.Common) commonCols {
	return commonCols{c.Reference, c.ReferenceOrigin, jsonObject(c.Metadata), c.CreatedAt.UTC(), c.UpdatedAt.UTC()}
}

func (c commonCols) common() resource.Common {
	return resource.Common{Reference: c.Reference, ReferenceOrigin: c.ReferenceOrigin,
		Metadata: resource.Metadata(c.Metadata), CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
}

type userRow struct {
	bun.BaseModel `bun:"table:provisioning_users,alias:u"`
	ID            string `bun:"id,pk"`
	Email         string `bun:"email,notnull"`
	FirstName     string `bun:"first_name,notnull"`
	LastName      string `bun:"last_name,notnull"`
	TimeZone      string `bun:"time_zone,notnull"`
	OTPRequired   bool   `bun:"otp_required_for_login,notnull"`
	MFADisabled   bool   `bun:"mfa_disabled,notnull"`
	DefaultOrgID  string `bun:"default_organization_id,nullzero"`
	// EmailVerifiedAt is NULL while the address is not verified.
	EmailVerifiedAt time.Time `bun:"email_verified_at,nullzero"`
	// PendingEmail, its code's hash (hex) and expiry: an email change
	// waiting for its code; all NULL when there is none.
	PendingEmail          string    `bun:"pending_email,nullzero"`
	PendingEmailCodeHash  string    `bun:"pending_email_code_hash,nullzero"`
	PendingEmailExpiresAt time.Time `bun:"pending_email_expires_at,nullzero"`
	commonCols
}

type orgRow struct {
	bun.BaseModel     `bun:"table:provisioning_organizations,alias:o"`
	ID                string     `bun:"id,pk"`
	Name              string     `bun:"name,notnull"`
	Slug              string     `bun:"slug,notnull"`
	Domain            string     `bun:"domain,notnull"`
	SupportPhone      string     `bun:"support_phone,nullzero"`
	SupportEmail      string     `bun:"support_email,nullzero"`
	LogoURL           string     `bun:"logo_url,nullzero"`
	FaviconURL        string     `bun:"favicon_url,nullzero"`
	PrimaryColor      string     `bun:"primary_color,nullzero"`
	ContrastColor     string     `bun:"contrast_color,nullzero"`
	GTMID             string     `bun:"gtm_id,nullzero"`
	GTMIDTest         string     `bun:"gtm_id_test,nullzero"`
	Region            string     `bun:"region,notnull"`
	Config            jsonObject `bun:"config,type:text"`
	OwnerMembershipID string     `bun:"owner_membership_id,nullzero"`
	PolicyRevision    string     `bun:"policy_revision,notnull"`
	PlanType          string     `bun:"plan_type,notnull"`
	LimitMemberships  int        `bun:"limit_memberships,notnull"`
	LimitOrgs         int        `bun:"limit_organizations,notnull"`
	LimitCredentials  int        `bun:"limit_api_credentials,notnull"`
	LimitRoles        int        `bun:"limit_roles,notnull"`
	MFARequired       bool       `bun:"mfa_required,notnull"`
	CanSwitchLive     bool       `bun:"can_switch_live,notnull"`
	// Number is assigned by the database (a sequence, AUTO_INCREMENT or,
	// on SQLite, a trigger): inserted as DEFAULT or NULL, never updated.
	Number int32 `bun:"number,nullzero"`
	commonCols
}

type roleRow struct {
	bun.BaseModel  `bun:"table:provisioning_roles,alias:r"`
	ID             string `bun:"id,pk"`
	OrganizationID string `bun:"organization_id,notnull"`
	Name           string `bun:"name,notnull"`
	Kind           string `bun:"kind,notnull"`
	commonCols
}

type permissionRow struct {
	bun.BaseModel  `bun:"table:provisioning_permissions,alias:p"`
	ID             string     `bun:"id,pk"`
	OrganizationID string     `bun:"organization_id,notnull"`
	RoleID         string     `bun:"role_id,notnull"`
	Subject        string     `bun:"subject,notnull"`
	CanCreate      bool       `bun:"can_create,notnull"`
	CanRead        bool       `bun:"can_read,notnull"`
	CanUpdate      bool       `bun:"can_update,notnull"`
	CanDestroy     bool       `bun:"can_destroy,notnull"`
	Restrictions   jsonObject `bun:"restrictions,type:text"`
	commonCols
}

type profileRow struct {
	bun.BaseModel  `bun:"table:provisioning_membership_profiles,alias:mp"`
	ID             string `bun:"id,pk"`
	OrganizationID string `bun:"organization_id,notnull"`
	Name           string `bun:"name,notnull"`
	AccessScope    string `bun:"access_scope,notnull"`
	commonCols
}

type membershipRow struct {
	bun.BaseModel       `bun:"table:provisioning_memberships,alias:m"`
	ID                  string    `bun:"id,pk"`
	OrganizationID      string    `bun:"organization_id,notnull"`
	UserID              string    `bun:"user_id,nullzero"`
	UserEmail           string    `bun:"user_email,notnull"`
	Status              string    `bun:"status,notnull"`
	RoleID              string    `bun:"role_id,notnull"`
	ProfileID           string    `bun:"membership_profile_id,nullzero"`
	AccessScope         string    `bun:"access_scope,nullzero"`
	InvitationTokenHash string    `bun:"invitation_token_hash,nullzero"`
	InvitationExpiresAt time.Time `bun:"invitation_expires_at,nullzero"`
	ExtraRoleIDs        jsonList  `bun:"extra_role_ids,type:text"`
	Permissions         jsonList  `bun:"permissions,type:text"`
	AllowedIPs          jsonList  `bun:"allowed_ips,type:text"`
	Guest               bool      `bun:"guest,notnull"`
	ExpiresAt           time.Time `bun:"expires_at,nullzero"`
	MFARequired         bool      `bun:"mfa_required,notnull"`
	commonCols
}

// membershipView is a membership read with what it derives from other rows.
type membershipView struct {
	membershipRow      `bun:",extend"`
	UserFirstName      string `bun:"user_first_name,scanonly"`
	UserLastName       string `bun:"user_last_name,scanonly"`
	ProfileAccessScope string `bun:"profile_access_scope,scanonly"`
	Owner              bool   `bun:"owner,scanonly"`
	Default            bool   `bun:"is_default,scanonly"`
	UserMFADisabled    bool   `bun:"user_mfa_disabled,scanonly"`
	// OrgRevision is the organization's policy revision, read in the same
	// statement (access.NoteRevision).
	OrgRevision string `bun:"org_policy_revision,scanonly"`
}

type versionRow struct {
	bun.BaseModel  `bun:"table:provisioning_versions,alias:v"`
	ID             string     `bun:"id,pk"`
	OrganizationID string     `bun:"organization_id,notnull"`
	ResourceType   string     `bun:"resource_type,notnull"`
	ResourceID     string     `bun:"resource_id,notnull"`
	Event          string     `bun:"event,notnull"`
	Changes        jsonObject `bun:"changes,type:text"`
	WhoType        string     `bun:"who_type,notnull"`
	WhoID          string     `bun:"who_id,notnull"`
	RequestID      string     `bun:"request_id,nullzero"`
	commonCols
}
