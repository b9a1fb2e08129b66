package eciapi_test

import (
	"encoding/json"
	"regexp"
	"testing"
	"unicode/utf8"

	"github.com/provisionkit/provisioning/eciapi"
	"github.com/provisionkit/provisioning/internal/httpx/httpxtest"
)

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
		got, err := eciapi.DecodeAddMember(body)
		if err != nil {
			httpxtest.CheckRefusal(t, eciapi.ProblemOf(err), err, 400, field)
			return
		}
		if n := utf8.RuneCountInString(got.UserID); n < 1 || n > eciapi.MaxUserID {
			t.Fatalf("accepted a userId of %d characters", n)
		}
		b, _ := json.Marshal(map[string]any{"userId": got.UserID, "isMfaRequired": got.MFARequired})
		if again, err := eciapi.DecodeAddMember(b); err != nil || again != got {
			t.Fatalf("decoded %#v; its encoding decodes to %#v, %v", got, again, err)
		}
	})
}
