package eciapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/internal/httpx"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
)

// MaxUserID is the longest userId ECI's add-member accepts.
const MaxUserID = 40

// eci is ECI's dialect: invalid input is 400 (ProblemDetails), the user is
// userId and the member's MFA flag isMfaRequired.
var eci = &httpx.Dialect{Invalid: http.StatusBadRequest, Rename: map[string]string{"user": "userId", "mfa_required": "isMfaRequired", "user_email": "emailAddress"}}

// orgPath is the path of an organization's members.
const orgPath = "/v1/organizations/{organizationId}"

// API is ECI's membership API: its routes, which httpapi.New serves, and
// the bulk imports they run, which Close stops.
type API struct {
	imports *imports
}

// New returns the API, with no import running.
func New() *API { return &API{imports: newImports()} }

// Close stops the running imports (their rows not yet written are
// reported as not done) and waits for them; the routes answer no new
// import after it. It is safe to call more than once.
func (a *API) Close() { a.imports.close() }

// Routes are the endpoints of ECI's membership API.
func (a *API) Routes() []httpx.Route {
	return []httpx.Route{
		{Dialect: eci, Method: http.MethodGet, Path: "/v1/organizations", Serve: listOrganizations},
		{Dialect: eci, Method: http.MethodPost, Path: orgPath + "/members", Serve: addMember},
		{Dialect: eci, Method: http.MethodGet, Path: orgPath + "/members", Serve: listMembers},
		{Dialect: eci, Method: http.MethodGet, Path: orgPath + "/members/{userId}", Serve: getMember},
		{Dialect: eci, Method: http.MethodPost, Path: orgPath + "/members/invite", Serve: inviteMember},
		{Dialect: eci, Method: http.MethodDelete, Path: orgPath + "/members/{userId}/roles", Serve: removeRoles},
		{Dialect: eci, Method: http.MethodPatch, Path: orgPath + "/mfa", Serve: updateMFA},
		{Dialect: eci, Method: http.MethodPost, Path: orgPath + "/members/import", Serve: a.imports.start},
		{Dialect: eci, Method: http.MethodGet, Path: orgPath + "/member-imports/{jobId}", Serve: a.imports.get},
	}
}

// errNoOrganization is an organization id that maps to no organization the
// caller may see.
var errNoOrganization = fault.E("eciapi", fault.NotFound, nil)

// organizationOf resolves the path's organizationId, ECI's int32, to the
// library's organization of that Number (organization.Organization.Number,
// in decimal without sign or leading zeros): 404 when it is anything else
// (the library's own string id included, as ECI's int32 route answers) or
// when no organization the caller may read has it.
func organizationOf(ctx context.Context, c *httpx.Call) (*organization.Organization, error) {
	raw := c.R.PathValue("organizationId")
	n, err := strconv.ParseInt(raw, 10, 32)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != raw {
		return nil, errNoOrganization
	}
	org, err := c.S.GetOrganizationByNumber(ctx, int32(n))
	if fault.KindOf(err) == fault.NotFound {
		return nil, errNoOrganization
	}
	return org, err
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
func addMember(ctx context.Context, c *httpx.Call) (int, any, error) {
	b, err := httpx.ReadBody(c.R)
	if err != nil {
		return 0, nil, err
	}
	in, err := decodeAddMember(b)
	if err != nil {
		return 0, nil, err
	}
	org, err := organizationOf(ctx, c)
	if err != nil {
		return 0, nil, err
	}
	m, err := c.S.AddMember(ctx, membership.Add{OrganizationID: org.ID, UserID: in.UserID,
		Rules: membership.Rules{MFARequired: in.MFARequired}})
	if err != nil {
		return 0, nil, err
	}
	c.Touch(m.OrganizationID)
	doc, err := newDocs(c, org).member(ctx, m, true)
	if err == nil {
		doc.CreatedBy, doc.ModifiedBy = &c.Principal.ID, &c.Principal.ID // the one version of a new membership names the caller
	}
	return http.StatusCreated, doc, err
}
