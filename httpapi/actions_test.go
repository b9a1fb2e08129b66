package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
)

// TestRelatedAndActions drives the related endpoints, the actions and the
// trigger attributes through HTTP.
func TestRelatedAndActions(t *testing.T) {
	s := newServer(t)
	orgLink := `{"organization":` + link("organizations", s.org.ID) + `}`
	r := s.call(t, "POST", "/api/memberships", s.ownerToken, body("memberships", "", `{"user_email":"ann@example.com","access_scope":"test_access","membership_profile":null}`,
		`{"organization":`+link("organizations", s.org.ID)+`,"role":`+link("roles", s.readOnly.ID)+`,"application_memberships":{"data":[]}}`)).want(t, 201, "")
	m := r.str("data.id")
	if r.str("data.attributes.status") != "pending" || r.get("data.attributes.test_enabled") != true {
		t.Errorf("invited membership: %s", r.raw)
	}
	s.call(t, "GET", "/api/memberships/"+m+"/organization", s.ownerToken, "").want(t, 200, "")
	if r := s.call(t, "GET", "/api/memberships/"+m+"/role?fields[roles]=name", s.ownerToken, "").want(t, 200, ""); r.str("data.id") != s.readOnly.ID {
		t.Errorf("role of the membership: %s", r.raw)
	}
	if r := s.call(t, "GET", "/api/memberships/"+m+"/membership_profile", s.ownerToken, "").want(t, 200, ""); r.raw != `{"data":null}` {
		t.Errorf("no profile: %s; want data null", r.raw)
	}
	if r := s.call(t, "GET", "/api/roles/"+s.readOnly.ID+"/memberships", s.ownerToken, "").want(t, 200, ""); r.get("meta.record_count") != 1.0 {
		t.Errorf("memberships of the role: %s", r.raw)
	}
	if r := s.call(t, "GET", "/api/organizations/"+s.org.ID+"/api_credentials", s.ownerToken, "").want(t, 200, ""); r.get("meta.record_count") != 2.0 {
		t.Errorf("credentials of the organization: %v", r.get("meta"))
	}
	s.call(t, "POST", "/api/memberships/"+m+"/resend", s.ownerToken, `{"data":{}}`).want(t, 202, "")
	r = s.call(t, "PATCH", "/api/memberships/"+m, s.ownerToken, body("memberships", m, `{"access_scope":null}`, `{"role":`+link("roles", s.admin.ID)+`}`)).want(t, 200, "")
	if r.get("data.attributes.access_scope") != nil {
		t.Errorf("access_scope null: %s", r.raw)
	}
	if r := s.call(t, "GET", "/api/memberships/"+m+"/versions", s.ownerToken, "").want(t, 200, ""); r.get("meta.record_count") != 3.0 {
		t.Errorf("versions of the membership (create, resend, update): %v", r.get("meta"))
	}

	// Roles: create, _add_missing_base_permissions, permissions.
	r = s.call(t, "POST", "/api/roles", s.ownerToken, body("roles", "", `{"name":"Support"}`, orgLink)).want(t, 201, "")
	support := r.str("data.id")
	s.call(t, "PATCH", "/api/roles/"+support, s.ownerToken, body("roles", support, `{"_add_missing_base_permissions":true}`, "")).want(t, 200, "")
	if r := s.call(t, "GET", "/api/roles/"+support+"/permissions", s.ownerToken, ""); r.get("meta.record_count") == 0.0 {
		t.Errorf("_add_missing_base_permissions added none: %s", r.raw)
	}

	// Identity providers: create, _disable, _enable, the user relationship.
	idpAttrs := `{"name":"Blue SSO","client_id":"cid","client_secret":"s3cret-value","issuer":"https://login.blue.example",
		"domains":"blue.example","token_url":"https://login.blue.example/token","authorize_url":"https://login.blue.example/authorize",
		"jwks_url":"https://login.blue.example/jwks","organization":"org_1"}`
	r = s.call(t, "POST", "/api/identity_providers", s.ownerToken, body("identity_providers", "", idpAttrs, orgLink)).want(t, 201, "")
	p := r.str("data.id")
	if r.str("data.attributes.organization") != "org_1" || strings.Contains(r.raw, "s3cret-value") {
		t.Errorf("identity provider: %s", r.raw)
	}
	if r := s.call(t, "PATCH", "/api/identity_providers/"+p, s.ownerToken, body("identity_providers", p, `{"_disable":true}`, "")).want(t, 200, ""); r.get("data.attributes.disabled_at") == nil {
		t.Errorf("_disable: %s", r.raw)
	}
	if r := s.call(t, "PATCH", "/api/identity_providers/"+p, s.ownerToken, body("identity_providers", p, `{"_enable":true}`, "")).want(t, 200, ""); r.get("data.attributes.disabled_at") != nil {
		t.Errorf("_enable: %s", r.raw)
	}
	if r := s.call(t, "GET", "/api/identity_providers/"+p+"/user", s.ownerToken, "").want(t, 200, ""); r.str("data.id") != s.owner.ID {
		t.Errorf("user of the provider: %s", r.raw)
	}
	// Another member sees the creator (a fellow member); a stranger sees nothing.
	reader, readerToken := s.user(t, "idp-reader@example.com")
	if _, err := s.p.As(provisioning.User(s.owner.ID)).AddMember(t.Context(), membership.Add{OrganizationID: s.org.ID, UserID: reader.ID}); err != nil {
		t.Fatal(err)
	}
	if r := s.call(t, "GET", "/api/identity_providers/"+p+"/user", readerToken, "").want(t, 200, ""); r.str("data.attributes.email") != s.owner.Email {
		t.Errorf("the creator, for another member: %s", r.raw)
	}
	_, strangerToken := s.user(t, "idp-stranger@example.com")
	s.call(t, "GET", "/api/identity_providers/"+p+"/user", strangerToken, "").want(t, 404, "")

	// Transfer ownership, both body shapes: to a stranger (refused), then, the CLI shape, to bob.
	s.call(t, "PATCH", "/api/organizations/"+s.org.ID+"/transfer_ownership", s.ownerToken,
		body("organizations", s.org.ID, `{"new_owner_email":"nobody@example.com"}`, "")).want(t, 422, "VALIDATION_ERROR")
	_, bobToken := s.user(t, "bob@example.com")
	s.call(t, "POST", "/api/memberships", s.ownerToken, body("memberships", "", `{"user_email":"bob@example.com"}`,
		`{"organization":`+link("organizations", s.org.ID)+`,"role":`+link("roles", s.admin.ID)+`}`)).want(t, 201, "")
	s.call(t, "PATCH", "/api/organizations/"+s.org.ID+"/transfer_ownership", s.ownerToken, `{"data":{"new_owner_email":"bob@example.com"}}`).want(t, 202, "")
	if r := s.call(t, "GET", "/api/memberships?filter[q][owner_eq]=true", bobToken, "").want(t, 200, ""); r.count("data") != 1 ||
		r.str("data.0.attributes.user_email") != "bob@example.com" {
		t.Errorf("the owner's membership, by the owner filter: %s", r.raw)
	}
	if r := s.call(t, "GET", "/api/memberships?filter[q][user_email_eq]=bob@example.com", bobToken, "").want(t, 200, ""); r.get("data.0.attributes.owner") != true {
		t.Errorf("bob owns the organization now: %s", r.raw)
	}
}

