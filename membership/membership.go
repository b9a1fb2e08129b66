// Package membership holds memberships: a user's place in an organization.
//
// A membership is invited by email. It is pending until the user with that
// email accepts, active at once when the user already exists. There is one
// membership per (organization, email), emails compared in canonical form.
// Its effective access scope comes from its profile when it has one.
package membership

import (
	"context"
	"net/netip"
	"time"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/allowlist"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/email"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/user"
)

// Status is the state of a membership.
type Status string

// The states. The only transition is Pending to Active.
const (
	Pending Status = "pending"
	Active  Status = "active"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return s == Pending || s == Active }

// Membership is a user's place in an organization.
type Membership struct {
	ID             string
	OrganizationID string
	UserID         string // "" until a user with UserEmail exists and accepts
	UserEmail      string // canonical
	UserFirstName  string // read-only, from the user
	UserLastName   string // read-only, from the user
	Status         Status
	Owner          bool // read-only: derived from the organization's owner
	// RoleID is the primary role: the one the Commerce Layer view shows.
	RoleID string
	// RoleIDs are every role of the membership, RoleID first; its rights
	// are their union.
	RoleIDs     []string
	ProfileID   string       // "" when the membership has no profile
	AccessScope access.Scope // the membership's own scope; "" is null
	// ProfileAccessScope is the scope of the profile, read with the membership.
	ProfileAccessScope access.Scope
	// InvitationExpiresAt is when the pending invitation stops working: its
	// token, and its acceptance on every path (AcceptPendingInvitations,
	// an upsert of its user).
	InvitationExpiresAt time.Time
	// Permissions are direct permissions on top of the roles, canonical:
	// "*" alone, or sorted "subject:action" entries ("*" for any).
	Permissions []string
	// AllowedIPs, when not nil, are the only networks the member may call
	// from; canonical (see package allowlist).
	AllowedIPs []netip.Prefix
	// Guest members never manage the organization and are never its owner.
	Guest bool
	// ExpiresAt, when not zero, is when the membership's rights end.
	ExpiresAt time.Time
	// MFARequired requires this member to use a second factor; the
	// organization's flag may require it too (EffectiveMFA).
	MFARequired bool
	// UserMFADisabled reports that the host turned the user's second
	// factor off (user.User.MFADisabled), which no requirement overrides
	// (read-only, from the user; false while there is no user).
	UserMFADisabled bool
	// Default reports that the organization is the user's default one
	// (read-only: kept by the library, changed by SetDefaultOrganization).
	Default bool
	resource.Common
}

// EffectiveMFA reports whether the member must authenticate with a second
// factor in an organization whose own requirement is orgRequired: when the
// organization or the membership requires it, unless the host turned the
// user's second factor off.
func (m Membership) EffectiveMFA(orgRequired bool) bool {
	return access.EffectiveMFA(orgRequired, m.MFARequired, m.UserMFADisabled)
}

// IsGuest reports whether the member is a guest of the organization: a
// guest by its own flag (Guest, which a host or an admin sets, and which
// always wins), or a user whose home organization (the default one,
// user.User.DefaultOrganizationID) is another. A membership without a user
// yet (pending) is a guest only by its flag.
func (m Membership) IsGuest() bool {
	return m.Guest || m.UserID != "" && !m.Default
}

// Expired reports whether the membership's rights have ended at now.
func (m Membership) Expired(now time.Time) bool {
	return !m.ExpiresAt.IsZero() && !now.Before(m.ExpiresAt)
}

// EffectiveAccessScope is the scope that applies: the profile's when there is
// one, else the membership's own, else live_access.
func (m Membership) EffectiveAccessScope() access.Scope {
	return access.Effective(m.AccessScope, m.ProfileAccessScope)
}

// TestEnabled reports whether the effective scope reaches test data.
func (m Membership) TestEnabled() bool { return m.EffectiveAccessScope().TestEnabled() }

// Invite is the input of a new membership.
type Invite struct {
	OrganizationID string
	UserEmail      string
	RoleID         string
	// ExtraRoleIDs are more roles, after the primary RoleID; optional.
	ExtraRoleIDs []string
	ProfileID    string       // optional
	AccessScope  access.Scope // optional; "" is null (live_access)
	Rules
	resource.CommonInput
}

// RoleIDs returns every role of the invitation, the primary one first.
func (in Invite) RoleIDs() []string { return append([]string{in.RoleID}, in.ExtraRoleIDs...) }

