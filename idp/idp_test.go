package idp_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/idp"
	"github.com/provisionkit/provisioning/internal/testkit"
	"github.com/provisionkit/provisioning/resource"
)

const secret = "s3cr3t-Value-0123456789"

func validCreate() idp.Create {
	return idp.Create{OrganizationID: "org1", Name: "Acme SSO", ClientID: "client-1", ClientSecret: secret,
		Issuer: "https://login.acme.example", Domains: []string{"acme.example", "dev.acme.example"},
		TokenURL: "https://login.acme.example/oauth/token", AuthorizeURL: "https://login.acme.example/oauth/authorize",
		JWKSURL: "https://login.acme.example/.well-known/jwks.json"}
}

func TestCreateValidate(t *testing.T) {
	tests := []struct {
		name       string
		give       func(*idp.Create)
		wantFields []string
	}{
		{"valid", func(*idp.Create) {}, nil},
		{"valid with organization and port", func(c *idp.Create) {
			c.AuthorizeOrganization, c.TokenURL = "org_76gsfs5gd", "https://login.acme.example:8443/token?x=1"
		}, nil},
		{"zero", func(c *idp.Create) { *c = idp.Create{} },
			[]string{"organization_id", "name", "client_id", "client_secret", "issuer", "domains", "token_url", "authorize_url", "jwks_url"}},
		{"malformed organization id", func(c *idp.Create) { c.OrganizationID = "Org 1" }, []string{"organization_id"}},
		{"blank name", func(c *idp.Create) { c.Name = "  " }, []string{"name"}},
		{"name with edge spaces", func(c *idp.Create) { c.Name = " Acme" }, []string{"name"}},
		{"name too long", func(c *idp.Create) { c.Name = strings.Repeat("n", resource.MaxNameLen+1) }, []string{"name"}},
		{"name with a newline", func(c *idp.Create) { c.Name = "Acme\nSSO" }, []string{"name"}},
		{"blank client id", func(c *idp.Create) { c.ClientID = "" }, []string{"client_id"}},
		{"blank secret", func(c *idp.Create) { c.ClientSecret = "" }, []string{"client_secret"}},
		{"short secret", func(c *idp.Create) { c.ClientSecret = "1234567" }, []string{"client_secret"}},
		{"shortest secret", func(c *idp.Create) { c.ClientSecret = "12345678" }, nil},
		{"long secret", func(c *idp.Create) { c.ClientSecret = idp.Secret(strings.Repeat("s", idp.MaxSecretLen+1)) }, []string{"client_secret"}},
		{"secret with a control character", func(c *idp.Create) { c.ClientSecret = "abcd\x00efgh" }, []string{"client_secret"}},
		{"secret with edge spaces", func(c *idp.Create) { c.ClientSecret = " abcdefgh" }, []string{"client_secret"}},
		{"secret not UTF-8", func(c *idp.Create) { c.ClientSecret = "abcdefg\xff" }, []string{"client_secret"}},
		{"secret is the read's placeholder", func(c *idp.Create) { c.ClientSecret = idp.SecretHidden }, []string{"client_secret"}},
		{"secret is a version's placeholder", func(c *idp.Create) { c.ClientSecret = idp.SecretChanged }, []string{"client_secret"}},
		{"secret is a re-encryption's placeholder", func(c *idp.Create) { c.ClientSecret = idp.SecretReencrypted }, []string{"client_secret"}},
		{"secret decoded from its JSON encoding", func(c *idp.Create) {
			js, _ := json.Marshal(c.ClientSecret) // a Secret encodes as "[redacted]"
			_ = json.Unmarshal(js, (*string)(&c.ClientSecret))
		}, []string{"client_secret"}},
		{"issuer over http", func(c *idp.Create) { c.Issuer = "http://login.acme.example" }, []string{"issuer"}},
		{"issuer with a query", func(c *idp.Create) { c.Issuer = "https://login.acme.example/?tenant=1" }, []string{"issuer"}},
		{"token url over http", func(c *idp.Create) { c.TokenURL = "http://login.acme.example/token" }, []string{"token_url"}},
		{"token url relative", func(c *idp.Create) { c.TokenURL = "/oauth/token" }, []string{"token_url"}},
		{"token url without host", func(c *idp.Create) { c.TokenURL = "https:///token" }, []string{"token_url"}},
		{"token url opaque", func(c *idp.Create) { c.TokenURL = "https:login.acme.example" }, []string{"token_url"}},
		{"authorize url with user information", func(c *idp.Create) { c.AuthorizeURL = "https://u:p@login.acme.example/a" }, []string{"authorize_url"}},
		{"authorize url javascript", func(c *idp.Create) { c.AuthorizeURL = "javascript:alert(1)" }, []string{"authorize_url"}},
		{"jwks url with a fragment", func(c *idp.Create) { c.JWKSURL = "https://login.acme.example/jwks#x" }, []string{"jwks_url"}},
		{"jwks url with a space", func(c *idp.Create) { c.JWKSURL = "https://login.acme.example/jw ks" }, []string{"jwks_url"}},
		{"jwks url too long", func(c *idp.Create) { c.JWKSURL = "https://a.example/" + strings.Repeat("x", idp.MaxURLLen) }, []string{"jwks_url"}},
		{"no domains", func(c *idp.Create) { c.Domains = nil }, []string{"domains"}},
		{"too many domains", func(c *idp.Create) {
			c.Domains = nil
			for i := range idp.MaxDomains + 1 {
				c.Domains = append(c.Domains, fmt.Sprintf("d%d.example", i))
			}
		}, []string{"domains"}},
		{"as many domains as allowed", func(c *idp.Create) {
			c.Domains = nil
			for i := range idp.MaxDomains {
				c.Domains = append(c.Domains, fmt.Sprintf("d%d.example", i))
			}
		}, nil},
		{"organization too long", func(c *idp.Create) { c.AuthorizeOrganization = strings.Repeat("o", 256) }, []string{"organization"}},
		{"organization with a control character", func(c *idp.Create) { c.AuthorizeOrganization = "org\x1b" }, []string{"organization"}},
		{"reference too long", func(c *idp.Create) { c.Reference = strings.Repeat("r", resource.MaxReferenceLen+1) }, []string{"reference"}},
	}
	for _, tt := range tests {
		c := validCreate()
		tt.give(&c)
		_, err := c.Validate()
		if got := testkit.BadFields(t, err); !slices.Equal(got, tt.wantFields) {
			t.Errorf("%s: Validate() fields = %q, want %q", tt.name, got, tt.wantFields)
		}
	}
}

