package httpapi_test

import (
	"errors"
	"testing"

	"github.com/provisionkit/provisioning/httpapi"
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
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		_, err := httpapi.ParseQuery(raw)
		checkAPIError(t, err, true)
	})
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
