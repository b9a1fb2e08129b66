package rebillyapi_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"testing"

	"github.com/provisionkit/provisioning/internal/httpx/httpxtest"
	"github.com/provisionkit/provisioning/rebillyapi"
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
		got, err := rebillyapi.DecodeUpsert(body)
		if err != nil {
			httpxtest.CheckRefusal(t, rebillyapi.ProblemOf(err), err, 422, field)
			return
		}
		again, err := rebillyapi.DecodeUpsert(upsertJSON(t, got))
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("decoded %#v; its encoding decodes to %#v, %v", got, again, err)
		}
	})
}

// upsertJSON encodes a decoded Rebilly body back to JSON.
func upsertJSON(t *testing.T, b rebillyapi.UpsertBody) []byte {
	t.Helper()
	out, err := json.Marshal(map[string]any{"allowedIps": b.AllowedIPs, "permissions": b.Permissions, "roleIds": b.RoleIDs, "isOwner": b.IsOwner})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
