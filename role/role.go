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
	"sort"
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
	OrganizationID string // required
	Kind           Kind   // optional
	Name           string // optional, exact
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
	OrganizationID string // required
	RoleID         string // optional
	Subject        string // optional
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

// Subjects is the registry of permission subjects: Commerce Layer Core API
// resource types, the provisioning resources, and whatever the host
// registers. It is safe for concurrent reads once built.
type Subjects struct{ set map[string]struct{} }

// NewSubjects returns the default registry plus extra subjects.
func NewSubjects(extra ...string) (*Subjects, error) {
	s := &Subjects{set: make(map[string]struct{}, len(CoreSubjects)+len(ProvisioningSubjects)+len(extra))}
	for _, v := range CoreSubjects {
		s.set[v] = struct{}{}
	}
	for _, v := range ProvisioningSubjects {
		s.set[v] = struct{}{}
	}
	var p fault.Problems
	for _, v := range extra {
		if !ValidSubject(v) {
			p.Add("subject", "format", "must be lower-case snake_case of at most 64 bytes: "+v)
			continue
		}
		s.set[v] = struct{}{}
	}
	if err := p.Err("role.NewSubjects"); err != nil {
		return nil, err
	}
	return s, nil
}

// Has reports whether subject is registered.
func (s *Subjects) Has(subject string) bool {
	_, ok := s.set[subject]
	return ok
}

// List returns the registered subjects, sorted.
func (s *Subjects) List() []string {
	out := make([]string, 0, len(s.set))
	for v := range s.set {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// ValidSubject reports whether s is lower-case snake_case of at most 64 bytes.
func ValidSubject(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '_' || s[len(s)-1] == '_' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// ProvisioningSubjects are the resources of this library itself.
var ProvisioningSubjects = []string{
	"organizations", "memberships", "membership_profiles", "roles", "permissions",
	"api_credentials", "application_memberships", "identity_providers", "versions",
}

// CoreSubjects are the Commerce Layer Core API resource types a permission may name.
var CoreSubjects = []string{
	"addresses", "adjustments", "adyen_gateways", "adyen_payments", "attachments", "authorizations",
	"avalara_accounts", "axerve_gateways", "axerve_payments", "bing_geocoders", "braintree_gateways",
	"braintree_payments", "bundles", "buy_x_pay_y_promotions", "captures", "carrier_accounts",
	"checkout_com_gateways", "checkout_com_payments", "cleanups", "coupon_codes_promotion_rules",
	"coupon_recipients", "coupons", "custom_promotion_rules", "customer_addresses", "customer_groups",
	"customer_password_resets", "customer_payment_sources", "customer_subscriptions", "customers",
	"delivery_lead_times", "discount_engine_items", "discount_engines", "easypost_pickups", "event_callbacks",
	"events", "exports", "external_gateways", "external_payments", "external_promotions", "external_tax_calculators",
	"fixed_amount_promotions", "fixed_price_promotions", "flex_promotions", "free_gift_promotions",
	"free_shipping_promotions", "geocoders", "gift_card_recipients", "gift_cards", "google_geocoders", "imports",
	"in_stock_subscriptions", "inventory_models", "inventory_return_locations", "inventory_stock_locations",
	"klarna_gateways", "klarna_payments", "line_item_options", "line_items", "links", "manual_gateways",
	"manual_tax_calculators", "markets", "merchants", "notifications", "order_amount_promotion_rules",
	"order_copies", "order_factories", "order_subscription_items", "order_subscriptions", "orders", "packages",
	"parcel_line_items", "parcels", "payment_gateways", "payment_methods", "payment_options",
	"paypal_gateways", "paypal_payments", "percentage_discount_promotions", "pickups", "price_frequency_tiers",
	"price_list_schedulers", "price_lists", "price_tiers", "price_volume_tiers", "prices", "promotion_rules",
	"promotions", "recurring_order_copies", "refunds", "reserved_stocks", "resource_errors", "return_line_items",
	"returns", "satispay_gateways", "satispay_payments", "shipments", "shipping_categories",
	"shipping_method_tiers", "shipping_methods", "shipping_weight_tiers", "shipping_zones", "sku_list_items",
	"sku_list_promotion_rules", "sku_lists", "sku_options", "skus", "stock_items", "stock_line_items",
	"stock_locations", "stock_reservations", "stock_transfers", "stores", "stripe_gateways", "stripe_payments",
	"stripe_tax_accounts", "subscription_models", "tags", "tax_calculators", "tax_categories", "tax_rules",
	"taxjar_accounts", "transactions", "vertex_accounts", "voids", "webhooks", "wire_transfers",
}
