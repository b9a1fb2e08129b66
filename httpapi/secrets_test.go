package httpapi_test

import (
	"encoding/json"
	"testing"

	"github.com/provisionkit/provisioning/idp"
)

// TestSecretRoundTrip: a client that sends back what it read never loses a
// secret. An identity provider's read shows client_secret "[hidden]"; a
// PATCH that carries it back (with the other writable attributes read, one
// of them changed) keeps the stored secret, and a create with a placeholder
// is refused with 422 on client_secret. An API credential's client_secret is
// read-only (shown only in its creation response): a PATCH carrying it is
// refused with 400, as every read-only attribute, and the secret still works.
func TestSecretRoundTrip(t *testing.T) {
	s := newServer(t)
	ctx := t.Context()
	orgLink := `{"organization":` + link("organizations", s.org.ID) + `}`
	const clear = "s3cret-value-0123456789"
	attrs := `{"name":"Blue SSO","client_id":"cid","client_secret":"` + clear + `","issuer":"https://login.blue.example",
		"domains":"blue.example","token_url":"https://login.blue.example/token","authorize_url":"https://login.blue.example/authorize",
		"jwks_url":"https://login.blue.example/jwks","organization":"org_1"}`
	p := s.call(t, "POST", "/api/identity_providers", s.ownerToken, body("identity_providers", "", attrs, orgLink)).want(t, 201, "").str("data.id")
	stored := func() string {
		t.Helper()
		var sealed idp.Sealed
		if err := s.db.NewSelect().Table("provisioning_identity_providers").
			Column("client_secret_key_id", "client_secret_nonce", "client_secret_ciphertext").Where("id = ?", p).
			Scan(ctx, &sealed.KeyID, &sealed.Nonce, &sealed.Ciphertext); err != nil {
			t.Fatal(err)
		}
		keys, err := idp.ParseStaticKeys(testKeys)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := idp.Open(ctx, keys, idp.Binding{OrganizationID: s.org.ID, ProviderID: p, Field: idp.FieldClientSecret}, sealed)
		if err != nil {
			t.Fatal(err)
		}
		return string(plain)
	}

	read := s.call(t, "GET", "/api/identity_providers/"+p, s.ownerToken, "").want(t, 200, "")
	if got := read.str("data.attributes.client_secret"); got != idp.SecretHidden {
		t.Fatalf("client_secret read as %q, want %q", got, idp.SecretHidden)
	}
	back := map[string]any{}
	for _, a := range []string{"name", "client_id", "client_secret", "issuer", "domains", "token_url", "authorize_url", "jwks_url", "organization"} {
		back[a] = read.get("data.attributes." + a)
	}
	back["name"] = "Blue SSO 2"
	js, err := json.Marshal(back)
	if err != nil {
		t.Fatal(err)
	}
	r := s.call(t, "PATCH", "/api/identity_providers/"+p, s.ownerToken, body("identity_providers", p, string(js), "")).want(t, 200, "")
	if r.str("data.attributes.name") != "Blue SSO 2" || r.str("data.attributes.client_secret") != idp.SecretHidden {
		t.Errorf("round trip: %s", r.raw)
	}
	if got := stored(); got != clear {
		t.Errorf("the stored secret became %q after a round trip", got)
	}
	s.call(t, "PATCH", "/api/identity_providers/"+p, s.ownerToken, body("identity_providers", p, `{"client_secret":"another-Secret-value"}`, "")).want(t, 200, "")
	if got := stored(); got != "another-Secret-value" {
		t.Errorf("a new secret was stored as %q", got)
	}

	var created map[string]any
	if err := json.Unmarshal([]byte(attrs), &created); err != nil {
		t.Fatal(err)
	}
	created["name"], created["client_secret"] = "Green SSO", idp.SecretHidden
	js, err = json.Marshal(created)
	if err != nil {
		t.Fatal(err)
	}
	r = s.call(t, "POST", "/api/identity_providers", s.ownerToken, body("identity_providers", "", string(js), orgLink)).want(t, 422, "")
	if got := r.str("errors.0.source.pointer"); got != "/data/attributes/client_secret" {
		t.Errorf("placeholder at creation: pointer %q; %s", got, r.raw)
	}

	r = s.call(t, "POST", "/api/api_credentials", s.ownerToken, body("api_credentials", "", `{"name":"Job","kind":"integration"}`,
		`{"organization":`+link("organizations", s.org.ID)+`,"role":`+link("roles", s.readOnly.ID)+`}`)).want(t, 201, "")
	cred, clientID, secret := r.str("data.id"), r.str("data.attributes.client_id"), r.str("data.attributes.client_secret")
	for _, give := range []string{`null`, `"` + secret + `"`, `"[hidden]"`} {
		r := s.call(t, "PATCH", "/api/api_credentials/"+cred, s.ownerToken, body("api_credentials", cred, `{"name":"Job 2","client_secret":`+give+`}`, "")).
			want(t, 400, "PARAM_NOT_ALLOWED")
		if got := r.str("errors.0.source.pointer"); got != "/data/attributes/client_secret" {
			t.Errorf("credential client_secret %s: pointer %q", give, got)
		}
	}
	if _, err := s.p.Authenticate(ctx, clientID, secret); err != nil {
		t.Errorf("the credential's secret no longer authenticates: %v", err)
	}
}
