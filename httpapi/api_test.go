package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/httpapi"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/profile"
)

// body makes a request document.
func body(typ, id, attrs, rels string) string {
	if attrs == "" {
		attrs = "{}"
	}
	if rels == "" {
		rels = "{}"
	}
	idPart := ""
	if id != "" {
		idPart = `,"id":"` + id + `"`
	}
	return `{"data":{"type":"` + typ + `","attributes":` + attrs + `,"relationships":` + rels + idPart + `}}`
}

func link(typ, id string) string { return `{"data":{"type":"` + typ + `","id":"` + id + `"}}` }

// TestEncoding checks the documents of the JSON:API wire format (Commerce Layer): media type, links,
// relationship links without linkage unless included, included resources
// once, sparse fieldsets, times, Location on create.
func TestEncoding(t *testing.T) {
	s := newServer(t)
	r := s.call(t, "GET", "/api/organizations/"+s.org.ID, s.ownerToken, "").want(t, 200, "")
	if ct := r.header.Get("Content-Type"); ct != httpapi.MediaType {
		t.Errorf("Content-Type %q; want %q", ct, httpapi.MediaType)
	}
	self := s.URL + "/api/organizations/" + s.org.ID
	if r.str("data.type") != "organizations" || r.str("data.links.self") != self || r.str("data.attributes.name") != "The Blue Brand" {
		t.Errorf("organization document: %s", r.raw)
	}
	if r.str("data.relationships.roles.links.related") != self+"/roles" || r.str("data.relationships.roles.links.self") != self+"/relationships/roles" {
		t.Errorf("relationship links: %v", r.get("data.relationships.roles"))
	}
	if _, has := r.get("data.relationships.roles").(map[string]any)["data"]; has {
		t.Errorf("linkage without include: %v", r.get("data.relationships.roles"))
	}
	if r.get("data.attributes.can_switch_live") != false || r.get("data.attributes.subscription_info.totals.memberships") != 1.0 {
		t.Errorf("derived attributes: can_switch_live %v, subscription_info %v", r.get("data.attributes.can_switch_live"),
			r.get("data.attributes.subscription_info"))
	}
	if ts := r.str("data.attributes.created_at"); len(ts) != len("2018-01-01T12:00:00.000Z") || !strings.HasSuffix(ts, "Z") {
		t.Errorf("created_at %q; want milliseconds and Z", ts)
	}

	r = s.call(t, "GET", "/api/memberships?include=organization,role.organization&fields[memberships]=status,role,organization&fields[organizations]=name", s.ownerToken, "").want(t, 200, "")
	if r.count("data") != 1 || r.count("included") != 2 {
		t.Fatalf("want 1 membership and 2 included (organization once, role); got %s", r.raw)
	}
	if attrs := r.get("data.0.attributes").(map[string]any); len(attrs) != 1 || attrs["status"] != "active" {
		t.Errorf("sparse attributes %v; want only status", attrs)
	}
	if r.str("data.0.relationships.role.data.id") != s.admin.ID || r.get("data.0.relationships.versions") != nil {
		t.Errorf("relationships with fields: %v", r.get("data.0.relationships"))
	}
	for i := range 2 {
		inc := r.get(fmt.Sprintf("included.%d", i)).(map[string]any)
		if inc["type"] == "organizations" && len(inc["attributes"].(map[string]any)) != 1 {
			t.Errorf("included organization not sparse: %v", inc)
		}
		if inc["type"] == "roles" && r.str(fmt.Sprintf("included.%d.relationships.organization.data.id", i)) != s.org.ID {
			t.Errorf("nested include role.organization has no linkage: %v", inc)
		}
	}

	r = s.call(t, "POST", "/api/roles?fields[roles]=name", s.ownerToken,
		body("roles", "", `{"name":"Support","metadata":{"team":"eu"}}`, `{"organization":`+link("organizations", s.org.ID)+`}`)).want(t, 201, "")
	if loc := r.header.Get("Location"); loc != s.URL+"/api/roles/"+r.str("data.id") {
		t.Errorf("Location %q", loc)
	}
	if attrs := r.get("data.attributes").(map[string]any); len(attrs) != 1 || attrs["name"] != "Support" {
		t.Errorf("create response attributes %v; want the sparse fieldset", attrs)
	}
}