// TestDomains: domains come back canonical (IDNA ASCII, lower-case), without
// duplicates, in order; anything that is not a DNS name is refused.
func TestDomains(t *testing.T) {
	tests := []struct {
		name    string
		give    []string
		want    []string
		wantErr bool
	}{
		{"canonical already", []string{"acme.example"}, []string{"acme.example"}, false},
		{"upper case", []string{"ACME.Example"}, []string{"acme.example"}, false},
		{"trimmed", []string{"  acme.example "}, []string{"acme.example"}, false},
		{"IDNA", []string{"Bücher.example"}, []string{"xn--bcher-kva.example"}, false},
		{"IDNA already ASCII", []string{"xn--bcher-kva.example"}, []string{"xn--bcher-kva.example"}, false},
		{"full-width letters", []string{"ａｃｍｅ.example"}, []string{"acme.example"}, false},
		{"duplicates after canonicalisation", []string{"b.example", "A.example", "a.EXAMPLE", "b.example", "a.example"},
			[]string{"b.example", "a.example"}, false},
		{"IDNA duplicate", []string{"bücher.example", "XN--BCHER-KVA.example"}, []string{"xn--bcher-kva.example"}, false},
		{"deep sub-domain", []string{"a.b.c.d.example.co.uk"}, []string{"a.b.c.d.example.co.uk"}, false},
		{"single label", []string{"localhost"}, nil, true},
		{"wildcard", []string{"*.acme.example"}, nil, true},
		{"IPv4 address", []string{"192.168.1.1"}, nil, true},
		{"IPv6 address", []string{"[::1]"}, nil, true},
		{"trailing dot", []string{"acme.example."}, nil, true},
		{"leading dot", []string{".acme.example"}, nil, true},
		{"empty label", []string{"acme..example"}, nil, true},
		{"underscore", []string{"a_b.acme.example"}, nil, true},
		{"space inside", []string{"ac me.example"}, nil, true},
		{"comma inside", []string{"a.example,b.example"}, nil, true},
		{"URL", []string{"https://acme.example"}, nil, true},
		{"email address", []string{"sso@acme.example"}, nil, true},
		{"with a port", []string{"acme.example:443"}, nil, true},
		{"blank entry", []string{"acme.example", " "}, nil, true},
		{"label too long", []string{strings.Repeat("a", 64) + ".example"}, nil, true},
		{"name too long", []string{strings.Repeat("a.", 127) + "example"}, nil, true},
		{"hyphen at label start", []string{"-acme.example"}, nil, true},
		{"control character", []string{"acme\x00.example"}, nil, true},
		{"invalid UTF-8", []string{"acme\xff.example"}, nil, true},
		{"bidi mix", []string{"a\u05d0.example"}, nil, true},
	}
	for _, tt := range tests {
		c := validCreate()
		c.Domains = tt.give
		got, err := c.Validate()
		switch fields := testkit.BadFields(t, err); {
		case tt.wantErr && !slices.Equal(fields, []string{"domains"}):
			t.Errorf("%s: %q gives fields %q, want [domains]", tt.name, tt.give, fields)
		case !tt.wantErr && err != nil:
			t.Errorf("%s: %q refused: %v", tt.name, tt.give, err)
		case !tt.wantErr && !slices.Equal(got.Domains, tt.want):
			t.Errorf("%s: %q canonical = %q, want %q", tt.name, tt.give, got.Domains, tt.want)
		}
		u, err := idp.Update{Domains: &tt.give}.Validate()
		if (err != nil) != tt.wantErr || !tt.wantErr && !slices.Equal(*u.Domains, tt.want) {
			t.Errorf("%s: Update.Validate(%q) = %v, %v", tt.name, tt.give, u.Domains, err)
		}
	}
}

