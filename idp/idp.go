// Package idp holds identity providers: an organization's OpenID Connect
// settings for single sign-on, the email domains they serve (each proven by
// a DNS TXT record), and their client secret, which is stored only sealed
// with AES-256-GCM under a key the host supplies (see KeyProvider) and never
// returned in clear by the read model.
package idp

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
)

// Status is the state of a provider's domain verification.
type Status string

// The statuses. A provider starts Pending and returns to it whenever its
// domains change.
const (
	Pending  Status = "pending"  // not every domain carries the TXT record yet
	Verified Status = "verified" // every domain carries the TXT record
	Failed   Status = "error"    // a domain does not exist or could not be looked up
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return s == Pending || s == Verified || s == Failed }

// Limits on the attributes.
const (
	MaxDomains      = 50   // domains of one provider
	MaxURLLen       = 2048 // bytes of each URL
	MinSecretLen    = 8    // bytes of a client secret, at least
	MaxSecretLen    = 1024 // bytes of a client secret, at most
	maxDomainLen    = 253  // bytes of one domain, in ASCII form
	maxTextLen      = 255  // client_id, organization
	last4MinLen     = 16   // a secret shorter than this shows no last characters
	txtRandomChars  = 26   // characters of randomness in a TXT record
	secretRedaction = "[redacted]"
)

// TXTPrefix starts every txt_record: the DNS TXT value to publish on each
// domain is TXTPrefix followed by random characters.
const TXTPrefix = "provisioning-verification="

// SecretChanged stands for the client secret in the changes of a version:
// the secret itself is never recorded.
const SecretChanged = "[changed]"

// SecretHidden stands for the client secret where it is set: in reads on the
// wire (client_secret), and as the former secret in the changes of a version.
const SecretHidden = "[hidden]"

// SecretReencrypted stands for the client secret in the changes of a
// version written by a re-encryption: the same secret, sealed under another
// key.
const SecretReencrypted = "[reencrypted]"

// IsPlaceholder reports whether s is one of the strings the library shows in
// place of a client secret: SecretHidden, SecretChanged, SecretReencrypted,
// or "[redacted]" (a printed or JSON-encoded Secret). A placeholder is never
// taken as a secret, so that sending back what was read never loses one: in
// an Update it means "unchanged" (Validate drops it), and a Create, which
// has no secret to keep, refuses it.
func IsPlaceholder(s string) bool {
	switch s {
	case SecretHidden, SecretChanged, SecretReencrypted, secretRedaction:
		return true
	}
	return false
}

// Provider is an identity provider as callers see it. It never carries the
// client secret: only whether one is set and, for a long one, its last four
// characters.
type Provider struct {
	ID             string
	OrganizationID string
	UserID         string // the user who created it ("" when created by the system)
	Name           string // unique across all organizations
	ClientID       string
	Issuer         string
	Status         Status
	Domains        []string // canonical ASCII, lower-case, without duplicates; on the wire comma-separated
	TokenURL       string
	AuthorizeURL   string
	JWKSURL        string
	TXTRecord      string // the TXT value to publish on every domain
	// AuthorizeOrganization is the wire attribute "organization": an
	// organization identifier the host passes in the IdP's authorize
	// parameters. It is not the id of the provisioning organization.
	AuthorizeOrganization string
	DisabledAt            time.Time // zero while enabled
	HasClientSecret       bool
	ClientSecretLast4     string // "" when the secret is shorter than 16 bytes
	// VerifyAttempts counts the background lookups that did not verify the
	// provider since it last became pending (see Retry).
	VerifyAttempts int
	// NextVerifyAt is when the background verification looks the provider
	// up next: set while it is pending, zero once verified or in error.
	NextVerifyAt time.Time
	resource.Common
}

// Disabled reports whether the provider is disabled.
func (p Provider) Disabled() bool { return !p.DisabledAt.IsZero() }

// Secret is a client secret in clear. It prints, logs and encodes to JSON as
// "[redacted]"; string(s) reveals it.
type Secret string

