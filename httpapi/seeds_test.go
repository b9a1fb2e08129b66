package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/httpapi"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/user"
)

// seeds is a server with, besides the owner: an admin and a read-only
// member of the organization, a user who belongs to none (bob), and
// another organization with its own owner.
type seeds struct {
	*server
	adminUser     *user.User
	adminToken    string
	reader        *user.User
	readerToken   string
	bob           *user.User
	otherOrg      *organization.Organization
	otherRole     *role.Role
	strangerToken string
}

func newSeeds(t testing.TB, opts ...httpapi.Option) *seeds {
	t.Helper()
	return seedsOn(t, newServer(t, opts...))
}

// seedsOn adds the seeds to a new server.
func seedsOn(t testing.TB, srv *server) *seeds {
	t.Helper()
	s := &seeds{server: srv}
	ctx := context.Background()
	own := s.p.As(provisioning.User(s.owner.ID))
	s.adminUser, s.adminToken = s.user(t, "admin@example.com")
	s.reader, s.readerToken = s.user(t, "reader@example.com")
	s.bob, _ = s.user(t, "bob@example.com")
	for _, in := range []membership.Invite{
		{OrganizationID: s.org.ID, UserEmail: s.adminUser.Email, RoleID: s.admin.ID},
		{OrganizationID: s.org.ID, UserEmail: s.reader.Email, RoleID: s.readOnly.ID},
	} {
		if _, err := own.Invite(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	stranger, strangerToken := s.user(t, "stranger@example.com")
	s.strangerToken = strangerToken
	var err error
	as := s.p.As(provisioning.User(stranger.ID))
	if s.otherOrg, err = as.CreateOrganization(ctx, organization.Create{Name: "Other Brand"}); err != nil {
		t.Fatal(err)
	}
	roles, err := as.ListRoles(ctx, role.Filter{OrganizationID: s.otherOrg.ID, Kind: role.KindReadOnly})
	if err != nil || len(roles.Items) != 1 {
		t.Fatalf("roles of the other organization: %v, %v", roles.Items, err)
	}
	s.otherRole = &roles.Items[0]
	return s
}

// json sends a request of the Rebilly and ECI endpoints (application/json).
func (s *server) json(t testing.TB, method, path, tok, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return s.send(t, req)
}

// problem checks a problem answer: its status, media type (Rebilly's
// definitions declare application/json, ECI's problems are
// application/problem+json), RFC 7807 members, and the fields of its
// invalidFields (in order).
func (r response) problem(t testing.TB, status int, fields ...string) response {
	t.Helper()
	var got []string
	for i := range r.count("invalidFields") {
		got = append(got, r.str("invalidFields."+strconv.Itoa(i)+".field"))
	}
	st, _ := r.get("status").(float64)
	mt := httpapi.ProblemMediaType
	if strings.HasPrefix(r.str("instance"), "/memberships") {
		mt = "application/json"
	}
	if r.status != status || int(st) != status || r.header.Get("Content-Type") != mt ||
		r.str("type") == "" || r.str("title") == "" || r.str("detail") == "" || r.str("instance") == "" || !slices.Equal(got, fields) {
		t.Fatalf("got %d %s %s; want a %d problem with invalidFields %v", r.status, r.header.Get("Content-Type"), r.raw, status, fields)
	}
	return r
}

// memberOf is the active membership of a user, read through the facade
// as the owner; nil when there is none.
func (s *seeds) memberOf(t testing.TB, userID string) *membership.Membership {
	t.Helper()
	page, err := s.p.As(provisioning.User(s.owner.ID)).ListMemberships(context.Background(), membership.Filter{OrganizationID: s.org.ID, UserID: userID})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) == 0 {
		return nil
	}
	return &page.Items[0]
}

// versions counts the organization's versions (of resourceID alone when
// it is not ""), through the facade.
func (s *seeds) versions(t testing.TB, resourceID string) int {
	t.Helper()
	n := 0
	f := audit.Filter{OrganizationID: s.org.ID, ResourceID: resourceID, PageRequest: resource.PageRequest{Limit: resource.MaxPageLimit}}
	for {
		page, err := s.p.As(provisioning.User(s.owner.ID)).ListVersions(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Items)
		if page.Next == "" {
			return n
		}
		f.After = page.Next
	}
}

// TestRebillyUpsert walks one membership through Rebilly's PUT: created
// (201, Location), updated (200), the same state again (200, no version).
func TestRebillyUpsert(t *testing.T) {
	s := newSeeds(t)
	path := "/memberships/" + s.org.ID + "/" + s.bob.ID
	self := s.URL + path
	tests := []struct {
		name          string
		giveBody      string
		wantStatus    int
		wantLocation  string
		wantIPs       any
		wantPerms     []string
		wantVersions  int
		wantMemberIPs int // allowlist entries of the stored membership; -1: nil
	}{
		{"created", `{"roleIds":["` + s.readOnly.ID + `"],"permissions":["orders:update","orders:*"],"allowedIps":["8.8.8.7/24","2001:4860::/32"],` +
			`"isDefault":false,"organization":{"id":"ignored"},"user":{"id":"ignored"},"unknown":1}`,
			201, self, []any{"8.8.8.0/24", "2001:4860::/32"}, []string{"orders:*"}, 1, 2},
		{"updated", `{"roleIds":["` + s.readOnly.ID + `"],"allowedIps":null,"isOwner":false}`,
			200, "", nil, nil, 2, -1},
		{"same state again", `{"roleIds":["` + s.readOnly.ID + `"],"allowedIps":null,"permissions":[]}`,
			200, "", nil, nil, 2, -1},
		{"absent allowedIps is null", `{"roleIds":["` + s.readOnly.ID + `"]}`,
			200, "", nil, nil, 2, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.json(t, "PUT", path, s.ownerToken, tt.giveBody)
			if r.status != tt.wantStatus || r.header.Get("Location") != tt.wantLocation || r.header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, Location %q, Content-Type %q; want %d %q: %s", r.status, r.header.Get("Location"),
					r.header.Get("Content-Type"), tt.wantStatus, tt.wantLocation, r.raw)
			}
			var perms []string
			for i := range r.count("permissions") {
				perms = append(perms, r.str("permissions."+strconv.Itoa(i)))
			}
			if !equalJSON(r.get("allowedIps"), tt.wantIPs) || !slices.Equal(perms, tt.wantPerms) || r.get("permissions") == nil {
				t.Errorf("allowedIps %v, permissions %v; want %v %v", r.get("allowedIps"), r.get("permissions"), tt.wantIPs, tt.wantPerms)
			}
			m := s.memberOf(t, s.bob.ID)
			if got := s.versions(t, m.ID); got != tt.wantVersions {
				t.Errorf("%d versions of the membership; want %d", got, tt.wantVersions)
			}
			if got := len(m.AllowedIPs) - boolInt(m.AllowedIPs == nil); got != tt.wantMemberIPs {
				t.Errorf("stored allowlist %v; want %d entries (-1: nil)", m.AllowedIPs, tt.wantMemberIPs)
			}
		})
	}
	r := s.json(t, "GET", path, s.ownerToken, "")
	want := map[string]any{"organization.id": s.org.ID, "organization.name": "The Blue Brand", "user.id": s.bob.ID,
		"user.email": "bob@example.com", "isOwner": false, "isDefault": true, "roleIds.0": s.readOnly.ID,
		"_links.0.href": self, "_links.0.rel": "self"}
	for k, v := range want {
		if r.get(k) != v {
			t.Errorf("%s = %v; want %v: %s", k, r.get(k), v, r.raw)
		}
	}
	if _, err := time.Parse(time.RFC3339, r.str("organization.createdTime")); err != nil {
		t.Errorf("organization.createdTime: %v", err)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func equalJSON(a, b any) bool {
	l, ok := a.([]any)
	m, ok2 := b.([]any)
	if ok && ok2 {
		return slices.Equal(l, m)
	}
	return a == nil && b == nil
}

// TestRebillyRefusals checks the refusals of the PUT: each answers its
// problem and writes nothing (no version anywhere in the organization).
func TestRebillyRefusals(t *testing.T) {
	s := newSeeds(t)
	reader := "/memberships/" + s.org.ID + "/" + s.reader.ID
	owner := "/memberships/" + s.org.ID + "/" + s.owner.ID
	ro := `"roleIds":["` + s.readOnly.ID + `"]`
	tests := []struct {
		name       string
		givePath   string
		giveToken  string
		giveBody   string
		wantStatus int
		wantFields []string
	}{
		{"admin creates a membership", "/memberships/" + s.org.ID + "/" + s.bob.ID, s.adminToken, `{` + ro + `}`, 403, nil},
		{"allowedIps empty", reader, s.ownerToken, `{` + ro + `,"allowedIps":[]}`, 422, []string{"allowedIps"}},
		{"allowedIps private", reader, s.ownerToken, `{` + ro + `,"allowedIps":["10.1.2.3"]}`, 422, []string{"allowedIps.0"}},
		{"allowedIps private second", reader, s.ownerToken, `{` + ro + `,"allowedIps":["8.8.8.8","192.168.0.0/16"]}`, 422, []string{"allowedIps.1"}},
		{"allowedIps not a list", reader, s.ownerToken, `{` + ro + `,"allowedIps":"8.8.8.8"}`, 422, []string{"allowedIps"}},
		{"allowedIps entry not a string", reader, s.ownerToken, `{` + ro + `,"allowedIps":["8.8.8.8",7]}`, 422, []string{"allowedIps.1"}},
		{"permission unknown", reader, s.ownerToken, `{` + ro + `,"permissions":["GetTransactionCollection"]}`, 422, []string{"permissions.0"}},
		{"every permission by an admin", reader, s.adminToken, `{` + ro + `,"permissions":["*"]}`, 403, nil},
		{"role of another organization", reader, s.ownerToken, `{"roleIds":["` + s.otherRole.ID + `"]}`, 422, []string{"roleIds"}},
		{"no role", reader, s.ownerToken, `{"roleIds":[],"permissions":[]}`, 422, []string{"roleIds"}},
		{"role id not a string", reader, s.ownerToken, `{"roleIds":[1]}`, 422, []string{"roleIds.0"}},
		{"isOwner on a member", reader, s.ownerToken, `{` + ro + `,"isOwner":true}`, 422, []string{"isOwner"}},
		{"isOwner not a boolean", reader, s.ownerToken, `{` + ro + `,"isOwner":"yes"}`, 422, []string{"isOwner"}},
		{"isOwner false on the owner", owner, s.ownerToken, `{"roleIds":["` + s.admin.ID + `"],"isOwner":false}`, 409, nil},
		{"no token", reader, "", `{` + ro + `}`, 401, nil},
		{"bad token", reader, "nope", `{` + ro + `}`, 401, nil},
		{"another organization", "/memberships/" + s.otherOrg.ID + "/" + s.bob.ID, s.ownerToken, `{` + ro + `}`, 404, nil},
		{"unknown user", "/memberships/" + s.org.ID + "/usr-unknown", s.ownerToken, `{` + ro + `}`, 404, nil},
		{"user id of another shape", "/memberships/" + s.org.ID + "/USR_0YVC", s.ownerToken, `{` + ro + `}`, 404, nil},
		{"read-only member", reader, s.readerToken, `{` + ro + `}`, 403, nil},
		{"malformed JSON", reader, s.ownerToken, `{"roleIds":`, 400, nil},
		{"not an object", reader, s.ownerToken, `["roleIds"]`, 400, nil},
		{"empty body", reader, s.ownerToken, ``, 400, nil},
	}
	before := s.versions(t, "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.json(t, "PUT", tt.givePath, tt.giveToken, tt.giveBody).problem(t, tt.wantStatus, tt.wantFields...)
			if got := s.versions(t, ""); got != before {
				t.Errorf("%d versions after the refusal; want %d", got, before)
			}
		})
	}
	if m := s.memberOf(t, s.bob.ID); m != nil {
		t.Errorf("bob became a member: %+v", m)
	}
}

