package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/rebillyapi"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/storage/storagetest"
)

// listed is the answer of Rebilly's GET /memberships: its status, headers
// and items (each read as a response), or the problem.
type listed struct {
	response
	items []response
}

// rebillyList sends GET /memberships?query.
func (s *server) rebillyList(t testing.TB, query, tok string) listed {
	t.Helper()
	req, err := http.NewRequest("GET", s.URL+"/memberships?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	r, b := exchange(t, req)
	out := listed{response: r}
	if r.status != http.StatusOK {
		if err := json.Unmarshal(b, &out.doc); err != nil {
			t.Fatalf("%s: %s", req.URL, b)
		}
		return out
	}
	var items []map[string]any
	if err := json.Unmarshal(b, &items); err != nil || items == nil {
		t.Fatalf("%s: not a JSON array: %s", req.URL, b)
	}
	for _, it := range items {
		out.items = append(out.items, response{doc: it})
	}
	return out
}

// emails are the user.email of the items.
func (l listed) emails() []string {
	var out []string
	for _, it := range l.items {
		out = append(out, it.str("user.email"))
	}
	return out
}

// members are the emails of the organization's active memberships, in
// creation (id) order, read through the facade.
func (s *seeds) members(t testing.TB) []string {
	t.Helper()
	var out []string
	f := membership.Filter{OrganizationID: s.org.ID, Status: membership.Active, PageRequest: resource.PageRequest{Limit: resource.MaxPageLimit}}
	for {
		page, err := s.p.As(provisioning.User(s.owner.ID)).ListMemberships(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Items {
			out = append(out, m.UserEmail)
		}
		if page.Next == "" {
			return out
		}
		f.After = page.Next
	}
}

// addMembers makes n more users read-only members (m000@example.com, ...).
func (s *seeds) addMembers(t testing.TB, n int) {
	t.Helper()
	own := s.p.As(provisioning.User(s.owner.ID))
	for i := range n {
		u, _ := s.user(t, fmt.Sprintf("m%03d@example.com", i))
		if _, _, err := own.UpsertMembership(context.Background(), membership.Upsert{OrganizationID: s.org.ID, UserID: u.ID,
			RoleIDs: []string{s.readOnly.ID}}); err != nil {
			t.Fatal(err)
		}
	}
}

func sortedEmails(in []string, desc bool) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	if desc {
		slices.Reverse(out)
	}
	return out
}

// TestRebillyList checks GET /memberships on every backend: limit, offset,
// filter, sort, expand and the Pagination-* headers, over more members
// than one facade page holds, and the 422 of what it does not take.
func TestRebillyList(t *testing.T) {
	for name, open := range storagetest.Backends() {
		t.Run(name, func(t *testing.T) {
			s := seedsOn(t, newServerOn(t, open(t)))
			s.addMembers(t, 130)
			all := s.members(t) // owner, admin, reader, m000..m129
			if len(all) != 133 {
				t.Fatalf("%d members", len(all))
			}
			byEmail := sortedEmails(all, false)
			org := "filter=organization.id:" + s.org.ID
			tests := []struct {
				name       string
				giveQuery  string
				giveToken  string
				want       []string
				wantTotal  int
				wantLimit  int
				wantOffset int
			}{
				{"defaults", "", s.ownerToken, all[:100], 133, 100, 0},
				{"a page", "limit=3&offset=2", s.ownerToken, all[2:5], 133, 3, 2},
				{"across facade pages", "limit=120&offset=10", s.ownerToken, all[10:130], 133, 120, 10},
				{"past the end", "limit=1000&offset=100", s.ownerToken, all[100:], 133, 1000, 100},
				{"no item", "limit=0", s.ownerToken, nil, 133, 0, 0},
				{"the owner", org + ";isOwner:true", s.ownerToken, all[:1], 1, 100, 0},
				{"values", org + ";isOwner:false;user.email:READER@example.com,admin@example.com,nobody@example.com",
					s.ownerToken, []string{"admin@example.com", "reader@example.com"}, 2, 100, 0},
				{"negated", "filter=user.email:!m000@example.com,m001@example.com&limit=2", s.ownerToken, all[:2], 131, 2, 0},
				{"a range", "filter=user.email:m010@example.com..m012@example.com", s.ownerToken,
					[]string{"m010@example.com", "m011@example.com", "m012@example.com"}, 3, 100, 0},
				{"an open range", "filter=user.email:!..m128@example.com", s.ownerToken,
					[]string{"owner@example.com", "reader@example.com", "m129@example.com"}, 3, 100, 0},
				{"sorted", "sort=-user.email&limit=3", s.ownerToken, sortedEmails(all, true)[:3], 133, 3, 0},
				{"sorted across facade pages", "sort=user.email&limit=110&offset=5", s.ownerToken, byEmail[5:115], 133, 110, 5},
				{"sorted by two", "sort=-isOwner,user.email&limit=2", s.ownerToken, []string{"owner@example.com", "admin@example.com"}, 133, 2, 0},
				{"semicolon encoded", "filter=" + strings.ReplaceAll("user.email:admin@example.com;isOwner:false", ";", "%3B"), s.ownerToken,
					[]string{"admin@example.com"}, 1, 100, 0},
				{"a member's default organization", "", s.readerToken, all[:100], 133, 100, 0},
				{"another caller's", "", s.strangerToken, []string{"stranger@example.com"}, 1, 100, 0},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					r := s.rebillyList(t, tt.giveQuery, tt.giveToken)
					if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
						t.Fatalf("status %d %s: %s", r.status, r.header.Get("Content-Type"), r.raw)
					}
					if got := r.emails(); !slices.Equal(got, tt.want) {
						t.Errorf("%d items %v; want %d %v", len(got), got, len(tt.want), tt.want)
					}
					h := r.header
					if h.Get("Pagination-Total") != strconv.Itoa(tt.wantTotal) || h.Get("Pagination-Limit") != strconv.Itoa(tt.wantLimit) ||
						h.Get("Pagination-Offset") != strconv.Itoa(tt.wantOffset) {
						t.Errorf("headers total %s, limit %s, offset %s; want %d %d %d", h.Get("Pagination-Total"), h.Get("Pagination-Limit"),
							h.Get("Pagination-Offset"), tt.wantTotal, tt.wantLimit, tt.wantOffset)
					}
				})
			}
		})
	}
}

