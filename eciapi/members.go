package eciapi

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/internal/httpx"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

// AdminRole is ECI's name of the administrator role: makeAdmin grants it,
// and the roles of a removal may name it; it stands for the organization's
// admin role (role.KindAdmin).
const AdminRole = "organization-admin"

// Bounds of the invitation's members.
const (
	MaxEmailAddress = 250
	MaxDisplayName  = 250
	MaxPersonName   = 100
)

// listMembers serves GET …/members: the organization's memberships as
// ECI's OrganizationMembers, {"value": […]} (with "@odata.count" when
// $count=true), under the OData-style options of parseListQuery. The
// options are applied in memory, over every membership of the
// organization read through the facade a page at a time.
func listMembers(ctx context.Context, c *httpx.Call) (int, any, error) {
	lq, err := parseListQuery(c.R.URL.Query())
	if err != nil {
		return 0, nil, err
	}
	org, err := organizationOf(ctx, c)
	if err != nil {
		return 0, nil, err
	}
	d := newDocs(c, org)
	var rows []*row
	for pr := (resource.PageRequest{Limit: resource.MaxPageLimit}); ; {
		page, err := c.S.ListMemberships(ctx, membership.Filter{OrganizationID: org.ID, PageRequest: pr})
		if err != nil {
			return 0, nil, err
		}
		for i := range page.Items {
			m := &page.Items[i]
			doc, err := d.member(ctx, m, lq.expandUser)
			if err != nil {
				return 0, nil, err
			}
			rows = append(rows, &row{m: m, doc: doc})
		}
		if page.Next == "" {
			break
		}
		pr.After = page.Next
	}
	got, n := lq.apply(rows)
	value := make([]any, len(got))
	for i, r := range got {
		if value[i], err = project(r.doc, lq.selects); err != nil {
			return 0, nil, err
		}
	}
	out := map[string]any{"value": value}
	if lq.count {
		out["@odata.count"] = n
	}
	return http.StatusOK, out, nil
}

// project keeps the selected members of doc (all when selects is nil).
func project(doc *memberJSON, selects []string) (any, error) {
	if selects == nil {
		return doc, nil
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(selects))
	for _, f := range selects {
		out[f] = all[f]
	}
	return out, nil
}

// getMember serves GET …/members/{userId}: the user's membership, with
// $select and $expand as the list takes them; 404 when the user is not a
// member.
func getMember(ctx context.Context, c *httpx.Call) (int, any, error) {
	q := c.R.URL.Query()
	for name := range q {
		if k := "$" + strings.TrimPrefix(name, "$"); k != "$select" && k != "$expand" {
			return 0, nil, badQuery(name, "is not a supported option (supported: $select, $expand)")
		}
	}
	lq, err := parseListQuery(q)
	if err != nil {
		return 0, nil, err
	}
	org, m, err := memberOf(ctx, c)
	if err != nil {
		return 0, nil, err
	}
	doc, err := newDocs(c, org).member(ctx, m, lq.expandUser)
	if err != nil {
		return 0, nil, err
	}
	v, err := project(doc, lq.selects)
	return http.StatusOK, v, err
}

