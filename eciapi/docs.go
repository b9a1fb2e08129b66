package eciapi

import (
	"context"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/internal/httpx"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
)

// memberJSON is ECI's OrganizationMember.
type memberJSON struct {
	ID                      string     `json:"id"`
	UserID                  string     `json:"userId"`
	OrganizationID          int32      `json:"organizationId"`
	OrganizationName        string     `json:"organizationName"`
	OrganizationDisplayName string     `json:"organizationDisplayName"`
	IsGuest                 bool       `json:"isGuest"`
	IsMfaRequired           bool       `json:"isMfaRequired"`
	IsMembershipMfaRequired bool       `json:"isMembershipMfaRequired"`
	Roles                   []roleJSON `json:"roles"`
	Created                 *string    `json:"created"`
	CreatedBy               *string    `json:"createdBy"`
	Modified                *string    `json:"modified"`
	ModifiedBy              *string    `json:"modifiedBy"`
	// User is a *userJSON when expanded, a userRef otherwise.
	User any `json:"user"`
}

type roleJSON struct {
	ID          string  `json:"id"`
	Name        *string `json:"name"`
	Expires     *string `json:"expires"`
	Description *string `json:"description"`
}

// userJSON is the embedded User, expanded.
type userJSON struct {
	ID             string `json:"id"`
	EmailAddress   string `json:"emailAddress"`
	GivenName      string `json:"givenName"`
	FamilyName     string `json:"familyName"`
	DisplayName    string `json:"displayName"`
	OrganizationID *int32 `json:"organizationId"`
	IsMfaDisabled  bool   `json:"isMfaDisabled"`
	// MfaRequired is the requirement in effect for this member.
	MfaRequired bool `json:"mfaRequired"`
}

// userRef is the embedded User when not expanded: its id.
type userRef struct {
	ID string `json:"id"`
}

// docs encodes the memberships of one organization for one call, each
// role's name read once.
type docs struct {
	c     *httpx.Call
	org   *organization.Organization
	roles map[string]*string
}

func newDocs(c *httpx.Call, org *organization.Organization) *docs {
	return &docs{c: c, org: org, roles: map[string]*string{}}
}

// roleName reads a role's name as the caller: nil when it may not read it.
func (d *docs) roleName(ctx context.Context, id string) (*string, error) {
	if name, ok := d.roles[id]; ok {
		return name, nil
	}
	var name *string
	switch got, err := d.c.S.GetRole(ctx, id); {
	case err == nil:
		name = &got.Name
	case fault.KindOf(err) != fault.Forbidden:
		return nil, err
	}
	d.roles[id] = name
	return name, nil
}

// member encodes m: isGuest as ECI defines it (membership.IsGuest: the
// user's home organization is another, or the member is a guest by its
// own flag), isMfaRequired the organization's flag and
// isMembershipMfaRequired the member's. The user is embedded in full when
// expand is set (its isMfaDisabled, and mfaRequired: the requirement in
// effect for this member, membership.EffectiveMFA), by id otherwise.
// createdBy and modifiedBy are null: only the versions know them.
func (d *docs) member(ctx context.Context, m *membership.Membership, expand bool) (*memberJSON, error) {
	doc := &memberJSON{ID: m.ID, UserID: m.UserID, OrganizationID: d.org.Number,
		OrganizationName: d.org.Slug, OrganizationDisplayName: d.org.Name,
		IsGuest: m.IsGuest(), IsMfaRequired: d.org.MFARequired, IsMembershipMfaRequired: m.MFARequired,
		Roles: []roleJSON{}, Created: httpx.TimeString(m.CreatedAt), Modified: httpx.TimeString(m.UpdatedAt),
		User: userRef{ID: m.UserID}}
	if expand {
		u := &userJSON{ID: m.UserID, EmailAddress: m.UserEmail, GivenName: m.UserFirstName, FamilyName: m.UserLastName,
			DisplayName: httpx.FullName(m), IsMfaDisabled: m.UserMFADisabled, MfaRequired: m.EffectiveMFA(d.org.MFARequired)}
		if u.DisplayName == "" {
			u.DisplayName = m.UserEmail
		}
		if m.Default { // the user's home organization is known only when it is this one
			u.OrganizationID = &doc.OrganizationID
		}
		doc.User = u
	}
	for _, id := range httpx.RoleIDs(m) {
		name, err := d.roleName(ctx, id)
		if err != nil {
			return nil, err
		}
		doc.Roles = append(doc.Roles, roleJSON{ID: id, Name: name, Expires: httpx.TimeString(m.ExpiresAt)})
	}
	return doc, nil
}
