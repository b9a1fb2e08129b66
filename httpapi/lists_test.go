package httpapi_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/profile"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/storage/storagetest"
)

// listFixture is the server's organization with four memberships of known
// values, in creation (id) order:
//
//	owner@example.com  active   admin      owner
//	ann@example.com    pending  read only  profile Ops, reference ref-1, metadata {team: red}
//	bob@example.org    pending  read only  reference ref-2, metadata {team: blue, lead: true}
//	cyd@example.com    pending  admin
type listFixture struct {
	*server
	prof          *profile.Profile
	ann, bob, cyd *membership.Membership
}

func newListFixture(t *testing.T) listFixture {
	t.Helper()
	s := newServer(t)
	ctx := context.Background()
	own := s.p.As(provisioning.User(s.owner.ID))
	prof, err := own.CreateProfile(ctx, profile.Create{OrganizationID: s.org.ID, Name: "Ops", AccessScope: "test_access"})
	if err != nil {
		t.Fatal(err)
	}
	invite := func(email string, r *role.Role, profID string, c resource.CommonInput) *membership.Membership {
		m, err := own.Invite(ctx, membership.Invite{OrganizationID: s.org.ID, UserEmail: email, RoleID: r.ID, ProfileID: profID, CommonInput: c})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	f := listFixture{server: s, prof: prof}
	f.ann = invite("ann@example.com", s.readOnly, prof.ID, resource.CommonInput{Reference: "ref-1", Metadata: resource.Metadata{"team": "red"}})
	f.bob = invite("bob@example.org", s.readOnly, "", resource.CommonInput{Reference: "ref-2", Metadata: resource.Metadata{"team": "blue", "lead": true}})
	f.cyd = invite("cyd@example.com", s.admin, "", resource.CommonInput{})
	return f
}

// emails lists the user_email of a list's items, in order.
func emails(r response) []string {
	out := []string{}
	for i := range r.count("data") {
		out = append(out, r.str(fmt.Sprintf("data.%d.attributes.user_email", i)))
	}
	return out
}

// fq is the query parameter filter[q][key]=value, the value escaped.
func fq(key, value string) string { return "filter[q][" + key + "]=" + url.QueryEscape(value) }

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// TestFilters checks each predicate family of Commerce Layer filters on the memberships
// list, and the named filters: each maps onto a library condition that the
// database evaluates.
func TestFilters(t *testing.T) {
	f := newListFixture(t)
	const (
		owner = "owner@example.com"
		ann   = "ann@example.com"
		bob   = "bob@example.org"
		cyd   = "cyd@example.com"
	)
	tests := []struct {
		giveQuery string
		want      []string
	}{
		{fq("user_email_eq", bob), []string{bob}},
		{"filter[user_email]=" + url.QueryEscape(bob), []string{bob}},
		{fq("status_not_eq", "pending"), []string{owner}},
		{fq("created_at_gt", stamp(f.ann.CreatedAt)), []string{bob, cyd}},
		{fq("created_at_lteq", stamp(f.ann.CreatedAt)), []string{owner, ann}},
		{fq("created_at_lt", stamp(f.bob.CreatedAt)), []string{owner, ann}},
		{fq("created_at_gteq", stamp(f.bob.CreatedAt)), []string{bob, cyd}},
		{fq("user_email_in", ann+","+cyd), []string{ann, cyd}},
		{fq("status_not_in", "active,gone"), []string{ann, bob, cyd}},
		{fq("user_email_cont", "EXAMPLE.ORG"), []string{bob}},
		{fq("user_email_not_cont", "example.com"), []string{bob}},
		{fq("user_email_start", "ANN"), []string{ann}},
		{fq("user_email_not_start", "a"), []string{owner, bob, cyd}},
		{fq("user_email_end", ".ORG"), []string{bob}},
		{fq("user_email_not_end", ".com"), []string{bob}},
		{fq("user_email_cont", "%"), []string{}}, // a literal %, not a wildcard
		{fq("user_email_matches", "%@example.org"), []string{bob}},
		{fq("user_email_does_not_match", "%@example.com"), []string{bob}},
		{fq("reference_present", "true"), []string{ann, bob}},
		{fq("reference_present", "false"), []string{owner, cyd}},
		{fq("reference_blank", "true"), []string{owner, cyd}},
		{fq("membership_profile_id_null", "true"), []string{owner, bob, cyd}},
		{fq("membership_profile_id_not_null", "true"), []string{ann}},
		{fq("owner_true", "true"), []string{owner}},
		{fq("role_kind_eq", "admin"), []string{owner, cyd}},                         // a related resource's attribute
		{fq("organization_name_start", "the blue"), []string{owner, ann, bob, cyd}}, // Commerce Layer documentation example
		{fq("owner_true", "TRUE"), []string{owner}},                                 // any boolean spelling reaches the library as true
		{fq("owner_false", "true"), []string{ann, bob, cyd}},
		{fq("metadata_jcont", `{"team":"blue"}`), []string{bob}},
		{fq("metadata_jcont", `{"team":"red","lead":true}`), []string{}},
		{fq("user_email_start_any", "ann,bob"), []string{ann, bob}},
		{fq("user_email_cont_all", "example,y"), []string{cyd}},
		{fq("user_email_not_eq_all", ann+","+bob), []string{owner, cyd}},
		{fq("reference_not_eq", "ref-1"), []string{bob}},
		{fq("reference_not_eq_or_null", "ref-1"), []string{owner, bob, cyd}},
		{fq("reference_eq_or_null", "ref-2"), []string{owner, bob, cyd}},
		{fq("reference_in_or_null", "ref-1,ref-2"), []string{owner, ann, bob, cyd}},
		{fq("user_email_or_reference_eq", cyd), []string{cyd}},
		{fq("user_email_or_reference_eq", "ref-2"), []string{bob}},
		{fq("reference_or_user_email_in", "ref-1,"+cyd), []string{ann, cyd}},
		{"filter[ids]=" + f.ann.ID + "," + f.cyd.ID, []string{ann, cyd}},
		{"filter[role_id]=" + f.admin.ID, []string{owner, cyd}},
		{fq("role_id_eq", f.readOnly.ID), []string{ann, bob}},
		{fq("membership_profile_id_eq", f.prof.ID), []string{ann}},
		{"filter[organization_id]=" + f.org.ID + "&" + fq("status_eq", "active"), []string{owner}},
		{fq("organization_id_eq", f.org.ID), []string{owner, ann, bob, cyd}},
		{"filter[organization_id]=" + f.org.ID + "&" + fq("organization_id_eq", "nope"), []string{}}, // the list's organization, and a condition
		{"filter[created_at_from]=" + url.QueryEscape(stamp(f.bob.CreatedAt)), []string{bob, cyd}},
		{"filter[created_at_to]=" + url.QueryEscape(stamp(f.bob.CreatedAt)), []string{owner, ann}},
		{"filter[updated_at_from]=" + url.QueryEscape(stamp(f.cyd.UpdatedAt)), []string{cyd}},
		{"filter[updated_at_to]=" + url.QueryEscape(stamp(f.ann.UpdatedAt)), []string{owner}},
		{fq("user_email_cont", "example") + "&" + fq("status_eq", "pending") + "&" + fq("reference_present", "true"), []string{ann, bob}},
		{"filter%5Bq%5D%5Buser_email_cont%5D=example.org", []string{bob}},
	}
	for _, tt := range tests {
		t.Run(tt.giveQuery, func(t *testing.T) {
			r := f.call(t, "GET", "/api/memberships?"+tt.giveQuery, f.ownerToken, "").want(t, 200, "")
			if got := emails(r); !slices.Equal(got, tt.want) || r.get("meta.record_count") != float64(len(tt.want)) {
				t.Errorf("%v, record_count %v; want %v", got, r.get("meta.record_count"), tt.want)
			}
		})
	}
}

// TestFiltersOtherLists checks conditions on other lists (booleans of
// credentials, names, relationship ids) and inside a relationship's list.
func TestFiltersOtherLists(t *testing.T) {
	f := newListFixture(t)
	ctx := context.Background()
	if _, err := f.p.As(provisioning.User(f.owner.ID)).CreateCredential(ctx, credential.Create{OrganizationID: f.org.ID,
		Name: "Forked orders", Kind: "orders", Custom: true, RoleID: f.admin.ID}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		givePath  string
		wantCount int
	}{
		{"/api/api_credentials", 3},
		{"/api/api_credentials?" + fq("custom_true", "true"), 1},
		{"/api/api_credentials?" + fq("custom_false", "true"), 2},
		{"/api/api_credentials?" + fq("name_cont", "ORDERS"), 1},
		{"/api/roles?" + fq("name_eq", f.readOnly.Name), 1},
		{"/api/roles?" + fq("kind_in", "admin,read_only"), 2},
		{"/api/organizations?" + fq("name_start", "the blue"), 1},
		{"/api/organizations?" + fq("name_start", "green"), 0},
		{"/api/membership_profiles?" + fq("name_not_eq", "Ops"), 0},
		{"/api/versions?" + fq("resource_type_eq", "memberships") + "&" + fq("resource_id_eq", f.bob.ID), 1},
		{"/api/roles/" + f.readOnly.ID + "/memberships?" + fq("reference_eq", "ref-2"), 1},
		{"/api/roles/" + f.readOnly.ID + "/memberships?" + fq("role_id_eq", f.admin.ID), 0},
		{"/api/memberships/" + f.bob.ID + "/versions?" + fq("event_eq", "create"), 1},
	}
	for _, tt := range tests {
		t.Run(tt.givePath, func(t *testing.T) {
			r := f.call(t, "GET", tt.givePath, f.ownerToken, "").want(t, 200, "")
			if got := r.get("meta.record_count"); got != float64(tt.wantCount) || r.count("data") != tt.wantCount {
				t.Errorf("record_count %v, %d items; want %d: %s", got, r.count("data"), tt.wantCount, r.raw)
			}
		})
	}
}

// TestSort checks sort keys, ascending and descending, then by id.
func TestSort(t *testing.T) {
	f := newListFixture(t)
	tests := []struct {
		givePath string
		want     []string
	}{
		{"/api/memberships?sort=user_email", []string{"ann@example.com", "bob@example.org", "cyd@example.com", "owner@example.com"}},
		{"/api/memberships?sort=-user_email", []string{"owner@example.com", "cyd@example.com", "bob@example.org", "ann@example.com"}},
		{"/api/memberships?sort=-status,-user_email", []string{"cyd@example.com", "bob@example.org", "ann@example.com", "owner@example.com"}},
		{"/api/memberships?sort=role_id,-user_email&" + fq("role_id_eq", f.admin.ID), []string{"owner@example.com", "cyd@example.com"}},
		{"/api/memberships?sort=-created_at", []string{"cyd@example.com", "bob@example.org", "ann@example.com", "owner@example.com"}},
		{"/api/memberships?sort=-id&page[size]=2", []string{"cyd@example.com", "bob@example.org"}},
	}
	for _, tt := range tests {
		t.Run(tt.givePath, func(t *testing.T) {
			r := f.call(t, "GET", tt.givePath, f.ownerToken, "").want(t, 200, "")
			if !slices.Equal(emails(r), tt.want) {
				t.Errorf("%v; want %v", emails(r), tt.want)
			}
		})
	}
	r := f.call(t, "GET", "/api/roles?sort=-name&fields[roles]=name", f.ownerToken, "").want(t, 200, "")
	var names []string
	for i := range r.count("data") {
		names = append(names, r.str(fmt.Sprintf("data.%d.attributes.name", i)))
	}
	if len(names) < 2 || !slices.IsSortedFunc(names, func(a, b string) int { return strings.Compare(b, a) }) {
		t.Errorf("roles by name, descending: %v", names)
	}
}

// TestPages checks page numbers (an offset and a count in the database),
// meta and links.
func TestPages(t *testing.T) {
	s := newServer(t)
	own := s.p.As(provisioning.User(s.owner.ID))
	for i := range 12 {
		if _, err := own.Invite(context.Background(), membership.Invite{OrganizationID: s.org.ID,
			UserEmail: fmt.Sprintf("m%02d@example.com", i), RoleID: s.readOnly.ID}); err != nil {
			t.Fatal(err)
		}
	}
	pending := "&" + fq("status_eq", "pending")
	tests := []struct {
		givePath         string
		want             []string // the items' emails
		wantRecords      float64
		wantPages        float64
		wantPrev         string // the page[number] of the links, "" for none
		wantNext         string
		wantLast         string
		wantLinkContains string
	}{
		{"/api/memberships?page[size]=5" + pending, []string{"m00", "m01", "m02", "m03", "m04"}, 12, 3, "", "2", "3", "status_eq"},
		{"/api/memberships?page[number]=2&page[size]=5" + pending, []string{"m05", "m06", "m07", "m08", "m09"}, 12, 3, "1", "3", "3", "status_eq"},
		{"/api/memberships?page[number]=3&page[size]=5" + pending, []string{"m10", "m11"}, 12, 3, "2", "", "3", "status_eq"},
		{"/api/memberships?page[number]=2&page[size]=5&sort=-user_email" + pending, []string{"m06", "m05", "m04", "m03", "m02"}, 12, 3, "1", "3", "3", "sort=-user_email"},
		{"/api/memberships?page[number]=2" + pending, []string{"m10", "m11"}, 12, 2, "1", "", "2", "status_eq"},
		{"/api/memberships?page[number]=9", []string{}, 13, 2, "2", "", "2", ""},
		{"/api/memberships?page[size]=1&" + fq("user_email_end", "3@example.com"), []string{"m03"}, 1, 1, "", "", "1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.givePath, func(t *testing.T) {
			r := s.call(t, "GET", tt.givePath, s.ownerToken, "").want(t, 200, "")
			var got []string
			for _, e := range emails(r) {
				got = append(got, strings.TrimSuffix(e, "@example.com"))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("items %v; want %v", got, tt.want)
			}
			if r.get("meta.record_count") != tt.wantRecords || r.get("meta.page_count") != tt.wantPages {
				t.Errorf("meta %v; want record_count %v, page_count %v", r.get("meta"), tt.wantRecords, tt.wantPages)
			}
			for rel, want := range map[string]string{"prev": tt.wantPrev, "next": tt.wantNext, "last": tt.wantLast, "first": "1"} {
				if got := pageOf(t, r.str("links."+rel)); got != want {
					t.Errorf("links.%s: page %q; want %q (%v)", rel, got, want, r.get("links"))
				}
			}
			if first, _ := url.QueryUnescape(r.str("links.first")); !strings.Contains(first, tt.wantLinkContains) {
				t.Errorf("links.first %q does not keep %q", first, tt.wantLinkContains)
			}
		})
	}
}

