// Package credential holds API credentials: the machine principals of an
// organization (a client id and a client secret, a kind, a mode, a role).
//
// The kind decides the rest: an integration credential must have a role, a
// sales_channel or webapp credential may not have one, the others (the
// Dashboard-app kinds and resources, the kind of the admin credentials an
// organization gets at creation) may. confidential is derived from the kind;
// mode (test or live) and custom are fixed at creation.
//
// The client secret is made here (NewSecret), shown once, and stored only
// as a hash (HashSecret); Authentic decides a login with constant-time
// comparisons and the same steps whatever fails.
package credential

import (
	"context"
	"log/slog"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/provisionkit/provisioning/allowlist"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
)

// Kind is the kind of an API credential.
type Kind string

// The kinds.
const (
	Integration  Kind = "integration"   // confidential, role required
	SalesChannel Kind = "sales_channel" // public, no role
	Webapp       Kind = "webapp"        // authorization-code flow, no role of its own
	// Resources is the kind of the two admin credentials an organization gets at creation.
	Resources Kind = "resources"
)

// DashboardKinds are the kinds of the Dashboard apps: a credential of one of
// them creates or forks (Custom) that app.
var DashboardKinds = []Kind{
	"customers", "exports", "imports", "inventory", "orders", "price_lists", "promotions",
	"returns", "shipments", "sku_lists", "skus", "stock_transfers", "tags", "webhooks",
}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	switch k {
	case Integration, SalesChannel, Webapp, Resources:
		return true
	}
	for _, d := range DashboardKinds {
		if k == d {
			return true
		}
	}
	return false
}

// Confidential reports whether credentials of the kind keep their secret
// (every kind but sales_channel).
func (k Kind) Confidential() bool { return k != SalesChannel }

// RoleRequired reports whether credentials of the kind must have a role.
func (k Kind) RoleRequired() bool { return k == Integration }

// RoleAllowed reports whether credentials of the kind may have a role.
func (k Kind) RoleAllowed() bool { return k != SalesChannel && k != Webapp }

// DefaultExpiresIn is the token lifetime a credential of the kind gets when
// none is given.
func (k Kind) DefaultExpiresIn() int {
	if k == SalesChannel {
		return 14400
	}
	return MinExpiresIn
}

// Bounds of expires_in, the lifetime in seconds of the tokens of a credential.
const (
	MinExpiresIn = 7200     // two hours
	MaxExpiresIn = 31536000 // a year
)

// Mode is the Core API environment a credential works in.
type Mode string

// The modes.
const (
	Test Mode = "test"
	Live Mode = "live"
)

// Valid reports whether m is test or live.
func (m Mode) Valid() bool { return m == Test || m == Live }

// maxRedirectURILen bounds redirect_uri.
const maxRedirectURILen = 2048

// MaxRotationOverlap bounds how long a rotated secret may stay valid.
const MaxRotationOverlap = 30 * 24 * time.Hour

// Credential is an API credential. It never holds its secret.
type Credential struct {
	ID             string
	OrganizationID string
	Name           string
	Kind           Kind // fixed at creation
	Confidential   bool // read-only, derived from Kind
	RedirectURI    string
	ClientID       string // generated, read-only
	Scopes         string // read-only; space-separated, "" for none
	ExpiresIn      int    // token lifetime, seconds
	Mode           Mode   // fixed at creation
	Custom         bool   // fixed at creation
	RoleID         string // "" for none
	CreatorUserID  string // the user who created it; "" when another principal did
	// ExpiresAt, when not zero, ends the credential.
	ExpiresAt time.Time
	// RevokedAt, when not zero, is when the credential was deleted: the row
	// stays for audit, and nothing finds or accepts it any more.
	RevokedAt time.Time
	// LastUsedAt is the last successful authentication, to the minute.
	LastUsedAt time.Time
	// AllowedIPs, when not nil, are the only networks the credential may be
	// used from; canonical (see package allowlist).
	AllowedIPs []netip.Prefix
	resource.Common
}