func TestParseAndFormatDomains(t *testing.T) {
	tests := []struct {
		give string
		want []string
	}{
		{"", nil},
		{"a.example", []string{"a.example"}},
		{"dev.auth987.com,stg.auth987.com", []string{"dev.auth987.com", "stg.auth987.com"}},
		{" a.example , ,b.example,", []string{"a.example", "b.example"}},
	}
	for _, tt := range tests {
		if got := idp.ParseDomains(tt.give); !slices.Equal(got, tt.want) {
			t.Errorf("ParseDomains(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
	if got := idp.FormatDomains([]string{"a.example", "b.example"}); got != "a.example,b.example" {
		t.Errorf("FormatDomains = %q", got)
	}
}

func TestUpdateValidate(t *testing.T) {
	s := func(v string) *string { return &v }
	sec := func(v string) *idp.Secret { x := idp.Secret(v); return &x }
	tests := []struct {
		name       string
		give       idp.Update
		wantFields []string
	}{
		{"zero", idp.Update{}, nil},
		{"disable", idp.Update{Disable: true}, nil},
		{"enable", idp.Update{Enable: true}, nil},
		{"disable and enable", idp.Update{Disable: true, Enable: true}, []string{"_disable", "_enable"}},
		{"blank name", idp.Update{Name: s("")}, []string{"name"}},
		{"blank client id", idp.Update{ClientID: s(" ")}, []string{"client_id"}},
		{"short secret", idp.Update{ClientSecret: sec("short")}, []string{"client_secret"}},
		{"new secret", idp.Update{ClientSecret: sec(secret)}, nil},
		{"issuer over http", idp.Update{Issuer: s("http://x.example")}, []string{"issuer"}},
		{"blank token url", idp.Update{TokenURL: s("")}, []string{"token_url"}},
		{"authorize url over ftp", idp.Update{AuthorizeURL: s("ftp://x.example/a")}, []string{"authorize_url"}},
		{"jwks url relative", idp.Update{JWKSURL: s("jwks.json")}, []string{"jwks_url"}},
		{"no domains", idp.Update{Domains: &[]string{}}, []string{"domains"}},
		{"organization cleared", idp.Update{AuthorizeOrganization: s("")}, nil},
		{"organization too long", idp.Update{AuthorizeOrganization: s(strings.Repeat("o", 256))}, []string{"organization"}},
	}
	for _, tt := range tests {
		_, err := tt.give.Validate()
		if got := testkit.BadFields(t, err); !slices.Equal(got, tt.wantFields) {
			t.Errorf("%s: Validate() fields = %q, want %q", tt.name, got, tt.wantFields)
		}
	}
}

func TestFilterValidate(t *testing.T) {
	tests := []struct {
		name       string
		give       idp.Filter
		wantDomain string
		wantFields []string
	}{
		{"zero", idp.Filter{}, "", nil},
		{"status", idp.Filter{Status: idp.Verified}, "", nil},
		{"unknown status", idp.Filter{Status: "done"}, "", []string{"status"}},
		{"domain canonicalised", idp.Filter{Domain: " Bücher.EXAMPLE"}, "xn--bcher-kva.example", nil},
		{"domain pattern", idp.Filter{Domain: "%.example"}, "", []string{"domain"}},
		{"bad cursor", idp.Filter{PageRequest: resource.PageRequest{After: "%%"}}, "", []string{"page"}},
	}
	for _, tt := range tests {
		got, err := tt.give.Validate()
		if fields := testkit.BadFields(t, err); !slices.Equal(fields, tt.wantFields) {
			t.Errorf("%s: fields = %q, want %q", tt.name, fields, tt.wantFields)
		}
		if err == nil && got.Domain != tt.wantDomain {
			t.Errorf("%s: Domain = %q, want %q", tt.name, got.Domain, tt.wantDomain)
		}
	}
}

func TestNew(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c, err := validCreate().Validate()
	if err != nil {
		t.Fatal(err)
	}
	p := c.New("idp1", "user1", "provisioning-verification=abc", now)
	want := idp.Provider{ID: "idp1", OrganizationID: "org1", UserID: "user1", Name: "Acme SSO", ClientID: "client-1",
		Issuer: c.Issuer, Status: idp.Pending, Domains: c.Domains, TokenURL: c.TokenURL, AuthorizeURL: c.AuthorizeURL,
		JWKSURL: c.JWKSURL, TXTRecord: "provisioning-verification=abc", HasClientSecret: true, ClientSecretLast4: "6789", NextVerifyAt: now, // due for verification at once
		Common: resource.Common{CreatedAt: now, UpdatedAt: now}}
	if fmt.Sprint(*p) != fmt.Sprint(want) {
		t.Errorf("New =\n%+v\nwant\n%+v", *p, want)
	}
	c.Disable = true
	if d := c.New("idp2", "user1", "x", now); d.DisabledAt != now || !d.Disabled() {
		t.Errorf("New with Disable: DisabledAt = %v", d.DisabledAt)
	}
	ch := p.CreationChanges()
	if got := ch["client_secret"]; got != [2]any{nil, idp.SecretChanged} {
		t.Errorf("creation changes client_secret = %v, want [nil %s]", got, idp.SecretChanged)
	}
	if got := ch["domains"]; got != [2]any{nil, "acme.example,dev.acme.example"} {
		t.Errorf("creation changes domains = %v", got)
	}
	if strings.Contains(fmt.Sprint(ch), secret) {
		t.Errorf("creation changes hold the secret: %v", ch)
	}
}

func TestLast4(t *testing.T) {
	tests := []struct {
		give idp.Secret
		want string
	}{
		{"12345678", ""},
		{"123456789012345", ""},
		{"1234567890123456", "3456"},
		{"0123456789abcdéfgh✓", "fgh✓"},
	}
	for _, tt := range tests {
		if got := tt.give.Last4(); got != tt.want {
			t.Errorf("Last4(%d bytes) = %q, want %q", len(tt.give), got, tt.want)
		}
	}
}

// TestSecretRedacted: a secret in an input never prints, logs or encodes.
// TestUpdatePlaceholderKeepsSecret: an update whose client secret is a
// placeholder (what a read shows in its place) leaves the secret as it is:
// Validate drops it, so Apply records no change and keeps the last
// characters; other fields of the same update still apply.
func TestUpdatePlaceholderKeepsSecret(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, give := range []string{idp.SecretHidden, idp.SecretChanged, idp.SecretReencrypted, "[redacted]"} {
		if !idp.IsPlaceholder(give) {
			t.Errorf("IsPlaceholder(%q) = false", give)
		}
		sec, name := idp.Secret(give), "Renamed"
		u, err := idp.Update{Name: &name, ClientSecret: &sec}.Validate()
		if err != nil || u.ClientSecret != nil {
			t.Errorf("%s: Validate() = secret %v, %v; want no secret, no error", give, u.ClientSecret, err)
			continue
		}
		pr := validCreate().New("p1", "u1", idp.TXTPrefix+"x", now)
		last4 := pr.ClientSecretLast4
		ch := u.Apply(pr, now.Add(time.Minute))
		if _, ok := ch["client_secret"]; ok || pr.ClientSecretLast4 != last4 || pr.Name != name {
			t.Errorf("%s: Apply changed %v, last4 %q (want %q), name %q", give, ch, pr.ClientSecretLast4, last4, pr.Name)
		}
	}
	for _, give := range []string{"[HIDDEN]", "[hidden] ", "hidden", secret} {
		if idp.IsPlaceholder(give) {
			t.Errorf("IsPlaceholder(%q) = true", give)
		}
	}
}

func TestSecretRedacted(t *testing.T) {
	c := validCreate()
	sec := idp.Secret(secret)
	u := idp.Update{ClientSecret: &sec}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("create", "input", c, "secret", c.ClientSecret)
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{fmt.Sprintf("%v %+v %#v %s %q", c, c, c, c.ClientSecret, c.ClientSecret),
		fmt.Sprintf("%v %+v %#v", u, *u.ClientSecret, *u.ClientSecret), logged.String(), string(js)} {
		if strings.Contains(out, secret) {
			t.Errorf("the secret shows in %s", out)
		}
	}
}

func TestUpdateApply(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	later := now.Add(time.Hour)
	base := func() *idp.Provider {
		return &idp.Provider{ID: "p1", Name: "A", Status: idp.Verified, Domains: []string{"a.example", "b.example"},
			HasClientSecret: true, ClientSecretLast4: "wxyz", Common: resource.Common{CreatedAt: now, UpdatedAt: now}}
	}
	disabled := func() *idp.Provider { p := base(); p.DisabledAt = now; return p }
	sec := idp.Secret("new-secret-0123456789")
	tests := []struct {
		name        string
		give        *idp.Provider
		update      idp.Update
		wantChanges resource.Changes
		wantStatus  idp.Status
		wantDisable time.Time
		wantLast4   string
	}{
		{"nothing", base(), idp.Update{}, resource.Changes{}, idp.Verified, time.Time{}, "wxyz"},
		{"same domains", base(), idp.Update{Domains: &[]string{"a.example", "b.example"}}, resource.Changes{}, idp.Verified, time.Time{}, "wxyz"},
		{"new domains reset the status", base(), idp.Update{Domains: &[]string{"a.example"}},
			resource.Changes{"domains": {"a.example,b.example", "a.example"}, "status": {"verified", "pending"}}, idp.Pending, time.Time{}, "wxyz"},
		{"reordered domains reset the status", base(), idp.Update{Domains: &[]string{"b.example", "a.example"}},
			resource.Changes{"domains": {"a.example,b.example", "b.example,a.example"}, "status": {"verified", "pending"}}, idp.Pending, time.Time{}, "wxyz"},
		{"disable", base(), idp.Update{Disable: true}, resource.Changes{"disabled_at": {nil, later}}, idp.Verified, later, "wxyz"},
		{"disable when disabled", disabled(), idp.Update{Disable: true}, resource.Changes{}, idp.Verified, now, "wxyz"},
		{"enable", disabled(), idp.Update{Enable: true}, resource.Changes{"disabled_at": {now, nil}}, idp.Verified, time.Time{}, "wxyz"},
		{"enable when enabled", base(), idp.Update{Enable: true}, resource.Changes{}, idp.Verified, time.Time{}, "wxyz"},
		{"new secret", base(), idp.Update{ClientSecret: &sec},
			resource.Changes{"client_secret": {idp.SecretHidden, idp.SecretChanged}}, idp.Verified, time.Time{}, "6789"},
	}
	for _, tt := range tests {
		p := tt.give
		ch := tt.update.Apply(p, later)
		if fmt.Sprint(ch) != fmt.Sprint(tt.wantChanges) {
			t.Errorf("%s: changes = %v, want %v", tt.name, ch, tt.wantChanges)
		}
		if p.Status != tt.wantStatus || !p.DisabledAt.Equal(tt.wantDisable) || p.ClientSecretLast4 != tt.wantLast4 {
			t.Errorf("%s: status %s, disabled_at %v, last4 %q; want %s, %v, %q", tt.name, p.Status, p.DisabledAt, p.ClientSecretLast4,
				tt.wantStatus, tt.wantDisable, tt.wantLast4)
		}
		if wantUpdated := len(tt.wantChanges) > 0; p.UpdatedAt.Equal(later) != wantUpdated {
			t.Errorf("%s: UpdatedAt = %v", tt.name, p.UpdatedAt)
		}
	}
}

func TestNewTXTRecord(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		r := idp.NewTXTRecord()
		rest, ok := strings.CutPrefix(r, idp.TXTPrefix)
		if !ok || len(rest) != 26 || strings.Trim(rest, "0123456789abcdefghjkmnpqrstvwxyz") != "" || seen[r] {
			t.Fatalf("NewTXTRecord() = %q", r)
		}
		seen[r] = true
	}
}

// keys returns static keys named by ids, the first current, each key
// derived from its id.
func keys(t testing.TB, ids ...string) *idp.StaticKeys {
	t.Helper()
	m := map[string][]byte{}
	for _, id := range ids {
		m[id] = bytes.Repeat([]byte(id[:1]), idp.KeySize)
	}
	k, err := idp.NewStaticKeys(ids[0], m)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var binding = idp.Binding{OrganizationID: "org1", ProviderID: "idp1", Field: idp.FieldClientSecret}

func TestSealOpenRoundTrip(t *testing.T) {
	ctx := context.Background()
	kp := keys(t, "k1")
	for _, plain := range []string{secret, "12345678", strings.Repeat("é", 300)} {
		s, err := idp.Seal(ctx, kp, binding, []byte(plain))
		if err != nil {
			t.Fatal(err)
		}
		if s.KeyID != "k1" || len(s.Nonce) != idp.NonceSize || bytes.Contains(s.Ciphertext, []byte(plain)) {
			t.Errorf("Seal = key %q, nonce %d bytes, ciphertext holds the plaintext: %v", s.KeyID, len(s.Nonce), bytes.Contains(s.Ciphertext, []byte(plain)))
		}
		got, err := idp.Open(ctx, kp, binding, s)
		if err != nil || string(got) != plain {
			t.Errorf("Open = %q, %v; want the plaintext", got, err)
		}
	}
}

// TestSealFreshNonce: sealing the same secret twice gives other nonces and
// ciphertexts.
func TestSealFreshNonce(t *testing.T) {
	ctx := context.Background()
	kp := keys(t, "k1")
	nonces, cts := map[string]bool{}, map[string]bool{}
	for range 50 {
		s, err := idp.Seal(ctx, kp, binding, []byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		if nonces[string(s.Nonce)] || cts[string(s.Ciphertext)] {
			t.Fatalf("a nonce or ciphertext repeats")
		}
		nonces[string(s.Nonce)], cts[string(s.Ciphertext)] = true, true
	}
}

// TestOpenRefusesTransplants: a sealed secret opens only for the
// organization, provider and field it was sealed for.
func TestOpenRefusesTransplants(t *testing.T) {
	ctx := context.Background()
	kp := keys(t, "k1")
	s, err := idp.Seal(ctx, kp, binding, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		give idp.Binding
	}{
		{"other organization", idp.Binding{OrganizationID: "org2", ProviderID: "idp1", Field: idp.FieldClientSecret}},
		{"other provider", idp.Binding{OrganizationID: "org1", ProviderID: "idp2", Field: idp.FieldClientSecret}},
		{"other field", idp.Binding{OrganizationID: "org1", ProviderID: "idp1", Field: "client_id"}},
		{"boundary moved between organization and provider", idp.Binding{OrganizationID: "org1i", ProviderID: "dp1", Field: idp.FieldClientSecret}},
		{"boundary moved between provider and field", idp.Binding{OrganizationID: "org1", ProviderID: "idp1c", Field: "lient_secret"}},
		{"empty binding", idp.Binding{}},
	}
	for _, tt := range tests {
		_, err := idp.Open(ctx, kp, tt.give, s)
		if !errors.Is(err, fault.ErrSecretCorrupt) || fault.KindOf(err) != fault.Internal {
			t.Errorf("%s: Open = %v, want fault.ErrSecretCorrupt", tt.name, err)
		}
	}
}

// TestOpenRefusesTampering: any change of a sealed secret fails with
// fault.ErrSecretCorrupt, including a key id changed to another known key.
func TestOpenRefusesTampering(t *testing.T) {
	ctx := context.Background()
	kp, err := idp.NewStaticKeys("k1", map[string][]byte{"k1": bytes.Repeat([]byte{1}, 32), "k2": bytes.Repeat([]byte{1}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		give func(*idp.Sealed)
	}{
		{"ciphertext byte flipped", func(s *idp.Sealed) { s.Ciphertext[0] ^= 1 }},
		{"tag byte flipped", func(s *idp.Sealed) { s.Ciphertext[len(s.Ciphertext)-1] ^= 0x80 }},
		{"ciphertext truncated", func(s *idp.Sealed) { s.Ciphertext = s.Ciphertext[:len(s.Ciphertext)-1] }},
		{"ciphertext extended", func(s *idp.Sealed) { s.Ciphertext = append(s.Ciphertext, 0) }},
		{"ciphertext empty", func(s *idp.Sealed) { s.Ciphertext = nil }},
		{"nonce byte flipped", func(s *idp.Sealed) { s.Nonce[11] ^= 1 }},
		{"nonce short", func(s *idp.Sealed) { s.Nonce = s.Nonce[:8] }},
		// k2 holds the same bytes as k1: only the key id in the AAD tells them apart.
		{"key id of another key", func(s *idp.Sealed) { s.KeyID = "k2" }},
		{"key id malformed", func(s *idp.Sealed) { s.KeyID = "k 1" }},
	}
	for _, tt := range tests {
		s, err := idp.Seal(ctx, kp, binding, []byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		tt.give(&s)
		if _, err := idp.Open(ctx, kp, binding, s); !errors.Is(err, fault.ErrSecretCorrupt) {
			t.Errorf("%s: Open = %v, want fault.ErrSecretCorrupt", tt.name, err)
		}
	}
}

func TestNoKeyProvider(t *testing.T) {
	ctx := context.Background()
	_, err := idp.Seal(ctx, nil, binding, []byte(secret))
	if !errors.Is(err, idp.ErrNoKeyProvider) || fault.KindOf(err) != fault.Internal {
		t.Errorf("Seal without keys = %v, want idp.ErrNoKeyProvider", err)
	}
	_, err = idp.Open(ctx, nil, binding, idp.Sealed{KeyID: "k1", Nonce: make([]byte, 12), Ciphertext: []byte{1}})
	if !errors.Is(err, idp.ErrNoKeyProvider) {
		t.Errorf("Open without keys = %v, want idp.ErrNoKeyProvider", err)
	}
}

// TestKeyRotation: a new current key seals new secrets; the old one still
// opens what it sealed until it is retired.
func TestKeyRotation(t *testing.T) {
	ctx := context.Background()
	old := keys(t, "k1")
	s1, err := idp.Seal(ctx, old, binding, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	rotated := keys(t, "k2", "k1")
	s2, err := idp.Seal(ctx, rotated, binding, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	if s2.KeyID != "k2" {
		t.Errorf("sealed with %q after rotation, want k2", s2.KeyID)
	}
	retired := keys(t, "k2")
	tests := []struct {
		name    string
		kp      idp.KeyProvider
		give    idp.Sealed
		wantErr bool
	}{
		{"old key, old secret", old, s1, false},
		{"rotated keys, old secret", rotated, s1, false},
		{"rotated keys, new secret", rotated, s2, false},
		{"old key retired, new secret", retired, s2, false},
		{"old key retired, old secret", retired, s1, true},
		{"old keys only, new secret", old, s2, true},
	}
	for _, tt := range tests {
		got, err := idp.Open(ctx, tt.kp, binding, tt.give)
		if (err != nil) != tt.wantErr || err == nil && string(got) != secret {
			t.Errorf("%s: Open = %q, %v; want error %v", tt.name, got, err, tt.wantErr)
		}
	}
}

// TestUnreadableError: the error names the providers (the first ten, then
// how many more) and unwraps to each one's cause.
func TestUnreadableError(t *testing.T) {
	tests := []struct {
		give int
		want string
	}{
		{1, "idp: 1 client secrets do not open: p0"},
		{10, "idp: 10 client secrets do not open: p0, p1, p2, p3, p4, p5, p6, p7, p8, p9"},
		{12, "idp: 12 client secrets do not open: p0, p1, p2, p3, p4, p5, p6, p7, p8, p9 and 2 more"},
	}
	for _, tt := range tests {
		e := &idp.UnreadableError{}
		for i := range tt.give {
			e.IDs, e.Errs = append(e.IDs, fmt.Sprintf("p%d", i)), append(e.Errs, fault.E("idp.Open", fault.Internal, fault.ErrSecretCorrupt))
		}
		if got := e.Error(); got != tt.want {
			t.Errorf("%d ids: %q, want %q", tt.give, got, tt.want)
		}
		if !errors.Is(e, fault.ErrSecretCorrupt) {
			t.Errorf("%d ids: does not unwrap to fault.ErrSecretCorrupt", tt.give)
		}
	}
}

func TestStaticKeys(t *testing.T) {
	k32 := bytes.Repeat([]byte{7}, 32)
	b64 := base64.StdEncoding.EncodeToString(k32)
	tests := []struct {
		name        string
		give        func() (*idp.StaticKeys, error)
		wantErr     bool
		wantCurrent string
	}{
		{"one key", func() (*idp.StaticKeys, error) { return idp.NewStaticKeys("a", map[string][]byte{"a": k32}) }, false, "a"},
		{"current missing", func() (*idp.StaticKeys, error) { return idp.NewStaticKeys("b", map[string][]byte{"a": k32}) }, true, ""},
		{"short key", func() (*idp.StaticKeys, error) { return idp.NewStaticKeys("a", map[string][]byte{"a": k32[:16]}) }, true, ""},
		{"bad key id", func() (*idp.StaticKeys, error) { return idp.NewStaticKeys("a b", map[string][]byte{"a b": k32}) }, true, ""},
		{"no keys", func() (*idp.StaticKeys, error) { return idp.NewStaticKeys("", nil) }, true, ""},
		{"parse two", func() (*idp.StaticKeys, error) { return idp.ParseStaticKeys("new=" + b64 + ", old=" + b64) }, false, "new"},
		{"parse empty", func() (*idp.StaticKeys, error) { return idp.ParseStaticKeys("") }, true, ""},
		{"parse without id", func() (*idp.StaticKeys, error) { return idp.ParseStaticKeys(b64[:43]) }, true, ""},
		{"parse bad base64", func() (*idp.StaticKeys, error) { return idp.ParseStaticKeys("a=!!!") }, true, ""},
		{"parse twice", func() (*idp.StaticKeys, error) { return idp.ParseStaticKeys("a=" + b64 + ",a=" + b64) }, true, ""},
		{"parse short key", func() (*idp.StaticKeys, error) {
			return idp.ParseStaticKeys("a=" + base64.StdEncoding.EncodeToString(k32[:31]))
		}, true, ""},
	}
	for _, tt := range tests {
		k, err := tt.give()
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: error %v, want error %v", tt.name, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		id, key, err := k.CurrentKey(context.Background())
		if err != nil || id != tt.wantCurrent || !bytes.Equal(key, k32) {
			t.Errorf("%s: CurrentKey = %q, %x, %v", tt.name, id, key, err)
		}
	}
	if k := idp.NewKey(); len(k) != idp.KeySize || bytes.Equal(k, idp.NewKey()) {
		t.Errorf("NewKey = %x", k)
	}
}

// fakeResolver answers TXT lookups from a table and records how far the
// deadline of each lookup is (-1: none).
type fakeResolver struct {
	answers   map[string]answer
	deadlines chan time.Duration
}

type answer struct {
	txt []string
	err error
}

func (f *fakeResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if f.deadlines != nil {
		d := time.Duration(-1) // no deadline
		if dl, ok := ctx.Deadline(); ok {
			d = time.Until(dl)
		}
		f.deadlines <- d
	}
	a, ok := f.answers[name]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	return a.txt, a.err
}

func TestVerify(t *testing.T) {
	const record = idp.TXTPrefix + "abc"
	good := answer{txt: []string{"v=spf1 -all", record}}
	nxdomain := answer{err: &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}}
	timeout := answer{err: &net.DNSError{Err: "i/o timeout", Name: "x", IsTimeout: true}}
	tests := []struct {
		name    string
		give    map[string]answer
		domains []string
		want    idp.Status
		wantPer []idp.Status
	}{
		{"every domain carries the record", map[string]answer{"a.example": good, "b.example": good}, []string{"a.example", "b.example"},
			idp.Verified, []idp.Status{idp.Verified, idp.Verified}},
		{"record padded with spaces", map[string]answer{"a.example": {txt: []string{" " + record + " "}}}, []string{"a.example"},
			idp.Verified, []idp.Status{idp.Verified}},
		{"one domain without the record", map[string]answer{"a.example": good, "b.example": {txt: []string{"other"}}}, []string{"a.example", "b.example"},
			idp.Pending, []idp.Status{idp.Verified, idp.Pending}},
		{"another provider's record", map[string]answer{"a.example": {txt: []string{idp.TXTPrefix + "abd", record + "x"}}}, []string{"a.example"},
			idp.Pending, []idp.Status{idp.Pending}},
		{"empty TXT answer", map[string]answer{"a.example": {}}, []string{"a.example"}, idp.Pending, []idp.Status{idp.Pending}},
		{"one domain does not exist", map[string]answer{"a.example": good, "b.example": nxdomain}, []string{"a.example", "b.example"},
			idp.Failed, []idp.Status{idp.Verified, idp.Failed}},
		{"a lookup times out", map[string]answer{"a.example": good, "b.example": timeout}, []string{"a.example", "b.example"},
			idp.Failed, []idp.Status{idp.Verified, idp.Failed}},
		{"a lookup's deadline passes", map[string]answer{"a.example": {err: context.DeadlineExceeded}}, []string{"a.example"},
			idp.Failed, []idp.Status{idp.Failed}},
		{"a server failure", map[string]answer{"a.example": {err: &net.DNSError{Err: "server misbehaving", IsTemporary: true}}}, []string{"a.example"},
			idp.Failed, []idp.Status{idp.Failed}},
		{"failure beats pending", map[string]answer{"a.example": {txt: []string{"other"}}, "b.example": nxdomain}, []string{"a.example", "b.example"},
			idp.Failed, []idp.Status{idp.Pending, idp.Failed}},
		{"no domains", nil, nil, idp.Pending, []idp.Status{}},
	}
	for _, tt := range tests {
		r := &fakeResolver{answers: tt.give, deadlines: make(chan time.Duration, len(tt.domains))}
		got, checks, err := idp.Verify(context.Background(), r, tt.domains, record)
		per := []idp.Status{}
		for i, c := range checks {
			per = append(per, c.Status)
			if c.Domain != tt.domains[i] || (c.Status == idp.Failed) != (c.Err != nil) {
				t.Errorf("%s: check %d = %+v", tt.name, i, c)
			}
		}
		if err != nil || got != tt.want || !slices.Equal(per, tt.wantPer) {
			t.Errorf("%s: Verify = %s %v, %v; want %s %v", tt.name, got, per, err, tt.want, tt.wantPer)
		}
		close(r.deadlines)
		for d := range r.deadlines {
			if d <= 0 || d > idp.LookupTimeout {
				t.Errorf("%s: a lookup's deadline is %v away, want at most %v", tt.name, d, idp.LookupTimeout)
			}
		}
	}
}

func TestVerifyCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := &fakeResolver{answers: map[string]answer{"a.example": {err: context.Canceled}}}
	if st, _, err := idp.Verify(ctx, r, []string{"a.example"}, "x"); !errors.Is(err, context.Canceled) || st != "" {
		t.Errorf("Verify with a cancelled context = %q, %v; want context.Canceled", st, err)
	}
}
