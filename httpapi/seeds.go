package httpapi

import (
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/provisionkit/provisioning/allowlist"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
)

// The two other membership APIs of SPEC D, on the same handler and through
// the same facade calls made as the bearer token's principal: Rebilly's
// membership upsert (D.1) and ECI's add-member (D.2). They speak plain
// JSON (application/json) and answer errors as RFC 7807 problems (see
// dialect); rate limits, body limit, authentication and logging are the
// handler's.

// seedRoutes registers the endpoints of SPEC D.
func (h *Handler) seedRoutes() {
	const rebillyPath = "/memberships/{organizationId}/{userId}"
	h.handleJSON(rebilly, http.MethodPut, rebillyPath, (*call).upsertMembership)
	h.handleJSON(rebilly, http.MethodGet, rebillyPath, (*call).getRebillyMembership)
	h.handleJSON(rebilly, http.MethodDelete, rebillyPath, (*call).deleteRebillyMembership)
	h.handleJSON(eci, http.MethodPost, "/v1/organizations/{organizationId}/members", (*call).addMember)
}

// jsonEndpoint serves a call of a dialect: a status and a value to encode
// (nil: no body).
type jsonEndpoint func(c *call, ctx context.Context) (int, any, error)

// handleJSON registers an endpoint of dialect d.
func (h *Handler) handleJSON(d *dialect, method, path string, fn jsonEndpoint) {
	if _, ok := h.methods[path]; !ok {
		h.mux.HandleFunc(path, h.notAllowed(path))
		h.dialects[path] = d
	}
	h.methods[path] = append(h.methods[path], method)
	h.mux.HandleFunc(method+" "+path, func(w http.ResponseWriter, r *http.Request) {
		c := &call{h: h, w: w, r: r, base: h.baseURL(r), where: d}
		err := checkJSONMediaTypes(r)
		if err == nil {
			err = c.authenticate()
		}
		status, v := 0, any(nil)
		if err == nil {
			status, v, err = fn(c, r.Context())
		}
		h.afterWrite(c)
		switch {
		case err != nil:
			h.failProblem(w, r, d, err)
		case v == nil:
			w.WriteHeader(status)
		default:
			writeAs(w, "application/json", status, v)
		}
	})
}

// checkJSONMediaTypes answers 406 to an Accept that allows neither JSON nor
// problems, and 415 to a body that is not application/json.
func checkJSONMediaTypes(r *http.Request) error {
	if accept := r.Header.Get("Accept"); accept != "" && !acceptableJSON(accept) {
		return problem(http.StatusNotAcceptable, "NOT_ACCEPTABLE", "Not acceptable", "The Accept header must allow application/json.")
	}
	if r.Method == http.MethodGet || r.Method == http.MethodDelete || r.ContentLength == 0 {
		return nil
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	delete(params, "charset")
	if err != nil || mt != "application/json" || len(params) > 0 {
		return problem(http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "Unsupported media type", "The body must be application/json.")
	}
	return nil
}

func acceptableJSON(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		switch {
		case err != nil:
		case mt == "*/*" || mt == "application/*" || mt == "application/json" || mt == ProblemMediaType:
			return true
		}
	}
	return false
}

// invalidField is a problem of the body the handler finds itself, before
// any facade call: a member of the wrong type, or missing.
func (d *dialect) invalidField(field, message string) *apiError {
	return problem(d.invalid, "VALIDATION_ERROR", message, field+" - "+message).at(field)
}

// errNotObject is a body that is not a JSON object.
var errNotObject = problem(http.StatusBadRequest, "BAD_REQUEST", "Malformed body", "The body is not a JSON object.")

// bodyObject reads a body that must be a JSON object, with the strict
// decoder (a member given twice is 400 DUPLICATE_KEY); unknown members are
// ignored by its readers.
func bodyObject(b []byte) (map[string]json.RawMessage, error) {
	return decodeBody(b, errNotObject)
}

func isNull(v json.RawMessage) bool { return v == nil || string(v) == "null" }

// ---- Rebilly: PUT, GET and DELETE /memberships/{organizationId}/{userId}

// upsertBody is the writable part of Rebilly's Membership object. Its
// read-only members (organization, user, isDefault, acl, _links,
// _embedded) and unknown ones are ignored.
type upsertBody struct {
	AllowedIPs  []string // nil: null or absent, no restriction
	Permissions []string // nil: null or absent, none
	RoleIDs     []string
	IsOwner     *bool // nil: null or absent
}