// ActiveAt reports whether the credential is neither revoked nor expired at now.
func (c *Credential) ActiveAt(now time.Time) bool {
	return c.RevokedAt.IsZero() && (c.ExpiresAt.IsZero() || now.Before(c.ExpiresAt))
}

// Issued is a credential with its client secret in clear: the result of
// creating a credential or rotating its secret, the only times the secret
// is shown. It prints and logs without the secret.
type Issued struct {
	Credential   *Credential
	ClientSecret string
}

// String describes the credential and hides the secret.
func (i Issued) String() string {
	id := ""
	if i.Credential != nil {
		id = i.Credential.ID
	}
	return "credential " + id + " (client secret [redacted])"
}

// GoString hides the secret from %#v.
func (i Issued) GoString() string { return i.String() }

// LogValue hides the secret from log/slog.
func (i Issued) LogValue() slog.Value { return slog.StringValue(i.String()) }

// Create is the input of a new credential.
type Create struct {
	OrganizationID string
	Name           string
	Kind           Kind
	RedirectURI    string    // optional
	ExpiresIn      int       // 0: the kind's default
	Mode           Mode      // "": test
	Custom         bool      // a fork of a Dashboard app
	RoleID         string    // required for integration, refused for sales_channel and webapp
	ExpiresAt      time.Time // optional: when the credential ends
	// AllowedIPs are the only addresses and networks the credential may be
	// used from (public ones; see package allowlist); nil: anywhere. An
	// empty, non-nil list is refused.
	AllowedIPs []string
	resource.CommonInput
}

// Validate checks the input.
func (c Create) Validate() error {
	var p fault.Problems
	resource.CheckID(&p, "organization", c.OrganizationID)
	resource.CheckName(&p, "name", c.Name, resource.MaxNameLen)
	switch {
	case c.Kind == "":
		p.Add("kind", "required", "can't be blank")
	case !c.Kind.Valid():
		p.Add("kind", "enum", "must be integration, sales_channel, webapp, resources or a Dashboard app")
	default:
		checkRole(&p, c.Kind, c.RoleID)
	}
	if c.RoleID != "" && !resource.ValidID(c.RoleID) {
		p.Add("role", "not_found", "does not exist")
	}
	if c.ExpiresIn != 0 {
		checkExpiresIn(&p, c.ExpiresIn)
	}
	if c.Mode != "" && !c.Mode.Valid() {
		p.Add("mode", "enum", "must be test or live")
	}
	checkRedirectURI(&p, c.RedirectURI)
	_, err := allowlist.Parse("allowed_ips", c.AllowedIPs)
	p.Merge(err)
	c.CommonInput.Validate(&p)
	return p.Err("credential.Create")
}

// New builds the credential for valid input, with the defaults of its kind.
func (c Create) New(id, clientID, creatorUserID string, now time.Time) *Credential {
	out := &Credential{ID: id, OrganizationID: c.OrganizationID, Name: c.Name, Kind: c.Kind,
		Confidential: c.Kind.Confidential(), RedirectURI: c.RedirectURI, ClientID: clientID,
		ExpiresIn: c.ExpiresIn, Mode: c.Mode, Custom: c.Custom, RoleID: c.RoleID, CreatorUserID: creatorUserID,
		ExpiresAt: c.ExpiresAt.UTC().Truncate(time.Microsecond), Common: c.CommonInput.New(now)}
	out.AllowedIPs, _ = allowlist.Parse("allowed_ips", c.AllowedIPs) // valid input: cannot fail
	if out.ExpiresIn == 0 {
		out.ExpiresIn = c.Kind.DefaultExpiresIn()
	}
	if out.Mode == "" {
		out.Mode = Test
	}
	return out
}

// Update changes a credential. Nil fields are left as they are; RedirectURI
// or RoleID set to "" remove it; ExpiresAt set to the zero time removes the
// expiry. Kind, mode, custom, client id and organization never change.
type Update struct {
	Name        *string
	RedirectURI *string
	ExpiresIn   *int
	RoleID      *string
	ExpiresAt   *time.Time
	// AllowedIPs pointing at a nil slice removes the restriction; at an
	// empty one is refused.
	AllowedIPs *[]string
	resource.CommonUpdate
}

