package rebillyapi

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/allowlist"
	"github.com/provisionkit/provisioning/internal/httpx"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

// membershipJSON is Rebilly's Membership object.
type membershipJSON struct {
	Organization organizationJSON `json:"organization"`
	User         userJSON         `json:"user"`
	AllowedIPs   []string         `json:"allowedIps"` // null when unrestricted
	Permissions  []string         `json:"permissions"`
	IsOwner      bool             `json:"isOwner"`
	IsDefault    bool             `json:"isDefault"`
	RoleIDs      []string         `json:"roleIds"`
	ACL          []aclJSON        `json:"acl"`
	Links        []link           `json:"_links"`
	Embedded     *embeddedJSON    `json:"_embedded,omitempty"`
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

// aclJSON is an entry of Rebilly's Acl: the operations allowed in a scope.
type aclJSON struct {
	Scope       scopeJSON `json:"scope"`
	Permissions []string  `json:"permissions"`
}

type scopeJSON struct {
	OrganizationID []string `json:"organizationId"`
}

// embeddedJSON holds what expand asked for.
type embeddedJSON struct {
	Roles []roleJSON `json:"roles"`
}

// roleJSON is an embedded role: its id, name, acl (the operations its own
// lines allow, Session.RolesCan) and times.
type roleJSON struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	ACL         []aclJSON `json:"acl"`
	CreatedTime *string   `json:"createdTime"`
	UpdatedTime *string   `json:"updatedTime"`
}

// documents renders memberships of one organization: each answer's
// organization is read once, the members' acl is asked in one facade
// call, and with roles set the roles of every member are read for
// _embedded.
type documents struct {
	c     *httpx.Call
	roles bool // expand=roles
}

// asks are the grants of the operation table, each once, in table order.
var asks = func() []access.Grant {
	var out []access.Grant
	for _, op := range operations {
		for _, g := range op.Grants {
			if !slices.Contains(out, g) {
				out = append(out, g)
			}
		}
	}
	return out
}()

func (d documents) one(ctx context.Context, m *membership.Membership) (*membershipJSON, error) {
	docs, err := d.many(ctx, m.OrganizationID, []membership.Membership{*m})
	if err != nil {
		return nil, err
	}
	return &docs[0], nil
}

func (d documents) many(ctx context.Context, orgID string, ms []membership.Membership) ([]membershipJSON, error) {
	out := make([]membershipJSON, 0, len(ms))
	if len(ms) == 0 {
		return out, nil
	}
	org, err := httpx.Organization(ctx, d.c.S, orgID)
	if err != nil {
		return nil, err
	}
	users := make([]string, len(ms))
	for i := range ms {
		users[i] = ms[i].UserID
	}
	allowed, err := d.c.S.MembersCan(ctx, orgID, users, asks)
	if err != nil {
		return nil, err
	}
	var roles map[string]roleJSON
	if d.roles {
		if roles, err = d.rolesOf(ctx, orgID, ms); err != nil {
			return nil, err
		}
	}
	for i := range ms {
		doc := d.document(&ms[i], org, allowed[i])
		if d.roles {
			doc.Embedded = &embeddedJSON{Roles: []roleJSON{}}
			for _, id := range doc.RoleIDs {
				if r, ok := roles[id]; ok {
					doc.Embedded.Roles = append(doc.Embedded.Roles, r)
				}
			}
		}
		out = append(out, doc)
	}
	return out, nil
}

// document is the Membership object of m; allowed answers asks for its
// user.
func (d documents) document(m *membership.Membership, org *organization.Organization, allowed []bool) membershipJSON {
	doc := membershipJSON{
		Organization: organizationJSON{ID: m.OrganizationID},
		User:         userJSON{ID: m.UserID, Name: httpx.FullName(m), Email: m.UserEmail},
		AllowedIPs:   allowlist.Strings(m.AllowedIPs),
		Permissions:  permissionsOut(m.Permissions),
		IsOwner:      m.Owner, IsDefault: m.Default, RoleIDs: httpx.RoleIDs(m),
		ACL:   acl(m.OrganizationID, allowed),
		Links: []link{{Href: d.c.Base + "/memberships/" + url.PathEscape(m.OrganizationID) + "/" + url.PathEscape(m.UserID), Rel: "self"}},
	}
	if org != nil {
		doc.Organization.Name = &org.Name
		doc.Organization.CreatedTime, doc.Organization.UpdatedTime = httpx.TimeString(org.CreatedAt), httpx.TimeString(org.UpdatedAt)
	}
	return doc
}

// acl is the acl of an organization's member or role: the operation ids
// whose every grant allowed (answering asks) holds.
func acl(orgID string, allowed []bool) []aclJSON {
	return []aclJSON{{Scope: scopeJSON{OrganizationID: []string{orgID}}, Permissions: allowedOperations(allowed)}}
}

// allowedOperations are the operation ids whose every grant allowed
// (answering asks) holds.
func allowedOperations(allowed []bool) []string {
	out := []string{}
	for _, op := range operations {
		ok := true
		for _, g := range op.Grants {
			ok = ok && allowed[slices.Index(asks, g)]
		}
		if ok {
			out = append(out, op.ID)
		}
	}
	return out
}

// rolesOf reads the roles of the memberships, by id.
func (d documents) rolesOf(ctx context.Context, orgID string, ms []membership.Membership) (map[string]roleJSON, error) {
	var ids []string
	for i := range ms {
		for _, id := range httpx.RoleIDs(&ms[i]) {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	allowed, err := d.c.S.RolesCan(ctx, orgID, ids, asks)
	if err != nil {
		return nil, err
	}
	out := make(map[string]roleJSON, len(ids))
	for chunk := range slices.Chunk(ids, resource.MaxConditionArg) {
		f := role.Filter{OrganizationID: orgID, PageRequest: resource.PageRequest{Limit: resource.MaxPageLimit,
			Where: []resource.Condition{{Fields: []string{"id"}, Op: resource.In, Values: chunk}}}}
		for {
			page, err := d.c.S.ListRoles(ctx, f)
			if err != nil {
				return nil, err
			}
			for _, r := range page.Items {
				out[r.ID] = roleJSON{ID: r.ID, Name: r.Name, ACL: acl(orgID, allowed[slices.Index(ids, r.ID)]),
					CreatedTime: httpx.TimeString(r.CreatedAt), UpdatedTime: httpx.TimeString(r.UpdatedAt)}
			}
			if page.Next == "" {
				break
			}
			f.After = page.Next
		}
	}
	return out, nil
}

// expandRoles reads the expand parameter: "roles", or nothing; anything
// else is 422 naming it.
func expandRoles(q url.Values) (bool, error) {
	roles := false
	for _, v := range q["expand"] {
		for _, name := range strings.Split(v, ",") {
			switch strings.TrimSpace(name) {
			case "roles":
				roles = true
			case "":
			default:
				return false, rebilly.InvalidField("expand", "cannot expand "+strconv.Quote(name)+": a membership expands roles only")
			}
		}
	}
	return roles, nil
}