// TestTokenEndpoint issues a token for an API credential (client
// credentials grant) and acts with it.
func TestTokenEndpoint(t *testing.T) {
	s := newServer(t)
	r := s.call(t, "POST", "/api/api_credentials", s.ownerToken, body("api_credentials", "", `{"name":"Job","kind":"integration"}`,
		`{"organization":`+link("organizations", s.org.ID)+`,"role":`+link("roles", s.readOnly.ID)+`}`)).want(t, 201, "")
	clientID, secret := r.str("data.attributes.client_id"), r.str("data.attributes.client_secret")
	if secret == "" {
		t.Fatalf("no client_secret in the creation response: %s", r.raw)
	}
	if r := s.call(t, "GET", "/api/api_credentials/"+r.str("data.id"), s.ownerToken, ""); r.get("data.attributes.client_secret") != nil {
		t.Errorf("client_secret shown after creation: %s", r.raw)
	}
	grant := func(id, sec string) response {
		req, _ := http.NewRequest("POST", s.URL+"/oauth/token", strings.NewReader(url.Values{
			"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {sec}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return s.send(t, req)
	}
	if r := grant(clientID, "wrong"); r.status != 401 || r.doc["error"] != "invalid_client" {
		t.Fatalf("bad secret: %d %s", r.status, r.raw)
	}
	r = grant(clientID, secret)
	tok, _ := r.doc["access_token"].(string)
	if r.status != 200 || tok == "" || r.doc["token_type"] != "bearer" || r.doc["expires_in"] != 3600.0 {
		t.Fatalf("token response: %d %s", r.status, r.raw)
	}
	if r := s.call(t, "GET", "/api/roles", tok, "").want(t, 200, ""); r.get("meta.record_count") != 2.0 {
		t.Errorf("roles read by the credential: %v", r.get("meta"))
	}
	s.call(t, "POST", "/api/roles", tok, body("roles", "", `{"name":"x"}`, `{"organization":`+link("organizations", s.org.ID)+`}`)).want(t, 401, "FORBIDDEN")
}

// TestActionBodies checks that the bodies of the actions name the resource
// of the URL as every other body does: a data.type of another type is 400
// TYPE_MISMATCH, a data.id of another resource 400 KEY_NOT_INCLUDED_IN_URL,
// and what the action does not read 400 PARAM_NOT_ALLOWED; nothing is done.
func TestActionBodies(t *testing.T) {
	s := newServer(t)
	ctx := t.Context()
	other, err := s.p.As(provisioning.User(s.owner.ID)).CreateOrganization(ctx, organization.Create{Name: "The Red Brand"})
	if err != nil {
		t.Fatal(err)
	}
	s.user(t, "bob@example.com") // signed up: the membership is active
	s.call(t, "POST", "/api/memberships", s.ownerToken, body("memberships", "", `{"user_email":"bob@example.com"}`,
		`{"organization":`+link("organizations", s.org.ID)+`,"role":`+link("roles", s.admin.ID)+`}`)).want(t, 201, "")
	r := s.call(t, "POST", "/api/memberships", s.ownerToken, body("memberships", "", `{"user_email":"carol@example.com"}`,
		`{"organization":`+link("organizations", s.org.ID)+`,"role":`+link("roles", s.readOnly.ID)+`}`)).want(t, 201, "")
	m, bobMembership := r.str("data.id"), ""
	if page, err := s.p.As(provisioning.User(s.owner.ID)).ListMemberships(ctx, membership.Filter{OrganizationID: s.org.ID}); err == nil {
		for _, x := range page.Items {
			if x.UserEmail == "bob@example.com" {
				bobMembership = x.ID
			}
		}
	}
	if bobMembership == "" {
		t.Fatal("no membership of bob")
	}
	transfer := "/api/organizations/" + s.org.ID + "/transfer_ownership"
	resend := "/api/memberships/" + m + "/resend"
	for _, tt := range []struct {
		name, path, body, code, pointer string
	}{
		{"short form, another type", transfer, `{"data":{"type":"roles","new_owner_email":"bob@example.com"}}`, "TYPE_MISMATCH", "/data/type"},
		{"short form, type null", transfer, `{"data":{"type":null,"new_owner_email":"bob@example.com"}}`, "TYPE_MISMATCH", "/data/type"},
		{"short form, another organization", transfer, `{"data":{"type":"organizations","id":"` + other.ID + `","new_owner_email":"bob@example.com"}}`, "KEY_NOT_INCLUDED_IN_URL", "/data/id"},
		{"short form, no type, another organization", transfer, `{"data":{"id":"` + other.ID + `","new_owner_email":"bob@example.com"}}`, "KEY_NOT_INCLUDED_IN_URL", "/data/id"},
		{"short form and attributes", transfer, `{"data":{"new_owner_email":"bob@example.com","attributes":{"new_owner_email":"carol@example.com"}}}`, "PARAM_NOT_ALLOWED", "/data/attributes/new_owner_email"},
		{"long form, another type", transfer, body("roles", s.org.ID, `{"new_owner_email":"bob@example.com"}`, ""), "TYPE_MISMATCH", "/data/type"},
		{"long form, another organization", transfer, body("organizations", other.ID, `{"new_owner_email":"bob@example.com"}`, ""), "KEY_NOT_INCLUDED_IN_URL", "/data/id"},
		{"resend, another type", resend, `{"data":{"type":"organizations"}}`, "TYPE_MISMATCH", "/data/type"},
		{"resend, another membership", resend, `{"data":{"type":"memberships","id":"` + bobMembership + `"}}`, "KEY_NOT_INCLUDED_IN_URL", "/data/id"},
		{"resend, attributes", resend, `{"data":{"attributes":{"user_email":"x@example.com"}}}`, "PARAM_NOT_ALLOWED", "/data/attributes/user_email"},
		{"resend, a member twice", resend, `{"data":{},"data":{}}`, "DUPLICATE_KEY", "/data"},
		{"resend, not a document", resend, `[]`, "BAD_REQUEST", ""},
	} {
		method := "PATCH"
		if tt.path == resend {
			method = "POST"
		}
		r := s.call(t, method, tt.path, s.ownerToken, tt.body).want(t, 400, tt.code)
		if r.str("errors.0.source.pointer") != tt.pointer {
			t.Errorf("%s: %s; want the pointer %q", tt.name, r.raw, tt.pointer)
		}
	}
	versions := func(id string) any {
		return s.call(t, "GET", "/api/memberships/"+id+"/versions", s.ownerToken, "").want(t, 200, "").get("meta.record_count")
	}
	if n := versions(m); n != 1.0 {
		t.Errorf("versions of the invitation after the refused resends: %v; want 1", n)
	}
	if r := s.call(t, "GET", "/api/organizations/"+s.org.ID+"/memberships?filter[q][owner_eq]=true", s.ownerToken, ""); r.str("data.0.attributes.user_email") != s.owner.Email {
		t.Fatalf("the owner after the refused transfers: %s", r.raw)
	}

	// What the SDK and the CLI send is served.
	s.call(t, "POST", resend, s.ownerToken, "").want(t, 202, "")
	s.call(t, "POST", resend, s.ownerToken, `{"data":{}}`).want(t, 202, "")
	s.call(t, "POST", resend, s.ownerToken, `{"data":{"type":"memberships","id":"`+m+`"}}`).want(t, 202, "")
	if n := versions(m); n != 4.0 {
		t.Errorf("versions of the invitation after three resends: %v; want 4", n)
	}
	s.call(t, "PATCH", transfer, s.ownerToken, `{"data":{"type":"organizations","id":"`+s.org.ID+`","new_owner_email":"bob@example.com"}}`).want(t, 202, "")
	if r := s.call(t, "GET", "/api/organizations/"+s.org.ID+"/memberships?filter[q][owner_eq]=true", s.ownerToken, ""); r.str("data.0.attributes.user_email") != "bob@example.com" {
		t.Errorf("the owner after the transfer: %s", r.raw)
	}
}
