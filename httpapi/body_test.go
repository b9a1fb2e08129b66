package httpapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/provisionkit/provisioning/httpapi"
)

// TestDecodeJSON checks the strict decoder: a member given twice, at any
// depth, is refused with the JSON Pointer of its second occurrence; member
// names compare as decoded ("\u0061" is "a"), and, into a struct, as
// encoding/json matches fields (in any case).
func TestDecodeJSON(t *testing.T) {
	type token struct {
		Token string `json:"token"`
	}
	for _, tt := range []struct {
		name, body string
		into       func() any
		dup        string // the pointer of the duplicate; "" for none
		fails      bool   // refused for another reason
	}{
		{name: "top level", body: `{"a":1,"a":2}`, dup: "/a"},
		{name: "attributes", body: `{"data":{"type":"memberships","attributes":{"user_email":"a@b.c","user_email":"d@e.f"}}}`, dup: "/data/attributes/user_email"},
		{name: "relationship", body: `{"data":{"relationships":{"role":{"data":{"type":"roles","id":"r1"}},"role":{"data":{"type":"roles","id":"r2"}}}}}`, dup: "/data/relationships/role"},
		{name: "in an array", body: `{"a":[{"b":1},{"b":1,"c":[],"b":2}]}`, dup: "/a/1/b"},
		{name: "escaped name", body: `{"a":1,"\u0061":2}`, dup: "/a"},
		{name: "invalid UTF-8", body: "{\"\xad\":1,\"\xae\":2}", dup: "/\uFFFD"},
		{name: "pointer escapes", body: `{"x":{"a/b~":1,"a/b~":2}}`, dup: "/x/a~1b~0"},
		{name: "after a nested value", body: `{"a":{"a":{"a":1}},"b":[[1],{"c":2}],"a":0}`, dup: "/a"},
		{name: "same names in other objects", body: `{"a":{"a":1,"b":{"a":2}},"b":[{"a":1},{"a":1}],"c":[]}`},
		{name: "cases differ, into a map", body: `{"a":1,"A":2}`},
		{name: "cases differ, into a struct", body: `{"Token":"x","token":"y"}`, into: func() any { return &token{} }, dup: "/token"},
		{name: "unknown member of a struct", body: `{"token":"x","other":1}`, into: func() any { return &token{} }, fails: true},
		{name: "two values", body: `{"a":1} {"a":2}`, fails: true},
		{name: "not JSON", body: `{"a":1,}`, fails: true},
		{name: "empty", body: ``, fails: true},
		{name: "too deep", body: strings.Repeat("[", 10001) + strings.Repeat("]", 10001), fails: true},
		{name: "scalar", body: `"x"`},
		{name: "large object", body: `{` + manyMembers(40) + `,"m7":0}`, dup: "/m7"},
		{name: "large object, no duplicate", body: `{` + manyMembers(40) + `,"x":{` + manyMembers(20) + `}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var v any = new(any)
			if tt.into != nil {
				v = tt.into()
			}
			err := httpapi.DecodeJSON([]byte(tt.body), v)
			var dup *httpapi.DuplicateKeyError
			switch {
			case tt.dup != "" && (!errors.As(err, &dup) || dup.Pointer != tt.dup):
				t.Fatalf("error %v; want the duplicate %s", err, tt.dup)
			case tt.fails && (err == nil || errors.As(err, &dup)):
				t.Fatalf("error %v; want another refusal", err)
			case tt.dup == "" && !tt.fails && err != nil:
				t.Fatalf("refused: %v", err)
			}
		})
	}
}

// manyMembers is the members m0 to m<n-1> of an object.
func manyMembers(n int) string {
	out := make([]string, n)
	for i := range out {
		out[i] = `"m` + strconv.Itoa(i) + `":` + strconv.Itoa(i)
	}
	return strings.Join(out, ",")
}

// FuzzDecodeJSON checks DecodeJSON against json.Unmarshal: it refuses what
// json.Unmarshal refuses and decodes what it accepts to the same value,
// unless a member is given twice: then it names the one that
// firstDuplicate finds.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"data":{"type":"memberships","attributes":{"user_email":"a@b.c","user_email":"d@e.f"}}}`,
		`{"a":[{"b":1},{"b":1,"b":2}],"c":{"\u0063":1,"c":2}}`,
		`{"a":1,"A":2,"a/b~":{"x":[null,true,1.5e3,"s"]}}`,
		`[1,[2,[3,{}]],{"":0,"":1}]`,
		`{"a":1} 2`, `{"a":}`, `"x"`, `null`, ``,
	} {
		f.Add([]byte(seed))
	}
	var large strings.Builder // past the names compared one by one
	for i := range 40 {
		large.WriteString(`,"k` + strconv.Itoa(i%37) + `":{"\u006b` + strconv.Itoa(i%3) + `":[]}`)
	}
	f.Add([]byte(`{"a~/":{` + large.String()[1:] + `}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var want, got any
		wantErr := json.Unmarshal(b, &want)
		err := httpapi.DecodeJSON(b, &got)
		if wantErr != nil {
			if err == nil {
				t.Fatalf("accepted %q, which json.Unmarshal refuses: %v", b, wantErr)
			}
			return
		}
		dup, ptr := (*httpapi.DuplicateKeyError)(nil), firstDuplicate(t, b)
		switch {
		case ptr == "" && err != nil:
			t.Fatalf("refused %q, without duplicates: %v", b, err)
		case ptr != "" && (!errors.As(err, &dup) || dup.Pointer != ptr):
			t.Fatalf("%q: error %v; want the duplicate %s", b, err, ptr)
		case err == nil && !reflect.DeepEqual(got, want):
			t.Fatalf("decoded %q to %#v; json.Unmarshal to %#v", b, got, want)
		}
	})
}

// TestDuplicateKeys sends a member twice to every endpoint that reads a
// body: each answers 400 DUPLICATE_KEY (invalid_request on the token
// endpoint) naming the member, and nothing is changed.
func TestDuplicateKeys(t *testing.T) {
	s := newServer(t)
	orgLink := `"organization":` + link("organizations", s.org.ID)
	memberships := func() float64 {
		return s.call(t, "GET", "/api/memberships", s.ownerToken, "").want(t, 200, "").get("meta.record_count").(float64)
	}
	before := memberships()
	for _, tt := range []struct {
		name, method, path, body, pointer string
	}{
		{"attribute", "POST", "/api/memberships", `{"data":{"type":"memberships","attributes":{"user_email":"a@example.com","user_email":"b@example.com"},` +
			`"relationships":{` + orgLink + `,"role":` + link("roles", s.readOnly.ID) + `}}}`, "/data/attributes/user_email"},
		{"relationship", "POST", "/api/memberships", `{"data":{"type":"memberships","attributes":{"user_email":"a@example.com"},` +
			`"relationships":{` + orgLink + `,"role":` + link("roles", s.readOnly.ID) + `,"role":` + link("roles", s.admin.ID) + `}}}`, "/data/relationships/role"},
		{"type", "POST", "/api/memberships", `{"data":{"type":"memberships","type":"roles","attributes":{"user_email":"a@example.com"},` +
			`"relationships":{` + orgLink + `,"role":` + link("roles", s.readOnly.ID) + `}}}`, "/data/type"},
		{"linkage id", "POST", "/api/memberships", `{"data":{"type":"memberships","attributes":{"user_email":"a@example.com"},` +
			`"relationships":{` + orgLink + `,"role":{"data":{"type":"roles","id":"` + s.readOnly.ID + `","id":"` + s.admin.ID + `"}}}}}`, "/data/relationships/role/data/id"},
		{"data", "POST", "/api/memberships", `{"data":{"type":"memberships"},"data":{"type":"memberships","attributes":{"user_email":"a@example.com"},` +
			`"relationships":{` + orgLink + `,"role":` + link("roles", s.readOnly.ID) + `}}}`, "/data"},
		{"metadata", "PATCH", "/api/organizations/" + s.org.ID, `{"data":{"type":"organizations","id":"` + s.org.ID + `",` +
			`"attributes":{"metadata":{"plan":{"tier":"free","tier":"gold"}}}}}`, "/data/attributes/metadata/plan/tier"},
		{"user", "PATCH", "/api/user", `{"data":{"type":"users","attributes":{"first_name":"A","first_name":"B"}}}`, "/data/attributes/first_name"},
		{"transfer, short form", "PATCH", "/api/organizations/" + s.org.ID + "/transfer_ownership",
			`{"data":{"new_owner_email":"owner@example.com","new_owner_email":"x@example.com"}}`, "/data/new_owner_email"},
		{"transfer", "PATCH", "/api/organizations/" + s.org.ID + "/transfer_ownership", `{"data":{"type":"organizations","id":"` + s.org.ID + `",` +
			`"attributes":{"new_owner_email":"owner@example.com","new_owner_email":"x@example.com"}}}`, "/data/attributes/new_owner_email"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := s.call(t, tt.method, tt.path, s.ownerToken, tt.body).want(t, 400, "DUPLICATE_KEY")
			if r.str("errors.0.source.pointer") != tt.pointer || r.count("errors") != 1 {
				t.Errorf("errors %s; want one naming %s", r.raw, tt.pointer)
			}
		})
	}
	if after := memberships(); after != before {
		t.Errorf("memberships: %v, then %v", before, after)
	}
	if r := s.call(t, "GET", "/api/organizations/"+s.org.ID, s.ownerToken, "").want(t, 200, ""); r.get("data.attributes.metadata") != nil &&
		len(r.get("data.attributes.metadata").(map[string]any)) != 0 {
		t.Errorf("metadata changed: %s", r.raw)
	}

	// A linkage's members match exactly: "ID" is not the id (encoding/json
	// would take it, as a proxy would not).
	r := s.call(t, "POST", "/api/memberships?include=role", s.ownerToken, `{"data":{"type":"memberships","attributes":{"user_email":"case@example.com"},`+
		`"relationships":{`+orgLink+`,"role":{"data":{"type":"roles","id":"`+s.readOnly.ID+`","ID":"`+s.admin.ID+`"}}}}}`).want(t, 201, "")
	if got := r.str("data.relationships.role.data.id"); got != s.readOnly.ID {
		t.Errorf("role %s; want the read-only role of the member named id", got)
	}

	// A filter's JSON object is read strictly too.
	s.call(t, "GET", "/api/organizations?"+fq("metadata_jcont", `{"plan":"free","plan":"gold"}`), s.ownerToken, "").want(t, 400, "INVALID_FILTER_VALUE")

	// The Rebilly and ECI endpoints answer a problem with the pointer.
	for _, tt := range []struct{ method, path, body, pointer string }{
		{"PUT", "/memberships/" + s.org.ID + "/" + s.owner.ID, `{"roleIds":["` + s.readOnly.ID + `"],"roleIds":["` + s.admin.ID + `"]}`, "/roleIds"},
		{"POST", "/v1/organizations/" + eciOrg(s.org) + "/members", `{"userId":"u1","isMfaRequired":false,"userId":"u2"}`, "/userId"},
	} {
		r := s.json(t, tt.method, tt.path, s.ownerToken, tt.body)
		if r.status != 400 || r.doc["code"] != "DUPLICATE_KEY" || r.doc["pointer"] != tt.pointer || r.doc["invalidFields"] != nil {
			t.Errorf("%s %s: %d %s; want 400 DUPLICATE_KEY naming %s", tt.method, tt.path, r.status, r.raw, tt.pointer)
		}
	}
}

// TestTokenEndpointRepeatedParameters refuses a token request that gives
// a parameter twice: twice in the JSON or form body, or the client's
// credentials both in the body and as HTTP Basic credentials.
func TestTokenEndpointRepeatedParameters(t *testing.T) {
	s := newServer(t)
	r := s.call(t, "POST", "/api/api_credentials", s.ownerToken, body("api_credentials", "", `{"name":"Job","kind":"integration"}`,
		`{"organization":`+link("organizations", s.org.ID)+`,"role":`+link("roles", s.readOnly.ID)+`}`)).want(t, 201, "")
	id, secret := r.str("data.attributes.client_id"), r.str("data.attributes.client_secret")
	send := func(contentType, body string, basic bool) response {
		req, _ := http.NewRequest("POST", s.URL+"/oauth/token", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		if basic {
			req.SetBasicAuth(id, secret)
		}
		return s.send(t, req)
	}
	const form, js = "application/x-www-form-urlencoded", "application/json"
	for _, tt := range []struct {
		name, contentType, body string
		basic                   bool
		status                  int
	}{
		{"form", form, url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}.Encode(), false, 200},
		{"json", js, `{"grant_type":"client_credentials","client_id":"` + id + `","client_secret":"` + secret + `"}`, false, 200},
		{"json with a charset", js + "; charset=utf-8", `{"grant_type":"client_credentials","client_id":"` + id + `","client_secret":"` + secret + `"}`, false, 200},
		{"json:api media type in capitals", "Application/VND.API+JSON", `{"grant_type":"client_credentials","client_id":"` + id + `","client_secret":"` + secret + `"}`, false, 200},
		{"basic", form, "grant_type=client_credentials", true, 200},
		{"basic and the same client_id", form, "grant_type=client_credentials&client_id=" + id, true, 200},
		{"form, secret twice", form, url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {"x", secret}}.Encode(), false, 400},
		{"form, grant twice", form, url.Values{"grant_type": {"client_credentials", "password"}, "client_id": {id}, "client_secret": {secret}}.Encode(), false, 400},
		{"json, id twice", js, `{"grant_type":"client_credentials","client_id":"x","client_id":"` + id + `","client_secret":"` + secret + `"}`, false, 400},
		{"json, names in two cases", js, `{"grant_type":"client_credentials","client_id":"` + id + `","client_secret":"x","CLIENT_SECRET":"` + secret + `"}`, false, 401},
		{"basic and a secret in the body", form, "grant_type=client_credentials&client_secret=" + secret, true, 400},
		{"basic and another client_id", form, "grant_type=client_credentials&client_id=other", true, 400},
	} {
		r := send(tt.contentType, tt.body, tt.basic)
		if r.status != tt.status || tt.status == 400 && r.doc["error"] != "invalid_request" {
			t.Errorf("%s: %d %s; want %d", tt.name, r.status, r.raw, tt.status)
		}
	}
}

// BenchmarkDecodeJSON measures the strict decoder against json.Unmarshal
// on a typical body (an invitation as the SDK sends it), decoded as the
// handler does, into a map of raw members.
func BenchmarkDecodeJSON(b *testing.B) {
	body := []byte(`{"data":{"type":"memberships","attributes":{"user_email":"ann@example.com","access_scope":"test_access",` +
		`"membership_profile":null,"metadata":{"team":"support","seats":3}},"relationships":{` +
		`"organization":{"data":{"type":"organizations","id":"01JZ8Q3W4RDEV0A3G6J5P9X2KM"}},` +
		`"role":{"data":{"type":"roles","id":"01JZ8Q3W4S0N5B7C1D3E5F7G9H"}},"application_memberships":{"data":[]}}}}`)
	b.Run("unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var raw map[string]json.RawMessage
			if err := json.Unmarshal(body, &raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("strict", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var raw map[string]json.RawMessage
			if err := httpapi.DecodeJSON(body, &raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// firstDuplicate is the reference of the strict decoder's check, written
// another way: a walk of json.Decoder's tokens that returns the pointer of
// the first member name given twice in one object ("" for none). b is
// valid JSON.
func firstDuplicate(t *testing.T, b []byte) string {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var seen []map[string]bool // per open container; nil for an array
	var index []int            // per open container: the array's next element
	var path []string          // the reference tokens down to the value read next
	escape := strings.NewReplacer("~", "~0", "/", "~1")
	for {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		top := len(seen) - 1
		switch {
		case tok == json.Delim('}') || tok == json.Delim(']'):
			seen, index = seen[:top], index[:top]
			if top > 0 {
				path = path[:len(path)-1]
			}
		case top >= 0 && seen[top] != nil && len(path) == top: // a member name
			name := tok.(string)
			path = append(path, escape.Replace(name))
			if seen[top][name] {
				return "/" + strings.Join(path, "/")
			}
			seen[top][name] = true
			continue
		default: // a value
			if top >= 0 && seen[top] == nil {
				path = append(path, strconv.Itoa(index[top]))
				index[top]++
			}
			switch tok {
			case json.Delim('{'):
				seen, index = append(seen, map[string]bool{}), append(index, 0)
			case json.Delim('['):
				seen, index = append(seen, nil), append(index, 0)
			default:
				if top >= 0 {
					path = path[:len(path)-1]
				}
			}
		}
		if len(seen) == 0 {
			return ""
		}
	}
}
