package rebillyapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/internal/httpx"
	"github.com/provisionkit/provisioning/membership"
)

// rebilly is Rebilly's dialect, as its definitions declare it: invalid input is
// 422, the role is roleIds, problems are application/json and a 429's
// X-RateLimit-Retry-After is a UTC timestamp.
var rebilly = &httpx.Dialect{Invalid: http.StatusUnprocessableEntity, Rename: map[string]string{"role": "roleIds"},
	MediaType: "application/json", RetryAtTime: true}

// Routes are the endpoints of Rebilly's membership API, which
// httpapi.New serves.
func Routes() []httpx.Route {
	const path = "/memberships/{organizationId}/{userId}"
	return []httpx.Route{
		{Dialect: rebilly, Method: http.MethodGet, Path: "/memberships", Serve: listMemberships},
		{Dialect: rebilly, Method: http.MethodPut, Path: path, Serve: upsertMembership},
		{Dialect: rebilly, Method: http.MethodGet, Path: path, Serve: getMembership},
		{Dialect: rebilly, Method: http.MethodDelete, Path: path, Serve: deleteMembership},
	}
}

// upsertBody is the writable part of Rebilly's Membership object. Its
// read-only members (organization, user, isDefault, acl, _links,
// _embedded) and unknown ones are ignored.
type upsertBody struct {
	AllowedIPs  []string // nil: null or absent, no restriction
	Permissions []string // nil: null or absent, none
	RoleIDs     []string // nil: null or absent, the member's roles kept (a new one: read_only)
	IsOwner     *bool    // nil: null or absent
}

// decodeUpsert reads the body of a Rebilly PUT: 400 when it is not a JSON
// object, 422 naming each member of the wrong type. It never panics.
func decodeUpsert(b []byte) (upsertBody, error) {
	raw, err := httpx.BodyObject(b)
	if err != nil {
		return upsertBody{}, err
	}
	var in upsertBody
	var errs httpx.Errors
	in.AllowedIPs = stringList(raw, "allowedIps", "must be an array of IP addresses or networks, or null", &errs)
	in.Permissions = stringList(raw, "permissions", "must be an array of strings", &errs)
	in.RoleIDs = stringList(raw, "roleIds", "must be an array of role ids", &errs)
	if v := raw["isOwner"]; !httpx.IsNull(v) {
		in.IsOwner = new(bool)
		if json.Unmarshal(v, in.IsOwner) != nil {
			errs = append(errs, rebilly.InvalidField("isOwner", "must be a boolean"))
		}
	}
	return in, errs.ErrOrNil()
}

// stringList reads an array of strings; nil when absent or null, non-nil
// (maybe empty) otherwise.
func stringList(raw map[string]json.RawMessage, name, message string, errs *httpx.Errors) []string {
	v := raw[name]
	if httpx.IsNull(v) {
		return nil
	}
	var items []json.RawMessage
	if json.Unmarshal(v, &items) != nil {
		*errs = append(*errs, rebilly.InvalidField(name, message))
		return nil
	}
	out := make([]string, len(items))
	for i, item := range items {
		if json.Unmarshal(item, &out[i]) != nil || httpx.IsNull(item) {
			*errs = append(*errs, rebilly.InvalidField(name+"."+strconv.Itoa(i), "must be a string"))
		}
	}
	return out
}

