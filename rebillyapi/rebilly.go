package rebillyapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/provisionkit/provisioning/allowlist"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/internal/httpx"
	"github.com/provisionkit/provisioning/membership"
)

// rebilly is Rebilly's dialect: invalid input is 422, the role is roleIds.
var rebilly = &httpx.Dialect{Invalid: http.StatusUnprocessableEntity, Rename: map[string]string{"role": "roleIds"}}

// Routes are the endpoints of Rebilly's membership API, which
// httpapi.New serves.
func Routes() []httpx.Route {
	const path = "/memberships/{organizationId}/{userId}"
	return []httpx.Route{
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
	RoleIDs     []string
	IsOwner     *bool // nil: null or absent
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
		Rules: membership.Rules{Permissions: in.Permissions, AllowedIPs: in.AllowedIPs}, KeepGuestExpiryMFA: true}
	m, created, err := c.S.UpsertMembership(ctx, up)
	if err != nil {
		return 0, nil, err
	}
	c.Touch(m.OrganizationID)
	doc, err := membershipDoc(ctx, c, m)
	if err != nil {
		return 0, nil, err
	}
	if !created {
		return http.StatusOK, doc, nil
	}
	c.W.Header().Set("Location", doc.Links[0].Href)
	return http.StatusCreated, doc, nil
}

func getMembership(ctx context.Context, c *httpx.Call) (int, any, error) {
	m, err := memberOf(ctx, c, c.R.PathValue("organizationId"), c.R.PathValue("userId"))
	if err == nil && m == nil {
		err = fault.E("rebillyapi.getMembership", fault.NotFound, nil)
	}
	if err != nil {
		return 0, nil, err
	}
	doc, err := membershipDoc(ctx, c, m)
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

// membershipJSON is Rebilly's Membership object.
type membershipJSON struct {
	Organization organizationJSON `json:"organization"`
	User         userJSON         `json:"user"`
	AllowedIPs   []string         `json:"allowedIps"` // null when unrestricted
	Permissions  []string         `json:"permissions"`
	IsOwner      bool             `json:"isOwner"`
	IsDefault    bool             `json:"isDefault"`
	RoleIDs      []string         `json:"roleIds"`
	Links        []link           `json:"_links"`
}

type organizationJSON struct {
	ID          string  `json:"id"`
	Name        *string `json:"name"`
	CreatedTime *string `json:"createdTime"`
	UpdatedTime *string `json:"updatedTime"`
}

type userJSON struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

type link struct {
	Href string `json:"href"`
	Rel  string `json:"rel"`
}

func membershipDoc(ctx context.Context, c *httpx.Call, m *membership.Membership) (*membershipJSON, error) {
	org, err := httpx.Organization(ctx, c.S, m.OrganizationID)
	if err != nil {
		return nil, err
	}
	doc := &membershipJSON{
		Organization: organizationJSON{ID: m.OrganizationID},
		User:         userJSON{ID: m.UserID, Name: httpx.FullName(m), Email: m.UserEmail},
		AllowedIPs:   allowlist.Strings(m.AllowedIPs),
		Permissions:  append([]string{}, m.Permissions...),
		IsOwner:      m.Owner, IsDefault: m.Default, RoleIDs: httpx.RoleIDs(m),
		Links: []link{{Href: c.Base + "/memberships/" + url.PathEscape(m.OrganizationID) + "/" + url.PathEscape(m.UserID), Rel: "self"}},
	}
	if org != nil {
		doc.Organization.Name = &org.Name
		doc.Organization.CreatedTime, doc.Organization.UpdatedTime = httpx.TimeString(org.CreatedAt), httpx.TimeString(org.UpdatedAt)
	}
	return doc, nil
}