// TestRebillyOwnerGrants checks what only the owner grants: every
// permission ("*"), and the true isOwner of the owner's own membership.
func TestRebillyOwnerGrants(t *testing.T) {
	s := newSeeds(t)
	tests := []struct {
		name      string
		givePath  string
		giveBody  string
		wantPerms string
		wantOwner bool
	}{
		{"every permission", "/memberships/" + s.org.ID + "/" + s.reader.ID, `{"roleIds":["` + s.readOnly.ID + `"],"permissions":["*","orders:read"]}`, "*", false},
		{"isOwner on the owner", "/memberships/" + s.org.ID + "/" + s.owner.ID, `{"roleIds":["` + s.admin.ID + `"],"isOwner":true}`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.json(t, "PUT", tt.givePath, s.ownerToken, tt.giveBody).want(t, 200, "")
			if r.str("permissions.0") != tt.wantPerms || r.get("isOwner") != tt.wantOwner {
				t.Errorf("permissions %v, isOwner %v; want %q %v", r.get("permissions"), r.get("isOwner"), tt.wantPerms, tt.wantOwner)
			}
		})
	}
}

// TestRebillyKeepsOtherRules checks that a PUT leaves alone the rules
// Rebilly does not model (set here through the facade): it neither lifts
// a guest's status nor the member's MFA flag nor the expiry.
func TestRebillyKeepsOtherRules(t *testing.T) {
	s := newSeeds(t)
	ctx := context.Background()
	m := s.memberOf(t, s.reader.ID)
	yes, expires := true, time.Now().Add(24*time.Hour).UTC().Truncate(time.Second)
	if _, err := s.p.As(provisioning.User(s.owner.ID)).UpdateMembership(ctx, m.ID,
		membership.Update{Guest: &yes, MFARequired: &yes, ExpiresAt: &expires}); err != nil {
		t.Fatal(err)
	}
	s.json(t, "PUT", "/memberships/"+s.org.ID+"/"+s.reader.ID, s.ownerToken, `{"roleIds":["`+s.readOnly.ID+`"],"allowedIps":["8.8.8.8"]}`).want(t, 200, "")
	m = s.memberOf(t, s.reader.ID)
	if !m.Guest || !m.MFARequired || !m.ExpiresAt.Equal(expires) || len(m.AllowedIPs) != 1 {
		t.Errorf("after the PUT: guest %v, mfa %v, expires %v, allowlist %v; want the first three kept", m.Guest, m.MFARequired, m.ExpiresAt, m.AllowedIPs)
	}
}

