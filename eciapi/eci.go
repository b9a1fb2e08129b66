package eciapi

import (
	"context"
	"encoding/json"
	"net/http"
	"unicode/utf8"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/internal/httpx"
	"github.com/provisionkit/provisioning/membership"
)

// MaxUserID is the longest userId ECI's add-member accepts.
const MaxUserID = 40

// eci is ECI's dialect: invalid input is 400 (ProblemDetails), the user is
// userId and the member's MFA flag isMfaRequired.
var eci = &httpx.Dialect{Invalid: http.StatusBadRequest, Rename: map[string]string{"user": "userId", "mfa_required": "isMfaRequired"}}

// Routes are the endpoints of ECI's membership API, which httpapi.New
// serves.
func Routes() []httpx.Route {
	return []httpx.Route{
		{Dialect: eci, Method: http.MethodPost, Path: "/v1/organizations/{organizationId}/members", Serve: addMember},
	}
}

// addBody is the body of ECI's add-member; both members are required.
type addBody struct {
	UserID      string
	MFARequired bool
}

// decodeAddMember reads the body of ECI's add-member: 400 when it is not a
// JSON object or when a member is missing or of the wrong type (ECI's
// errors are 400 ProblemDetails). It never panics.
func decodeAddMember(b []byte) (addBody, error) {
	raw, err := httpx.BodyObject(b)
	if err != nil {
		return addBody{}, err
	}
	var in addBody
	var errs httpx.Errors
	switch v := raw["userId"]; {
	case httpx.IsNull(v):
		errs = append(errs, eci.InvalidField("userId", "is required"))
	case json.Unmarshal(v, &in.UserID) != nil:
		errs = append(errs, eci.InvalidField("userId", "must be a string"))
	case in.UserID == "" || utf8.RuneCountInString(in.UserID) > MaxUserID:
		errs = append(errs, eci.InvalidField("userId", "must have 1 to 40 characters"))
	}
	switch v := raw["isMfaRequired"]; {
	case httpx.IsNull(v):
		errs = append(errs, eci.InvalidField("isMfaRequired", "is required"))
	case json.Unmarshal(v, &in.MFARequired) != nil:
		errs = append(errs, eci.InvalidField("isMfaRequired", "must be a boolean"))
	}
	return in, errs.ErrOrNil()
}

// addMember serves ECI's add-member: 201 with the OrganizationMember.
// Organization ids are the library's (strings), not ECI's int32.
func addMember(ctx context.Context, c *httpx.Call) (int, any, error) {
	b, err := httpx.ReadBody(c.R)
	if err != nil {
		return 0, nil, err
	}
	in, err := decodeAddMember(b)
	if err != nil {
		return 0, nil, err
	}
	m, err := c.S.AddMember(ctx, membership.Add{OrganizationID: c.R.PathValue("organizationId"), UserID: in.UserID,
		Rules: membership.Rules{MFARequired: in.MFARequired}})
	if err != nil {
		return 0, nil, err
	}
	c.Touch(m.OrganizationID)
	doc, err := memberDoc(ctx, c, m)
	return http.StatusCreated, doc, err
}

// memberJSON is ECI's OrganizationMember.
type memberJSON struct {
	ID                      string     `json:"id"`
	UserID                  string     `json:"userId"`
	OrganizationID          string     `json:"organizationId"`
	OrganizationName        *string    `json:"organizationName"`
	OrganizationDisplayName *string    `json:"organizationDisplayName"`
	IsGuest                 bool       `json:"isGuest"`
	IsMfaRequired           *bool      `json:"isMfaRequired"`
	IsMembershipMfaRequired bool       `json:"isMembershipMfaRequired"`
	Roles                   []roleJSON `json:"roles"`
	Created                 *string    `json:"created"`
	CreatedBy               string     `json:"createdBy"`
	Modified                *string    `json:"modified"`
	ModifiedBy              string     `json:"modifiedBy"`
	User                    userJSON   `json:"user"`
}

type roleJSON struct {
	ID          string  `json:"id"`
	Name        *string `json:"name"`
	Expires     *string `json:"expires"`
	Description *string `json:"description"`
}

type userJSON struct {
	ID             string  `json:"id"`
	EmailAddress   string  `json:"emailAddress"`
	GivenName      string  `json:"givenName"`
	FamilyName     string  `json:"familyName"`
	DisplayName    string  `json:"displayName"`
	OrganizationID *string `json:"organizationId"`
}

// memberDoc encodes a membership the caller just created: createdBy and
// modifiedBy are the caller (the one version of a new membership names
// it). Role names are read as the caller, null when it may not read them.
func memberDoc(ctx context.Context, c *httpx.Call, m *membership.Membership) (*memberJSON, error) {
	org, err := httpx.Organization(ctx, c.S, m.OrganizationID)
	if err != nil {
		return nil, err
	}
	doc := &memberJSON{ID: m.ID, UserID: m.UserID, OrganizationID: m.OrganizationID, IsGuest: m.Guest,
		IsMembershipMfaRequired: m.MFARequired, Roles: []roleJSON{},
		Created: httpx.TimeString(m.CreatedAt), CreatedBy: c.Principal.ID, Modified: httpx.TimeString(m.UpdatedAt), ModifiedBy: c.Principal.ID,
		User: userJSON{ID: m.UserID, EmailAddress: m.UserEmail, GivenName: m.UserFirstName, FamilyName: m.UserLastName,
			DisplayName: httpx.FullName(m)}}
	if doc.User.DisplayName == "" {
		doc.User.DisplayName = m.UserEmail
	}
	if m.Default { // the user's home organization is known only when it is this one
		doc.User.OrganizationID = &doc.OrganizationID
	}
	if org != nil {
		doc.OrganizationName, doc.OrganizationDisplayName, doc.IsMfaRequired = &org.Slug, &org.Name, &org.MFARequired
	}
	for _, id := range httpx.RoleIDs(m) {
		r := roleJSON{ID: id, Expires: httpx.TimeString(m.ExpiresAt)}
		switch got, err := c.S.GetRole(ctx, id); {
		case err == nil:
			r.Name = &got.Name
		case fault.KindOf(err) != fault.Forbidden:
			return nil, err
		}
		doc.Roles = append(doc.Roles, r)
	}
	return doc, nil
}