// Validate checks the set fields for a credential of kind k.
func (u Update) Validate(k Kind) error {
	var p fault.Problems
	if u.Name != nil {
		resource.CheckName(&p, "name", *u.Name, resource.MaxNameLen)
	}
	if u.RedirectURI != nil {
		checkRedirectURI(&p, *u.RedirectURI)
	}
	if u.ExpiresIn != nil {
		checkExpiresIn(&p, *u.ExpiresIn)
	}
	if u.RoleID != nil {
		checkRole(&p, k, *u.RoleID)
		if *u.RoleID != "" && !resource.ValidID(*u.RoleID) {
			p.Add("role", "not_found", "does not exist")
		}
	}
	if u.AllowedIPs != nil {
		_, err := allowlist.Parse("allowed_ips", *u.AllowedIPs)
		p.Merge(err)
	}
	u.CommonUpdate.Validate(&p)
	return p.Err("credential.Update")
}

// Apply sets the fields of u on c and returns what changed.
func (u Update) Apply(c *Credential, now time.Time) resource.Changes {
	ch := resource.Changes{}
	resource.SetField(ch, "name", &c.Name, u.Name)
	resource.SetField(ch, "redirect_uri", &c.RedirectURI, u.RedirectURI)
	resource.SetField(ch, "expires_in", &c.ExpiresIn, u.ExpiresIn)
	resource.SetField(ch, "role_id", &c.RoleID, u.RoleID)
	if u.ExpiresAt != nil {
		var after time.Time
		if !u.ExpiresAt.IsZero() {
			after = u.ExpiresAt.UTC().Truncate(time.Microsecond) // what storage keeps
		}
		if !after.Equal(c.ExpiresAt) {
			ch.Record("expires_at", TimeValue(c.ExpiresAt), TimeValue(after))
			c.ExpiresAt = after
		}
	}
	if u.AllowedIPs != nil {
		after, _ := allowlist.Parse("allowed_ips", *u.AllowedIPs) // validated: cannot fail
		before, now := allowlist.Strings(c.AllowedIPs), allowlist.Strings(after)
		if !slices.Equal(before, now) || (before == nil) != (now == nil) {
			ch.Record("allowed_ips", resource.ListValue(before), resource.ListValue(now))
			c.AllowedIPs = after
		}
	}
	u.CommonUpdate.Apply(&c.Common, ch)
	if len(ch) > 0 {
		c.UpdatedAt = now
	}
	return ch
}

// TimeValue is how a time appears in a version's changes: null for the zero
// time, RFC 3339 in UTC otherwise.
func TimeValue(t time.Time) any {
	return resource.TimeValue(t)
}

// Filter selects the credentials (not revoked) of one organization. Empty
// fields match all.
type Filter struct {
	OrganizationID  string   // one organization; "" for a list across organizations
	OrganizationIDs []string // when OrganizationID is "": a list across these organizations
	Kind            Kind
	Mode            Mode
	Name            string // exact
	ClientID        string
	RoleID          string
	resource.PageRequest
}

// Validate checks the filter.
func (f Filter) Validate() error {
	var p fault.Problems
	if f.Kind != "" && !f.Kind.Valid() {
		p.Add("kind", "enum", "must be integration, sales_channel, webapp, resources or a Dashboard app")
	}
	if f.Mode != "" && !f.Mode.Valid() {
		p.Add("mode", "enum", "must be test or live")
	}
	if _, err := f.AfterID(); err != nil {
		p.Merge(err)
	}
	return p.Err("credential.List")
}

func checkRole(p *fault.Problems, k Kind, roleID string) {
	switch {
	case roleID == "" && k.RoleRequired():
		p.Add("role", "required", "can't be blank for "+string(k)+" credentials")
	case roleID != "" && !k.RoleAllowed():
		p.Add("role", "format", "must be blank for "+string(k)+" credentials")
	}
}

func checkExpiresIn(p *fault.Problems, v int) {
	if v < MinExpiresIn || v > MaxExpiresIn {
		p.Add("expires_in", "format", "must be between 7200 and 31536000 seconds")
	}
}