// TestStatusCodes walks every status of the Commerce Layer API the handler answers.
func TestStatusCodes(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	bob, bobToken := s.user(t, "bob@example.com")
	own := s.p.As(provisioning.User(s.owner.ID))
	bobMembership, err := own.Invite(ctx, membership.Invite{OrganizationID: s.org.ID, UserEmail: bob.Email, RoleID: s.readOnly.ID})
	if err != nil {
		t.Fatal(err)
	}
	pending, err := own.Invite(ctx, membership.Invite{OrganizationID: s.org.ID, UserEmail: "new@example.com", RoleID: s.readOnly.ID})
	if err != nil {
		t.Fatal(err)
	}
	prof, err := own.CreateProfile(ctx, profile.Create{OrganizationID: s.org.ID, Name: "Used", AccessScope: "live_access"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := own.UpdateMembership(ctx, bobMembership.ID, membership.Update{ProfileID: &prof.ID}); err != nil {
		t.Fatal(err)
	}
	_, strangerToken := s.user(t, "stranger@example.com")
	orgLink := `{"organization":` + link("organizations", s.org.ID) + `}`
	tests := []struct {
		name                     string
		giveMethod, givePath     string
		giveToken, giveBody      string
		wantStatus               int
		wantCode, wantPointer    string
		wantHeader, wantHeaderIs string
	}{
		{"200 retrieve", "GET", "/api/roles/" + s.admin.ID, s.ownerToken, "", 200, "", "", "", ""},
		{"201 create", "POST", "/api/membership_profiles", s.ownerToken, body("membership_profiles", "", `{"name":"P","access_scope":"all_access"}`, orgLink), 201, "", "", "", ""},
		{"202 resend", "POST", "/api/memberships/" + pending.ID + "/resend", s.ownerToken, `{"data":{}}`, 202, "", "", "", ""},
		{"204 delete", "DELETE", "/api/memberships/" + pending.ID, s.ownerToken, "", 204, "", "", "", ""},
		{"400 body not JSON", "POST", "/api/roles", s.ownerToken, `{"data":`, 400, "BAD_REQUEST", "", "", ""},
		{"400 type mismatch", "POST", "/api/roles", s.ownerToken, body("memberships", "", "", ""), 400, "TYPE_MISMATCH", "/data/type", "", ""},
		{"400 id not in URL", "PATCH", "/api/roles/" + s.admin.ID, s.ownerToken, body("roles", "other", "", ""), 400, "KEY_NOT_INCLUDED_IN_URL", "/data/id", "", ""},
		{"400 read-only attribute", "PATCH", "/api/roles/" + s.admin.ID, s.ownerToken, body("roles", s.admin.ID, `{"kind":"custom"}`, ""), 400, "PARAM_NOT_ALLOWED", "/data/attributes/kind", "", ""},
		{"400 unknown attribute", "POST", "/api/roles", s.ownerToken, body("roles", "", `{"name":"x","colour":"red"}`, orgLink), 400, "PARAM_NOT_ALLOWED", "/data/attributes/colour", "", ""},
		{"400 wrong JSON type", "POST", "/api/roles", s.ownerToken, body("roles", "", `{"name":5}`, orgLink), 400, "INVALID_FIELD_VALUE", "/data/attributes/name", "", ""},
		{"400 wrong linkage type", "POST", "/api/roles", s.ownerToken, body("roles", "", `{"name":"x"}`, `{"organization":`+link("roles", s.org.ID)+`}`), 400, "TYPE_MISMATCH", "/data/relationships/organization", "", ""},
		{"400 app memberships on a membership", "PATCH", "/api/memberships/" + bobMembership.ID, s.ownerToken, body("memberships", bobMembership.ID, "", `{"application_memberships":{"data":[{"type":"application_memberships","id":"x"}]}}`), 400, "PARAM_NOT_ALLOWED", "/data/relationships/application_memberships", "", ""},
		{"401 no token", "GET", "/api/user", "", "", 401, "INVALID_TOKEN", "", "", ""},
		{"401 unknown token", "GET", "/api/user", "pvt_not-a-token-at-all", "", 401, "INVALID_TOKEN", "", "", ""},
		{"401 forbidden (Commerce Layer)", "POST", "/api/roles", bobToken, body("roles", "", `{"name":"Mine"}`, orgLink), 401, "FORBIDDEN", "", "", ""},
		{"404 unknown id", "GET", "/api/roles/nope", s.ownerToken, "", 404, "RECORD_NOT_FOUND", "", "", ""},
		{"404 another organization's id", "GET", "/api/roles/" + s.admin.ID, strangerToken, "", 404, "RECORD_NOT_FOUND", "", "", ""},
		{"404 unknown route", "GET", "/api/nothing", s.ownerToken, "", 404, "ROUTE_NOT_FOUND", "", "", ""},
		{"405 no delete of organizations", "DELETE", "/api/organizations/" + s.org.ID, s.ownerToken, "", 405, "METHOD_NOT_ALLOWED", "", "Allow", "GET, PATCH"},
		{"409 taken", "POST", "/api/memberships", s.ownerToken, body("memberships", "", `{"user_email":"bob@example.com"}`, `{"organization":`+link("organizations", s.org.ID)+`,"role":`+link("roles", s.readOnly.ID)+`}`), 409, "RECORD_NOT_UNIQUE", "", "", ""},
		{"409 last owner", "DELETE", "/api/memberships/" + s.org.OwnerMembershipID, s.ownerToken, "", 409, "LAST_OWNER", "", "", ""},
		{"415 body of another type", "POST", "/api/roles", s.ownerToken, "{}", 415, "UNSUPPORTED_MEDIA_TYPE", "", "", ""},
		{"422 validation", "POST", "/api/memberships", s.ownerToken, body("memberships", "", `{"user_email":"not an email"}`,
			`{"organization":`+link("organizations", s.org.ID)+`,"role":`+link("roles", s.readOnly.ID)+`}`), 422, "VALIDATION_ERROR", "/data/attributes/user_email", "", ""},
		{"422 missing relationship", "POST", "/api/memberships", s.ownerToken, body("memberships", "", `{"user_email":"x@example.com"}`, orgLink), 422, "VALIDATION_ERROR", "/data/relationships/role", "", ""},
		{"422 enum", "POST", "/api/membership_profiles", s.ownerToken, body("membership_profiles", "", `{"name":"P","access_scope":"nope"}`, orgLink), 422, "VALIDATION_ERROR", "/data/attributes/access_scope", "", ""},
		{"423 profile in use", "DELETE", "/api/membership_profiles/" + prof.ID, s.ownerToken, "", 423, "LOCKED", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.giveMethod, s.URL+tt.givePath, strings.NewReader(tt.giveBody))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", httpapi.MediaType)
			if tt.wantStatus == 415 {
				req.Header.Set("Content-Type", "application/json")
			}
			if tt.giveToken != "" {
				req.Header.Set("Authorization", "Bearer "+tt.giveToken)
			}
			r := s.send(t, req).want(t, tt.wantStatus, tt.wantCode)
			if tt.wantCode != "" && r.str("errors.0.status") != fmt.Sprint(tt.wantStatus) {
				t.Errorf("errors[0].status %v; want the string %q", r.get("errors.0.status"), fmt.Sprint(tt.wantStatus))
			}
			if tt.wantPointer != "" && r.str("errors.0.source.pointer") != tt.wantPointer {
				t.Errorf("pointer %q; want %q (%s)", r.str("errors.0.source.pointer"), tt.wantPointer, r.raw)
			}
			if tt.wantHeader != "" && r.header.Get(tt.wantHeader) != tt.wantHeaderIs {
				t.Errorf("%s: %q; want %q", tt.wantHeader, r.header.Get(tt.wantHeader), tt.wantHeaderIs)
			}
		})
	}

	t.Run("406 Accept", func(t *testing.T) {
		req, _ := http.NewRequest("GET", s.URL+"/api/user", nil)
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Authorization", "Bearer "+s.ownerToken)
		s.send(t, req).want(t, 406, "NOT_ACCEPTABLE")
	})
	t.Run("413 body too large", func(t *testing.T) {
		big := body("roles", "", `{"name":"`+strings.Repeat("x", httpapi.MaxBodyBytes)+`"}`, "")
		s.call(t, "POST", "/api/roles", s.ownerToken, big).want(t, 413, "BODY_TOO_LARGE")
	})
}