// String implements fmt.Stringer without revealing the secret.
func (Secret) String() string { return secretRedaction }

// GoString implements fmt.GoStringer without revealing the secret.
func (Secret) GoString() string { return secretRedaction }

// MarshalJSON encodes the secret as "[redacted]".
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + secretRedaction + `"`), nil }

// Last4 returns the last four characters of a secret of at least 16 bytes,
// "" otherwise.
func (s Secret) Last4() string {
	if len(s) < last4MinLen {
		return ""
	}
	r := []rune(string(s))
	return string(r[len(r)-4:])
}

// Create is the input of a new provider. Its ClientSecret must not be a
// placeholder (IsPlaceholder).
type Create struct {
	OrganizationID        string
	Name                  string
	ClientID              string
	ClientSecret          Secret
	Issuer                string
	Domains               []string
	TokenURL              string
	AuthorizeURL          string
	JWKSURL               string
	AuthorizeOrganization string // the "organization" attribute; optional
	Disable               bool   // the "_disable" trigger: create it disabled
	resource.CommonInput
}

// Validate checks the input and returns it with the domains canonical.
func (c Create) Validate() (Create, error) {
	var p fault.Problems
	resource.CheckID(&p, "organization_id", c.OrganizationID)
	resource.CheckName(&p, "name", c.Name, resource.MaxNameLen)
	resource.CheckName(&p, "client_id", c.ClientID, maxTextLen)
	checkSecret(&p, c.ClientSecret)
	checkIssuer(&p, c.Issuer)
	if ds, ok := canonicalDomains(&p, c.Domains); ok {
		c.Domains = ds
	}
	checkHTTPS(&p, "token_url", c.TokenURL)
	checkHTTPS(&p, "authorize_url", c.AuthorizeURL)
	checkHTTPS(&p, "jwks_url", c.JWKSURL)
	resource.CheckOptionalText(&p, "organization", c.AuthorizeOrganization, maxTextLen)
	c.CommonInput.Validate(&p)
	return c, p.Err("idp.Create")
}

// New builds the provider for valid input: pending, with the given TXT
// record, created by userID.
func (c Create) New(id, userID, txtRecord string, now time.Time) *Provider {
	p := &Provider{ID: id, OrganizationID: c.OrganizationID, UserID: userID, Name: c.Name, ClientID: c.ClientID,
		Issuer: c.Issuer, Status: Pending, Domains: slices.Clone(c.Domains), TokenURL: c.TokenURL,
		AuthorizeURL: c.AuthorizeURL, JWKSURL: c.JWKSURL, TXTRecord: txtRecord,
		AuthorizeOrganization: c.AuthorizeOrganization, HasClientSecret: true,
		ClientSecretLast4: c.ClientSecret.Last4(), NextVerifyAt: now, Common: c.CommonInput.New(now)}
	if c.Disable {
		p.DisabledAt = now
	}
	return p
}

// CreationChanges returns the changes of the creation of p, for its
// version: each set attribute as [null, value], the secret as SecretChanged.
func (p *Provider) CreationChanges() resource.Changes {
	ch := resource.Changes{}
	for _, kv := range []struct {
		k string
		v string
	}{
		{"name", p.Name}, {"client_id", p.ClientID}, {"issuer", p.Issuer}, {"status", string(p.Status)},
		{"domains", FormatDomains(p.Domains)}, {"token_url", p.TokenURL}, {"authorize_url", p.AuthorizeURL},
		{"jwks_url", p.JWKSURL}, {"txt_record", p.TXTRecord}, {"organization", p.AuthorizeOrganization},
		{"reference", p.Reference}, {"reference_origin", p.ReferenceOrigin},
	} {
		if kv.v != "" {
			ch.Record(kv.k, nil, kv.v)
		}
	}
	if p.Metadata != nil {
		ch.Record("metadata", nil, map[string]any(p.Metadata))
	}
	if p.Disabled() {
		ch.Record("disabled_at", nil, p.DisabledAt)
	}
	if p.HasClientSecret {
		ch.Record("client_secret", nil, SecretChanged)
	}
	return ch
}