// checkRedirectURI accepts "" and absolute https URLs without user info or
// fragment; http only for the loopback host (localhost, 127.0.0.1, ::1).
func checkRedirectURI(p *fault.Problems, v string) {
	if v == "" {
		return
	}
	if len(v) > maxRedirectURILen {
		p.Add("redirect_uri", "too_long", "is too long")
		return
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" || u.Opaque != "" ||
		strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		p.Add("redirect_uri", "format", "must be an absolute URL without user info or fragment")
		return
	}
	switch u.Scheme {
	case "https":
	case "http":
		if h := u.Hostname(); h != "localhost" && !isLoopbackIP(h) {
			p.Add("redirect_uri", "format", "must use https (http only for localhost)")
		}
	default:
		p.Add("redirect_uri", "format", "must use https (http only for localhost)")
	}
}

func isLoopbackIP(h string) bool { return h == "127.0.0.1" || h == "::1" }

// Secret is one stored secret of a credential: its hash, never the secret.
// A credential has one valid secret, two during a rotation's overlap.
type Secret struct {
	ID           string
	CredentialID string
	Hash         string // "<algorithm>$<hex digest>", see HashSecret
	CreatedAt    time.Time
	// ExpiresAt, when not zero, ends the secret (set by rotations).
	ExpiresAt time.Time
}

// ValidAt reports whether the secret is still valid at now.
func (s Secret) ValidAt(now time.Time) bool { return s.ExpiresAt.IsZero() || now.Before(s.ExpiresAt) }

// Rotation returns the new expiries of the secrets that a rotation at now
// ends: the newest valid secret stays valid until now+overlap (no later than
// it would have anyway; overlap 0 ends it now), every other valid secret
// ends now. With the new secret, at most two are then valid.
func Rotation(secrets []Secret, now time.Time, overlap time.Duration) map[string]time.Time {
	out := map[string]time.Time{}
	newest := -1
	for i, s := range secrets {
		if s.ValidAt(now) && (newest < 0 || s.ID > secrets[newest].ID) {
			newest = i
		}
	}
	for i, s := range secrets {
		switch {
		case !s.ValidAt(now):
		case i == newest && overlap > 0:
			until := now.Add(overlap)
			if s.ExpiresAt.IsZero() || until.Before(s.ExpiresAt) {
				out[s.ID] = until
			}
		default:
			out[s.ID] = now
		}
	}
	return out
}

// Store is the storage contract for API credentials and their secrets.
type Store interface {
	// Create stores a credential with its first secret; a taken client id
	// is fault.ErrAlreadyExists (field "client_id").
	Create(ctx context.Context, c *Credential, first *Secret) error
	// Get returns a credential that is not revoked; fault.ErrNotFound otherwise.
	Get(ctx context.Context, id string) (*Credential, error)
	// List lists an organization's credentials that are not revoked, by id.
	List(ctx context.Context, f Filter) (resource.Page[Credential], error)
	// Update writes the name, redirect URI, token lifetime, role, expiry and
	// common attributes of a credential that is not revoked; the other
	// fields are fixed.
	Update(ctx context.Context, c *Credential) error
	// Revoke sets the revocation time of a credential that is not revoked
	// (fault.ErrNotFound otherwise). The row stays.
	Revoke(ctx context.Context, id string, at time.Time) error
	// AddSecret stores another secret of a credential.
	AddSecret(ctx context.Context, s *Secret) error
	// Secrets returns a credential's secrets, expired ones included, by id.
	Secrets(ctx context.Context, credentialID string) ([]Secret, error)
	// ExpireSecret sets the expiry of a secret.
	ExpireSecret(ctx context.Context, id string, at time.Time) error
	// Login returns the credential with the client id, revoked or not, and
	// its secrets: what an authentication decides on. fault.ErrNotFound
	// when no credential has the client id.
	Login(ctx context.Context, clientID string) (*Credential, []Secret, error)
	// Touch sets last_used_at to at, unless it is already later than
	// at - every (so that it is written at most once per every).
	Touch(ctx context.Context, id string, at time.Time, every time.Duration) error
}