// memberOf reads the organization of the path and the membership of its
// userId; 404 when the user is not a member.
func memberOf(ctx context.Context, c *httpx.Call) (*organization.Organization, *membership.Membership, error) {
	org, err := organizationOf(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	userID := c.R.PathValue("userId")
	if !resource.ValidID(userID) {
		return nil, nil, fault.E("eciapi.member", fault.NotFound, nil)
	}
	page, err := c.S.ListMemberships(ctx, membership.Filter{OrganizationID: org.ID, UserID: userID})
	if err != nil {
		return nil, nil, err
	}
	if len(page.Items) == 0 {
		return nil, nil, fault.E("eciapi.member", fault.NotFound, nil)
	}
	return org, &page.Items[0], nil
}

// inviteBody is the body of ECI's invite (and a row of an import).
type inviteBody struct {
	EmailAddress string
	DisplayName  string
	GivenName    string
	FamilyName   string
	MakeAdmin    bool
}

// decodeInvite reads an invitation: emailAddress required (at most
// MaxEmailAddress characters), displayName, givenName and familyName
// optional strings within their bounds, isMfaDisabled and makeAdmin
// optional booleans. isMfaDisabled true is refused: a user's second factor
// is turned off by the host (System.SetUserMFADisabled), never by an
// invitation. It never panics.
func decodeInvite(raw map[string]json.RawMessage) (inviteBody, error) {
	var in inviteBody
	var errs httpx.Errors
	text := func(name string, dst *string, limit int, required bool) {
		switch v := raw[name]; {
		case httpx.IsNull(v):
			if required {
				errs = append(errs, eci.InvalidField(name, "is required"))
			}
		case json.Unmarshal(v, dst) != nil:
			errs = append(errs, eci.InvalidField(name, "must be a string"))
		case required && *dst == "":
			errs = append(errs, eci.InvalidField(name, "is required"))
		case utf8.RuneCountInString(*dst) > limit:
			errs = append(errs, eci.InvalidField(name, "is too long"))
		}
	}
	text("emailAddress", &in.EmailAddress, MaxEmailAddress, true)
	text("displayName", &in.DisplayName, MaxDisplayName, false)
	text("givenName", &in.GivenName, MaxPersonName, false)
	text("familyName", &in.FamilyName, MaxPersonName, false)
	var mfaDisabled bool
	for name, dst := range map[string]*bool{"isMfaDisabled": &mfaDisabled, "makeAdmin": &in.MakeAdmin} {
		if v := raw[name]; !httpx.IsNull(v) && json.Unmarshal(v, dst) != nil {
			errs = append(errs, eci.InvalidField(name, "must be a boolean"))
		}
	}
	if mfaDisabled {
		errs = append(errs, eci.InvalidField("isMfaDisabled", "cannot be set by an invitation: the host turns a user's second factor off"))
	}
	slices.SortFunc(errs, func(a, b *httpx.Error) int { return strings.Compare(a.Pointer, b.Pointer) })
	return in, errs.ErrOrNil()
}

// invitation is the library's invitation of an ECI invite: the admin role
// with makeAdmin, else the read_only role.
func invitation(ctx context.Context, c *httpx.Call, orgID string, in inviteBody, roles map[role.Kind]string) (membership.Invite, error) {
	kind := role.KindReadOnly
	if in.MakeAdmin {
		kind = role.KindAdmin
	}
	id, ok := roles[kind]
	if !ok {
		page, err := c.S.ListRoles(ctx, role.Filter{OrganizationID: orgID, Kind: kind, PageRequest: resource.PageRequest{Limit: 1}})
		if err != nil {
			return membership.Invite{}, err
		}
		if len(page.Items) == 0 {
			return membership.Invite{}, fault.E("eciapi.invite", fault.Internal, nil) // every organization has both
		}
		id = page.Items[0].ID
		roles[kind] = id
	}
	return membership.Invite{OrganizationID: orgID, UserEmail: in.EmailAddress, RoleID: id}, nil
}

// inviteMember serves POST …/members/invite: Session.Invite of the
// address, with the admin role when makeAdmin is true and the read_only
// role otherwise; 201 with the OrganizationMember (pending until the
// person accepts, active at once for an existing user whose address is
// verified). The names are checked but not stored: the library creates no
// user, whose own record carries the names once the person signs up.
func inviteMember(ctx context.Context, c *httpx.Call) (int, any, error) {
	raw, err := bodyObject(c)
	if err != nil {
		return 0, nil, err
	}
	in, err := decodeInvite(raw)
	if err != nil {
		return 0, nil, err
	}
	org, err := organizationOf(ctx, c)
	if err != nil {
		return 0, nil, err
	}
	inv, err := invitation(ctx, c, org.ID, in, map[role.Kind]string{})
	if err != nil {
		return 0, nil, err
	}
	m, err := c.S.Invite(ctx, inv)
	if err != nil {
		return 0, nil, err
	}
	c.Touch(org.ID)
	doc, err := newDocs(c, org).member(ctx, m, true)
	if err == nil {
		doc.CreatedBy, doc.ModifiedBy = &c.Principal.ID, &c.Principal.ID
	}
	return http.StatusCreated, doc, err
}

// removeRoles serves DELETE …/members/{userId}/roles?roles=a,b (the
// parameter may also repeat): the member loses those roles, named by id,
// by name, or organization-admin for the admin role; 204. A role the
// member does not hold, or none named, is 400; the member's last role
// cannot go (the library keeps one role per membership), nor the owner's
// admin role.
func removeRoles(ctx context.Context, c *httpx.Call) (int, any, error) {
	var names []string
	for _, v := range c.R.URL.Query()["roles"] {
		for n := range strings.SplitSeq(v, ",") {
			if n = strings.TrimSpace(n); n != "" && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		return 0, nil, badQuery("roles", "names no role")
	}
	org, m, err := memberOf(ctx, c)
	if err != nil {
		return 0, nil, err
	}
	held := httpx.RoleIDs(m)
	drop := map[string]bool{}
	for _, n := range names {
		id, err := heldRole(ctx, c, held, n)
		if err != nil {
			return 0, nil, err
		}
		drop[id] = true
	}
	keep := slices.DeleteFunc(slices.Clone(held), func(id string) bool { return drop[id] })
	if len(keep) == 0 {
		return 0, nil, badQuery("roles", "would leave the member without a role: a member keeps one")
	}
	if _, err := c.S.UpdateMembership(ctx, m.ID, membership.Update{RoleID: &keep[0], RoleIDs: &keep}); err != nil {
		return 0, nil, err
	}
	c.Touch(org.ID)
	return http.StatusNoContent, nil, nil
}

// heldRole finds, among the member's roles, the one name stands for: its
// id, its name, or organization-admin for the admin kind; 400 otherwise.
func heldRole(ctx context.Context, c *httpx.Call, held []string, name string) (string, error) {
	if slices.Contains(held, name) {
		return name, nil
	}
	for _, id := range held {
		r, err := c.S.GetRole(ctx, id)
		if err != nil {
			return "", err
		}
		if r.Name == name || name == AdminRole && r.Kind == role.KindAdmin {
			return id, nil
		}
	}
	return "", badQuery("roles", "%q is not a role of the member", name)
}

// organizationJSON is the organization ECI's PATCH …/mfa answers.
type organizationJSON struct {
	ID            int32   `json:"id"`
	Name          string  `json:"name"`
	DisplayName   string  `json:"displayName"`
	IsMfaRequired bool    `json:"isMfaRequired"`
	Modified      *string `json:"modified"`
}

// orgDoc is ECI's organization of o.
func orgDoc(o *organization.Organization) organizationJSON {
	return organizationJSON{ID: o.Number, Name: o.Slug, DisplayName: o.Name, IsMfaRequired: o.MFARequired,
		Modified: httpx.TimeString(o.UpdatedAt)}
}

// listOrganizations serves GET /v1/organizations: the caller's
// organizations (Session.ListOrganizations), {"value": […]}, each under its
// int32 id, which the other paths take.
func listOrganizations(ctx context.Context, c *httpx.Call) (int, any, error) {
	value := []organizationJSON{}
	for pr := (resource.PageRequest{Limit: resource.MaxPageLimit}); ; {
		page, err := c.S.ListOrganizations(ctx, organization.Filter{PageRequest: pr})
		if err != nil {
			return 0, nil, err
		}
		for i := range page.Items {
			value = append(value, orgDoc(&page.Items[i]))
		}
		if page.Next == "" {
			break
		}
		pr.After = page.Next
	}
	return http.StatusOK, map[string]any{"value": value}, nil
}

// updateMFA serves PATCH /v1/organizations/{id}/mfa, body
// {"isMfaRequired": boolean} (required): Session.UpdateOrganization of the
// organization's MFARequired (an organization update, audited); 200 with
// the organization.
func updateMFA(ctx context.Context, c *httpx.Call) (int, any, error) {
	raw, err := bodyObject(c)
	if err != nil {
		return 0, nil, err
	}
	var required bool
	switch v := raw["isMfaRequired"]; {
	case httpx.IsNull(v):
		return 0, nil, eci.InvalidField("isMfaRequired", "is required")
	case json.Unmarshal(v, &required) != nil:
		return 0, nil, eci.InvalidField("isMfaRequired", "must be a boolean")
	}
	org, err := organizationOf(ctx, c)
	if err != nil {
		return 0, nil, err
	}
	got, err := c.S.UpdateOrganization(ctx, org.ID, organization.Update{MFARequired: &required})
	if err != nil {
		return 0, nil, err
	}
	c.Touch(org.ID)
	return http.StatusOK, orgDoc(got), nil
}

// bodyObject reads the request's body, which must be a JSON object.
func bodyObject(c *httpx.Call) (map[string]json.RawMessage, error) {
	b, err := httpx.ReadBody(c.R)
	if err != nil {
		return nil, err
	}
	return httpx.BodyObject(b)
}