// TestFaultStatuses checks the statuses of the kinds no scenario above
// reaches: busy, outcome unknown, internal (logged once, no details), panic.
func TestFaultStatuses(t *testing.T) {
	var fail error
	auth := httpapi.AuthenticatorFunc(func(ctx context.Context, bearer string) (provisioning.Principal, error) {
		if bearer == "panic" {
			panic("boom")
		}
		return provisioning.Principal{}, fail
	})
	s := newServer(t)
	h, err := httpapi.New(s.p, auth, httpapi.WithLogger(slogTo(s.logs)))
	if err != nil {
		t.Fatal(err)
	}
	s.Server.Config.Handler = h
	tests := []struct {
		giveErr   error
		giveToken string
		wantCode  string
		want      int
	}{
		{fault.E("test", fault.Busy, nil), "x", "BUSY", 503},
		// The request's context ended a host's code, which said so only
		// with the context's error: temporary, as the library's busy.
		{fmt.Errorf("directory lookup: %w", context.DeadlineExceeded), "x", "BUSY", 503},
		{fmt.Errorf("directory lookup: %w", context.Canceled), "x", "BUSY", 503},
		{fault.ErrCommitUnknown, "x", "OUTCOME_UNKNOWN", 500},
		{errors.New("secret detail"), "x", "INTERNAL_SERVER_ERROR", 500},
		{nil, "panic", "INTERNAL_SERVER_ERROR", 500},
	}
	for _, tt := range tests {
		fail = tt.giveErr
		before := strings.Count(s.logs.String(), "level=ERROR")
		r := s.call(t, "GET", "/api/user", tt.giveToken, "").want(t, tt.want, tt.wantCode)
		if tt.want == 503 && r.header.Get("Retry-After") != "1" {
			t.Errorf("%v: Retry-After %q; want 1", tt.giveErr, r.header.Get("Retry-After"))
		}
		if strings.Contains(r.raw, "secret detail") || strings.Contains(r.raw, "boom") {
			t.Errorf("internal details reached the caller: %s", r.raw)
		}
		logged := strings.Count(s.logs.String(), "level=ERROR") - before
		if wantLogged := map[bool]int{true: 1, false: 0}[tt.want == 500]; logged != wantLogged {
			t.Errorf("%s: logged %d errors; want %d", tt.wantCode, logged, wantLogged)
		}
	}
	if r := s.call(t, "GET", "/api/user", "x", ""); r.header.Get("Retry-After") != "" {
		t.Errorf("Retry-After on a 500")
	}
}

