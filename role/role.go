// Package role holds roles and their permissions: the rights of members and
// API credentials inside one organization.
//
// A role has a kind: admin (every action on every subject), read_only (read
// on every subject) or custom (exactly its permissions). Roles and
// permissions are never deleted. A permission gives a role the four CRUD
// flags on one subject; (role, subject) is unique and both are immutable.
package role

import (
	"context"
	"time"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
)

// Kind is the kind of a role.
type Kind string

// The kinds of role.
const (
	KindAdmin    Kind = "admin"
	KindReadOnly Kind = "read_only"
	KindCustom   Kind = "custom"
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k == KindAdmin || k == KindReadOnly || k == KindCustom }

// Names of the built-in roles an organization gets at creation.
const (
	AdminName    = "Admin"
	ReadOnlyName = "Read-only"
)

// Action is one of the four CRUD actions of a permission.
type Action string

// The actions.
const (
	ActionCreate  Action = "create"
	ActionRead    Action = "read"
	ActionUpdate  Action = "update"
	ActionDestroy Action = "destroy"
)

// Actions lists the four actions in a stable order.
var Actions = []Action{ActionCreate, ActionRead, ActionUpdate, ActionDestroy}

// Valid reports whether a is one of the four actions.
func (a Action) Valid() bool {
	return a == ActionCreate || a == ActionRead || a == ActionUpdate || a == ActionDestroy
}

// Role is a named set of rights inside an organization.
type Role struct {
	ID             string
	OrganizationID string
	Name           string
	Kind           Kind
	resource.Common
}

// Create is the input of a new custom role.
type Create struct {
	OrganizationID string
	Name           string
	resource.CommonInput
}

// Validate checks the input.
func (c Create) Validate() error {
	var p fault.Problems
	resource.CheckID(&p, "organization", c.OrganizationID)
	resource.CheckName(&p, "name", c.Name, resource.MaxNameLen)
	c.CommonInput.Validate(&p)
	return p.Err("role.Create")
}

// Update changes a role. Nil fields are left as they are.
type Update struct {
	Name *string
	// AddMissingBasePermissions also gives a custom role its missing base
	// permissions (the _add_missing_base_permissions trigger), in the same
	// transaction; see Session.AddMissingBasePermissions.
	AddMissingBasePermissions bool
	resource.CommonUpdate
}

// Validate checks the set fields.
func (u Update) Validate() error {
	var p fault.Problems
	if u.Name != nil {
		resource.CheckName(&p, "name", *u.Name, resource.MaxNameLen)
	}
	u.CommonUpdate.Validate(&p)
	return p.Err("role.Update")
}

// Apply sets the fields of u on r and returns what changed.
func (u Update) Apply(r *Role, now time.Time) resource.Changes {
	ch := resource.Changes{}
	resource.SetField(ch, "name", &r.Name, u.Name)
	u.CommonUpdate.Apply(&r.Common, ch)
	if len(ch) > 0 {
		r.UpdatedAt = now
	}
	return ch
}

// Filter selects roles of one organization.
type Filter struct {
	OrganizationID  string   // one organization; "" for a list across organizations
	OrganizationIDs []string // when OrganizationID is "": a list across these organizations
	Kind            Kind     // optional
	Name            string   // optional, exact
	resource.PageRequest
}

// Permission gives a role the CRUD flags on one subject.
type Permission struct {
	ID             string
	OrganizationID string // the role's organization
	RoleID         string
	Subject        string
	CanCreate      bool
	CanRead        bool
	CanUpdate      bool
	CanDestroy     bool
	Restrictions   map[string]any // read-only; nil for now
	resource.Common
}

// Allows reports whether the permission grants action a.
func (p Permission) Allows(a Action) bool {
	switch a {
	case ActionCreate:
		return p.CanCreate
	case ActionRead:
		return p.CanRead
	case ActionUpdate:
		return p.CanUpdate
	case ActionDestroy:
		return p.CanDestroy
	}
	return false
}

// PermissionCreate is the input of a new permission. The organization is the role's.
type PermissionCreate struct {
	RoleID     string
	Subject    string
	CanCreate  bool
	CanRead    bool
	CanUpdate  bool
	CanDestroy bool
	resource.CommonInput
}

// Validate checks the input against the subjects registry.
func (c PermissionCreate) Validate(subjects *Subjects) error {
	if subjects == nil {
		subjects, _ = NewSubjects()
	}
	var p fault.Problems
	resource.CheckID(&p, "role", c.RoleID)
	if c.Subject == "" {
		p.Add("subject", "required", "can't be blank")
	} else if !subjects.Has(c.Subject) {
		p.Add("subject", "enum", "is not a known subject")
	}
	c.CommonInput.Validate(&p)
	return p.Err("permission.Create")
}

// PermissionUpdate changes the flags of a permission. Subject and role are immutable.
type PermissionUpdate struct {
	CanCreate  *bool
	CanRead    *bool
	CanUpdate  *bool
	CanDestroy *bool
	resource.CommonUpdate
}

// Validate checks the set fields.
func (u PermissionUpdate) Validate() error {
	var p fault.Problems
	u.CommonUpdate.Validate(&p)
	return p.Err("permission.Update")
}

// Apply sets the fields of u on perm and returns what changed.
func (u PermissionUpdate) Apply(perm *Permission, now time.Time) resource.Changes {
	ch := resource.Changes{}
	resource.SetField(ch, "can_create", &perm.CanCreate, u.CanCreate)
	resource.SetField(ch, "can_read", &perm.CanRead, u.CanRead)
	resource.SetField(ch, "can_update", &perm.CanUpdate, u.CanUpdate)
	resource.SetField(ch, "can_destroy", &perm.CanDestroy, u.CanDestroy)
	u.CommonUpdate.Apply(&perm.Common, ch)
	if len(ch) > 0 {
		perm.UpdatedAt = now
	}
	return ch
}

// PermissionFilter selects permissions of one organization.
type PermissionFilter struct {
	OrganizationID  string   // one organization; "" for a list across organizations
	OrganizationIDs []string // when OrganizationID is "": a list across these organizations
	RoleID          string   // optional
	Subject         string   // optional
	resource.PageRequest
}

// Store is the storage contract for roles and permissions.
type Store interface {
	CreateRole(ctx context.Context, r *Role) error
	GetRole(ctx context.Context, id string) (*Role, error)
	UpdateRole(ctx context.Context, r *Role) error
	ListRoles(ctx context.Context, f Filter) (resource.Page[Role], error)
	// RoleOfKind returns the organization's built-in role of kind k.
	RoleOfKind(ctx context.Context, orgID string, k Kind) (*Role, error)

	// CreatePermission fails with fault.ErrAlreadyExists when (role, subject) exists.
	CreatePermission(ctx context.Context, p *Permission) error
	GetPermission(ctx context.Context, id string) (*Permission, error)
	UpdatePermission(ctx context.Context, p *Permission) error
	ListPermissions(ctx context.Context, f PermissionFilter) (resource.Page[Permission], error)
	// PermissionSubjects returns the subjects a role has permissions for.
	PermissionSubjects(ctx context.Context, roleID string) ([]string, error)
}