// upsertMembership serves Rebilly's PUT: the writable state of the
// membership (absent allowedIps and permissions are their empty value:
// null, none; absent roleIds keeps the member's roles, and gives a new
// member the organization's read_only role). 201 with Location when it
// created the membership, 200 otherwise.
//
// The rules Rebilly does not model (guest, expiry, the member's MFA flag)
// are kept as they are, under the organization's lock (KeepGuestExpiryMFA),
// so that a Rebilly client never lifts them by omission. isOwner cannot
// transfer ownership here: true on a member who is not the owner is 422
// (use PATCH /api/organizations/{id}/transfer_ownership, owner-only), false
// on the owner is 409 (the organization keeps its owner).
func upsertMembership(ctx context.Context, c *httpx.Call) (int, any, error) {
	const op = "rebillyapi.upsertMembership"
	orgID, userID := c.R.PathValue("organizationId"), c.R.PathValue("userId")
	b, err := httpx.ReadBody(c.R)
	if err != nil {
		return 0, nil, err
	}
	in, err := decodeUpsert(b)
	if err != nil {
		return 0, nil, err
	}
	perms, origin, err := permissionsIn(in.Permissions)
	if err != nil {
		return 0, nil, err
	}
	existing, err := memberOf(ctx, c, orgID, userID)
	if err != nil {
		return 0, nil, err
	}
	owner := existing != nil && existing.Owner
	switch {
	case in.IsOwner != nil && *in.IsOwner && !owner:
		return 0, nil, rebilly.InvalidField("isOwner", "cannot make this user the owner here: "+
			"the owner transfers ownership with PATCH /api/organizations/{id}/transfer_ownership")
	case in.IsOwner != nil && !*in.IsOwner && owner:
		return 0, nil, fault.E(op, fault.Conflict, fault.ErrLastOwner)
	}
	up := membership.Upsert{OrganizationID: orgID, UserID: userID, RoleIDs: in.RoleIDs,
		Rules: membership.Rules{Permissions: perms, AllowedIPs: in.AllowedIPs}, KeepGuestExpiryMFA: true}
	m, created, err := c.S.UpsertMembership(ctx, up)
	if err != nil {
		return 0, nil, renumber(err, origin)
	}
	c.Touch(m.OrganizationID)
	doc, err := documents{c: c}.one(ctx, m)
	if err != nil {
		return 0, nil, err
	}
	if !created {
		return http.StatusOK, doc, nil
	}
	c.W.Header().Set("Location", doc.Links[0].Href)
	return http.StatusCreated, doc, nil
}

// getMembership serves Rebilly's GET of one membership; expand=roles
// embeds its roles.
func getMembership(ctx context.Context, c *httpx.Call) (int, any, error) {
	q, err := query(c.R.URL.RawQuery)
	if err != nil {
		return 0, nil, err
	}
	roles, err := expandRoles(q)
	if err != nil {
		return 0, nil, err
	}
	m, err := memberOf(ctx, c, c.R.PathValue("organizationId"), c.R.PathValue("userId"))
	if err == nil && m == nil {
		err = fault.E("rebillyapi.getMembership", fault.NotFound, nil)
	}
	if err != nil {
		return 0, nil, err
	}
	doc, err := documents{c: c, roles: roles}.one(ctx, m)
	return http.StatusOK, doc, err
}

func deleteMembership(ctx context.Context, c *httpx.Call) (int, any, error) {
	m, err := memberOf(ctx, c, c.R.PathValue("organizationId"), c.R.PathValue("userId"))
	if err == nil && m == nil {
		err = fault.E("rebillyapi.deleteMembership", fault.NotFound, nil)
	}
	if err != nil {
		return 0, nil, err
	}
	if err := c.S.DeleteMembership(ctx, m.ID); err != nil {
		return 0, nil, err
	}
	c.Touch(m.OrganizationID)
	return http.StatusNoContent, nil, nil
}

// memberOf returns the active membership of a user in an organization, nil
// when there is none; an organization the caller may not see is not found.
func memberOf(ctx context.Context, c *httpx.Call, orgID, userID string) (*membership.Membership, error) {
	if orgID == "" { // a list without an organization would run across the caller's
		return nil, fault.InvalidField("rebillyapi.memberOf", "organization", "required", "can't be blank")
	}
	page, err := c.S.ListMemberships(ctx, membership.Filter{OrganizationID: orgID, UserID: userID})
	if err != nil || len(page.Items) == 0 {
		return nil, err
	}
	return &page.Items[0], nil
}