// Env is what validation needs besides the input: the registry of
// permission subjects (nil: the default one) and the time.
type Env struct {
	Subjects *role.Subjects
	Now      time.Time
}

// Validate checks the input and returns it with the email, the permissions
// and the allowlist canonical.
func (in Invite) Validate(env Env) (Invite, error) {
	var p fault.Problems
	resource.CheckID(&p, "organization", in.OrganizationID)
	canon, err := email.Canonical("user_email", in.UserEmail)
	if !p.Merge(err) {
		in.UserEmail = canon
	}
	resource.CheckID(&p, "role", in.RoleID)
	if len(in.ExtraRoleIDs) > 0 && resource.ValidID(in.RoleID) {
		checkRoleIDs(&p, "role_ids", in.RoleIDs())
	}
	if in.ProfileID != "" && !resource.ValidID(in.ProfileID) {
		p.Add("membership_profile", "not_found", "does not exist")
	}
	if in.AccessScope != "" && !in.AccessScope.Valid() {
		p.Add("access_scope", "enum", "must be live_access, test_access or all_access")
	}
	in.Rules = in.Rules.canonical(&p, env)
	in.CommonInput.Validate(&p)
	return in, p.Err("membership.Invite")
}

// Update changes a membership. Nil fields are left as they are; ProfileID set
// to "" unlinks the profile; AccessScope set to "" sets null. Email, status,
// owner and organization are never updatable.
//
// RoleID replaces the primary role and keeps the others; RoleIDs replaces
// every role (the primary one first); when both are set they must agree.
// AllowedIPs pointing at a nil slice removes the IP restriction; pointing
// at an empty one is refused. ExpiresAt pointing at the zero time removes
// the expiry.
type Update struct {
	RoleID      *string
	RoleIDs     *[]string
	ProfileID   *string
	AccessScope *access.Scope
	Permissions *[]string
	AllowedIPs  *[]string
	Guest       *bool
	ExpiresAt   *time.Time
	MFARequired *bool
	resource.CommonUpdate
}

// Validate checks the set fields and returns u with the permissions and
// the allowlist canonical.
func (u Update) Validate(env Env) (Update, error) {
	var p fault.Problems
	if u.RoleID != nil {
		resource.CheckID(&p, "role", *u.RoleID)
	}
	if u.RoleIDs != nil {
		checkRoleIDs(&p, "role_ids", *u.RoleIDs)
		if u.RoleID != nil && len(*u.RoleIDs) > 0 && (*u.RoleIDs)[0] != *u.RoleID {
			p.Add("role_ids", "format", "must start with the role given as role")
		}
	}
	if u.Permissions != nil {
		perms := checkPermissions(&p, "permissions", *u.Permissions, env.subjects())
		u.Permissions = &perms
	}
	if u.AllowedIPs != nil {
		ips := allowlist.Strings(checkAllowedIPs(&p, "allowed_ips", *u.AllowedIPs))
		u.AllowedIPs = &ips
	}
	if u.ExpiresAt != nil && !u.ExpiresAt.IsZero() && !u.ExpiresAt.After(env.Now) {
		p.Add("expires_at", "past", "must be in the future")
	}
	if u.ProfileID != nil && *u.ProfileID != "" && !resource.ValidID(*u.ProfileID) {
		p.Add("membership_profile", "not_found", "does not exist")
	}
	if u.AccessScope != nil && *u.AccessScope != "" && !u.AccessScope.Valid() {
		p.Add("access_scope", "enum", "must be live_access, test_access or all_access")
	}
	u.CommonUpdate.Validate(&p)
	return u, p.Err("membership.Update")
}

// Roles returns the roles m has once u applies, the primary one first.
func (u Update) Roles(m *Membership) []string {
	switch {
	case u.RoleIDs != nil:
		return *u.RoleIDs
	case u.RoleID != nil && *u.RoleID != m.RoleID:
		out := []string{*u.RoleID}
		for _, id := range m.roles() {
			if id != *u.RoleID && id != m.RoleID {
				out = append(out, id)
			}
		}
		return out
	}
	return m.roles()
}

