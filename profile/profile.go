// Package profile holds membership profiles: templates of access scope (and,
// later, application memberships) that their members inherit, computed on
// read, so that a change to a profile reaches every member at once.
package profile

import (
	"context"
	"time"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
)

// Profile is a membership profile.
type Profile struct {
	ID             string
	OrganizationID string
	Name           string
	AccessScope    access.Scope // required
	resource.Common
}

// TestEnabled reports whether the profile's scope reaches test data.
func (p Profile) TestEnabled() bool { return p.AccessScope.TestEnabled() }

// Create is the input of a new profile.
type Create struct {
	OrganizationID string
	Name           string
	AccessScope    access.Scope
	resource.CommonInput
}

// Validate checks the input.
func (c Create) Validate() error {
	var p fault.Problems
	resource.CheckID(&p, "organization", c.OrganizationID)
	resource.CheckName(&p, "name", c.Name, resource.MaxNameLen)
	if c.AccessScope == "" {
		p.Add("access_scope", "required", "can't be blank")
	} else if !c.AccessScope.Valid() {
		p.Add("access_scope", "enum", "must be live_access, test_access or all_access")
	}
	c.CommonInput.Validate(&p)
	return p.Err("profile.Create")
}

// New builds the profile for valid input.
func (c Create) New(id string, now time.Time) *Profile {
	return &Profile{ID: id, OrganizationID: c.OrganizationID, Name: c.Name, AccessScope: c.AccessScope, Common: c.CommonInput.New(now)}
}

// Update changes a profile. Nil fields are left as they are.
type Update struct {
	Name        *string
	AccessScope *access.Scope
	resource.CommonUpdate
}

// Validate checks the set fields.
func (u Update) Validate() error {
	var p fault.Problems
	if u.Name != nil {
		resource.CheckName(&p, "name", *u.Name, resource.MaxNameLen)
	}
	if u.AccessScope != nil && !u.AccessScope.Valid() {
		p.Add("access_scope", "enum", "must be live_access, test_access or all_access")
	}
	u.CommonUpdate.Validate(&p)
	return p.Err("profile.Update")
}

// Apply sets the fields of u on pr and returns what changed.
func (u Update) Apply(pr *Profile, now time.Time) resource.Changes {
	ch := resource.Changes{}
	resource.SetField(ch, "name", &pr.Name, u.Name)
	resource.SetField(ch, "access_scope", &pr.AccessScope, u.AccessScope)
	u.CommonUpdate.Apply(&pr.Common, ch)
	if len(ch) > 0 {
		pr.UpdatedAt = now
	}
	return ch
}

// Filter selects profiles of one organization.
type Filter struct {
	OrganizationID  string   // one organization; "" for a list across organizations
	OrganizationIDs []string // when OrganizationID is "": a list across these organizations
	Name            string   // optional, exact
	resource.PageRequest
}

// Store is the storage contract for profiles.
type Store interface {
	Create(ctx context.Context, p *Profile) error
	Get(ctx context.Context, id string) (*Profile, error)
	Update(ctx context.Context, p *Profile) error
	// Delete fails with fault.ErrInUse while memberships use the profile.
	Delete(ctx context.Context, id string) error
	List(ctx context.Context, f Filter) (resource.Page[Profile], error)
}