// TestRebillyGetDelete checks GET and DELETE by organization and user.
func TestRebillyGetDelete(t *testing.T) {
	s := newSeeds(t)
	reader := "/memberships/" + s.org.ID + "/" + s.reader.ID
	tests := []struct {
		name       string
		giveMethod string
		givePath   string
		giveToken  string
		wantStatus int
	}{
		{"get", "GET", reader, s.readerToken, 200},
		{"get a non-member", "GET", "/memberships/" + s.org.ID + "/" + s.bob.ID, s.ownerToken, 404},
		{"get from another organization", "GET", reader, s.strangerToken, 404},
		{"get without token", "GET", reader, "", 401},
		{"delete the owner's", "DELETE", "/memberships/" + s.org.ID + "/" + s.owner.ID, s.ownerToken, 409},
		{"delete by a read-only member", "DELETE", "/memberships/" + s.org.ID + "/" + s.adminUser.ID, s.readerToken, 403},
		{"delete", "DELETE", reader, s.adminToken, 204},
		{"get deleted", "GET", reader, s.ownerToken, 404},
		{"delete deleted", "DELETE", reader, s.ownerToken, 404},
		{"method not allowed", "PATCH", reader, s.ownerToken, 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.json(t, tt.giveMethod, tt.givePath, tt.giveToken, "")
			if r.status != tt.wantStatus {
				t.Fatalf("status %d; want %d: %s", r.status, tt.wantStatus, r.raw)
			}
		})
	}
	if m := s.memberOf(t, s.owner.ID); m == nil {
		t.Error("the owner's membership was deleted")
	}
	if m := s.memberOf(t, s.adminUser.ID); m == nil {
		t.Error("a read-only member deleted the admin's membership")
	}
	if m := s.memberOf(t, s.reader.ID); m != nil {
		t.Error("the deleted membership is still there")
	}
	s.json(t, "DELETE", "/memberships/"+s.org.ID+"/"+s.owner.ID, s.ownerToken, "").problem(t, 409)
	s.json(t, "PATCH", reader, s.ownerToken, "").problem(t, 405)
}

