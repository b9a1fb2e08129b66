// Package organization holds organizations: the tenants of provisioning.
//
// An organization is created by a user, who becomes its owner; it gets the
// built-in admin and read_only roles. Organizations are never deleted. The
// slug is derived from the name and unique; the domain is derived from the slug.
package organization

import (
	"context"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/provisionkit/provisioning/email"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
)

// Defaults of derived and create-only attributes.
const (
	DefaultRegion = "eu-west-1"
	DomainSuffix  = ".commercelayer.io"
	MaxSlugLen    = 63
	maxURLLen     = 2048
	maxPhoneLen   = 32
	maxConfigLen  = 64 << 10
)

// Organization is a tenant.
type Organization struct {
	ID                string
	Name              string
	Slug              string // derived from Name at creation, unique, read-only
	Domain            string // Slug + DomainSuffix, read-only
	SupportPhone      string
	SupportEmail      string
	LogoURL           string
	FaviconURL        string
	PrimaryColor      string
	ContrastColor     string
	GTMID             string
	GTMIDTest         string
	Region            string // create-only
	Config            map[string]any
	OwnerMembershipID string // the owner's membership; read-only, changed by TransferOwnership
	// Subscription is the plan and its limits; set by the host (System), read-only for users.
	Subscription Subscription
	// Plan is the plan in force: the host's catalogue plan that
	// Subscription.PlanType names (the default plan when it names none),
	// with the limits Subscription sets in place of the plan's. Computed on
	// read, never stored.
	Plan Plan
	// Totals counts what the limits limit; computed on read, never stored.
	Totals Totals
	// MFARequired requires every member to authenticate with a second
	// factor (a member may also be required to on its own).
	MFARequired bool
	// Number is a small positive number, unique and never reused,
	// assigned by the store at creation in creation order, for the APIs
	// whose organization ids are 32-bit integers (ECI's); read-only.
	Number int32
	resource.Common
}

// Subscription is an organization's plan (subscription_info on the wire).
type Subscription struct {
	// PlanType names the plan, e.g. "growth" or "enterprise"; "" for none.
	PlanType string
	Limits   Limits
	// CanSwitchLive reports that the plan lets the organization work in
	// live mode (can_switch_live on the wire).
	CanSwitchLive bool
}

// Limits bound what an organization may hold. Zero means no limit.
type Limits struct {
	// Memberships is the number of memberships (pending and active) the
	// organization may hold.
	Memberships int
	// Organizations is the number of organizations the owner may own.
	Organizations int
	// APICredentials is the number of API credentials (not revoked) the
	// organization may hold, its two built-in admin credentials included.
	APICredentials int
	// Roles is the number of custom roles the organization may hold (the
	// built-in admin and read_only roles are not counted).
	Roles int
}

// Over returns l with each limit that o sets (non-zero) in place of l's.
func (l Limits) Over(o Limits) Limits {
	pick := func(own, base int) int {
		if own != 0 {
			return own
		}
		return base
	}
	return Limits{Memberships: pick(o.Memberships, l.Memberships), Organizations: pick(o.Organizations, l.Organizations),
		APICredentials: pick(o.APICredentials, l.APICredentials), Roles: pick(o.Roles, l.Roles)}
}

func (l Limits) check(p *fault.Problems, prefix string) {
	for _, f := range []struct {
		field string
		v     int
	}{{"memberships", l.Memberships}, {"organizations", l.Organizations}, {"api_credentials", l.APICredentials}, {"roles", l.Roles}} {
		if f.v < 0 || f.v > MaxLimit {
			p.Add(prefix+f.field, "range", "must be between 0 (no limit) and "+strconv.Itoa(MaxLimit))
		}
	}
}

// Feature is something only some plans grant. Commerce Layer keeps custom
// roles and identity providers to its Enterprise plan
// (https://docs.commercelayer.io/provisioning/api-reference/roles,
// https://docs.commercelayer.io/provisioning/api-reference/identity_providers).
type Feature string

// The features a plan may grant.
const (
	// CustomRoles: creating custom roles and their permissions, and
	// changing those permissions.
	CustomRoles Feature = "custom_roles"
	// IdentityProviders: creating and changing identity providers (single
	// sign-on).
	IdentityProviders Feature = "identity_providers"
)

