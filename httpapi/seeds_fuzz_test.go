package httpapi_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"testing"
	"unicode/utf8"

	"github.com/provisionkit/provisioning/httpapi"
)

// FuzzDecodeUpsert feeds Rebilly's body decoder arbitrary bytes: it never
// panics; it refuses with a 400 that names no field or a 422 that names
// only members of the Membership object; what it accepts encodes back to
// a body that decodes to the same.
func FuzzDecodeUpsert(f *testing.F) {
	for _, seed := range []string{
		`{"allowedIps":["153.12.32.33","201.54.122.0/24","76.*.*.*","2001:db8:abcd:12::0/64"],"permissions":["*"],"roleIds":["admin"],"isOwner":false,"isDefault":true}`,
		`{"allowedIps":null,"permissions":[],"roleIds":[],"organization":{"id":"o"},"user":{"id":"u"},"_links":[{"href":"x","rel":"self"}]}`,
		`{"allowedIps":[null,1,{}],"permissions":"*","roleIds":[[]],"isOwner":"true"}`,
		`{"roleIds":["a"],"roleIds":["b"]}`,
		`{}`, `null`, `[]`, `"x"`, `{`, ``,
	} {
		f.Add([]byte(seed))
	}
	field := regexp.MustCompile(`^(allowedIps|permissions|roleIds)(\.[0-9]+)?$|^isOwner$`)
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := httpapi.DecodeUpsert(body)
		if err != nil {
			checkProblem(t, err, false, 422, field)
			return
		}
		again, err := httpapi.DecodeUpsert(upsertJSON(t, got))
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("decoded %#v; its encoding decodes to %#v, %v", got, again, err)
		}
	})
}

// FuzzDecodeAddMember feeds ECI's body decoder arbitrary bytes: it never
// panics; it refuses with a 400 naming no field, userId or isMfaRequired;
// what it accepts has a userId of 1 to 40 characters and encodes back to
// a body that decodes to the same.
func FuzzDecodeAddMember(f *testing.F) {
	for _, seed := range []string{
		`{"userId":"01hzy3k6m2x5q9","isMfaRequired":true}`,
		`{"userId":"","isMfaRequired":false}`,
		`{"userId":"0123456789012345678901234567890123456789x","isMfaRequired":false}`,
		`{"userId":null,"isMfaRequired":null,"extra":[1,2]}`,
		`{"userId":7,"isMfaRequired":"yes"}`,
		`{}`, `null`, `[]`, `{`, ``,
	} {
		f.Add([]byte(seed))
	}
	field := regexp.MustCompile(`^(userId|isMfaRequired)$`)
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := httpapi.DecodeAddMember(body)
		if err != nil {
			checkProblem(t, err, true, 400, field)
			return
		}
		if n := utf8.RuneCountInString(got.UserID); n < 1 || n > httpapi.MaxECIUserID {
			t.Fatalf("accepted a userId of %d characters", n)
		}
		b, _ := json.Marshal(map[string]any{"userId": got.UserID, "isMfaRequired": got.MFARequired})
		if again, err := httpapi.DecodeAddMember(b); err != nil || again != got {
			t.Fatalf("decoded %#v; its encoding decodes to %#v, %v", got, again, err)
		}
	})
}

// checkProblem checks a refusal of a decoder: a 400 without fields, or
// the dialect's invalid status with fields that match field.
func checkProblem(t *testing.T, err error, eciAPI bool, invalid int, field *regexp.Regexp) {
	t.Helper()
	p := httpapi.ProblemOf(err, eciAPI)
	if p.Status == 400 && len(p.Fields) == 0 {
		return
	}
	if p.Status != invalid || len(p.Fields) == 0 {
		t.Fatalf("problem %+v for %v; want 400, or %d with fields", p, err, invalid)
	}
	for _, name := range p.Fields {
		if !field.MatchString(name) {
			t.Fatalf("problem names field %q", name)
		}
	}
}

// upsertJSON encodes a decoded Rebilly body back to JSON.
func upsertJSON(t *testing.T, b httpapi.UpsertBody) []byte {
	t.Helper()
	out, err := json.Marshal(map[string]any{"allowedIps": b.AllowedIPs, "permissions": b.Permissions, "roleIds": b.RoleIDs, "isOwner": b.IsOwner})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
