package httpapi_test

import (
	"testing"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/membership"
)

// TestVerifyIdentityProvider: POST /api/identity_providers/ID/verify looks
// the domains up now, for the owner only (an update of the provider), and
// answers the provider with its new status, written in one version; its
// body is empty, {"data":{}} or the provider's identifier, nothing more.
func TestVerifyIdentityProvider(t *testing.T) {
	s := newServer(t)
	attrs := `{"name":"Green SSO","client_id":"cid","client_secret":"s3cret-value","issuer":"https://login.green.example",
		"domains":"green.example","token_url":"https://login.green.example/token","authorize_url":"https://login.green.example/authorize",
		"jwks_url":"https://login.green.example/jwks"}`
	r := s.call(t, "POST", "/api/identity_providers", s.ownerToken,
		body("identity_providers", "", attrs, `{"organization":`+link("organizations", s.org.ID)+`}`)).want(t, 201, "")
	id, record := r.str("data.id"), r.str("data.attributes.txt_record")
	verify := func(tok, b string) response {
		return s.call(t, "POST", "/api/identity_providers/"+id+"/verify", tok, b)
	}

	// Not published yet: the domain does not exist, the answer is error.
	if r := verify(s.ownerToken, "").want(t, 200, ""); r.str("data.attributes.status") != "error" || r.str("data.id") != id {
		t.Errorf("unpublished: %s", r.raw)
	}
	reader, readerToken := s.user(t, "verify-reader@example.com")
	if _, err := s.p.As(provisioning.User(s.owner.ID)).AddMember(t.Context(), membership.Add{OrganizationID: s.org.ID, UserID: reader.ID}); err != nil {
		t.Fatal(err)
	}
	_, strangerToken := s.user(t, "verify-stranger@example.com")
	s.dns.m.Store("green.example", record)
	verify(readerToken, "").want(t, 401, "FORBIDDEN") // the wire's refusal
	verify(strangerToken, "").want(t, 404, "")
	verify(s.ownerToken, body("memberships", id, "", "")).want(t, 400, "TYPE_MISMATCH")
	verify(s.ownerToken, body("identity_providers", id, `{"name":"x"}`, "")).want(t, 400, "")
	if r := s.call(t, "GET", "/api/identity_providers/"+id, s.ownerToken, "").want(t, 200, ""); r.str("data.attributes.status") != "error" {
		t.Errorf("refused verifications changed the status: %s", r.raw)
	}

	r = verify(s.ownerToken, `{"data":{}}`).want(t, 200, "")
	if r.str("data.attributes.status") != "verified" || r.str("data.type") != "identity_providers" {
		t.Errorf("published: %s", r.raw)
	}
	if r := verify(s.ownerToken, body("identity_providers", id, "", "")).want(t, 200, ""); r.str("data.attributes.status") != "verified" {
		t.Errorf("again: %s", r.raw)
	}
	page, err := s.p.As(provisioning.User(s.owner.ID)).ListVersions(t.Context(), audit.Filter{OrganizationID: s.org.ID, ResourceID: id})
	if err != nil {
		t.Fatal(err)
	}
	var statuses []string
	for _, v := range page.Items {
		if d, ok := v.Changes["status"]; ok && v.Event == audit.Update {
			statuses = append(statuses, d[0].(string)+">"+d[1].(string))
		}
	}
	if len(statuses) != 2 || statuses[0] != "pending>error" || statuses[1] != "error>verified" {
		t.Errorf("status versions = %q, want pending>error, error>verified", statuses)
	}
}