// Features lists every feature, in a stable order.
func Features() []Feature { return []Feature{CustomRoles, IdentityProviders} }

// Valid reports whether f is a known feature.
func (f Feature) Valid() bool { return slices.Contains(Features(), f) }

// Plan is one plan of the host's catalogue: the features it grants and
// the limits it sets. An organization is on one plan; the host moves it
// (System.SetPlan), its members never do.
type Plan struct {
	// Name is the plan's name (plan_type on the wire), e.g. "growth" or
	// "enterprise": lower-case letters, digits, - or _.
	Name     string
	Features []Feature
	Limits   Limits
}

// DefaultPlan is the default of the default catalogue: every feature and no
// limit, what every organization could do before plans. Its name is empty:
// an organization on it shows no plan type.
func DefaultPlan() Plan { return Plan{Features: Features()} }

// Has reports whether the plan grants f.
func (p Plan) Has(f Feature) bool { return slices.Contains(p.Features, f) }

// Validate checks a plan of a catalogue: a name, known features each named
// once, limits in range.
func (p Plan) Validate() error {
	var pr fault.Problems
	if !planRE.MatchString(p.Name) {
		pr.Add("name", "format", "must be lower-case letters, digits, - or _ (at most 64)")
	}
	seen := map[Feature]bool{}
	for _, f := range p.Features {
		if !f.Valid() || seen[f] {
			pr.Add("features", "enum", "must name each of custom_roles, identity_providers at most once")
			break
		}
		seen[f] = true
	}
	p.Limits.check(&pr, "limits.")
	return pr.Err("organization.Plan")
}

// Totals are the counts the limits bound: the organization's memberships
// and the organizations its owner owns.
type Totals struct {
	Memberships   int
	Organizations int
}

// MaxLimit bounds a limit, so that a typo cannot store an absurd value.
const MaxLimit = 10_000_000

// Validate checks a subscription: limits between 0 (none) and MaxLimit, a
// plan type of at most 64 lower-case letters, digits, dashes or underscores.
func (s Subscription) Validate() error {
	var p fault.Problems
	if s.PlanType != "" && !planRE.MatchString(s.PlanType) {
		p.Add("plan_type", "format", "must be lower-case letters, digits, - or _ (at most 64)")
	}
	s.Limits.check(&p, "limits.")
	return p.Err("organization.Subscription")
}

var planRE = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// Create is the input of a new organization.
type Create struct {
	Name          string
	SupportPhone  string
	SupportEmail  string
	LogoURL       string
	FaviconURL    string
	PrimaryColor  string
	ContrastColor string
	GTMID         string
	GTMIDTest     string
	Region        string // "" means DefaultRegion
	Config        map[string]any
	resource.CommonInput
}

// Validate checks the input.
func (c Create) Validate() error {
	var p fault.Problems
	resource.CheckName(&p, "name", c.Name, resource.MaxNameLen)
	if Slugify(c.Name) == "" && strings.TrimSpace(c.Name) != "" {
		p.Add("name", "format", "must contain at least one letter or digit")
	}
	checkSettings(&p, settings{&c.SupportPhone, &c.SupportEmail, &c.LogoURL, &c.FaviconURL, &c.PrimaryColor, &c.ContrastColor, &c.GTMID, &c.GTMIDTest, &c.Config})
	if c.Region != "" && !regionRE.MatchString(c.Region) {
		p.Add("region", "format", "must look like eu-west-1")
	}
	c.CommonInput.Validate(&p)
	return p.Err("organization.Create")
}

// New builds the organization for valid input; id and slug come from the caller.
func (c Create) New(id, slug string, now time.Time) *Organization {
	region := c.Region
	if region == "" {
		region = DefaultRegion
	}
	return &Organization{
		ID: id, Name: c.Name, Slug: slug, Domain: slug + DomainSuffix,
		SupportPhone: c.SupportPhone, SupportEmail: canonicalOrSame(c.SupportEmail),
		LogoURL: c.LogoURL, FaviconURL: c.FaviconURL, PrimaryColor: c.PrimaryColor,
		ContrastColor: c.ContrastColor, GTMID: c.GTMID, GTMIDTest: c.GTMIDTest,
		Region: region, Config: c.Config, Common: c.CommonInput.New(now),
	}
}

