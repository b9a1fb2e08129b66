package role

import (
	"slices"
	"sync"

	"github.com/provisionkit/provisioning/fault"
)

// Subject is a resource type a permission can name: a JSON:API resource type
// of the Commerce Layer Core API, of this library, or of the host
// application (plural, lower-case snake_case).
type Subject string

// The resources of this library, as subjects: also the JSON:API types of
// their resources and the resource types of their versions.
const (
	SubjectOrganizations          Subject = "organizations"
	SubjectMemberships            Subject = "memberships"
	SubjectMembershipProfiles     Subject = "membership_profiles"
	SubjectRoles                  Subject = "roles"
	SubjectPermissions            Subject = "permissions"
	SubjectAPICredentials         Subject = "api_credentials"
	SubjectApplicationMemberships Subject = "application_memberships"
	SubjectIdentityProviders      Subject = "identity_providers"
	SubjectVersions               Subject = "versions"
)

// provisioningTable is the vocabulary of this library's own resources, in a
// stable order, with the rules that name them: which every active member may
// read whatever its roles, and which a guest member may never create, update
// or destroy whatever its roles and grants say. The audit trail (versions)
// is neither: only roles that name it read it.
var provisioningTable = [...]struct {
	subject     Subject
	memberReads bool
	guestDenied bool
}{
	{SubjectOrganizations, true, true},
	{SubjectMemberships, true, true},
	{SubjectMembershipProfiles, true, true},
	{SubjectRoles, true, true},
	{SubjectPermissions, true, true},
	{SubjectAPICredentials, true, true},
	{SubjectApplicationMemberships, true, true},
	{SubjectIdentityProviders, true, true},
	{SubjectVersions, false, false},
}

// coreTable lists the Commerce Layer Core API resource types a permission
// may name.
var coreTable = [...]Subject{
	"addresses", "adjustments", "adyen_gateways", "adyen_payments", "attachments", "authorizations",
	"avalara_accounts", "axerve_gateways", "axerve_payments", "bing_geocoders", "braintree_gateways",
	"braintree_payments", "bundles", "buy_x_pay_y_promotions", "captures", "carrier_accounts",
	"checkout_com_gateways", "checkout_com_payments", "cleanups", "coupon_codes_promotion_rules",
	"coupon_recipients", "coupons", "custom_promotion_rules", "customer_addresses", "customer_groups",
	"customer_password_resets", "customer_payment_sources", "customer_subscriptions", "customers",
	"delivery_lead_times", "discount_engine_items", "discount_engines", "easypost_pickups", "event_callbacks",
	"events", "exports", "external_gateways", "external_payments", "external_promotions",
	"external_tax_calculators", "fixed_amount_promotions", "fixed_price_promotions", "flex_promotions",
	"free_gift_promotions", "free_shipping_promotions", "geocoders", "gift_card_recipients", "gift_cards",
	"google_geocoders", "imports", "in_stock_subscriptions", "inventory_models", "inventory_return_locations",
	"inventory_stock_locations", "klarna_gateways", "klarna_payments", "line_item_options", "line_items", "links",
	"manual_gateways", "manual_tax_calculators", "markets", "merchants", "notifications",
	"order_amount_promotion_rules", "order_copies", "order_factories", "order_subscription_items",
	"order_subscriptions", "orders", "packages", "parcel_line_items", "parcels", "payment_gateways",
	"payment_methods", "payment_options", "paypal_gateways", "paypal_payments", "percentage_discount_promotions",
	"pickups", "price_frequency_tiers", "price_list_schedulers", "price_lists", "price_tiers",
	"price_volume_tiers", "prices", "promotion_rules", "promotions", "recurring_order_copies", "refunds",
	"reserved_stocks", "resource_errors", "return_line_items", "returns", "satispay_gateways",
	"satispay_payments", "shipments", "shipping_categories", "shipping_method_tiers", "shipping_methods",
	"shipping_weight_tiers", "shipping_zones", "sku_list_items", "sku_list_promotion_rules", "sku_lists",
	"sku_options", "skus", "stock_items", "stock_line_items", "stock_locations", "stock_reservations",
	"stock_transfers", "stores", "stripe_gateways", "stripe_payments", "stripe_tax_accounts",
	"subscription_models", "tags", "tax_calculators", "tax_categories", "tax_rules", "taxjar_accounts",
	"transactions", "vertex_accounts", "voids", "webhooks", "wire_transfers",
}

// ProvisioningSubjects returns this library's resources, in a stable order.
// The slice is the caller's: changing it changes nothing else.
func ProvisioningSubjects() []Subject { return pick(func(bool, bool) bool { return true }) }

// MemberReadSubjects returns the subjects every active member may read,
// whatever its roles: the organization and who may do what in it. The slice
// is the caller's.
func MemberReadSubjects() []Subject { return pick(func(reads, _ bool) bool { return reads }) }

// GuestDeniedSubjects returns the subjects a guest member may never create,
// update or destroy, whatever its roles and grants say. The slice is the
// caller's.
func GuestDeniedSubjects() []Subject { return pick(func(_, denied bool) bool { return denied }) }

// CoreSubjects returns the Commerce Layer Core API resource types a
// permission may name, in a stable order. The slice is the caller's.
func CoreSubjects() []Subject { return slices.Clone(coreTable[:]) }

// pick returns the provisioning subjects whose rules keep says to keep.
func pick(keep func(memberReads, guestDenied bool) bool) []Subject {
	var out []Subject
	for _, e := range provisioningTable {
		if keep(e.memberReads, e.guestDenied) {
			out = append(out, e.subject)
		}
	}
	return out
}

// Subjects is the registry of permission subjects: the Commerce Layer Core
// API resource types, this library's resources, and whatever the host
// registers. It never changes once built, and is safe for concurrent use.
type Subjects struct {
	set  map[string]struct{}
	list []string // sorted
}

// builtinSubjects is the registry of the built-in subjects alone, built once.
var builtinSubjects = sync.OnceValue(func() *Subjects { return newSubjects(nil) })

// NewSubjects returns the registry of the built-in subjects plus extra ones,
// each lower-case snake_case of at most 64 bytes (ValidSubject). Without
// extra subjects, it returns the one shared registry of the built-ins.
func NewSubjects(extra ...string) (*Subjects, error) {
	if len(extra) == 0 {
		return builtinSubjects(), nil
	}
	var p fault.Problems
	for _, v := range extra {
		if !ValidSubject(v) {
			p.Add("subject", "format", "must be lower-case snake_case of at most 64 bytes: "+v)
		}
	}
	if err := p.Err("role.NewSubjects"); err != nil {
		return nil, err
	}
	return newSubjects(extra), nil
}

// newSubjects builds the registry of the built-ins and extra, valid subjects.
func newSubjects(extra []string) *Subjects {
	s := &Subjects{set: make(map[string]struct{}, len(coreTable)+len(provisioningTable)+len(extra))}
	add := func(v string) {
		if _, dup := s.set[v]; !dup {
			s.set[v] = struct{}{}
			s.list = append(s.list, v)
		}
	}
	for _, v := range coreTable {
		add(string(v))
	}
	for _, e := range provisioningTable {
		add(string(e.subject))
	}
	for _, v := range extra {
		add(v)
	}
	slices.Sort(s.list)
	return s
}

// Has reports whether subject is registered.
func (s *Subjects) Has(subject string) bool {
	_, ok := s.set[subject]
	return ok
}

// List returns the registered subjects, sorted. The slice is the caller's:
// changing it changes nothing in the registry.
func (s *Subjects) List() []string { return slices.Clone(s.list) }

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
