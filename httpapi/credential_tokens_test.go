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

// grantResponse asks POST /oauth/token for a token of a client id and secret.
func (s *server) grantResponse(t testing.TB, clientID, secret string) response {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+"/oauth/token", strings.NewReader(url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return s.send(t, req)
}

// grant returns a token of a client id and secret from POST /oauth/token.
func (s *server) grant(t testing.TB, clientID, secret string) string {
	t.Helper()
	r := s.grantResponse(t, clientID, secret)
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

// TestRotateCredential: POST /api/api_credentials/ID/rotate answers the
// credential with a new client secret, once; without overlap the previous
// secret and its tokens end at once (401 INVALID_TOKEN), with one they keep
// working; bad input is refused and changes nothing.
func TestRotateCredential(t *testing.T) {
	s := newServer(t)
	id, clientID, first, tok := s.credentialToken(t)
	rotate := func(tok, body string) response {
		return s.call(t, "POST", "/api/api_credentials/"+id+"/rotate", tok, body)
	}
	for _, tt := range []struct {
		name, give string
		wantStatus int
		wantCode   string
	}{
		{"negative overlap", body("api_credentials", id, `{"overlap":-1}`, ""), 422, "VALIDATION_ERROR"},
		{"overlap beyond 30 days", body("api_credentials", id, `{"overlap":2592001}`, ""), 422, "VALIDATION_ERROR"},
		{"overlap beyond a duration", body("api_credentials", id, `{"overlap":9223372036854775807}`, ""), 422, "VALIDATION_ERROR"},
		{"overlap not a number", body("api_credentials", id, `{"overlap":"1h"}`, ""), 400, "INVALID_FIELD_VALUE"},
		{"another attribute", body("api_credentials", id, `{"name":"x"}`, ""), 400, "PARAM_NOT_ALLOWED"},
		{"another id", body("api_credentials", "other", `{}`, ""), 400, "KEY_NOT_INCLUDED_IN_URL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := rotate(s.ownerToken, tt.give).want(t, tt.wantStatus, tt.wantCode)
			if tt.wantStatus == 422 && r.str("errors.0.source.pointer") != "/data/attributes/overlap" {
				t.Errorf("error: %s; want it on /data/attributes/overlap", r.raw)
			}
		})
	}
	s.call(t, "POST", "/api/api_credentials/"+s.org.ID+"/rotate", s.ownerToken, "").want(t, 404, "")
	_, strangerToken := s.user(t, "stranger@example.com")
	rotate(strangerToken, "").want(t, 404, "")
	s.call(t, "GET", "/api/roles", tok, "").want(t, 200, "") // nothing was rotated

	r := rotate(s.ownerToken, "").want(t, 200, "")
	second := r.str("data.attributes.client_secret")
	if r.str("data.id") != id || r.str("data.attributes.client_id") != clientID || second == "" || second == first {
		t.Fatalf("rotation response: %s; want the credential with a new client_secret", r.raw)
	}
	if r := s.call(t, "GET", "/api/api_credentials/"+id, s.ownerToken, ""); r.get("data.attributes.client_secret") != nil {
		t.Errorf("client_secret shown after the rotation: %s", r.raw)
	}
	s.call(t, "GET", "/api/roles", tok, "").want(t, 401, "INVALID_TOKEN") // no overlap: the old token ends now
	if r := s.grantResponse(t, clientID, first); r.status != 401 {
		t.Errorf("the previous secret after a rotation without overlap: %d %s", r.status, r.raw)
	}
	tok2 := s.grant(t, clientID, second)

	r = rotate(s.ownerToken, body("api_credentials", id, `{"overlap":3600}`, "")).want(t, 200, "")
	third := r.str("data.attributes.client_secret")
	s.call(t, "GET", "/api/roles", tok2, "").want(t, 200, "") // within the overlap
	s.grant(t, clientID, second)
	s.call(t, "GET", "/api/roles", s.grant(t, clientID, third), "").want(t, 200, "")
}
