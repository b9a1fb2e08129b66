package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/httpapi"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/storage/storagetest"
)

// eciPath is a path of ECI's API under organization org's number.
func eciPath(num, rest string) string { return "/v1/organizations/" + num + rest }

// onBackends runs test on every backend (SQLite, and PostgreSQL and MySQL
// when their variables are set), giving it seeds on that backend.
func onBackends(t *testing.T, test func(*testing.T, func(testing.TB) *seeds)) {
	for name, open := range storagetest.Backends() {
		t.Run(name, func(t *testing.T) {
			test(t, func(t testing.TB) *seeds { return seedsOn(t, newServerOn(t, open(t))) })
		})
	}
}

// TestECIOrganizationMFA: PATCH …/mfa sets the organization's requirement
// (an audited organization update, admins only); it answers the
// organization under its number, and members without a second factor are
// refused from the next call on.
func TestECIOrganizationMFA(t *testing.T) { onBackends(t, testECIOrganizationMFA) }

func testECIOrganizationMFA(t *testing.T, newSeeds func(testing.TB) *seeds) {
	s := newSeeds(t)
	path := eciPath(eciOrg(s.org), "/mfa")
	s.json(t, "PATCH", path, s.readerToken, `{"isMfaRequired":true}`).problem(t, 403)
	s.json(t, "PATCH", path, s.adminToken, `{"isMfaRequired":"yes"}`).problem(t, 400, "isMfaRequired")
	s.json(t, "PATCH", path, s.adminToken, `{}`).problem(t, 400, "isMfaRequired")
	s.json(t, "PATCH", eciPath(s.org.ID, "/mfa"), s.adminToken, `{"isMfaRequired":true}`).problem(t, 404)
	s.json(t, "PATCH", eciPath(eciOrg(s.otherOrg), "/mfa"), s.adminToken, `{"isMfaRequired":true}`).problem(t, 404)
	s.json(t, "PATCH", eciPath("2147483648", "/mfa"), s.adminToken, `{"isMfaRequired":true}`).problem(t, 404)

	r := s.json(t, "PATCH", path, s.ownerToken, `{"isMfaRequired":true}`)
	if r.status != 200 || r.get("id") != float64(s.org.Number) || r.get("isMfaRequired") != true || r.str("name") != s.org.Slug {
		t.Fatalf("PATCH mfa: %d %s", r.status, r.raw)
	}
	org, err := s.p.System().As(provisioning.User(s.owner.ID)).GetOrganizationByNumber(context.Background(), s.org.Number)
	if err == nil {
		t.Fatalf("the owner without a second factor read the organization after the requirement: %+v", org)
	}
	// Read through the system: the flag and its version.
	mfa := withMFA(s.owner.ID)
	got, err := s.p.As(mfa).GetOrganization(context.Background(), s.org.ID)
	if err != nil || !got.MFARequired {
		t.Fatalf("organization after PATCH: %+v, %v", got, err)
	}
	page, err := s.p.As(mfa).ListVersions(context.Background(), audit.Filter{OrganizationID: s.org.ID, ResourceType: "organizations"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(page.Items, func(v audit.Version) bool { _, ok := v.Changes["mfa_required"]; return ok }) {
		t.Error("no version records mfa_required")
	}
	s.json(t, "GET", eciPath(eciOrg(s.org), "/members"), s.readerToken, "").problem(t, 403)
	r = s.json(t, "GET", "/v1/organizations", s.adminToken, "")
	if r.status != 200 || r.count("value") != 1 || r.get("value.0.id") != float64(s.org.Number) || r.get("value.0.isMfaRequired") != true {
		t.Errorf("GET /v1/organizations: %d %s", r.status, r.raw)
	}
}

// eciSeeds are the seeds with a guest by derivation (stranger, whose home
// organization is the other one, added to this one) and a guest by its
// flag (reader, at home here).
func eciSeeds(t *testing.T, newSeeds func(testing.TB) *seeds) (*seeds, string) {
	t.Helper()
	s := newSeeds(t)
	ctx := context.Background()
	stranger, err := s.p.System().UserByEmail(ctx, "stranger@example.com")
	if err != nil {
		t.Fatal(err)
	}
	own := s.p.As(provisioning.User(s.owner.ID))
	if _, err := own.AddMember(ctx, membership.Add{OrganizationID: s.org.ID, UserID: stranger.ID}); err != nil {
		t.Fatal(err)
	}
	yes := true
	if _, err := own.UpdateMembership(ctx, s.memberOf(t, s.reader.ID).ID, membership.Update{Guest: &yes}); err != nil {
		t.Fatal(err)
	}
	return s, stranger.ID
}

// eciEmails lists the users' addresses of a list answer, in order.
func eciEmails(t *testing.T, r response) []string {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("list: %d %s", r.status, r.raw)
	}
	var out []string
	for i := range r.count("value") {
		out = append(out, r.str("value."+strconv.Itoa(i)+".user.emailAddress"))
	}
	return out
}

// TestECIListMembers: the list's OData-style options, its derived isGuest,
// and the 400 of what it does not support.
func TestECIListMembers(t *testing.T) { onBackends(t, testECIListMembers) }

func testECIListMembers(t *testing.T, newSeeds func(testing.TB) *seeds) {
	s, strangerID := eciSeeds(t, newSeeds)
	base := eciPath(eciOrg(s.org), "/members")
	list := func(q string) response {
		t.Helper()
		return s.json(t, "GET", base+"?"+q, s.ownerToken, "")
	}
	all := []string{"owner@example.com", "admin@example.com", "reader@example.com", "stranger@example.com"}
	tests := []struct {
		name, give string
		want       []string
	}{
		{"everyone, by id (creation)", "$expand=user", all},
		{"eq", "$expand=user&$filter=" + url.QueryEscape("user/emailAddress eq 'reader@example.com'"), all[2:3]},
		{"ne and", "$expand=user&$filter=" + url.QueryEscape("userId ne '"+s.owner.ID+"' and isGuest eq false"), all[1:2]},
		{"derived and flagged guests", "$expand=user&$filter=" + url.QueryEscape("isGuest eq true"), all[2:4]},
		{"or, startswith, parentheses", "$expand=user&$filter=" + url.QueryEscape("(startswith(user/emailAddress,'adm') or endswith(user/emailAddress,'der@example.com')) and not contains(user/emailAddress,'own')"), all[1:3]},
		{"orderby desc", "$expand=user&$orderby=" + url.QueryEscape("user/emailAddress desc"), []string{all[3], all[2], all[0], all[1]}},
		{"top and skip", "$expand=user&$orderby=user/emailAddress&$top=2&$skip=1", []string{all[0], all[2]}},
		{"without the dollar", "expand=user&top=1", all[:1]},
		{"created ge", "$expand=user&$filter=" + url.QueryEscape("created ge 2000-01-01T00:00:00Z and organizationId eq "+eciOrg(s.org)), all},
		{"null", "$expand=user&$filter=" + url.QueryEscape("userId eq null"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := eciEmails(t, list(tt.give)); !slices.Equal(got, tt.want) {
				t.Errorf("%s: %v; want %v", tt.give, got, tt.want)
			}
		})
	}

	r := list("$count=true&$top=1&$filter=" + url.QueryEscape("isGuest eq true"))
	if r.doc["@odata.count"] != float64(2) || r.count("value") != 1 {
		t.Errorf("$count: %s", r.raw)
	}
	if _, ok := list("$top=1").doc["@odata.count"]; ok {
		t.Error("@odata.count without $count=true")
	}
	r = list("$select=userId,isGuest&$filter=" + url.QueryEscape("userId eq '"+strangerID+"'"))
	if m, _ := r.get("value.0").(map[string]any); len(m) != 2 || m["isGuest"] != true || m["userId"] != strangerID {
		t.Errorf("$select: %s", r.raw)
	}
	if r := list(""); r.get("value.0.user.emailAddress") != nil || r.str("value.0.user.id") != s.owner.ID {
		t.Errorf("without $expand the user is a reference: %s", r.raw)
	}
	for _, tt := range []struct{ give, wantNamed string }{
		{"$filter=" + url.QueryEscape("tolower(userId) eq 'x'"), "tolower"},
		{"$filter=" + url.QueryEscape("isGuest gt true"), "gt"},
		{"$filter=" + url.QueryEscape("userId has 'x'"), "has"},
		{"$filter=" + url.QueryEscape("nickname eq 'x'"), "nickname"},
		{"$filter=" + url.QueryEscape("userId eq 1"), "userId"},
		{"$filter=" + url.QueryEscape("(isGuest eq true"), "')'"},
		{"$orderby=roles", "roles"},
		{"$select=nickname", "nickname"},
		{"$expand=subscriptions", "subscriptions"},
		{"$top=5000", "$top"},
		{"$skip=-1", "$skip"},
		{"$count=yes", "$count"},
		{"$search=x", "$search"},
	} {
		r := list(tt.give).problem(t, 400)
		if !strings.Contains(r.str("detail"), tt.wantNamed) {
			t.Errorf("%s: detail %q does not name %s", tt.give, r.str("detail"), tt.wantNamed)
		}
	}
	s.json(t, "GET", eciPath(eciOrg(s.otherOrg), "/members"), s.ownerToken, "").problem(t, 404)
	s.json(t, "GET", eciPath("0", "/members"), s.ownerToken, "").problem(t, 404)
}

// TestECIGetMember: one member, with $select and $expand; 404 for a user
// who is not a member and in another organization.
func TestECIGetMember(t *testing.T) { onBackends(t, testECIGetMember) }

func testECIGetMember(t *testing.T, newSeeds func(testing.TB) *seeds) {
	s, strangerID := eciSeeds(t, newSeeds)
	r := s.json(t, "GET", eciPath(eciOrg(s.org), "/members/"+strangerID+"?$expand=user"), s.ownerToken, "")
	if r.status != 200 || r.get("isGuest") != true || r.str("user.emailAddress") != "stranger@example.com" ||
		r.get("user.organizationId") != nil || r.get("organizationId") != float64(s.org.Number) {
		t.Fatalf("GET member: %d %s", r.status, r.raw)
	}
	r = s.json(t, "GET", eciPath(eciOrg(s.org), "/members/"+s.adminUser.ID+"?$select=isGuest"), s.ownerToken, "")
	if m := r.doc; len(m) != 1 || m["isGuest"] != false {
		t.Errorf("GET member $select: %s", r.raw)
	}
	s.json(t, "GET", eciPath(eciOrg(s.org), "/members/"+s.bob.ID), s.ownerToken, "").problem(t, 404)
	s.json(t, "GET", eciPath(eciOrg(s.otherOrg), "/members/"+strangerID), s.ownerToken, "").problem(t, 404)
	s.json(t, "GET", eciPath(eciOrg(s.org), "/members/"+strangerID+"?$top=1"), s.ownerToken, "").problem(t, 400)
	r = s.json(t, "PUT", eciPath(eciOrg(s.org), "/members"), s.ownerToken, "{}").problem(t, 405)
	if allow := r.header.Get("Allow"); allow != "POST, GET" {
		t.Errorf("Allow: %q", allow)
	}
	s.json(t, "PATCH", eciPath(eciOrg(s.org), "/members/invite"), s.ownerToken, "{}").problem(t, 405)
}

// TestECIInviteMember: makeAdmin grants the admin role, else read_only;
// isMfaDisabled true, a bad or missing address are 400, the same address
// again 409, a reader 403.
func TestECIInviteMember(t *testing.T) { onBackends(t, testECIInviteMember) }

func testECIInviteMember(t *testing.T, newSeeds func(testing.TB) *seeds) {
	s := newSeeds(t)
	path := eciPath(eciOrg(s.org), "/members/invite")
	r := s.json(t, "POST", path, s.ownerToken, `{"emailAddress":"New.Admin@Example.com","givenName":"New","makeAdmin":true}`)
	if r.status != 201 || r.str("roles.0.id") != s.admin.ID || r.str("user.emailAddress") != "new.admin@example.com" || r.str("createdBy") != s.owner.ID {
		t.Fatalf("invite: %d %s", r.status, r.raw)
	}
	r = s.json(t, "POST", path, s.adminToken, `{"emailAddress":"plain@example.com","isMfaDisabled":false}`)
	if r.status != 201 || r.str("roles.0.id") != s.readOnly.ID {
		t.Fatalf("invite without makeAdmin: %d %s", r.status, r.raw)
	}
	m, err := s.p.As(provisioning.User(s.owner.ID)).GetMembership(context.Background(), r.str("id"))
	if err != nil || m.Status != membership.Pending || m.UserEmail != "plain@example.com" {
		t.Fatalf("the invitation through the facade: %+v, %v", m, err)
	}
	s.json(t, "POST", path, s.ownerToken, `{"emailAddress":"x@example.com","isMfaDisabled":true}`).problem(t, 400, "isMfaDisabled")
	s.json(t, "POST", path, s.ownerToken, `{"givenName":"`+strings.Repeat("n", 101)+`"}`).problem(t, 400, "emailAddress", "givenName")
	s.json(t, "POST", path, s.ownerToken, `{"emailAddress":"not an address"}`).problem(t, 400, "emailAddress")
	s.json(t, "POST", path, s.ownerToken, `{"emailAddress":"plain@example.com"}`).problem(t, 409)
	s.json(t, "POST", path, s.readerToken, `{"emailAddress":"r@example.com"}`).problem(t, 403)
	s.json(t, "POST", eciPath(eciOrg(s.otherOrg), "/members/invite"), s.ownerToken, `{"emailAddress":"o@example.com"}`).problem(t, 404)
}

// TestECIRemoveRoles: DELETE …/roles?roles= removes roles by id, name or
// organization-admin; 204, and the membership keeps the others. A role not
// held, none named, or the last one are 400.
func TestECIRemoveRoles(t *testing.T) { onBackends(t, testECIRemoveRoles) }

func testECIRemoveRoles(t *testing.T, newSeeds func(testing.TB) *seeds) {
	s := newSeeds(t)
	ctx := context.Background()
	own := s.p.As(provisioning.User(s.owner.ID))
	m := s.memberOf(t, s.adminUser.ID)
	both := []string{s.admin.ID, s.readOnly.ID}
	if _, err := own.UpdateMembership(ctx, m.ID, membership.Update{RoleID: &both[0], RoleIDs: &both}); err != nil {
		t.Fatal(err)
	}
	path := eciPath(eciOrg(s.org), "/members/"+s.adminUser.ID+"/roles")
	s.json(t, "DELETE", path+"?roles=nothing", s.ownerToken, "").problem(t, 400)
	s.json(t, "DELETE", path, s.ownerToken, "").problem(t, 400)
	s.json(t, "DELETE", path+"?roles=organization-admin,"+s.readOnly.Name, s.ownerToken, "").problem(t, 400)
	s.json(t, "DELETE", path+"?roles=organization-admin", s.readerToken, "").problem(t, 403)
	if r := s.json(t, "DELETE", path+"?roles=organization-admin", s.ownerToken, ""); r.status != 204 {
		t.Fatalf("DELETE roles: %d %s", r.status, r.raw)
	}
	if got := s.memberOf(t, s.adminUser.ID); !slices.Equal(got.RoleIDs, []string{s.readOnly.ID}) && got.RoleID != s.readOnly.ID {
		t.Errorf("roles after DELETE: %v (%s)", got.RoleIDs, got.RoleID)
	}
	s.json(t, "DELETE", eciPath(eciOrg(s.org), "/members/"+s.bob.ID+"/roles?roles=x"), s.ownerToken, "").problem(t, 404)
}

// TestECIImport: POST …/members/import answers 202 and a Location at once;
// polled to completion, the job reports every row's outcome; only its
// caller reads it; after Close no import starts.
func TestECIImport(t *testing.T) { onBackends(t, testECIImport) }

func testECIImport(t *testing.T, newSeeds func(testing.TB) *seeds) {
	s := newSeeds(t)
	before := goleak.IgnoreCurrent()
	h, err := httpapi.New(s.p, httpapi.Tokens(s.tokens))
	if err != nil {
		t.Fatal(err)
	}
	srv := &server{Server: httptest.NewServer(h)}
	t.Cleanup(srv.Close)
	t.Cleanup(h.Close)
	path := eciPath(eciOrg(s.org), "/members/import")
	body := `{"members":[{"emailAddress":"one@example.com"},{"emailAddress":"bad address"},` +
		`{"emailAddress":"reader@example.com"},{"emailAddress":"two@example.com","makeAdmin":true},` +
		`{"emailAddress":"three@example.com","isMfaDisabled":true},"not an object",{"emailAddress":"one@example.com"}]}`
	r := srv.json(t, "POST", path, s.ownerToken, body)
	loc := r.header.Get("Location")
	if r.status != 202 || !strings.HasPrefix(loc, eciPath(eciOrg(s.org), "/member-imports/")) {
		t.Fatalf("import: %d %s %s", r.status, loc, r.raw)
	}
	deadline := time.Now().Add(10 * time.Second)
	for r = srv.json(t, "GET", loc, s.ownerToken, ""); r.str("status") == "running"; r = srv.json(t, "GET", loc, s.ownerToken, "") {
		if time.Now().After(deadline) {
			t.Fatalf("the import still runs: %s", r.raw)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r.status != 200 || r.str("status") != "succeeded" {
		t.Fatalf("import result: %d %s", r.status, r.raw)
	}
	want := []float64{201, 400, 409, 201, 400, 400, 409}
	var got []float64
	for i := range r.count("rows") {
		st, _ := r.get("rows." + strconv.Itoa(i) + ".status").(float64)
		got = append(got, st)
	}
	if !slices.Equal(got, want) {
		t.Errorf("row statuses %v; want %v (%s)", got, want, r.raw)
	}
	if r.str("rows.3.member.roles.0.id") != s.admin.ID || r.str("rows.0.member.user.emailAddress") != "one@example.com" {
		t.Errorf("invited rows: %s", r.raw)
	}
	if f := r.str("rows.4.problem.invalidFields.0.field"); f != "isMfaDisabled" {
		t.Errorf("row 4 names %q", f)
	}
	for _, e := range []string{"one@example.com", "two@example.com"} {
		if m, err := s.p.As(provisioning.User(s.owner.ID)).GetMembershipByEmail(context.Background(), s.org.ID, e); err != nil || m.Status != membership.Pending {
			t.Errorf("%s after the import: %+v, %v", e, m, err)
		}
	}
	srv.json(t, "GET", loc, s.adminToken, "").problem(t, 404)
	srv.json(t, "GET", eciPath(eciOrg(s.org), "/member-imports/nothing"), s.ownerToken, "").problem(t, 404)
	srv.json(t, "POST", path, s.ownerToken, `{"members":[]}`).problem(t, 400, "members")

	// A caller without the right to invite finds the refusal in the result.
	r = srv.json(t, "POST", path, s.readerToken, `{"members":[{"emailAddress":"four@example.com"}]}`)
	for loc = r.header.Get("Location"); r.str("status") != "failed"; r = srv.json(t, "GET", loc, s.readerToken, "") {
		if time.Now().After(deadline) {
			t.Fatalf("the reader's import: %s", r.raw)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r.get("problem.status") != float64(403) {
		t.Errorf("the reader's import: %s", r.raw)
	}

	// Close waits for a running job, which ends (done, or failed as cut
	// short) before it returns.
	var rows []string
	for i := range 1000 {
		rows = append(rows, `{"emailAddress":"bulk`+strconv.Itoa(i)+`@example.com"}`)
	}
	r = srv.json(t, "POST", path, s.ownerToken, `{"members":[`+strings.Join(rows, ",")+`]}`)
	if r.status != 202 {
		t.Fatalf("bulk import: %d %s", r.status, r.raw)
	}
	h.Close()
	h.Close()
	if r = srv.json(t, "GET", r.header.Get("Location"), s.ownerToken, ""); r.str("status") == "running" {
		t.Errorf("a job still runs after Close: %s", r.raw)
	}
	srv.json(t, "POST", path, s.ownerToken, `{"members":[{"emailAddress":"five@example.com"}]}`).problem(t, 503)
	if _, err := s.p.As(provisioning.User(s.owner.ID)).GetMembershipByEmail(context.Background(), s.org.ID, "five@example.com"); err == nil {
		t.Error("an import after Close invited")
	}
	srv.Close()
	http.DefaultClient.CloseIdleConnections()
	// No job outlives Close; the database pool's connections (MySQL's
	// driver gives each one a watcher goroutine) are the pool's, not a job's.
	goleak.VerifyNone(t, before,
		goleak.IgnoreTopFunction("github.com/go-sql-driver/mysql.(*mysqlConn).startWatcher.func1"),
		goleak.IgnoreTopFunction("database/sql.(*DB).connectionCleaner"))
}
