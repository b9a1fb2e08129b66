// Package appmembership holds application memberships: a role inside one
// application (an API credential of an application kind, such as a Dashboard
// app) given to one membership, or to every member of a membership profile.
//
// A member of a profile gets the profile's application memberships computed,
// never copied: the policy reads them through the profile at every change,
// so changing the profile reaches every member at once. Filters narrow what
// the role reaches inside the application with Core API predicates
// ({"market_id_in": [202, 203]}); they are stored and given back, and
// enforcing them is the application's business.
package appmembership

import (
	"context"
	"regexp"
	"time"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
)

// MaxFiltersBytes bounds the JSON encoding of Filters.
const MaxFiltersBytes = 16 << 10

// AppMembership is an application membership.
type AppMembership struct {
	ID             string
	OrganizationID string
	CredentialID   string // the application; fixed at creation
	// Exactly one of MembershipID and ProfileID is set. MembershipID is fixed
	// at creation; ProfileID may change to another profile.
	MembershipID string
	ProfileID    string
	RoleID       string
	// Filters are Core API filter predicates; nil for none.
	Filters map[string]any
	resource.Common
}

// Create is the input of a new application membership.
type Create struct {
	OrganizationID string
	CredentialID   string
	MembershipID   string
	ProfileID      string
	RoleID         string
	Filters        map[string]any
	resource.CommonInput
}

// predicateRE is the shape of a filter key: an attribute and a predicate,
// snake_case (market_id_in, name_eq).
var predicateRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,127}$`)

// Validate checks the input.
func (c Create) Validate() error {
	var p fault.Problems
	resource.CheckID(&p, "organization", c.OrganizationID)
	resource.CheckID(&p, "api_credential", c.CredentialID)
	resource.CheckID(&p, "role", c.RoleID)
	switch {
	case c.MembershipID == "" && c.ProfileID == "":
		p.Add("membership", "required", "needs a membership or a membership profile")
	case c.MembershipID != "" && c.ProfileID != "":
		p.Add("membership_profile", "exclusion", "can't be set with a membership")
	case c.MembershipID != "":
		resource.CheckID(&p, "membership", c.MembershipID)
	default:
		resource.CheckID(&p, "membership_profile", c.ProfileID)
	}
	checkFilters(&p, c.Filters)
	c.CommonInput.Validate(&p)
	return p.Err("appmembership.Create")
}

// New builds the application membership for valid input.
func (c Create) New(id string, now time.Time) *AppMembership {
	return &AppMembership{ID: id, OrganizationID: c.OrganizationID, CredentialID: c.CredentialID,
		MembershipID: c.MembershipID, ProfileID: c.ProfileID, RoleID: c.RoleID, Filters: c.Filters,
		Common: c.CommonInput.New(now)}
}

// Update changes an application membership. Nil fields are left as they
// are; ClearFilters removes the filters.
type Update struct {
	RoleID *string
	// ProfileID moves a profile's application membership to another
	// profile; one given to a membership cannot move.
	ProfileID    *string
	Filters      map[string]any
	ClearFilters bool
	resource.CommonUpdate
}

// Validate checks the set fields.
func (u Update) Validate() error {
	var p fault.Problems
	if u.RoleID != nil {
		resource.CheckID(&p, "role", *u.RoleID)
	}
	if u.ProfileID != nil {
		resource.CheckID(&p, "membership_profile", *u.ProfileID)
	}
	if u.ClearFilters && u.Filters != nil {
		p.Add("filters", "exclusion", "can't be set and cleared at once")
	}
	checkFilters(&p, u.Filters)
	u.CommonUpdate.Validate(&p)
	return p.Err("appmembership.Update")
}

// Apply sets the fields of u on a and returns what changed.
func (u Update) Apply(a *AppMembership, now time.Time) resource.Changes {
	ch := resource.Changes{}
	resource.SetField(ch, "role_id", &a.RoleID, u.RoleID)
	resource.SetField(ch, "membership_profile_id", &a.ProfileID, u.ProfileID)
	switch {
	case u.ClearFilters && a.Filters != nil:
		ch.Record("filters", a.Filters, nil)
		a.Filters = nil
	case u.Filters != nil && resource.ChangedJSON(a.Filters, u.Filters):
		ch.Record("filters", a.Filters, u.Filters)
		a.Filters = u.Filters
	}
	u.CommonUpdate.Apply(&a.Common, ch)
	if len(ch) > 0 {
		a.UpdatedAt = now
	}
	return ch
}

func checkFilters(p *fault.Problems, f map[string]any) {
	if f == nil {
		return
	}
	resource.CheckJSONObject(p, "filters", f, MaxFiltersBytes)
	for k := range f {
		if !predicateRE.MatchString(k) {
			p.Add("filters", "format", "keys must be snake_case predicates such as market_id_in")
			return
		}
	}
}

// Filter selects application memberships of one organization, or of
// several. When Holder is set, only those of that membership or of that
// profile are listed (what a member who does not manage them may see); in a
// list across organizations, Holders does the same in each organization it
// names (by id).
type Filter struct {
	OrganizationID  string   // one organization; "" for a list across organizations
	OrganizationIDs []string // when OrganizationID is "": a list across these organizations
	CredentialID    string   // optional
	MembershipID    string   // optional
	ProfileID       string   // optional
	RoleID          string   // optional
	Holder          *Holder
	Holders         map[string]Holder
	resource.PageRequest
}

// Holder is a membership and its profile ("" for none).
type Holder struct {
	MembershipID string
	ProfileID    string
}

// Validate checks the filter.
func (f Filter) Validate() error {
	var p fault.Problems
	if f.OrganizationID != "" { // "" lists across organizations
		resource.CheckID(&p, "organization", f.OrganizationID)
	}
	for _, v := range []struct{ field, id string }{
		{"api_credential", f.CredentialID}, {"membership", f.MembershipID},
		{"membership_profile", f.ProfileID}, {"role", f.RoleID},
	} {
		if v.id != "" {
			resource.CheckID(&p, v.field, v.id)
		}
	}
	if _, err := f.AfterID(); err != nil {
		p.Merge(err)
	}
	return p.Err("appmembership.Filter")
}

// Store is the storage contract for application memberships.
type Store interface {
	// Create fails with fault.ErrAlreadyExists (field "api_credential") when
	// the holder already has an application membership for the credential.
	Create(ctx context.Context, a *AppMembership) error
	Get(ctx context.Context, id string) (*AppMembership, error)
	// Update writes the role, profile, filters and common attributes.
	Update(ctx context.Context, a *AppMembership) error
	Delete(ctx context.Context, id string) error
	List(ctx context.Context, f Filter) (resource.Page[AppMembership], error)
}