// TestRebillyListShape checks the items of the list (the Membership
// objects of GET, with acl and, with expand=roles, _embedded.roles) and
// its refusals.
func TestRebillyListShape(t *testing.T) {
	s := newSeeds(t)
	r := s.rebillyList(t, "filter=user.email:reader@example.com&expand=roles", s.ownerToken)
	if r.status != 200 || len(r.items) != 1 {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
	one := s.json(t, "GET", "/memberships/"+s.org.ID+"/"+s.reader.ID+"?expand=roles", s.ownerToken, "").want(t, 200, "")
	if !equalJSONValue(r.items[0].doc, one.doc) {
		t.Errorf("the list's item %v differs from the GET's %v", r.items[0].raw, one.raw)
	}
	want := map[string]any{"user.id": s.reader.ID, "_embedded.roles.0.id": s.readOnly.ID, "_embedded.roles.0.name": "Read-only",
		"acl.0.scope.organizationId.0": s.org.ID, "acl.0.permissions.0": "GetOrganizationCollection",
		"_links.0.href": s.URL + "/memberships/" + s.org.ID + "/" + s.reader.ID}
	for k, v := range want {
		if got := r.items[0].get(k); got != v {
			t.Errorf("%s = %v; want %v", k, got, v)
		}
	}
	// The read_only role's own acl: every read, as the reader's.
	reads := []string{"GetOrganizationCollection", "GetOrganization", "GetMembershipCollection", "GetMembership",
		"GetRoleCollection", "GetRole", "GetApiKeyCollection", "GetApiKey"}
	if got := r.items[0].strs("_embedded.roles.0.acl.0.permissions"); !slices.Equal(got, reads) {
		t.Errorf("the read_only role's acl %v; want %v", got, reads)
	}
	admin := s.json(t, "GET", "/memberships/"+s.org.ID+"/"+s.adminUser.ID+"?expand=roles", s.ownerToken, "").want(t, 200, "")
	if got := admin.count("_embedded.roles.0.acl.0.permissions"); got != len(rebillyapi.Operations()) {
		t.Errorf("the admin role's acl %v; want every operation", admin.get("_embedded.roles.0.acl"))
	}
	tests := []struct {
		name       string
		giveQuery  string
		giveToken  string
		wantStatus int
		wantFields []string
	}{
		{"unknown filter field", "filter=name:bob;user.id:x", s.ownerToken, 422, []string{"filter"}},
		{"unknown sort field", "sort=-createdTime", s.ownerToken, 422, []string{"sort"}},
		{"limit too large", "limit=1001&offset=2000", s.ownerToken, 422, []string{"limit", "offset"}},
		{"unknown expansion", "expand=users", s.ownerToken, 422, []string{"expand"}},
		{"a value of the wrong type", "filter=isOwner:maybe", s.ownerToken, 422, []string{"filter"}},
		{"another organization", "filter=organization.id:" + s.otherOrg.ID, s.ownerToken, 404, nil},
		{"no current organization", "", s.bobToken(t), 422, []string{"filter"}},
		{"no token", "", "", 401, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.rebillyList(t, tt.giveQuery, tt.giveToken).problem(t, tt.wantStatus, tt.wantFields...)
		})
	}
}

