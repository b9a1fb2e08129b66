package httpapi_test

import (
	"strings"
	"testing"

	"github.com/provisionkit/provisioning/httpapi"
)

// TestRequiredRelationships sends every create route without each of its
// required relationships (absent, then null): each is 422 naming
// /data/relationships/<name>, and nothing is made. Every create route is
// in the table.
func TestRequiredRelationships(t *testing.T) {
	s := newServer(t)
	r := s.call(t, "POST", "/api/api_credentials", s.ownerToken, body("api_credentials", "", `{"name":"Job","kind":"integration"}`,
		`{"organization":`+link("organizations", s.org.ID)+`,"role":`+link("roles", s.readOnly.ID)+`}`)).want(t, 201, "")
	cred := r.str("data.id")
	r = s.call(t, "POST", "/api/memberships", s.ownerToken, body("memberships", "", `{"user_email":"ann@example.com"}`,
		`{"organization":`+link("organizations", s.org.ID)+`,"role":`+link("roles", s.readOnly.ID)+`}`)).want(t, 201, "")
	member := r.str("data.id")
	links := map[string]string{"organization": link("organizations", s.org.ID), "role": link("roles", s.readOnly.ID),
		"api_credential": link("api_credentials", cred), "membership": link("memberships", member)}
	tested := map[string]bool{}
	for _, tt := range []struct {
		typ, attrs string
		required   []string // the relationships it needs
		optional   []string // linked too, to leave only one missing
	}{
		{typ: "organizations", attrs: `{"name":"Another"}`},
		{typ: "memberships", attrs: `{"user_email":"bob@example.com"}`, required: []string{"organization", "role"}},
		{typ: "membership_profiles", attrs: `{"name":"Ops","access_scope":"test_access"}`, required: []string{"organization"}},
		{typ: "roles", attrs: `{"name":"Support"}`, required: []string{"organization"}},
		{typ: "permissions", attrs: `{"subject":"orders","can_read":true}`, required: []string{"role"}},
		{typ: "api_credentials", attrs: `{"name":"Job 2","kind":"integration"}`, required: []string{"organization"}, optional: []string{"role"}},
		{typ: "application_memberships", attrs: `{}`, required: []string{"organization", "api_credential", "role"}, optional: []string{"membership"}},
		{typ: "identity_providers", attrs: `{"name":"SSO","client_id":"cid","client_secret":"s3cret-value","issuer":"https://login.example",
			"domains":"example.com","token_url":"https://login.example/token","authorize_url":"https://login.example/authorize",
			"jwks_url":"https://login.example/jwks"}`, required: []string{"organization"}},
	} {
		tested[tt.typ] = true
		count := func() any {
			return s.call(t, "GET", "/api/"+tt.typ, s.ownerToken, "").want(t, 200, "").get("meta.record_count")
		}
		before := count()
		for _, missing := range tt.required {
			for _, form := range []string{"absent", "null"} {
				var rels []string
				for _, name := range append(append([]string{}, tt.required...), tt.optional...) {
					switch {
					case name != missing:
						rels = append(rels, `"`+name+`":`+links[name])
					case form == "null":
						rels = append(rels, `"`+name+`":{"data":null}`)
					}
				}
				r := s.call(t, "POST", "/api/"+tt.typ, s.ownerToken, body(tt.typ, "", tt.attrs, "{"+strings.Join(rels, ",")+"}"))
				if r.status != 422 || r.str("errors.0.code") != "VALIDATION_ERROR" || r.count("errors") != 1 ||
					r.str("errors.0.source.pointer") != "/data/relationships/"+missing {
					t.Errorf("POST /api/%s without %s (%s): %d %s; want 422 naming /data/relationships/%s", tt.typ, missing, form, r.status, r.raw, missing)
				}
			}
		}
		if after := count(); after != before {
			t.Errorf("%s: %v, then %v", tt.typ, before, after)
		}
	}
	for _, typ := range httpapi.CreateTypes() {
		if !tested[typ] {
			t.Errorf("POST /api/%s is not in the table", typ)
		}
	}
}