// pageOf returns the page[number] of a link, "" for no link.
func pageOf(t *testing.T, link string) string {
	t.Helper()
	if link == "" {
		return ""
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("page[number]")
}

// TestListsAcrossOrganizations checks a list without an organization over
// a user's several organizations, on every backend: one count, pages that
// cover every item once in the database's sort order, filters and sort
// keys over every organization. The sort values are ASCII of one shape, so
// that every backend's collation orders them alike.
func TestListsAcrossOrganizations(t *testing.T) {
	for name, open := range storagetest.Backends() {
		t.Run(name, func(t *testing.T) { testListsAcrossOrganizations(t, newServerOn(t, open(t))) })
	}
}

func testListsAcrossOrganizations(t *testing.T, s *server) {
	ctx := context.Background()
	own := s.p.As(provisioning.User(s.owner.ID))
	green, err := own.CreateOrganization(ctx, organization.Create{Name: "Green Goods"})
	if err != nil {
		t.Fatal(err)
	}
	greenRoles, err := own.ListRoles(ctx, role.Filter{OrganizationID: green.ID, PageRequest: resource.PageRequest{
		Where: []resource.Condition{{Fields: []string{"kind"}, Op: resource.Eq, Values: []string{"read_only"}}}}})
	if err != nil || len(greenRoles.Items) != 1 {
		t.Fatalf("green's read-only role: %v %v", greenRoles.Items, err)
	}
	var all []string // every membership's email: the owner's twice
	for i, org := range []struct{ id, roleID string }{{s.org.ID, s.readOnly.ID}, {green.ID, greenRoles.Items[0].ID}, {s.org.ID, s.readOnly.ID}} {
		for j := range 4 {
			email := fmt.Sprintf("u%d%d@example.com", j, i) // interleaved across organizations by email
			if _, err := own.Invite(ctx, membership.Invite{OrganizationID: org.id, UserEmail: email, RoleID: org.roleID}); err != nil {
				t.Fatal(err)
			}
			all = append(all, email)
		}
	}
	all = append(all, "owner@example.com", "owner@example.com")
	slices.Sort(all) // the owner's two first
	tests := []struct {
		giveQuery string
		want      []string
	}{
		{"sort=user_email", all},
		{"sort=-user_email", reversed(all)},
		{"sort=user_email&" + fq("user_email_start", "u1"), []string{"u10@example.com", "u11@example.com", "u12@example.com"}},
		{"sort=-user_email&" + fq("owner_false", "true"), reversed(all[2:])},
	}
	for _, tt := range tests {
		for _, size := range []int{1, 3, 25} {
			t.Run(fmt.Sprintf("%s by %d", tt.giveQuery, size), func(t *testing.T) {
				var got []string
				pages := (len(tt.want) + size - 1) / size
				for n := 1; n <= pages+1; n++ {
					r := s.call(t, "GET", fmt.Sprintf("/api/memberships?%s&page[number]=%d&page[size]=%d", tt.giveQuery, n, size), s.ownerToken, "").want(t, 200, "")
					if r.get("meta.record_count") != float64(len(tt.want)) || r.get("meta.page_count") != float64(pages) {
						t.Fatalf("page %d: meta %v; want %d records, %d pages", n, r.get("meta"), len(tt.want), pages)
					}
					if want := min(size, max(len(tt.want)-(n-1)*size, 0)); r.count("data") != want {
						t.Fatalf("page %d: %d items; want %d", n, r.count("data"), want)
					}
					got = append(got, emails(r)...)
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("pages together: %v; want %v", got, tt.want)
				}
			})
		}
	}
	// organization_id_eq is the organization of the library's list: another one is not found
	stranger, _ := s.user(t, "stranger@example.com")
	theirs, err := s.p.As(provisioning.User(stranger.ID)).CreateOrganization(ctx, organization.Create{Name: "Theirs"})
	if err != nil {
		t.Fatal(err)
	}
	s.call(t, "GET", "/api/memberships?"+fq("organization_id_eq", theirs.ID), s.ownerToken, "").want(t, 404, "RECORD_NOT_FOUND")
	s.call(t, "GET", "/api/roles?filter[organization_id]="+theirs.ID, s.ownerToken, "").want(t, 404, "RECORD_NOT_FOUND")
	r := s.call(t, "GET", "/api/memberships?"+fq("user_email_cont", "owner")+"&"+fq("metadata_frob_eq", "x"), s.ownerToken, "").want(t, 400, "FILTER_NOT_ALLOWED")
	if p := r.str("errors.0.source.parameter"); p != "filter[q][metadata_frob_eq]" {
		t.Errorf("source.parameter %q; want the refused filter", p)
	}
}

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

// TestListRefusals checks the 400s of list parameters: what storage's
// allowlist of the list refuses names the query parameter it came from.
func TestListRefusals(t *testing.T) {
	f := newListFixture(t)
	tests := []struct {
		givePath, wantCode, wantParameter string
	}{
		{"/api/memberships?" + fq("invitation_token_hash_eq", "x"), "FILTER_NOT_ALLOWED", "filter[q][invitation_token_hash_eq]"},
		// parameters are read in name order: the refused one is the second condition, then the first
		{"/api/memberships?" + fq("status_eq", "pending") + "&" + fq("user_nickname_cont", "x"), "FILTER_NOT_ALLOWED", "filter[q][user_nickname_cont]"},
		{"/api/memberships?" + fq("status_eq", "pending") + "&" + fq("password_cont", "x"), "FILTER_NOT_ALLOWED", "filter[q][password_cont]"},
		{"/api/memberships?filter[nickname]=x", "FILTER_NOT_ALLOWED", "filter[nickname]"},
		{"/api/memberships?" + fq("test_enabled_true", "true"), "FILTER_NOT_ALLOWED", "filter[q][test_enabled_true]"},
		{"/api/memberships?" + fq("status_or_nickname_eq", "x"), "FILTER_NOT_ALLOWED", "filter[q][status_or_nickname_eq]"},
		{"/api/organizations?" + fq("role_id_eq", "x"), "FILTER_NOT_ALLOWED", "filter[q][role_id_eq]"},
		{"/api/memberships?" + fq("created_at_gt", "yesterday"), "FILTER_NOT_ALLOWED", "filter[q][created_at_gt]"},
		{"/api/memberships?filter[created_at_from]=soon", "FILTER_NOT_ALLOWED", "filter[created_at_from]"},
		{"/api/memberships?" + fq("status_true", "true"), "FILTER_NOT_ALLOWED", "filter[q][status_true]"},
		{"/api/memberships?" + fq("owner_cont", "t"), "FILTER_NOT_ALLOWED", "filter[q][owner_cont]"},
		{"/api/memberships?" + fq("metadata_eq", "{}"), "FILTER_NOT_ALLOWED", "filter[q][metadata_eq]"},
		{"/api/memberships?" + fq("user_email_eq", strings.Repeat("x", resource.MaxValueBytes+1)), "FILTER_NOT_ALLOWED", "filter[q][user_email_eq]"},
		{"/api/roles/" + f.readOnly.ID + "/memberships?" + fq("nickname_eq", "x"), "FILTER_NOT_ALLOWED", "filter[q][nickname_eq]"},
		{"/api/memberships?" + fq("status_frob", "x"), "FILTER_NOT_ALLOWED", "filter[q][status_frob]"},
		{"/api/memberships?" + fq("owner_true", "maybe"), "INVALID_FILTER_VALUE", "filter[q][owner_true]"},
		{"/api/memberships?" + fq("metadata_jcont", "[1]"), "INVALID_FILTER_VALUE", "filter[q][metadata_jcont]"},
		{"/api/memberships?sort=nickname", "INVALID_SORT_CRITERIA", "sort"},
		{"/api/memberships?sort=status,-metadata", "INVALID_SORT_CRITERIA", "sort"},
		{"/api/organizations?sort=-role_id", "INVALID_SORT_CRITERIA", "sort"},
		{"/api/memberships?sort=-", "INVALID_SORT_CRITERIA", "sort"},
		{"/api/memberships?include=nothing", "INVALID_INCLUDE", "include"},
		{"/api/memberships?include=role.nothing", "INVALID_INCLUDE", "include"},
		{"/api/memberships?fields[memberships]=nope", "INVALID_FIELD", "fields[memberships]"},
		{"/api/memberships?fields[nopes]=id", "INVALID_FIELD", "fields[nopes]"},
		{"/api/memberships?page[size]=26", "INVALID_PAGE_VALUE", "page[size]"},
		{"/api/memberships?page[number]=0", "INVALID_PAGE_VALUE", "page[number]"},
		{"/api/memberships?color=blue", "PARAM_NOT_ALLOWED", "color"},
		{"/api/memberships/" + f.ann.ID + "?sort=id", "PARAM_NOT_ALLOWED", "sort"},
	}
	for _, tt := range tests {
		t.Run(tt.givePath, func(t *testing.T) {
			r := f.call(t, "GET", tt.givePath, f.ownerToken, "").want(t, 400, tt.wantCode)
			if p := r.str("errors.0.source.parameter"); p != tt.wantParameter {
				t.Errorf("source.parameter %q; want %q: %s", p, tt.wantParameter, r.raw)
			}
			if r.str("errors.0.status") != "400" {
				t.Errorf("status member %v; want \"400\"", r.get("errors.0.status"))
			}
		})
	}
}

// TestBadTokenEvent checks that a bearer token that does not authenticate
// is recorded as a security event with the token's first characters only,
// the client's address and the endpoint; a missing token records nothing.
func TestBadTokenEvent(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	const long = "pvt_not-a-token-at-all"
	s.call(t, "GET", "/api/memberships/m1", long, "").want(t, 401, "INVALID_TOKEN")
	s.call(t, "GET", "/api/user", "abc", "").want(t, 401, "INVALID_TOKEN")
	s.call(t, "GET", "/api/user", "", "").want(t, 401, "INVALID_TOKEN")
	s.call(t, "GET", "/api/user", s.ownerToken, "").want(t, 200, "")
	page, err := s.p.System().ListSecurityEvents(ctx, audit.SecurityFilter{Kind: audit.BadToken})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 2 {
		t.Fatalf("%d bad token events; want 2 (a missing or good token records none): %+v", len(page.Items), page.Items)
	}
	tests := []struct {
		give                   audit.SecurityEvent
		wantDetail, wantOp     string
		wantNotContain, wantIP string
	}{
		{page.Items[0], "token prefix pvt_not-", "GET /api/memberships/{id}", long, "127.0.0.1"},
		{page.Items[1], "token prefix a", "GET /api/user", "abc", "127.0.0.1"},
	}
	for _, tt := range tests {
		e := tt.give
		if e.Detail != tt.wantDetail || strings.Contains(e.Detail, tt.wantNotContain) || e.Operation != tt.wantOp ||
			e.IP != tt.wantIP || e.Who.Type != "" || e.Kind != audit.BadToken || e.RequestID == "" {
			t.Errorf("event %+v; want detail %q (never %q), operation %q, IP %q, nobody, a request id", e, tt.wantDetail, tt.wantNotContain, tt.wantOp, tt.wantIP)
		}
	}
}

// TestListsAcrossOrganizationsLong checks a list over several
// organizations beyond resource.MaxPageLimit items of one organization.
func TestListsAcrossOrganizationsLong(t *testing.T) {
	for name, open := range storagetest.Backends() {
		t.Run(name, func(t *testing.T) { testListsAcrossOrganizationsLong(t, newServerOn(t, open(t))) })
	}
}

func testListsAcrossOrganizationsLong(t *testing.T, s *server) {
	ctx := context.Background()
	own := s.p.As(provisioning.User(s.owner.ID))
	if _, err := own.CreateOrganization(ctx, organization.Create{Name: "Green Goods"}); err != nil {
		t.Fatal(err)
	}
	all := []string{"owner@example.com", "owner@example.com"}
	for i := range resource.MaxPageLimit + 10 {
		email := fmt.Sprintf("m%03d@example.com", i)
		if _, err := own.Invite(ctx, membership.Invite{OrganizationID: s.org.ID, UserEmail: email, RoleID: s.readOnly.ID}); err != nil {
			t.Fatal(err)
		}
		all = append(all, email)
	}
	slices.Sort(all) // m000... then the owner's two
	const size = 25
	for n := 1; n <= (len(all)+size-1)/size; n++ {
		r := s.call(t, "GET", fmt.Sprintf("/api/memberships?sort=user_email&page[number]=%d&page[size]=%d", n, size), s.ownerToken, "").want(t, 200, "")
		if want := all[(n-1)*size : min(n*size, len(all))]; !slices.Equal(emails(r), want) || r.get("meta.record_count") != float64(len(all)) {
			t.Errorf("page %d: %v, record_count %v; want %v, %d", n, emails(r), r.get("meta.record_count"), want, len(all))
		}
	}
}

// TestListsAcrossOrganizationsRights checks that a list across the
// caller's organizations holds only what it may read in each: a member
// whose role in one organization does not read versions lists the versions
// of its other organizations, none of that one's, and no error.
func TestListsAcrossOrganizationsRights(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	stranger, _ := s.user(t, "stranger@example.com")
	theirs, err := s.p.As(provisioning.User(stranger.ID)).CreateOrganization(ctx, organization.Create{Name: "Theirs"})
	if err != nil {
		t.Fatal(err)
	}
	str := s.p.As(provisioning.User(stranger.ID))
	nothing, err := str.CreateRole(ctx, role.Create{OrganizationID: theirs.ID, Name: "Nothing"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := str.Invite(ctx, membership.Invite{OrganizationID: theirs.ID, UserEmail: "owner@example.com", RoleID: nothing.ID}); err != nil {
		t.Fatal(err)
	}
	mine, err := s.p.As(provisioning.User(s.owner.ID)).ListVersions(ctx, audit.Filter{OrganizationID: s.org.ID, PageRequest: resource.PageRequest{Count: true}})
	if err != nil {
		t.Fatal(err)
	}
	r := s.call(t, "GET", "/api/versions?page[size]=25", s.ownerToken, "").want(t, 200, "")
	if r.get("meta.record_count") != float64(mine.Total) || mine.Total == 0 {
		t.Errorf("versions across organizations: record_count %v; want the %d of the owner's organization only", r.get("meta.record_count"), mine.Total)
	}
	r = s.call(t, "GET", "/api/memberships?"+fq("organization_id_eq", theirs.ID), s.ownerToken, "").want(t, 200, "")
	if r.count("data") != 2 {
		t.Errorf("memberships of the other organization, which every member reads: %d; want 2", r.count("data"))
	}
}
