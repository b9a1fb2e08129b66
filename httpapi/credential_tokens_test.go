package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// credentialToken creates an integration credential with the admin role
// over HTTP and returns its id, its client id and secret, and a token of it
// from POST /oauth/token.
func (s *server) credentialToken(t testing.TB) (id, clientID, secret, tok string) {
	t.Helper()
	r := s.call(t, "POST", "/api/api_credentials", s.ownerToken, body("api_credentials", "", `{"name":"Job","kind":"integration"}`,
		`{"organization":`+link("organizations", s.org.ID)+`,"role":`+link("roles", s.admin.ID)+`}`)).want(t, 201, "")
	id, clientID, secret = r.str("data.id"), r.str("data.attributes.client_id"), r.str("data.attributes.client_secret")
	return id, clientID, secret, s.grant(t, clientID, secret)
}

// grant asks POST /oauth/token for a token of a client id and secret.
func (s *server) grant(t testing.TB, clientID, secret string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+"/oauth/token", strings.NewReader(url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r := s.send(t, req)
	tok, _ := r.doc["access_token"].(string)
	if r.status != 200 || tok == "" {
		t.Fatalf("token response: %d %s", r.status, r.raw)
	}
	return tok
}

// TestDeletedCredentialTokenIsRefused: once an API credential is deleted,
// the tokens it obtained answer 401 INVALID_TOKEN, from the next request on
// (they answered 200 with empty lists).
func TestDeletedCredentialTokenIsRefused(t *testing.T) {
	s := newServer(t)
	id, _, _, tok := s.credentialToken(t)
	paths := []string{"/api/memberships", "/api/roles", "/api/organizations/" + s.org.ID}
	for _, p := range paths {
		s.call(t, "GET", p, tok, "").want(t, 200, "")
	}
	s.call(t, "DELETE", "/api/api_credentials/"+id, s.ownerToken, "").want(t, 204, "")
	for _, p := range paths {
		s.call(t, "GET", p, tok, "").want(t, 401, "INVALID_TOKEN")
	}
}

// TestCredentialListsItsOrganization: GET /api/organizations with a
// credential's token answers its one organization, as GET
// /api/organizations/ID does (it answered 401 FORBIDDEN).
func TestCredentialListsItsOrganization(t *testing.T) {
	s := newServer(t)
	_, _, _, tok := s.credentialToken(t)
	r := s.call(t, "GET", "/api/organizations", tok, "").want(t, 200, "")
	if r.count("data") != 1 || r.str("data.0.id") != s.org.ID || r.get("meta.record_count") != 1.0 {
		t.Fatalf("organizations of the credential: %s", r.raw)
	}
	s.call(t, "GET", "/api/organizations/"+s.org.ID, tok, "").want(t, 200, "")
}