// Update changes a provider. Nil fields are left as they are; a pointer to
// "" sets the optional "organization" attribute to null. A ClientSecret
// that is a placeholder (IsPlaceholder) leaves the secret as it is. Disable and Enable
// are the "_disable" and "_enable" triggers; setting both is invalid.
type Update struct {
	Name                  *string
	ClientID              *string
	ClientSecret          *Secret
	Issuer                *string
	Domains               *[]string
	TokenURL              *string
	AuthorizeURL          *string
	JWKSURL               *string
	AuthorizeOrganization *string
	Disable               bool
	Enable                bool
	resource.CommonUpdate
}

// Validate checks the set fields and returns the update with the domains
// canonical. A ClientSecret that is a placeholder (IsPlaceholder: what a
// read shows in place of the secret) leaves the secret as it is: the update
// returned has none.
func (u Update) Validate() (Update, error) {
	var p fault.Problems
	if u.ClientSecret != nil && IsPlaceholder(string(*u.ClientSecret)) {
		u.ClientSecret = nil
	}
	if u.Name != nil {
		resource.CheckName(&p, "name", *u.Name, resource.MaxNameLen)
	}
	if u.ClientID != nil {
		resource.CheckName(&p, "client_id", *u.ClientID, maxTextLen)
	}
	if u.ClientSecret != nil {
		checkSecret(&p, *u.ClientSecret)
	}
	if u.Issuer != nil {
		checkIssuer(&p, *u.Issuer)
	}
	if u.Domains != nil {
		if ds, ok := canonicalDomains(&p, *u.Domains); ok {
			u.Domains = &ds
		}
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"token_url", u.TokenURL}, {"authorize_url", u.AuthorizeURL}, {"jwks_url", u.JWKSURL}} {
		if f.v != nil {
			checkHTTPS(&p, f.name, *f.v)
		}
	}
	if u.AuthorizeOrganization != nil {
		resource.CheckOptionalText(&p, "organization", *u.AuthorizeOrganization, maxTextLen)
	}
	if u.Disable && u.Enable {
		p.Add("_disable", "format", "cannot be set together with _enable")
		p.Add("_enable", "format", "cannot be set together with _disable")
	}
	u.CommonUpdate.Validate(&p)
	return u, p.Err("idp.Update")
}

// Apply sets the fields of a valid update on pr and returns what changed. A
// new client secret is recorded as SecretChanged and sets
// ClientSecretLast4; sealing it is the caller's job. A change of domains
// sets the status back to Pending, due for verification at once.
func (u Update) Apply(pr *Provider, now time.Time) resource.Changes {
	ch := resource.Changes{}
	resource.SetField(ch, "name", &pr.Name, u.Name)
	resource.SetField(ch, "client_id", &pr.ClientID, u.ClientID)
	resource.SetField(ch, "issuer", &pr.Issuer, u.Issuer)
	if u.Domains != nil && !slices.Equal(pr.Domains, *u.Domains) {
		ch.Record("domains", FormatDomains(pr.Domains), FormatDomains(*u.Domains))
		pr.Domains = slices.Clone(*u.Domains)
		pr.SetStatus(ch, Pending, now)
		pr.VerifyAttempts, pr.NextVerifyAt = 0, now // new domains, a new round of attempts
	}
	resource.SetField(ch, "token_url", &pr.TokenURL, u.TokenURL)
	resource.SetField(ch, "authorize_url", &pr.AuthorizeURL, u.AuthorizeURL)
	resource.SetField(ch, "jwks_url", &pr.JWKSURL, u.JWKSURL)
	resource.SetField(ch, "organization", &pr.AuthorizeOrganization, u.AuthorizeOrganization)
	switch {
	case u.Disable && !pr.Disabled():
		ch.Record("disabled_at", nil, now)
		pr.DisabledAt = now
	case u.Enable && pr.Disabled():
		ch.Record("disabled_at", pr.DisabledAt, nil)
		pr.DisabledAt = time.Time{}
	}
	if u.ClientSecret != nil {
		ch.Record("client_secret", SecretHidden, SecretChanged)
		pr.HasClientSecret = true
		pr.ClientSecretLast4 = u.ClientSecret.Last4()
	}
	u.CommonUpdate.Apply(&pr.Common, ch)
	if len(ch) > 0 {
		pr.UpdatedAt = now
	}
	return ch
}

