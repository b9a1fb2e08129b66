package eciapi_test

import (
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/provisionkit/provisioning/eciapi"
	"github.com/provisionkit/provisioning/internal/httpx"
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

// FuzzParseFilter feeds the $filter parser arbitrary text: it never
// panics; it refuses with a 400 that names $filter; what it accepts prints
// (String) as a filter that parses to the same print and evaluates the
// same on every sample member.
func FuzzParseFilter(f *testing.F) {
	for _, seed := range []string{
		`userId eq 'u1'`, `isGuest eq true and not (isMfaRequired ne false)`,
		`startswith(user/emailAddress,'a') or endswith(organizationName,'me') or contains(id,'''')`,
		`created ge 2026-01-01T00:00:00Z and modified lt '2027-01-01T00:00:00+01:00'`,
		`organizationId eq 7 or organizationId gt -3`, `userId eq null`, `userId ne null and isGuest eq false`,
		`((((userId eq 'x'))))`, `tolower(userId) eq 'x'`, `userId has 'x'`, `isGuest gt true`, `'a' eq userId`,
		`userId eq`, `(`, `)`, `not`, `userId eq 'unclosed`, `userId eq 99999999999`, `x eq 1`, ``, `,`, `eq eq eq`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, filter string) {
		n, err := eciapi.ParseFilter(filter)
		if err != nil {
			var he *httpx.Error
			if !errors.As(err, &he) || he.Status != 400 || he.Parameter != "$filter" || !strings.HasPrefix(he.Detail, "$filter: ") {
				t.Fatalf("refused %q with %v; want a 400 naming $filter", filter, err)
			}
			return
		}
		printed := n.String()
		if len(printed) > eciapi.MaxFilterLen {
			return // "not(" prints as "not (": a filter at the limit may print past it
		}
		again, err := eciapi.ParseFilter(printed)
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", filter, printed, err)
		}
		if again.String() != printed {
			t.Fatalf("%q printed as %q, which prints as %q", filter, printed, again.String())
		}
		if a, b := eciapi.EvalSamples(n), eciapi.EvalSamples(again); !slices.Equal(a, b) {
			t.Fatalf("%q evaluates %v, its print %q %v", filter, a, printed, b)
		}
	})
}