// decodeUpsert reads the body of a Rebilly PUT: 400 when it is not a JSON
// object, 422 naming each member of the wrong type. It never panics.
func decodeUpsert(b []byte) (upsertBody, error) {
	raw, err := bodyObject(b)
	if err != nil {
		return upsertBody{}, err
	}
	var in upsertBody
	var errs apiErrors
	in.AllowedIPs = stringList(rebilly, raw, "allowedIps", "must be an array of IP addresses or networks, or null", &errs)
	in.Permissions = stringList(rebilly, raw, "permissions", "must be an array of strings", &errs)
	in.RoleIDs = stringList(rebilly, raw, "roleIds", "must be an array of role ids", &errs)
	if v := raw["isOwner"]; !isNull(v) {
		in.IsOwner = new(bool)
		if json.Unmarshal(v, in.IsOwner) != nil {
			errs = append(errs, rebilly.invalidField("isOwner", "must be a boolean"))
		}
	}
	return in, errs.errOrNil()
}

// stringList reads an array of strings; nil when absent or null, non-nil
// (maybe empty) otherwise.
func stringList(d *dialect, raw map[string]json.RawMessage, name, message string, errs *apiErrors) []string {
	v := raw[name]
	if isNull(v) {
		return nil
	}
	var items []json.RawMessage
	if json.Unmarshal(v, &items) != nil {
		*errs = append(*errs, d.invalidField(name, message))
		return nil
	}
	out := make([]string, len(items))
	for i, item := range items {
		if json.Unmarshal(item, &out[i]) != nil || isNull(item) {
			*errs = append(*errs, d.invalidField(name+"."+strconv.Itoa(i), "must be a string"))
		}
	}
	return out
}

// upsertMembership serves Rebilly's PUT: the whole writable state of the
// membership (absent members are their empty value: allowedIps null, no
// permissions; roleIds is required). 201 with Location when it created the
// membership, 200 otherwise.
//
// The rules Rebilly does not model (guest, expiry, the member's MFA flag)
// are kept as they are, under the organization's lock (KeepGuestExpiryMFA),
// so that a Rebilly client never lifts them by omission. isOwner cannot
// transfer ownership here: true on a member who is not the owner is 422
// (use PATCH /api/organizations/{id}/transfer_ownership, owner-only), false
// on the owner is 409 (the organization keeps its owner).
func (c *call) upsertMembership(ctx context.Context) (int, any, error) {
	const op = "httpapi.upsertMembership"
	orgID, userID := c.r.PathValue("organizationId"), c.r.PathValue("userId")
	b, err := c.readBody()
	if err != nil {
		return 0, nil, err
	}
	in, err := decodeUpsert(b)
	if err != nil {
		return 0, nil, err
	}
	existing, err := c.memberOf(ctx, orgID, userID)
	if err != nil {
		return 0, nil, err
	}
	owner := existing != nil && existing.Owner
	switch {
	case in.IsOwner != nil && *in.IsOwner && !owner:
		return 0, nil, rebilly.invalidField("isOwner", "cannot make this user the owner here: "+
			"the owner transfers ownership with PATCH /api/organizations/{id}/transfer_ownership")
	case in.IsOwner != nil && !*in.IsOwner && owner:
		return 0, nil, fault.E(op, fault.Conflict, fault.ErrLastOwner)
	}
	up := membership.Upsert{OrganizationID: orgID, UserID: userID, RoleIDs: in.RoleIDs,
		Rules: membership.Rules{Permissions: in.Permissions, AllowedIPs: in.AllowedIPs}, KeepGuestExpiryMFA: true}
	m, created, err := c.s.UpsertMembership(ctx, up)
	if err != nil {
		return 0, nil, err
	}
	c.touch(m.OrganizationID)
	doc, err := c.rebillyMembership(ctx, m)
	if err != nil {
		return 0, nil, err
	}
	if !created {
		return http.StatusOK, doc, nil
	}
	c.w.Header().Set("Location", doc.Links[0].Href)
	return http.StatusCreated, doc, nil
}

func (c *call) getRebillyMembership(ctx context.Context) (int, any, error) {
	m, err := c.memberOf(ctx, c.r.PathValue("organizationId"), c.r.PathValue("userId"))
	if err == nil && m == nil {
		err = fault.E("httpapi.getMembership", fault.NotFound, nil)
	}
	if err != nil {
		return 0, nil, err
	}
	doc, err := c.rebillyMembership(ctx, m)
	return http.StatusOK, doc, err
}

