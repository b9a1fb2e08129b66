package httpapi_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/provisionkit/provisioning/httpapi"
	"github.com/provisionkit/provisioning/resource"
)

// FuzzParseQuery feeds the query parser arbitrary query strings: it never
// panics, and it either parses or refuses with 400 error objects that name
// the parameter at fault.
func FuzzParseQuery(f *testing.F) {
	for _, seed := range []string{
		"",
		"include=organization,role.organization&fields%5Bmemberships%5D=user_email%2Cstatus&fields%5Borganizations%5D=name",
		"sort=-created_at%2Cstatus&page%5Bnumber%5D=2&page%5Bsize%5D=25",
		"filter%5Bq%5D%5Buser_email_cont%5D=a+b&filter%5Bq%5D%5Bstatus_in%5D=pending%2Cactive",
		"filter%5Bq%5D%5Bmetadata_jcont%5D=%7B%22foo%22%3A%22bar%22%7D&filter%5Bq%5D%5Bowner_true%5D=true",
		"filter[organization_id]=o1&filter[q][name_or_slug_not_eq_or_null]=x",
		"filter[q][_eq]=x&filter[q][eq]=y&filter[]=z&fields[]=&include=.a..b",
		"page[number]=-1&page[size]=999999999999999999999&sort=,",
		"%zz=1&a=1&a=2",
		"filter[ids]=a,b&filter[created_at_from]=2026-01-01&filter[updated_at_to]=2026-01-02T00:00:00Z&filter[role_id]=r1",
		"filter[q][user_email_not_eq_all]=a,b&filter[q][reference_in_or_null]=x,y&filter[q][status_not_in_or_null]=a",
		"filter[q][name_start_any]=a,b&filter[q][name_does_not_match_all]=%25a,b%25&filter[q][owner_true]=TRUE&filter[q][user_id_not_null]=0",
		"filter[q][a_or_b_or_c_cont_any]=x&filter[q][_or_eq]=x&filter[q][a_or__eq]=y&filter[ids]=,",
		"sort=-user_email,name,-&page[number]=100000&page[size]=1",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		_, err := httpapi.ParseQuery(raw)
		checkAPIError(t, err, true)
		conds, err := httpapi.Conditions(raw)
		if err != nil {
			return
		}
		for _, c := range conds {
			checkCondition(t, c)
		}
	})
}

// ops are the library's predicates: every matcher the parser accepts maps
// onto one of them.
var ops = map[resource.Op]bool{resource.Eq: true, resource.NotEq: true, resource.Lt: true, resource.Lteq: true,
	resource.Gt: true, resource.Gteq: true, resource.In: true, resource.NotIn: true, resource.Cont: true,
	resource.NotCont: true, resource.Start: true, resource.NotStart: true, resource.End: true, resource.NotEnd: true,
	resource.Matches: true, resource.DoesNotMatch: true, resource.Present: true, resource.Blank: true,
	resource.Null: true, resource.NotNull: true, resource.True: true, resource.False: true, resource.JCont: true}

// checkCondition checks the shape of a condition the parser made: a known
// predicate and mode, attributes, values, and true or false (spelt so) for
// the predicates that take a flag.
func checkCondition(t *testing.T, c resource.Condition) {
	t.Helper()
	flag := map[resource.Op]bool{resource.Present: true, resource.Blank: true, resource.Null: true,
		resource.NotNull: true, resource.True: true, resource.False: true}
	switch {
	case !ops[c.Op]:
		t.Fatalf("condition %+v: unknown predicate", c)
	case c.Mode != resource.One && c.Mode != resource.Any && c.Mode != resource.All:
		t.Fatalf("condition %+v: unknown mode", c)
	case len(c.Fields) == 0 || slices.Contains(c.Fields, "") || len(c.Values) == 0:
		t.Fatalf("condition %+v: no attribute or no value", c)
	case flag[c.Op] && (len(c.Values) != 1 || c.Values[0] != "true" && c.Values[0] != "false"):
		t.Fatalf("condition %+v: a flag predicate without true or false", c)
	}
	if err := (resource.PageRequest{Where: []resource.Condition{c}}).CheckQuery(); err != nil &&
		len(c.Values) <= resource.MaxConditionArg && len(c.Fields) <= resource.MaxConditions && shortStrings(c) {
		t.Fatalf("condition %+v: the library refuses its shape: %v", c, err)
	}
}

// shortStrings reports whether c's attributes and values are within the
// library's byte limits (beyond them, its refusal is expected).
func shortStrings(c resource.Condition) bool {
	for _, f := range c.Fields {
		if len(f) > 64 {
			return false
		}
	}
	for _, v := range c.Values {
		if len(v) > resource.MaxValueBytes {
			return false
		}
	}
	return true
}

// FuzzDecodeRequest feeds the body decoder arbitrary bytes: it never
// panics, and refuses with 400 error objects.
func FuzzDecodeRequest(f *testing.F) {
	for _, seed := range []string{
		`{"data":{"type":"memberships","attributes":{"user_email":"x@y.z","membership_profile":null},"relationships":{"organization":{"data":{"id":"o1","type":"organizations"}},"application_memberships":{"data":[]}}}}`,
		`{"data":{"type":"users","attributes":{"first_name":"J","time_zone":"UTC"},"relationships":{}}}`,
		`{"data":{}}`,
		`{"data":{"new_owner_email":"n@o.p"}}`,
		`{"data":null}`,
		`{"data":[]}`,
		`{"data":{"type":5,"id":{},"attributes":[],"relationships":{"a":1}}}`,
		`{"data":{"relationships":{"a":{"links":{}}}}}`,
		`{"data":{"type":"memberships","attributes":{"user_email":"a@b.c","user_email":"d@e.f"}}}`,
		`{"data":{"relationships":{"role":{"data":{"type":"roles","id":"r1","ID":"r2"}},"role":{"data":null}}}}`,
		`null`,
		`[`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, err := httpapi.DecodeRequest(body)
		checkAPIError(t, err, false)
	})
}

// checkAPIError checks that err is nil or 400 error objects, with a
// parameter for queries (but for a query string that is not form encoding).
func checkAPIError(t *testing.T, err error, query bool) {
	t.Helper()
	if err == nil {
		return
	}
	var objs interface{ Error() string }
	if !errors.As(err, &objs) {
		t.Fatalf("error %T", err)
	}
	doc := httpapi.ErrorDocument(err)
	if len(doc) == 0 {
		t.Fatalf("no error objects for %v", err)
	}
	for _, e := range doc {
		if e.Status != 400 || e.Code == "" || query && e.Parameter == "" && e.Code != "BAD_REQUEST" {
			t.Fatalf("error object %+v; want a 400 with a code and, for a query, its parameter", e)
		}
	}
}