// Apply sets the fields of a validated u on m and returns what changed.
func (u Update) Apply(m *Membership, now time.Time) resource.Changes {
	ch := resource.Changes{}
	m.SetRoles(u.Roles(m), ch)
	resource.SetField(ch, "membership_profile_id", &m.ProfileID, u.ProfileID)
	resource.SetField(ch, "access_scope", &m.AccessScope, u.AccessScope)
	m.SetRules(u.Rules(m), ch)
	u.CommonUpdate.Apply(&m.Common, ch)
	if len(ch) > 0 {
		m.UpdatedAt = now
	}
	return ch
}

// Filter selects memberships of one organization. Empty fields match all.
type Filter struct {
	OrganizationID  string   // one organization; "" for a list across organizations
	OrganizationIDs []string // when OrganizationID is "": a list across these organizations
	Status          Status
	RoleID          string
	ProfileID       string
	UserID          string
	UserEmail       string // compared in canonical form
	resource.PageRequest
}

// Validate checks the filter and returns it with the email canonical.
func (f Filter) Validate() (Filter, error) {
	var p fault.Problems
	if f.Status != "" && !f.Status.Valid() {
		p.Add("status", "enum", "must be pending or active")
	}
	if f.UserEmail != "" {
		canon, err := email.Canonical("user_email", f.UserEmail)
		if !p.Merge(err) {
			f.UserEmail = canon
		}
	}
	if _, err := f.AfterID(); err != nil {
		p.Merge(err)
	}
	return f, p.Err("membership.List")
}

// Target is what an invitation reads under its organization's lock: the
// organization, the role it grants and the user of the invited address.
type Target struct {
	Organization *organization.Organization
	Role         *role.Role // nil: the organization has no role of that id
	User         *user.User // nil: no user has that address
}

// Store is the storage contract for memberships.
type Store interface {
	// Create fails with fault.ErrAlreadyExists (field "user_email") when the
	// organization already has a membership for the email.
	Create(ctx context.Context, m *Membership, invitationTokenHash []byte) error
	// CreateRecorded is Create that also appends v, the version of the
	// creation, in as few statements as the backend can: both or neither.
	CreateRecorded(ctx context.Context, m *Membership, invitationTokenHash []byte, v *audit.Version) error
	// LockTarget locks the organization orgID as organization.Store's
	// Lock does (fault.ErrNotFound when there is none) and reads, in the
	// same statement where the backend can, the organization's role roleID
	// and the user of the canonical email, when they exist.
	LockTarget(ctx context.Context, orgID, roleID, canonicalEmail string) (Target, error)
	// CreateMany inserts pending invitations, each with the hash of its
	// token, in the fastest way the backend has (few multi-row statements,
	// or a prepared one run per row). The caller has made
	// sure, under the organization's lock, that no email is taken; a key
	// that fires anyway fails the whole call.
	CreateMany(ctx context.Context, ms []*Membership, invitationTokenHashes [][]byte) error
	// TakenEmails returns which of the canonical emails already have a
	// membership in the organization.
	TakenEmails(ctx context.Context, orgID string, canonicalEmails []string) ([]string, error)
	Get(ctx context.Context, id string) (*Membership, error)
	GetByEmail(ctx context.Context, orgID, canonicalEmail string) (*Membership, error)
	GetByUser(ctx context.Context, orgID, userID string) (*Membership, error)
	// GetByInvitation finds the pending membership whose token hashes to hash.
	GetByInvitation(ctx context.Context, hash []byte) (*Membership, error)
	Update(ctx context.Context, m *Membership) error
	// SetInvitation replaces the invitation token of a pending membership.
	SetInvitation(ctx context.Context, id string, hash []byte, expiresAt, now time.Time) error
	// Activate turns a pending membership active for userID, clearing its
	// token; it fails with fault.ErrNotPending when it is not pending any more.
	Activate(ctx context.Context, id, userID string, now time.Time) error
	// Delete fails with fault.ErrLastOwner when the membership is the owner's.
	Delete(ctx context.Context, id string) error
	List(ctx context.Context, f Filter) (resource.Page[Membership], error)
	// PendingForEmail lists pending memberships of an email, in every organization.
	PendingForEmail(ctx context.Context, canonicalEmail string) ([]Membership, error)
	// OldestActiveOrganization returns the organization of the user's oldest
	// active membership, "" when there is none.
	OldestActiveOrganization(ctx context.Context, userID string) (string, error)
	// Count counts the organization's memberships, pending and active.
	Count(ctx context.Context, orgID string) (int, error)
}
