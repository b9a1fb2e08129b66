package rebillyapi_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/rebillyapi"
	"github.com/provisionkit/provisioning/resource"
)

func cond(attr string, op resource.Op, values ...string) resource.Condition {
	return resource.Condition{Fields: []string{attr}, Op: op, Values: values}
}

// TestParseList checks how a GET /memberships query is read: Rebilly's
// limit, offset, filter, sort and expand, and the 422 of each bad one.
func TestParseList(t *testing.T) {
	def := rebillyapi.ListQuery{Limit: rebillyapi.DefaultLimit}
	with := func(f func(*rebillyapi.ListQuery)) rebillyapi.ListQuery { q := def; f(&q); return q }
	tests := []struct {
		name        string
		give        string
		want        rebillyapi.ListQuery
		wantFields  []string
		wantMessage string // in the first invalid field's message
	}{
		{"defaults", "", def, nil, ""},
		{"limit and offset", "limit=1000&offset=1000", with(func(q *rebillyapi.ListQuery) { q.Limit, q.Offset = 1000, 1000 }), nil, ""},
		{"limit zero", "limit=0", with(func(q *rebillyapi.ListQuery) { q.Limit = 0 }), nil, ""},
		{"one organization", "filter=organization.id:org1", with(func(q *rebillyapi.ListQuery) { q.OrganizationID = "org1" }), nil, ""},
		{"values, fields, negation", "filter=user.id:u1,u2;isOwner:!true;user.email:Bob@Example.COM",
			with(func(q *rebillyapi.ListQuery) {
				q.Where = []resource.Condition{cond("user_id", resource.In, "u1", "u2"), cond("owner", resource.NotIn, "true"),
					cond("user_email", resource.In, "bob@example.com")}
			}), nil, ""},
		{"two filters", "filter=user.id:u1&filter=isOwner:false", with(func(q *rebillyapi.ListQuery) {
			q.Where = []resource.Condition{cond("user_id", resource.In, "u1"), cond("owner", resource.In, "false")}
		}), nil, ""},
		{"percent-encoded", "filter=user.id%3Au1%3Bisowner", def, []string{"filter"}, `"isowner"`},
		{"ranges", "filter=user.id:a..b;user.email:c..;isOwner:..true", with(func(q *rebillyapi.ListQuery) {
			q.Where = []resource.Condition{cond("user_id", resource.Gteq, "a"), cond("user_id", resource.Lteq, "b"),
				cond("user_email", resource.Gteq, "c"), cond("owner", resource.Lteq, "true")}
		}), nil, ""},
		{"negated open ranges", "filter=user.id:!a..;user.email:!..b", with(func(q *rebillyapi.ListQuery) {
			q.Where = []resource.Condition{cond("user_id", resource.Lt, "a"), cond("user_email", resource.Gt, "b")}
		}), nil, ""},
		{"sort", "sort=-user.email,user.id&expand=roles", with(func(q *rebillyapi.ListQuery) {
			q.Sort = []resource.SortKey{{Field: "user_email", Desc: true}, {Field: "user_id"}}
			q.Roles = true
		}), nil, ""},
		{"limit too large", "limit=1001", def, []string{"limit"}, "0 to 1000"},
		{"offset negative", "offset=-1", def, []string{"offset"}, "0 to 1000"},
		{"limit not a number", "limit=ten&offset=1001", def, []string{"limit", "offset"}, ""},
		{"unknown filter field", "filter=name:bob;user.id:u1;createdTime:x", def, []string{"filter", "filter"}, `"name"`},
		{"unknown sort field", "sort=user.id,-name", def, []string{"sort"}, `"name"`},
		{"not field:value", "filter=user.id", def, []string{"filter"}, "field:value"},
		{"a list by name", "filter=user.id:@vip", def, []string{"filter"}, "@"},
		{"a negated closed range", "filter=user.id:!a..b", def, []string{"filter"}, "negated range"},
		{"an empty range", "filter=user.id:..", def, []string{"filter"}, "range"},
		{"two organizations", "filter=organization.id:a,b", def, []string{"filter"}, "one organization"},
		{"unknown expansion", "expand=roles,users", def, []string{"expand"}, `"users"`},
		{"bad escape", "filter=%zz", def, []string{"filter"}, "percent-encoded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rebillyapi.ParseList(tt.give)
			if err == nil {
				if tt.wantFields != nil || !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("got %+v; want %+v (invalid %v)", got, tt.want, tt.wantFields)
				}
				return
			}
			p := rebillyapi.ProblemOf(err)
			if p.Status != 422 || !slices.Equal(p.Fields, tt.wantFields) || !strings.Contains(p.Detail+" "+strings.Join(p.Messages, " "), tt.wantMessage) {
				t.Errorf("problem %+v (%v); want 422 on %v mentioning %q", p, err, tt.wantFields, tt.wantMessage)
			}
		})
	}
}

// TestListRefusal checks that the facade's refusal of a condition or a
// sort key names the parameter and Rebilly's field.
func TestListRefusal(t *testing.T) {
	err := &fault.ValidationError{Fields: []fault.FieldError{
		{Field: "filter[2]", Message: "owner: takes true or false"}, {Field: "sort[1]", Message: "user_email: cannot sort"}, {Field: "page"}}}
	got := rebillyapi.ListRefusal("filter=user.id:a..b;isOwner:x&sort=isOwner,-user.email", err)
	wantFields, wantMessages := []string{"filter", "sort", "page"}, []string{"isOwner: takes true or false", "user.email: cannot sort", ""}
	if !slices.Equal(got.Fields, wantFields) || !slices.Equal(got.Messages, wantMessages) {
		t.Errorf("fields %v, messages %q; want %v %q", got.Fields, got.Messages, wantFields, wantMessages)
	}
}
