// Package membership holds memberships: a user's place in an organization.
//
// A membership is invited by email. It is pending until the user with that
// email accepts, active at once when the user already exists. There is one
// membership per (organization, email), emails compared in canonical form.
// Its effective access scope comes from its profile when it has one.
package membership

import (
	"context"
	"time"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/email"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
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
	RoleID         string
	ProfileID      string       // "" when the membership has no profile
	AccessScope    access.Scope // the membership's own scope; "" is null
	// ProfileAccessScope is the scope of the profile, read with the membership.
	ProfileAccessScope access.Scope
	// InvitationExpiresAt is when the pending invitation's token stops working.
	InvitationExpiresAt time.Time
	resource.Common
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
	ProfileID      string       // optional
	AccessScope    access.Scope // optional; "" is null (live_access)
	resource.CommonInput
}

// Validate checks the input and returns it with the email canonical.
func (in Invite) Validate() (Invite, error) {
	var p fault.Problems
	resource.CheckID(&p, "organization", in.OrganizationID)
	canon, err := email.Canonical("user_email", in.UserEmail)
	if !p.Merge(err) {
		in.UserEmail = canon
	}
	resource.CheckID(&p, "role", in.RoleID)
	if in.ProfileID != "" && !resource.ValidID(in.ProfileID) {
		p.Add("membership_profile", "not_found", "does not exist")
	}
	if in.AccessScope != "" && !in.AccessScope.Valid() {
		p.Add("access_scope", "enum", "must be live_access, test_access or all_access")
	}
	in.CommonInput.Validate(&p)
	return in, p.Err("membership.Invite")
}

// Update changes a membership. Nil fields are left as they are; ProfileID set
// to "" unlinks the profile; AccessScope set to "" sets null. Email, status,
// owner and organization are never updatable.
type Update struct {
	RoleID      *string
	ProfileID   *string
	AccessScope *access.Scope
	resource.CommonUpdate
}

// Validate checks the set fields.
func (u Update) Validate() error {
	var p fault.Problems
	if u.RoleID != nil {
		resource.CheckID(&p, "role", *u.RoleID)
	}
	if u.ProfileID != nil && *u.ProfileID != "" && !resource.ValidID(*u.ProfileID) {
		p.Add("membership_profile", "not_found", "does not exist")
	}
	if u.AccessScope != nil && *u.AccessScope != "" && !u.AccessScope.Valid() {
		p.Add("access_scope", "enum", "must be live_access, test_access or all_access")
	}
	u.CommonUpdate.Validate(&p)
	return p.Err("membership.Update")
}

// Apply sets the fields of u on m and returns what changed.
func (u Update) Apply(m *Membership, now time.Time) resource.Changes {
	ch := resource.Changes{}
	resource.SetField(ch, "role_id", &m.RoleID, u.RoleID)
	resource.SetField(ch, "membership_profile_id", &m.ProfileID, u.ProfileID)
	resource.SetField(ch, "access_scope", &m.AccessScope, u.AccessScope)
	u.CommonUpdate.Apply(&m.Common, ch)
	if len(ch) > 0 {
		m.UpdatedAt = now
	}
	return ch
}

// Filter selects memberships of one organization. Empty fields match all.
type Filter struct {
	OrganizationID string // required
	Status         Status
	RoleID         string
	ProfileID      string
	UserID         string
	UserEmail      string // compared in canonical form
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

// Store is the storage contract for memberships.
type Store interface {
	// Create fails with fault.ErrAlreadyExists (field "user_email") when the
	// organization already has a membership for the email.
	Create(ctx context.Context, m *Membership, invitationTokenHash []byte) error
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
	// Count counts the organization's memberships, pending and active.
	Count(ctx context.Context, orgID string) (int, error)
}