// Update changes an organization. Nil fields are left as they are; a pointer
// to "" sets an optional attribute to null. Slug, domain and region never change.
type Update struct {
	Name          *string
	SupportPhone  *string
	SupportEmail  *string
	LogoURL       *string
	FaviconURL    *string
	PrimaryColor  *string
	ContrastColor *string
	GTMID         *string
	GTMIDTest     *string
	Config        *map[string]any
	MFARequired   *bool
	resource.CommonUpdate
}

// Validate checks the set fields.
func (u Update) Validate() error {
	var p fault.Problems
	if u.Name != nil {
		resource.CheckName(&p, "name", *u.Name, resource.MaxNameLen)
	}
	var cfg *map[string]any
	if u.Config != nil {
		cfg = u.Config
	}
	checkSettings(&p, settings{u.SupportPhone, u.SupportEmail, u.LogoURL, u.FaviconURL, u.PrimaryColor, u.ContrastColor, u.GTMID, u.GTMIDTest, cfg})
	u.CommonUpdate.Validate(&p)
	return p.Err("organization.Update")
}

// Apply sets the fields of u on o and returns what changed.
func (u Update) Apply(o *Organization, now time.Time) resource.Changes {
	ch := resource.Changes{}
	resource.SetField(ch, "name", &o.Name, u.Name)
	resource.SetField(ch, "support_phone", &o.SupportPhone, u.SupportPhone)
	if u.SupportEmail != nil {
		v := canonicalOrSame(*u.SupportEmail)
		resource.SetField(ch, "support_email", &o.SupportEmail, &v)
	}
	resource.SetField(ch, "logo_url", &o.LogoURL, u.LogoURL)
	resource.SetField(ch, "favicon_url", &o.FaviconURL, u.FaviconURL)
	resource.SetField(ch, "primary_color", &o.PrimaryColor, u.PrimaryColor)
	resource.SetField(ch, "contrast_color", &o.ContrastColor, u.ContrastColor)
	resource.SetField(ch, "gtm_id", &o.GTMID, u.GTMID)
	resource.SetField(ch, "gtm_id_test", &o.GTMIDTest, u.GTMIDTest)
	if u.Config != nil {
		before := o.Config
		o.Config = *u.Config
		if resource.ChangedJSON(before, o.Config) {
			ch.Record("config", anyMap(before), anyMap(o.Config))
		}
	}
	resource.SetField(ch, "mfa_required", &o.MFARequired, u.MFARequired)
	u.CommonUpdate.Apply(&o.Common, ch)
	if len(ch) > 0 {
		o.UpdatedAt = now
	}
	return ch
}

func anyMap(m map[string]any) any {
	if m == nil {
		return nil
	}
	return m
}

// Filter selects organizations. The caller's memberships bound the result.
type Filter struct {
	Name string // optional, exact
	Slug string // optional, exact
	resource.PageRequest
}

// Store is the storage contract for organizations.
type Store interface {
	// Create fails with fault.ErrAlreadyExists (field "slug") when the slug is taken.
	Create(ctx context.Context, o *Organization) error
	Get(ctx context.Context, id string) (*Organization, error)
	// GetByNumber reads the organization of that Number; fault.ErrNotFound
	// when none has it.
	GetByNumber(ctx context.Context, number int32) (*Organization, error)
	// Lock reads the organization and locks its row until the transaction
	// ends, so that membership and ownership changes of one organization
	// happen one at a time.
	Lock(ctx context.Context, id string) (*Organization, error)
	Update(ctx context.Context, o *Organization) error
	// SetOwner makes membershipID the owner, if the owner is still from.
	SetOwner(ctx context.Context, id, from, membershipID string) error
	// BumpPolicy gives the organization a new policy revision.
	BumpPolicy(ctx context.Context, id string) error
	// ListForUser lists the organizations where userID has an active membership.
	ListForUser(ctx context.Context, userID string, f Filter) (resource.Page[Organization], error)
	// ListForCredential lists the organization of an API credential that is
	// not revoked (at most one), under the same filter.
	ListForCredential(ctx context.Context, credentialID string, f Filter) (resource.Page[Organization], error)
	// SlugsWithPrefix returns the taken slugs that start with prefix
	// (organization.SlugPrefix of the slug wanted).
	SlugsWithPrefix(ctx context.Context, prefix string) ([]string, error)
	// CountOwned counts the organizations whose owner is userID.
	CountOwned(ctx context.Context, userID string) (int, error)
}

