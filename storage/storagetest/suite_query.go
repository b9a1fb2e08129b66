package storagetest

import (
	"slices"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

// queryCases are the subtests of list conditions, sorting, offsets and counts.
var queryCases = []testCase{
	{"Conditions", testQueryConditions},
	{"SortOffsetCount", testQuerySortOffsetCount},
	{"Refused", testQueryRefused},
}

// queryFixture is one organization with five memberships of known values.
type queryFixture struct {
	tn  tenant
	ids map[string]string // name → membership id
}

func (e *env) queryFixture(t *testing.T) queryFixture {
	tn := e.newTenant(t)
	ro := e.newRole(t, tn.org.ID, role.KindReadOnly)
	f := queryFixture{tn: tn, ids: map[string]string{"owner": tn.om.ID}}
	add := func(name, email string, mod func(*membership.Membership)) {
		m := e.newMember(t, tn.org.ID, ro.ID, func(m *membership.Membership) {
			m.UserEmail = email
			m.CreatedAt = t0.Add(time.Duration(len(f.ids)) * time.Hour)
			m.UpdatedAt = m.CreatedAt
			if mod != nil {
				mod(m)
			}
		})
		f.ids[name] = m.ID
	}
	add("ann", "ann@acme.com", func(m *membership.Membership) {
		m.Reference, m.Metadata = "100%_sure", resource.Metadata{"team": "red", "level": 3.0, "lead": true}
	})
	add("bob", "bob@acme.com", func(m *membership.Membership) {
		m.Reference, m.Metadata, m.Guest = "plain", resource.Metadata{"team": "blue"}, true
	})
	add("cyd", "cyd@other.org", func(m *membership.Membership) { m.Status, m.UserID = membership.Active, e.newUser(t).ID })
	add("dee", "dee@OTHER.org", nil)
	return f
}

// names lists the members of a page by fixture name.
func (f queryFixture) names(items []membership.Membership) []string {
	var out []string
	for _, m := range items {
		for name, id := range f.ids {
			if id == m.ID {
				out = append(out, name)
			}
		}
	}
	return out
}

func (e *env) listQuery(t *testing.T, f queryFixture, pr resource.PageRequest) (resource.Page[membership.Membership], error) {
	t.Helper()
	return e.s.Memberships().List(t.Context(), membership.Filter{OrganizationID: f.tn.org.ID, PageRequest: pr})
}

func cond(op resource.Op, field string, values ...string) resource.Condition {
	return resource.Condition{Fields: []string{field}, Op: op, Values: values}
}

// testQueryConditions: each predicate selects the rows it should, values
// are bound (never SQL), and LIKE wildcards in values are literal.
func testQueryConditions(t *testing.T, e *env) {
	f := e.queryFixture(t)
	any := func(c resource.Condition) resource.Condition { c.Mode = resource.Any; return c }
	all := func(c resource.Condition) resource.Condition { c.Mode = resource.All; return c }
	orNull := func(c resource.Condition) resource.Condition { c.OrNull = true; return c }
	tests := []struct {
		name string
		give []resource.Condition
		want []string // in id order
	}{
		{"eq", []resource.Condition{cond(resource.Eq, "user_email", "bob@acme.com")}, []string{"bob"}},
		{"not_eq", []resource.Condition{cond(resource.NotEq, "status", "pending")}, []string{"owner", "cyd"}},
		{"in", []resource.Condition{cond(resource.In, "user_email", "ann@acme.com", "dee@OTHER.org")}, []string{"ann", "dee"}},
		{"not_in", []resource.Condition{cond(resource.NotIn, "status", "active")}, []string{"ann", "bob", "dee"}},
		{"cont, case-insensitive", []resource.Condition{cond(resource.Cont, "user_email", "other")}, []string{"cyd", "dee"}},
		{"not_cont", []resource.Condition{cond(resource.NotCont, "user_email", "acme")}, []string{"owner", "cyd", "dee"}},
		{"start", []resource.Condition{cond(resource.Start, "user_email", "B")}, []string{"bob"}},
		{"end", []resource.Condition{cond(resource.End, "user_email", ".ORG")}, []string{"cyd", "dee"}},
		{"cont_any", []resource.Condition{any(cond(resource.Cont, "user_email", "ann", "bob"))}, []string{"ann", "bob"}},
		{"cont_all", []resource.Condition{all(cond(resource.Cont, "user_email", "a", "n"))}, []string{"ann"}},
		{"a % in the value is literal", []resource.Condition{cond(resource.Cont, "reference", "0%_s")}, []string{"ann"}},
		{"a lone % matches only a %", []resource.Condition{cond(resource.Cont, "reference", "%")}, []string{"ann"}},
		{"matches takes a pattern", []resource.Condition{cond(resource.Matches, "user_email", "%@acme.com")}, []string{"ann", "bob"}},
		{"a quote is a value, not SQL", []resource.Condition{cond(resource.Eq, "user_email", "x' OR '1'='1")}, nil},
		{"or across attributes", []resource.Condition{{Fields: []string{"user_email", "reference"}, Op: resource.Eq, Values: []string{"plain"}}}, []string{"bob"}},
		{"true", []resource.Condition{cond(resource.True, "guest", "true")}, []string{"bob"}},
		{"false", []resource.Condition{cond(resource.False, "guest", "true")}, []string{"owner", "ann", "cyd", "dee"}},
		{"owner", []resource.Condition{cond(resource.True, "owner", "true")}, []string{"owner"}},
		{"null", []resource.Condition{cond(resource.Null, "user_id", "true")}, []string{"ann", "bob", "dee"}},
		{"not_null", []resource.Condition{cond(resource.NotNull, "user_id", "true")}, []string{"owner", "cyd"}},
		{"present", []resource.Condition{cond(resource.Present, "reference", "true")}, []string{"ann", "bob"}},
		{"blank", []resource.Condition{cond(resource.Blank, "reference", "true")}, []string{"owner", "cyd", "dee"}},
		{"eq_or_null", []resource.Condition{orNull(cond(resource.Eq, "reference", "plain"))}, []string{"owner", "bob", "cyd", "dee"}},
		{"time gteq", []resource.Condition{cond(resource.Gteq, "created_at", t0.Add(3*time.Hour).Format(time.RFC3339))}, []string{"cyd", "dee"}},
		{"time lt, a date", []resource.Condition{cond(resource.Lt, "created_at", "2026-03-05")}, []string{"owner", "ann", "bob", "cyd", "dee"}},
		{"jcont", []resource.Condition{cond(resource.JCont, "metadata", `{"team":"red","lead":true}`)}, []string{"ann"}},
		{"jcont number", []resource.Condition{cond(resource.JCont, "metadata", `{"level":3}`)}, []string{"ann"}},
		{"jcont no match", []resource.Condition{cond(resource.JCont, "metadata", `{"team":"green"}`)}, nil},
		{"a related resource's attribute", []resource.Condition{cond(resource.Eq, "role_kind", "admin")}, []string{"owner"}},
		{"a related resource's attribute, start", []resource.Condition{cond(resource.Start, "role_kind", "READ")}, []string{"ann", "bob", "cyd", "dee"}},
		{"two conditions", []resource.Condition{cond(resource.Cont, "user_email", "acme"), cond(resource.Eq, "reference", "plain")}, []string{"bob"}},
	}
	for _, tt := range tests {
		page, err := e.listQuery(t, f, resource.PageRequest{Where: tt.give})
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got := f.names(page.Items); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// testQuerySortOffsetCount: sort keys then id, offsets, and the count of
// the whole (narrowed) list.
func testQuerySortOffsetCount(t *testing.T, e *env) {
	f := e.queryFixture(t)
	page, err := e.listQuery(t, f, resource.PageRequest{Sort: []resource.SortKey{{Field: "user_email", Desc: true}}, Limit: 2, Count: true})
	must(t, err)
	// The owner's address is id…@example.com: last in the alphabet here.
	if got := f.names(page.Items); !slices.Equal(got, []string{"owner", "dee"}) || page.Total != 5 || page.Next != "" {
		t.Errorf("sorted by email, descending: %v, total %d, next %q; want [owner dee], 5, no cursor", got, page.Total, page.Next)
	}
	page, err = e.listQuery(t, f, resource.PageRequest{Sort: []resource.SortKey{{Field: "user_email", Desc: true}}, Limit: 2, Offset: 2})
	must(t, err)
	if got := f.names(page.Items); !slices.Equal(got, []string{"cyd", "bob"}) {
		t.Errorf("offset 2: %v, want [cyd bob]", got)
	}
	page, err = e.listQuery(t, f, resource.PageRequest{Where: []resource.Condition{cond(resource.Eq, "status", "pending")}, Limit: 1, Count: true})
	must(t, err)
	if got := f.names(page.Items); !slices.Equal(got, []string{"ann"}) || page.Total != 3 || page.Next == "" {
		t.Errorf("pending, one a page: %v, total %d, next %q; want [ann], 3, a cursor", got, page.Total, page.Next)
	}
	next, err := e.listQuery(t, f, resource.PageRequest{Where: []resource.Condition{cond(resource.Eq, "status", "pending")}, Limit: 1, After: page.Next})
	must(t, err)
	if got := f.names(next.Items); !slices.Equal(got, []string{"bob"}) {
		t.Errorf("the next page: %v, want [bob]", got)
	}
}

// testQueryRefused: an attribute outside the allowlist, a value of the
// wrong type, a malformed condition: a validation error, no query.
func testQueryRefused(t *testing.T, e *env) {
	f := e.queryFixture(t)
	tests := []struct {
		name string
		give resource.PageRequest
	}{
		{"an attribute not in the allowlist", resource.PageRequest{Where: []resource.Condition{cond(resource.Eq, "invitation_token_hash", "x")}}},
		{"SQL as an attribute", resource.PageRequest{Where: []resource.Condition{cond(resource.Eq, "1=1 OR m.id", "x")}}},
		{"a time that is not one", resource.PageRequest{Where: []resource.Condition{cond(resource.Gt, "created_at", "yesterday")}}},
		{"cont on a boolean", resource.PageRequest{Where: []resource.Condition{cond(resource.Cont, "guest", "t")}}},
		{"eq on JSON", resource.PageRequest{Where: []resource.Condition{cond(resource.Eq, "metadata", "{}")}}},
		{"jcont with an array", resource.PageRequest{Where: []resource.Condition{cond(resource.JCont, "metadata", `[1]`)}}},
		{"an unknown predicate", resource.PageRequest{Where: []resource.Condition{cond("like", "user_email", "x")}}},
		{"two values without any or all", resource.PageRequest{Where: []resource.Condition{cond(resource.Eq, "status", "a", "b")}}},
		{"a flag that is not one", resource.PageRequest{Where: []resource.Condition{cond(resource.Null, "user_id", "maybe")}}},
		{"sort by JSON", resource.PageRequest{Sort: []resource.SortKey{{Field: "metadata"}}}},
		{"sort by an unknown attribute", resource.PageRequest{Sort: []resource.SortKey{{Field: "invitation_token_hash"}}}},
		{"a negative offset", resource.PageRequest{Offset: -1}},
		{"a cursor with a sort", resource.PageRequest{After: resource.Cursor(f.tn.om.ID), Sort: []resource.SortKey{{Field: "status"}}}},
	}
	for _, tt := range tests {
		_, err := e.listQuery(t, f, tt.give)
		wantIs(t, tt.name, err, fault.ErrInvalid)
	}
}