// TestSeedsMediaTypes checks the media types of the Rebilly and ECI
// endpoints: application/json bodies, problems for errors.
func TestSeedsMediaTypes(t *testing.T) {
	s := newSeeds(t)
	tests := []struct {
		name            string
		givePath        string
		giveContentType string
		giveAccept      string
		wantStatus      int
	}{
		{"JSON:API body", "/memberships/" + s.org.ID + "/" + s.reader.ID, httpapi.MediaType, "", 415},
		{"text body", "/v1/organizations/" + eciOrg(s.org) + "/members", "text/plain", "", 415},
		{"XML only", "/memberships/" + s.org.ID + "/" + s.reader.ID, "application/json", "application/xml", 406},
		{"problem accepted", "/memberships/" + s.org.ID + "/" + s.reader.ID, "application/json; charset=utf-8", "application/problem+json", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := map[bool]string{true: "PUT", false: "POST"}[strings.HasPrefix(tt.givePath, "/memberships/")]
			req, err := http.NewRequest(method, s.URL+tt.givePath, strings.NewReader(`{"roleIds":["`+s.readOnly.ID+`"]}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", tt.giveContentType)
			req.Header.Set("Accept", tt.giveAccept)
			req.Header.Set("Authorization", "Bearer "+s.ownerToken)
			if r := s.send(t, req); r.status != tt.wantStatus {
				t.Fatalf("status %d; want %d: %s", r.status, tt.wantStatus, r.raw)
			}
		})
	}
}

// TestSeedsRateLimit checks that the handler's rate limits apply, with
// their headers, and answer a problem.
func TestSeedsRateLimit(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newSeeds(t, httpapi.WithRateLimits(httpapi.RateLimits{WriteBurst: httpapi.Limit{Requests: 1, Per: 10 * time.Second}}, func() time.Time { return now }))
	path := "/memberships/" + s.org.ID + "/" + s.reader.ID
	body := `{"roleIds":["` + s.readOnly.ID + `"]}`
	r := s.json(t, "PUT", path, s.ownerToken, body).want(t, 200, "")
	if r.header.Get("X-Ratelimit-Limit") != "1" || r.header.Get("X-Ratelimit-Remaining") != "0" {
		t.Errorf("rate limit headers %v", r.header)
	}
	r = s.json(t, "PUT", path, s.ownerToken, body).problem(t, 429)
	// Rebilly's X-RateLimit-Retry-After is the UTC time of the retry, in
	// seconds; Retry-After the seconds to wait.
	if r.header.Get("X-Ratelimit-Retry-After") != strconv.FormatInt(now.Add(10*time.Second).Unix(), 10) || r.header.Get("Retry-After") != "10" {
		t.Errorf("retry headers %v", r.header)
	}
	// ECI's is the seconds to wait, as before.
	r = s.json(t, "POST", "/v1/organizations/"+eciOrg(s.org)+"/members", s.ownerToken, `{"userId":"`+s.bob.ID+`","isMfaRequired":false}`).want(t, 201, "")
	r = s.json(t, "POST", "/v1/organizations/"+eciOrg(s.org)+"/members", s.ownerToken, `{"userId":"`+s.bob.ID+`","isMfaRequired":false}`).problem(t, 429)
	if r.header.Get("X-Ratelimit-Retry-After") != "10" || r.header.Get("Retry-After") != "10" {
		t.Errorf("ECI retry headers %v", r.header)
	}
}

// mfaServer serves the API over s's Provisioner to principals that
// authenticated with a second factor: the bearer token is the user id.
func mfaServer(t testing.TB, s *seeds) *server {
	t.Helper()
	h, err := httpapi.New(s.p, httpapi.AuthenticatorFunc(func(_ context.Context, bearer string) (provisioning.Principal, error) {
		return withMFA(bearer), nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &server{Server: srv}
}

// withMFA is a user who authenticated with a second factor.
func withMFA(userID string) provisioning.Principal {
	p := provisioning.User(userID)
	p.MFA = true
	return p
}

// TestECIAddMember checks the OrganizationMember of ECI's add-member: the
// organization's MFA flag and the member's apart, the roles by name, the
// audit fields and the embedded user.
func TestECIAddMember(t *testing.T) {
	s := newSeeds(t)
	ctx := context.Background()
	api := mfaServer(t, s)
	carol, _ := s.user(t, "carol@example.com")
	yes := true
	stranger, err := s.p.System().UserByEmail(ctx, "stranger@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.p.As(withMFA(stranger.ID)).UpdateOrganization(ctx, s.otherOrg.ID, organization.Update{MFARequired: &yes}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                  string
		giveOrg               *organization.Organization
		giveCaller            string
		giveUser              *user.User
		giveMFA               bool
		wantOrgMFA, wantGuest bool
	}{
		{"member flag only", s.org, s.owner.ID, s.bob, true, false, false},
		{"organization flag only", s.otherOrg, stranger.ID, carol, false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := api.json(t, "POST", "/v1/organizations/"+eciOrg(tt.giveOrg)+"/members", tt.giveCaller,
				`{"userId":"`+tt.giveUser.ID+`","isMfaRequired":`+map[bool]string{true: "true", false: "false"}[tt.giveMFA]+`,"extra":[1]}`)
			if r.status != 201 || r.header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d %s: %s", r.status, r.header.Get("Content-Type"), r.raw)
			}
			roles, err := s.p.As(withMFA(tt.giveCaller)).ListRoles(ctx, role.Filter{OrganizationID: tt.giveOrg.ID, Kind: role.KindReadOnly})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"userId": tt.giveUser.ID, "organizationId": float64(tt.giveOrg.Number), "organizationName": tt.giveOrg.Slug,
				"organizationDisplayName": tt.giveOrg.Name, "isGuest": tt.wantGuest, "isMfaRequired": tt.wantOrgMFA,
				"isMembershipMfaRequired": tt.giveMFA, "roles.0.id": roles.Items[0].ID, "roles.0.name": roles.Items[0].Name,
				"roles.0.expires": nil, "createdBy": tt.giveCaller, "modifiedBy": tt.giveCaller,
				"user.id": tt.giveUser.ID, "user.emailAddress": tt.giveUser.Email, "user.displayName": tt.giveUser.Email,
				"user.organizationId": float64(tt.giveOrg.Number), "user.isMfaDisabled": false, "user.mfaRequired": tt.giveMFA || tt.wantOrgMFA}
			for k, v := range want {
				if r.get(k) != v {
					t.Errorf("%s = %v; want %v", k, r.get(k), v)
				}
			}
			m, err := s.p.As(withMFA(tt.giveCaller)).GetMembership(ctx, r.str("id"))
			if err != nil || m.UserID != tt.giveUser.ID || m.MFARequired != tt.giveMFA {
				t.Fatalf("membership %s through the facade: %+v, %v", r.str("id"), m, err)
			}
			for _, k := range []string{"created", "modified"} {
				if _, err := time.Parse(time.RFC3339, r.str(k)); err != nil {
					t.Errorf("%s: %v", k, err)
				}
			}
		})
	}
}

// TestECIRefusals checks the refusals of ECI's add-member: 400 for a bad
// body (invalidFields), 404 for an unknown user or another organization,
// 409 for a member, 403 for a member who may not add members; none
// writes anything.
func TestECIRefusals(t *testing.T) {
	s := newSeeds(t)
	path := "/v1/organizations/" + eciOrg(s.org) + "/members"
	bob := `"userId":"` + s.bob.ID + `"`
	tests := []struct {
		name       string
		givePath   string
		giveToken  string
		giveBody   string
		wantStatus int
		wantFields []string
	}{
		{"empty object", path, s.ownerToken, `{}`, 400, []string{"userId", "isMfaRequired"}},
		{"no isMfaRequired", path, s.ownerToken, `{` + bob + `}`, 400, []string{"isMfaRequired"}},
		{"null isMfaRequired", path, s.ownerToken, `{` + bob + `,"isMfaRequired":null}`, 400, []string{"isMfaRequired"}},
		{"isMfaRequired a string", path, s.ownerToken, `{` + bob + `,"isMfaRequired":"true"}`, 400, []string{"isMfaRequired"}},
		{"userId a number", path, s.ownerToken, `{"userId":12,"isMfaRequired":true}`, 400, []string{"userId"}},
		{"userId empty", path, s.ownerToken, `{"userId":"","isMfaRequired":true}`, 400, []string{"userId"}},
		{"userId of 41 characters", path, s.ownerToken, `{"userId":"` + strings.Repeat("a", 41) + `","isMfaRequired":true}`, 400, []string{"userId"}},
		{"malformed JSON", path, s.ownerToken, `{"userId":`, 400, nil},
		{"unknown user", path, s.ownerToken, `{"userId":"usr-unknown","isMfaRequired":true}`, 404, nil},
		{"already a member", path, s.ownerToken, `{"userId":"` + s.reader.ID + `","isMfaRequired":true}`, 409, nil},
		{"the owner", path, s.adminToken, `{"userId":"` + s.owner.ID + `","isMfaRequired":false}`, 409, nil},
		{"read-only member", path, s.readerToken, `{` + bob + `,"isMfaRequired":true}`, 403, nil},
		{"another organization", "/v1/organizations/" + eciOrg(s.otherOrg) + "/members", s.ownerToken, `{` + bob + `,"isMfaRequired":true}`, 404, nil},
		{"unknown organization", "/v1/organizations/12345/members", s.ownerToken, `{` + bob + `,"isMfaRequired":true}`, 404, nil},
		{"no token", path, "", `{` + bob + `,"isMfaRequired":true}`, 401, nil},
	}
	before := s.versions(t, "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.json(t, "POST", tt.givePath, tt.giveToken, tt.giveBody).problem(t, tt.wantStatus, tt.wantFields...)
			if got := s.versions(t, ""); got != before {
				t.Errorf("%d versions after the refusal; want %d", got, before)
			}
		})
	}
	if m := s.memberOf(t, s.bob.ID); m != nil {
		t.Errorf("bob became a member: %+v", m)
	}
	// An admin adds bob: the read_only role by default; the same again is 409.
	s.json(t, "POST", path, s.adminToken, `{`+bob+`,"isMfaRequired":false}`).want(t, 201, "")
	s.json(t, "POST", path, s.adminToken, `{`+bob+`,"isMfaRequired":false}`).problem(t, 409)
}