// bobToken is a token of bob, who belongs to no organization.
func (s *seeds) bobToken(t testing.TB) string {
	t.Helper()
	secret, _, err := s.tokens.Issue(context.Background(), provisioning.User(s.bob.ID), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

func equalJSONValue(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// strs reads a list of strings of a document.
func (r response) strs(path string) []string {
	out := []string{}
	for i := range r.count(path) {
		out = append(out, r.str(path+"."+strconv.Itoa(i)))
	}
	return out
}

// TestRebillyPermissions checks Rebilly's permissions on every backend: a
// PUT's operation ids become the library's grants, the answer spells them
// as ids again (the library's form for the rest), the answer sent back
// changes nothing, and unknown ids are 422 naming each, writing nothing.
func TestRebillyPermissions(t *testing.T) {
	for name, open := range storagetest.Backends() {
		t.Run(name, func(t *testing.T) {
			s := seedsOn(t, newServerOn(t, open(t)))
			path := "/memberships/" + s.org.ID + "/" + s.bob.ID
			r := s.json(t, "PUT", path, s.ownerToken, `{"permissions":["GetMembership","PutMembership","orders:read"]}`).want(t, 201, "")
			want := []string{"GetMembershipCollection", "GetMembership", "PutMembership", "orders:read"}
			if got := r.strs("permissions"); !slices.Equal(got, want) {
				t.Errorf("permissions %v; want %v", got, want)
			}
			m := s.memberOf(t, s.bob.ID)
			if stored := []string{"memberships:create", "memberships:read", "memberships:update", "orders:read"}; !slices.Equal(m.Permissions, stored) {
				t.Errorf("stored %v; want %v", m.Permissions, stored)
			}
			versions := s.versions(t, m.ID)
			back, err := json.Marshal(map[string]any{"permissions": r.strs("permissions"), "roleIds": r.strs("roleIds"), "allowedIps": nil})
			if err != nil {
				t.Fatal(err)
			}
			s.json(t, "PUT", path, s.ownerToken, string(back)).want(t, 200, "")
			if got := s.versions(t, m.ID); got != versions {
				t.Errorf("the answer sent back wrote %d versions", got-versions)
			}
			before := s.versions(t, "")
			for _, tt := range []struct {
				name       string
				giveBody   string
				wantFields []string
			}{
				{"unknown ids", `{"permissions":["GetMembership","GetTransactionCollection","putMembership"]}`, []string{"permissions.1", "permissions.2"}},
				{"the library's form, after ids", `{"permissions":["PutRole","nosuch:read"]}`, []string{"permissions.1"}},
			} {
				t.Run(tt.name, func(t *testing.T) {
					s.json(t, "PUT", path, s.ownerToken, tt.giveBody).problem(t, 422, tt.wantFields...)
				})
			}
			if got := s.versions(t, ""); got != before {
				t.Errorf("%d versions after the refusals; want %d", got, before)
			}
		})
	}
}

// TestRebillyRoleIDs checks roleIds left out, as Rebilly's Membership
// allows: a new member gets the read_only role, an existing one keeps its
// roles; an empty list is still refused.
func TestRebillyRoleIDs(t *testing.T) {
	for name, open := range storagetest.Backends() {
		t.Run(name, func(t *testing.T) {
			s := seedsOn(t, newServerOn(t, open(t)))
			path := "/memberships/" + s.org.ID + "/" + s.bob.ID
			steps := []struct {
				name       string
				giveBody   string
				wantStatus int
				wantRoles  []string
			}{
				{"created without roles", `{}`, 201, []string{s.readOnly.ID}},
				{"roles set", `{"roleIds":["` + s.admin.ID + `","` + s.readOnly.ID + `"]}`, 200, []string{s.admin.ID, s.readOnly.ID}},
				{"roles absent", `{"permissions":["GetMembership"]}`, 200, []string{s.admin.ID, s.readOnly.ID}},
				{"roles null", `{"roleIds":null}`, 200, []string{s.admin.ID, s.readOnly.ID}},
			}
			for _, st := range steps {
				r := s.json(t, "PUT", path, s.ownerToken, st.giveBody).want(t, st.wantStatus, "")
				if got := r.strs("roleIds"); !slices.Equal(got, st.wantRoles) || !slices.Equal(s.memberOf(t, s.bob.ID).RoleIDs, st.wantRoles) {
					t.Errorf("%s: roleIds %v (stored %v); want %v", st.name, got, s.memberOf(t, s.bob.ID).RoleIDs, st.wantRoles)
				}
			}
			s.json(t, "PUT", path, s.ownerToken, `{"roleIds":[]}`).problem(t, 422, "roleIds")
		})
	}
}

// TestRebillyACL checks each member's acl: the operations whose every
// grant the member holds by policy, in the organization's scope.
func TestRebillyACL(t *testing.T) {
	s := newSeeds(t)
	ctx := context.Background()
	reads := []string{"GetOrganizationCollection", "GetOrganization", "GetMembershipCollection", "GetMembership",
		"GetRoleCollection", "GetRole", "GetApiKeyCollection", "GetApiKey"}
	var every []string
	for _, op := range rebillyapi.Operations() {
		every = append(every, op.ID)
	}
	// The reader must use a second factor: the acl is by policy, so it is
	// the same.
	yes := true
	if _, err := s.p.As(provisioning.User(s.owner.ID)).UpdateMembership(ctx, s.memberOf(t, s.reader.ID).ID, membership.Update{MFARequired: &yes}); err != nil {
		t.Fatal(err)
	}
	s.json(t, "PUT", "/memberships/"+s.org.ID+"/"+s.bob.ID, s.ownerToken, `{"permissions":["DeleteMembership"]}`).want(t, 201, "")
	tests := []struct {
		name     string
		giveUser string
		want     []string
	}{
		{"owner", s.owner.ID, every},
		{"admin", s.adminUser.ID, every},
		{"read-only, second factor required", s.reader.ID, reads},
		{"read-only with a direct permission", s.bob.ID, append(slices.Clone(reads)[:4], append([]string{"DeleteMembership"}, reads[4:]...)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.json(t, "GET", "/memberships/"+s.org.ID+"/"+tt.giveUser, s.ownerToken, "").want(t, 200, "")
			if r.count("acl") != 1 || !slices.Equal(r.strs("acl.0.scope.organizationId"), []string{s.org.ID}) || !slices.Equal(r.strs("acl.0.permissions"), tt.want) {
				t.Errorf("acl %v; want %v in %s", r.get("acl"), tt.want, s.org.ID)
			}
			if r.get("_embedded") != nil {
				t.Errorf("_embedded without expand: %v", r.get("_embedded"))
			}
		})
	}
	s.json(t, "GET", "/memberships/"+s.org.ID+"/"+s.reader.ID+"?expand=users", s.ownerToken, "").problem(t, 422, "expand")
}

// BenchmarkRebillyList measures GET /memberships through the handler, in an
// organization of 1,103 members on a SQLite file: a page of 100 and one of
// 1,000 (ten facade pages walked by the cursor), each with its acl, in the
// same run.
func BenchmarkRebillyList(b *testing.B) {
	s := newSeeds(b)
	s.addMembers(b, 1100)
	for _, limit := range []int{100, 1000} {
		b.Run("limit="+strconv.Itoa(limit), func(b *testing.B) {
			query := "limit=" + strconv.Itoa(limit)
			for b.Loop() {
				if r := s.rebillyList(b, query, s.ownerToken); len(r.items) != limit {
					b.Fatalf("%d items: %s", len(r.items), r.raw[:min(len(r.raw), 300)])
				}
			}
		})
	}
}
