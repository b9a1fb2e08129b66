package email_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/provisionkit/provisioning/email"
	"github.com/provisionkit/provisioning/fault"
)

// FuzzCanonical checks the rules of the canonical form on any input: it never
// panics; a refusal is a *fault.ValidationError naming the field; an accepted
// address is a fixed point, at most 254 bytes of ASCII with one @, a local
// part of at most 64 bytes, and none of the characters of display names,
// comments, quoting, lists or header injection. Upper-casing its ASCII
// letters gives the same address again, as a case-insensitive SQL collation
// would.
func FuzzCanonical(f *testing.F) {
	for _, seed := range []string{
		"bob@example.com",
		"  Bob@Example.COM ",
		"bob@BÜCHER.example",
		"bob@xn--bcher-kva.example",
		"bob@пример.рф",
		"\u212Aelvin@x.com",
		"bob@\u212Aelvin.example",
		"Bob <bob@x.com>",
		"bob@x.com (comment)",
		`"a,b"@x.com`,
		"bob@[127.0.0.1]",
		"bob@localhost",
		"bob@x..com",
		"bob@x.com.",
		"bob\r\n@x.com",
		"bo\x00b@x.com",
		"a@b@x.com",
		strings.Repeat("a", 65) + "@x.com",
		strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61),
		"",
		"@",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, give string) {
		got, err := email.Canonical("user_email", give)
		if err != nil {
			var ve *fault.ValidationError
			if got != "" || !errors.As(err, &ve) || !ve.Has("user_email") || !errors.Is(err, fault.ErrInvalid) {
				t.Fatalf("Canonical(%q) = %q, %#v; want \"\" and a *fault.ValidationError naming user_email", give, got, err)
			}
			return
		}
		if len(got) > email.MaxLen {
			t.Fatalf("Canonical(%q) = %q: %d bytes, more than %d", give, got, len(got), email.MaxLen)
		}
		if i := strings.IndexFunc(got, func(r rune) bool { return r < 0x21 || r > 0x7e }); i >= 0 {
			t.Fatalf("Canonical(%q) = %q: byte %d is not printable ASCII", give, got, i)
		}
		if strings.ContainsAny(got, "\r\n\x00 <>()\",;:[]\\") {
			t.Fatalf("Canonical(%q) = %q: has display-name, comment, quote or list syntax", give, got)
		}
		local, _, ok := strings.Cut(got, "@")
		if !ok || strings.Count(got, "@") != 1 || len(local) > email.MaxLocalLen {
			t.Fatalf("Canonical(%q) = %q: want one @ and a local part of at most %d bytes", give, got, email.MaxLocalLen)
		}
		if got != strings.ToLower(got) {
			t.Fatalf("Canonical(%q) = %q: not lower case", give, got)
		}
		again, err := email.Canonical("user_email", got)
		if err != nil || again != got {
			t.Fatalf("Canonical(Canonical(%q)) = %q, %v; want %q", give, again, err, got)
		}
		upper, err := email.Canonical("user_email", strings.ToUpper(got))
		if err != nil || upper != got {
			t.Fatalf("Canonical(ToUpper(Canonical(%q))) = %q, %v; want %q", give, upper, err, got)
		}
	})
}