// folds spells letters that do not decompose into ASCII.
var folds = strings.NewReplacer("ß", "ss", "ẞ", "ss", "ø", "o", "Ø", "o", "æ", "ae", "Æ", "ae", "œ", "oe", "Œ", "oe",
	"ł", "l", "Ł", "l", "đ", "d", "Đ", "d", "þ", "th", "Þ", "th", "ð", "d", "Ð", "d", "ı", "i")

// Slugify derives a slug from a name: lower-case ASCII letters and digits
// separated by single dashes, accents folded, at most MaxSlugLen bytes.
func Slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range norm.NFKD.String(folds.Replace(name)) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(unicode.ToLower(r))
		default:
			dash = true
		}
		if b.Len() >= MaxSlugLen {
			break
		}
	}
	s := b.String()
	if len(s) > MaxSlugLen {
		s = s[:MaxSlugLen]
	}
	return strings.Trim(s, "-")
}

// SlugPrefix returns the prefix that every candidate FreeSlug may propose for
// base starts with: look up the taken slugs with it.
func SlugPrefix(base string) string {
	if len(base) > MaxSlugLen-8 {
		base = strings.TrimRight(base[:MaxSlugLen-8], "-")
	}
	return base
}

// FreeSlug returns base, or base-2, base-3, ... whichever is not taken;
// taken must hold every taken slug that starts with SlugPrefix(base).
func FreeSlug(base string, taken []string) string {
	set := make(map[string]bool, len(taken))
	for _, s := range taken {
		set[s] = true
	}
	if !set[base] {
		return base
	}
	for i := 2; ; i++ {
		suffix := "-" + strconv.Itoa(i)
		b := base
		if len(b)+len(suffix) > MaxSlugLen {
			b = strings.TrimRight(b[:MaxSlugLen-len(suffix)], "-")
		}
		if c := b + suffix; !set[c] {
			return c
		}
	}
}

var (
	colorRE  = regexp.MustCompile(`^#[0-9A-Fa-f]{6}$`)
	gtmRE    = regexp.MustCompile(`^GTM-[A-Z0-9]{1,16}$`)
	regionRE = regexp.MustCompile(`^[a-z]{2}-[a-z]{2,16}-[0-9]{1,2}$`)
	phoneRE  = regexp.MustCompile(`^\+?[0-9 ()./-]{3,32}$`)
)

type settings struct {
	phone, mail, logo, favicon, primary, contrast, gtm, gtmTest *string
	config                                                      *map[string]any
}

func checkSettings(p *fault.Problems, s settings) {
	check := func(field string, v *string, ok func(string) bool, msg string) {
		if v != nil && *v != "" && !ok(*v) {
			p.Add(field, "format", msg)
		}
	}
	check("support_phone", s.phone, func(v string) bool {
		return len(v) <= maxPhoneLen && phoneRE.MatchString(v) && digits(v) >= 3
	}, "must be a phone number")
	check("support_email", s.mail, func(v string) bool { _, err := email.Canonical("support_email", v); return err == nil }, "must be an email address")
	check("logo_url", s.logo, validURL, "must be an absolute http(s) URL")
	check("favicon_url", s.favicon, validURL, "must be an absolute http(s) URL")
	check("primary_color", s.primary, colorRE.MatchString, "must be # and six hex digits")
	check("contrast_color", s.contrast, colorRE.MatchString, "must be # and six hex digits")
	check("gtm_id", s.gtm, gtmRE.MatchString, "must look like GTM-5FJXX6")
	check("gtm_id_test", s.gtmTest, gtmRE.MatchString, "must look like GTM-5FJXX6")
	if s.config != nil && *s.config != nil {
		var q fault.Problems
		resource.CheckJSONObject(&q, "config", *s.config, maxConfigLen)
		p.Merge(q.Err(""))
	}
}

func keepDigits(r rune) rune {
	if r >= '0' && r <= '9' {
		return r
	}
	return -1
}

func digits(v string) int { return len(strings.Map(keepDigits, v)) }

func validURL(v string) bool {
	if len(v) > maxURLLen {
		return false
	}
	u, err := url.Parse(v)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil
}

func canonicalOrSame(v string) string {
	if c, err := email.Canonical("support_email", v); err == nil {
		return c
	}
	return v
}