func (c *call) deleteRebillyMembership(ctx context.Context) (int, any, error) {
	m, err := c.memberOf(ctx, c.r.PathValue("organizationId"), c.r.PathValue("userId"))
	if err == nil && m == nil {
		err = fault.E("httpapi.deleteMembership", fault.NotFound, nil)
	}
	if err != nil {
		return 0, nil, err
	}
	if err := c.s.DeleteMembership(ctx, m.ID); err != nil {
		return 0, nil, err
	}
	c.touch(m.OrganizationID)
	return http.StatusNoContent, nil, nil
}

// memberOf returns the active membership of a user in an organization, nil
// when there is none; an organization the caller may not see is not found.
func (c *call) memberOf(ctx context.Context, orgID, userID string) (*membership.Membership, error) {
	page, err := c.s.ListMemberships(ctx, membership.Filter{OrganizationID: orgID, UserID: userID})
	if err != nil || len(page.Items) == 0 {
		return nil, err
	}
	return &page.Items[0], nil
}

// rebillyMembershipDoc is Rebilly's Membership object.
type rebillyMembershipDoc struct {
	Organization rebillyOrganization `json:"organization"`
	User         rebillyUser         `json:"user"`
	AllowedIPs   []string            `json:"allowedIps"` // null when unrestricted
	Permissions  []string            `json:"permissions"`
	IsOwner      bool                `json:"isOwner"`
	IsDefault    bool                `json:"isDefault"`
	RoleIDs      []string            `json:"roleIds"`
	Links        []rebillyLink       `json:"_links"`
}

type rebillyOrganization struct {
	ID          string  `json:"id"`
	Name        *string `json:"name"`
	CreatedTime *string `json:"createdTime"`
	UpdatedTime *string `json:"updatedTime"`
}

type rebillyUser struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

type rebillyLink struct {
	Href string `json:"href"`
	Rel  string `json:"rel"`
}

func (c *call) rebillyMembership(ctx context.Context, m *membership.Membership) (*rebillyMembershipDoc, error) {
	org, err := c.organization(ctx, m.OrganizationID)
	if err != nil {
		return nil, err
	}
	doc := &rebillyMembershipDoc{
		Organization: rebillyOrganization{ID: m.OrganizationID},
		User:         rebillyUser{ID: m.UserID, Name: fullName(m), Email: m.UserEmail},
		AllowedIPs:   allowlist.Strings(m.AllowedIPs),
		Permissions:  append([]string{}, m.Permissions...),
		IsOwner:      m.Owner, IsDefault: m.Default, RoleIDs: roleIDs(m),
		Links: []rebillyLink{{Href: c.base + "/memberships/" + url.PathEscape(m.OrganizationID) + "/" + url.PathEscape(m.UserID), Rel: "self"}},
	}
	if org != nil {
		doc.Organization.Name = &org.Name
		doc.Organization.CreatedTime, doc.Organization.UpdatedTime = timeString(org.CreatedAt), timeString(org.UpdatedAt)
	}
	return doc, nil
}

// organization reads an organization for a response, nil when the caller
// may not read it (the write it follows succeeded all the same).
func (c *call) organization(ctx context.Context, id string) (*organization.Organization, error) {
	org, err := c.s.GetOrganization(ctx, id)
	if fault.KindOf(err) == fault.Forbidden {
		return nil, nil
	}
	return org, err
}

func fullName(m *membership.Membership) string {
	return strings.TrimSpace(m.UserFirstName + " " + m.UserLastName)
}

// roleIDs returns every role of m, the primary one first.
func roleIDs(m *membership.Membership) []string {
	if len(m.RoleIDs) == 0 && m.RoleID != "" {
		return []string{m.RoleID}
	}
	return append([]string{}, m.RoleIDs...)
}

