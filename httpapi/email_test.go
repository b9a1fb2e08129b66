package httpapi_test

import (
	"testing"

	"github.com/provisionkit/provisioning/user"
)

// PATCH /api/user with an email answers the user with the address
// pending; PATCH /api/user/confirm_email with the code sets it, verified.
func TestEmailChangeOverHTTP(t *testing.T) {
	s := newServer(t)
	u, tok := s.user(t, "ada@example.com")
	r := s.call(t, "PATCH", "/api/user", tok, body("users", "", `{"email":"Ada.New@Example.com","first_name":"Ada"}`, "")).want(t, 200, "")
	if r.str("data.attributes.email") != "ada@example.com" || r.str("data.attributes.pending_email") != "ada.new@example.com" ||
		r.get("data.attributes.pending_email_expires_at") == nil || r.get("data.attributes.email_verified") != true ||
		r.str("data.attributes.first_name") != "Ada" {
		t.Fatalf("PATCH /api/user with an email: %s; want the address pending, the name changed", r.raw)
	}
	code := s.mail.lastChange(t).Code

	refused := []struct {
		name        string
		giveBody    string
		wantStatus  int
		wantCode    string
		wantPointer string
	}{
		{"wrong code", body("users", "", `{"code":"wrong"}`, ""), 422, "INVALID_CODE", "/data/attributes/code"},
		{"no code", body("users", "", `{}`, ""), 400, "PARAM_MISSING", "/data/attributes/code"},
		{"code and email", body("users", "", `{"code":"`+code+`","email":"x@example.com"}`, ""), 400, "PARAM_NOT_ALLOWED", "/data/attributes/email"},
		{"another type", body("memberships", "", `{"code":"`+code+`"}`, ""), 400, "TYPE_MISMATCH", "/data/type"},
	}
	for _, tt := range refused {
		r := s.call(t, "PATCH", "/api/user/confirm_email", tok, tt.giveBody).want(t, tt.wantStatus, tt.wantCode)
		if got := r.str("errors.0.source.pointer"); got != tt.wantPointer {
			t.Errorf("%s: pointer %q, want %q: %s", tt.name, got, tt.wantPointer, r.raw)
		}
	}
	if got := s.call(t, "GET", "/api/user", tok, "").want(t, 200, ""); got.str("data.attributes.email") != "ada@example.com" {
		t.Fatalf("after refused confirmations: %s; want the address unchanged", got.raw)
	}

	r = s.call(t, "PATCH", "/api/user/confirm_email", tok, body("users", "", `{"code":"`+code+`"}`, "")).want(t, 200, "")
	if r.str("data.id") != u.ID || r.str("data.attributes.email") != "ada.new@example.com" || r.get("data.attributes.pending_email") != nil ||
		r.get("data.attributes.email_verified") != true || r.get("data.attributes.email_verified_at") == nil {
		t.Fatalf("confirmed: %s; want the new address, verified, nothing pending", r.raw)
	}
	s.call(t, "PATCH", "/api/user/confirm_email", tok, body("users", "", `{"code":"`+code+`"}`, "")).want(t, 422, "INVALID_CODE")

	// The verification is the library's to set, not the client's.
	for _, attr := range []string{`{"email_verified":true}`, `{"email_verified_at":"2026-01-01T00:00:00Z"}`, `{"pending_email":"x@example.com"}`} {
		s.call(t, "PATCH", "/api/user", tok, body("users", "", attr, "")).want(t, 400, "PARAM_NOT_ALLOWED")
	}
}

// A user whose address is not verified shows it, and is made a member by
// neither membership API.
func TestUnverifiedUserOverHTTP(t *testing.T) {
	s := newServer(t)
	u, tok := s.signUp(t, user.Create{Email: "unproven@example.com"})
	if r := s.call(t, "GET", "/api/user", tok, "").want(t, 200, ""); r.get("data.attributes.email_verified") != false || r.get("data.attributes.email_verified_at") != nil {
		t.Errorf("an unverified user: %s", r.raw)
	}
	s.json(t, "PUT", "/memberships/"+s.org.ID+"/"+u.ID, s.ownerToken, `{"roleIds":["`+s.readOnly.ID+`"]}`).problem(t, 403)
	s.json(t, "POST", "/v1/organizations/"+eciOrg(s.org)+"/members", s.ownerToken, `{"userId":"`+u.ID+`","isMfaRequired":false}`).problem(t, 403)
	if r := s.json(t, "PUT", "/memberships/"+s.org.ID+"/"+u.ID, s.ownerToken, `{"roleIds":["`+s.readOnly.ID+`"]}`); r.str("code") != "EMAIL_NOT_VERIFIED" {
		t.Errorf("the upsert of an unverified user: %s; want code EMAIL_NOT_VERIFIED", r.raw)
	}
}