// Filter selects providers of one organization.
type Filter struct {
	OrganizationID  string   // one organization; "" for a list across organizations
	OrganizationIDs []string // when OrganizationID is "": a list across these organizations
	Name            string   // optional, exact
	Status          Status   // optional
	Domain          string   // optional: providers that list this domain (compared in canonical form)
	resource.PageRequest
}

// Validate checks the filter and returns it with the domain canonical.
func (f Filter) Validate() (Filter, error) {
	var p fault.Problems
	if f.Status != "" && !f.Status.Valid() {
		p.Add("status", "enum", "must be pending, verified or error")
	}
	if f.Domain != "" {
		if d, msg := CanonicalDomain(f.Domain); msg != "" {
			p.Add("domain", "format", msg)
		} else {
			f.Domain = d
		}
	}
	if _, err := f.AfterID(); err != nil {
		p.Merge(err)
	}
	return f, p.Err("idp.List")
}

// Sealed is a client secret as stored: AES-256-GCM ciphertext (with its
// tag), the nonce, and the id of the key that sealed it.
type Sealed struct {
	KeyID      string
	Nonce      []byte
	Ciphertext []byte
}

// Store is the storage contract for identity providers.
type Store interface {
	// Create stores a provider and its sealed secret; a taken name fails
	// with fault.ErrAlreadyExists naming the field "name".
	Create(ctx context.Context, p *Provider, secret Sealed) error
	Get(ctx context.Context, id string) (*Provider, error)
	// Secret returns the sealed secret of a provider.
	Secret(ctx context.Context, id string) (Sealed, error)
	// Update stores every attribute but the secret, the verification
	// schedule (VerifyAttempts, NextVerifyAt) included.
	Update(ctx context.Context, p *Provider) error
	// ClaimDue claims at most limit pending providers due at now
	// (NextVerifyAt not after now), soonest first, by moving their
	// NextVerifyAt to until, and returns their ids. A provider is claimed by
	// one caller only, however many claim at once, until until passes.
	ClaimDue(ctx context.Context, now, until time.Time, limit int) ([]string, error)
	// SetSecret replaces the sealed secret.
	SetSecret(ctx context.Context, id string, secret Sealed) error
	Delete(ctx context.Context, id string) error
	List(ctx context.Context, f Filter) (resource.Page[Provider], error)
	// SealedWithOtherKey lists, by id, the ids of at most limit providers
	// whose secret is not sealed with keyID, from the first id after
	// afterID ("": from the first provider).
	SealedWithOtherKey(ctx context.Context, keyID, afterID string, limit int) ([]string, error)
	// SecretKeys counts the providers by the id of the key their secret is
	// sealed with.
	SecretKeys(ctx context.Context) (map[string]int, error)
}

// NewTXTRecord returns a fresh TXT record: TXTPrefix and 26 random
// lower-case base32 characters (130 bits).
func NewTXTRecord() string {
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	var b [txtRandomChars]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[b[i]&31]
	}
	return TXTPrefix + string(b[:])
}

// FormatDomains returns the wire form of domains: comma-separated.
func FormatDomains(ds []string) string { return strings.Join(ds, ",") }

// ParseDomains splits the wire form of domains at commas, trimming spaces
// and dropping empty entries. It does not validate them.
func ParseDomains(s string) []string {
	var out []string
	for _, d := range strings.Split(s, ",") {
		if d = strings.TrimSpace(d); d != "" {
			out = append(out, d)
		}
	}
	return out
}

var domainProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false),
	idna.StrictDomainName(true), idna.VerifyDNSLength(true))