// timeString is a time in RFC 3339, UTC; nil for the zero time.
func timeString(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

// ---- ECI: POST /v1/organizations/{organizationId}/members

// MaxECIUserID is the longest userId ECI's add-member accepts.
const MaxECIUserID = 40

// addBody is the body of ECI's add-member; both members are required.
type addBody struct {
	UserID      string
	MFARequired bool
}

// decodeAddMember reads the body of ECI's add-member: 400 when it is not a
// JSON object or when a member is missing or of the wrong type (ECI's
// errors are 400 ProblemDetails). It never panics.
func decodeAddMember(b []byte) (addBody, error) {
	raw, err := bodyObject(b)
	if err != nil {
		return addBody{}, err
	}
	var in addBody
	var errs apiErrors
	switch v := raw["userId"]; {
	case isNull(v):
		errs = append(errs, eci.invalidField("userId", "is required"))
	case json.Unmarshal(v, &in.UserID) != nil:
		errs = append(errs, eci.invalidField("userId", "must be a string"))
	case in.UserID == "" || utf8.RuneCountInString(in.UserID) > MaxECIUserID:
		errs = append(errs, eci.invalidField("userId", "must have 1 to 40 characters"))
	}
	switch v := raw["isMfaRequired"]; {
	case isNull(v):
		errs = append(errs, eci.invalidField("isMfaRequired", "is required"))
	case json.Unmarshal(v, &in.MFARequired) != nil:
		errs = append(errs, eci.invalidField("isMfaRequired", "must be a boolean"))
	}
	return in, errs.errOrNil()
}

// addMember serves ECI's add-member: 201 with the OrganizationMember.
// Organization ids are the library's (strings), not ECI's int32.
func (c *call) addMember(ctx context.Context) (int, any, error) {
	b, err := c.readBody()
	if err != nil {
		return 0, nil, err
	}
	in, err := decodeAddMember(b)
	if err != nil {
		return 0, nil, err
	}
	m, err := c.s.AddMember(ctx, membership.Add{OrganizationID: c.r.PathValue("organizationId"), UserID: in.UserID,
		Rules: membership.Rules{MFARequired: in.MFARequired}})
	if err != nil {
		return 0, nil, err
	}
	c.touch(m.OrganizationID)
	doc, err := c.eciMember(ctx, m)
	return http.StatusCreated, doc, err
}

// eciMemberDoc is ECI's OrganizationMember.
type eciMemberDoc struct {
	ID                      string    `json:"id"`
	UserID                  string    `json:"userId"`
	OrganizationID          string    `json:"organizationId"`
	OrganizationName        *string   `json:"organizationName"`
	OrganizationDisplayName *string   `json:"organizationDisplayName"`
	IsGuest                 bool      `json:"isGuest"`
	IsMfaRequired           *bool     `json:"isMfaRequired"`
	IsMembershipMfaRequired bool      `json:"isMembershipMfaRequired"`
	Roles                   []eciRole `json:"roles"`
	Created                 *string   `json:"created"`
	CreatedBy               string    `json:"createdBy"`
	Modified                *string   `json:"modified"`
	ModifiedBy              string    `json:"modifiedBy"`
	User                    eciUser   `json:"user"`
}

type eciRole struct {
	ID          string  `json:"id"`
	Name        *string `json:"name"`
	Expires     *string `json:"expires"`
	Description *string `json:"description"`
}

type eciUser struct {
	ID             string  `json:"id"`
	EmailAddress   string  `json:"emailAddress"`
	GivenName      string  `json:"givenName"`
	FamilyName     string  `json:"familyName"`
	DisplayName    string  `json:"displayName"`
	OrganizationID *string `json:"organizationId"`
}

// eciMember encodes a membership the caller just created: createdBy and
// modifiedBy are the caller (the one version of a new membership names
// it). Role names are read as the caller, null when it may not read them.
func (c *call) eciMember(ctx context.Context, m *membership.Membership) (*eciMemberDoc, error) {
	org, err := c.organization(ctx, m.OrganizationID)
	if err != nil {
		return nil, err
	}
	doc := &eciMemberDoc{ID: m.ID, UserID: m.UserID, OrganizationID: m.OrganizationID, IsGuest: m.Guest,
		IsMembershipMfaRequired: m.MFARequired, Roles: []eciRole{},
		Created: timeString(m.CreatedAt), CreatedBy: c.pr.ID, Modified: timeString(m.UpdatedAt), ModifiedBy: c.pr.ID,
		User: eciUser{ID: m.UserID, EmailAddress: m.UserEmail, GivenName: m.UserFirstName, FamilyName: m.UserLastName,
			DisplayName: fullName(m)}}
	if doc.User.DisplayName == "" {
		doc.User.DisplayName = m.UserEmail
	}
	if m.Default { // the user's home organization is known only when it is this one
		doc.User.OrganizationID = &doc.OrganizationID
	}
	if org != nil {
		doc.OrganizationName, doc.OrganizationDisplayName, doc.IsMfaRequired = &org.Slug, &org.Name, &org.MFARequired
	}
	for _, id := range roleIDs(m) {
		r := eciRole{ID: id, Expires: timeString(m.ExpiresAt)}
		switch got, err := c.s.GetRole(ctx, id); {
		case err == nil:
			r.Name = &got.Name
		case fault.KindOf(err) != fault.Forbidden:
			return nil, err
		}
		doc.Roles = append(doc.Roles, r)
	}
	return doc, nil
}