// TestRateLimits checks the x-ratelimit headers and 429, per endpoint and
// on average, reads and writes apart.
func TestRateLimits(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	s := newServer(t, httpapi.WithRateLimits(httpapi.RateLimits{
		Read: httpapi.Limit{Requests: 3, Per: time.Minute}, ReadBurst: httpapi.Limit{Requests: 2, Per: 10 * time.Second},
		Write: httpapi.Limit{Requests: 1, Per: time.Minute}}, func() time.Time { return now }))
	r := s.call(t, "GET", "/api/user", s.ownerToken, "").want(t, 200, "")
	if r.header.Get("X-Ratelimit-Limit") != "2" || r.header.Get("X-Ratelimit-Remaining") != "1" || r.header.Get("X-Ratelimit-Interval") != "10" {
		t.Errorf("headers %v", r.header)
	}
	s.call(t, "GET", "/api/user", s.ownerToken, "").want(t, 200, "")
	r = s.call(t, "GET", "/api/user", s.ownerToken, "").want(t, 429, "TOO_MANY_REQUESTS")
	if r.header.Get("Retry-After") != "10" {
		t.Errorf("Retry-After %q; want 10", r.header.Get("Retry-After"))
	}
	s.call(t, "GET", "/api/organizations", s.ownerToken, "").want(t, 200, "") // another endpoint's burst
	s.call(t, "GET", "/api/roles", s.ownerToken, "").want(t, 429, "")         // the average: 3 per minute
	s.call(t, "POST", "/api/memberships/x/resend", s.ownerToken, "").want(t, 404, "")
	s.call(t, "POST", "/api/memberships/x/resend", s.ownerToken, "").want(t, 429, "")
	now = now.Add(time.Minute)
	s.call(t, "GET", "/api/user", s.ownerToken, "").want(t, 200, "")
}

// TestDeadlineAnswersBusy: a host bounds its requests with a deadline; an
// invitation that waits for the organization's row, which another
// transaction holds, past that deadline answers 503 BUSY with Retry-After,
// at the deadline, and writes nothing.
func TestDeadlineAnswersBusy(t *testing.T) {
	s := newServer(t)
	h := s.Server.Config.Handler
	s.Server.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 300*time.Millisecond)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
	ctx := context.Background()
	hold, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback() //nolint:errcheck // rolled back below
	if _, err := hold.ExecContext(ctx, "UPDATE provisioning_organizations SET name = name WHERE id = ?", s.org.ID); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := s.call(t, "POST", "/api/memberships", s.ownerToken, body("memberships", "", `{"user_email":"late@example.com"}`,
		`{"organization":`+link("organizations", s.org.ID)+`,"role":`+link("roles", s.readOnly.ID)+`}`))
	took := time.Since(start)
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	r.want(t, 503, "BUSY")
	if r.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After %q; want 1", r.header.Get("Retry-After"))
	}
	if took > 5*time.Second { // SQLite's busy timeout, 10 s, would have ended it otherwise
		t.Errorf("answered after %s, not at the deadline", took)
	}
	if n, err := s.db.NewSelect().TableExpr("provisioning_memberships").Where("user_email = ?", "late@example.com").Count(ctx); err != nil || n != 0 {
		t.Errorf("memberships written: %d, %v", n, err)
	}
}