// CanonicalDomain returns the canonical form of a DNS name: trimmed, in NFC,
// lower-cased and converted to its ASCII (IDNA) form, with at least two
// labels of letters, digits and hyphens and a last label that is not all
// digits. Wildcards, IP addresses, trailing dots, URLs and addresses are
// refused. On failure it returns a message saying why.
func CanonicalDomain(s string) (string, string) {
	if !utf8.ValidString(s) {
		return "", "must be valid UTF-8"
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", "must not be blank"
	}
	if len(s) > 4*maxDomainLen || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", "is not a domain name"
	}
	ascii, err := domainProfile.ToASCII(norm.NFC.String(s))
	if err != nil || len(ascii) > maxDomainLen || !strings.Contains(ascii, ".") || strings.HasSuffix(ascii, ".") ||
		allDigits(ascii[strings.LastIndexByte(ascii, '.')+1:]) {
		return "", "is not a domain name"
	}
	for i := 0; i < len(ascii); i++ {
		c := ascii[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return "", "is not a domain name"
		}
	}
	return ascii, ""
}

// canonicalDomains checks a required list of domains and returns it
// canonical, without duplicates, in the order given.
func canonicalDomains(p *fault.Problems, ds []string) ([]string, bool) {
	if len(ds) == 0 {
		p.Add("domains", "required", "can't be blank")
		return nil, false
	}
	if len(ds) > MaxDomains {
		p.Add("domains", "too_long", fmt.Sprintf("must list at most %d domains", MaxDomains))
		return nil, false
	}
	out := make([]string, 0, len(ds))
	for i, d := range ds {
		c, msg := CanonicalDomain(d)
		if msg != "" {
			p.Add("domains", "format", fmt.Sprintf("entry %d %s", i+1, msg))
			return nil, false
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkSecret checks a client secret; messages never quote it.
func checkSecret(p *fault.Problems, s Secret) {
	v := string(s)
	switch {
	case strings.TrimSpace(v) == "":
		p.Add("client_secret", "required", "can't be blank")
	case IsPlaceholder(v):
		p.Add("client_secret", "format", "is the placeholder shown in place of a secret, not a secret")
	case !utf8.ValidString(v):
		p.Add("client_secret", "format", "must be valid UTF-8")
	case len(v) > MaxSecretLen:
		p.Add("client_secret", "too_long", "is too long")
	case len(v) < MinSecretLen:
		p.Add("client_secret", "format", fmt.Sprintf("must be at least %d characters", MinSecretLen))
	case strings.IndexFunc(v, badRune) >= 0:
		p.Add("client_secret", "format", "must not contain control, line-separator or bidi-control characters")
	case v != strings.TrimSpace(v):
		p.Add("client_secret", "format", "must not start or end with white space")
	}
}

// badRune reports characters that a single-line secret must not hold.
func badRune(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp, unicode.Bidi_Control)
}

// checkIssuer checks an OpenID Connect issuer: an https URL without query
// or fragment.
func checkIssuer(p *fault.Problems, v string) {
	if checkHTTPS(p, "issuer", v) {
		if u, _ := url.Parse(v); u.RawQuery != "" || u.ForceQuery {
			p.Add("issuer", "format", "must not have a query")
		}
	}
}

// checkHTTPS checks a required absolute https URL with a host, no user
// information and no fragment, and reports whether it is one.
func checkHTTPS(p *fault.Problems, field, v string) bool {
	switch {
	case strings.TrimSpace(v) == "":
		p.Add(field, "required", "can't be blank")
		return false
	case len(v) > MaxURLLen:
		p.Add(field, "too_long", "is too long")
		return false
	case !utf8.ValidString(v) || strings.IndexFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
		p.Add(field, "format", "must be a URL without spaces or control characters")
		return false
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "https" || u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		p.Add(field, "format", "must be an absolute https URL")
		return false
	}
	if u.User != nil || u.Fragment != "" || strings.Contains(v, "#") {
		p.Add(field, "format", "must not have user information or a fragment")
		return false
	}
	return true
}
