package email_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/provisionkit/provisioning/email"
	"github.com/provisionkit/provisioning/fault"
)

// field is deliberately not "email" (the operation name), so that a mix-up
// between the two shows.
const field = "contact_email"

// assertRefused checks that err is a *fault.ValidationError of kind invalid
// naming field with the given code.
func assertRefused(tb testing.TB, give, got string, err error, wantCode string) {
	tb.Helper()
	var ve *fault.ValidationError
	if !errors.As(err, &ve) {
		tb.Errorf("Canonical(%q) = %q, %v; want a *fault.ValidationError", give, got, err)
		return
	}
	if got != "" || !errors.Is(err, fault.ErrInvalid) || !ve.Has(field) || len(ve.Fields) != 1 || ve.Fields[0].Code != wantCode {
		tb.Errorf("Canonical(%q) = %q, %#v; want \"\" and one field %q with code %q", give, got, ve, field, wantCode)
	}
}

var (
	local64  = strings.Repeat("a", 64)
	label63  = strings.Repeat("b", 63)
	domain63 = label63 + ".example" // 71 bytes
	// domain189 makes local64@domain189 exactly 254 bytes.
	domain189 = strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + "." + strings.Repeat("e", 61)
	domain190 = strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + "." + strings.Repeat("e", 62)
)

func TestCanonicalAccepts(t *testing.T) {
	tests := []struct {
		give string
		want string
	}{
		{"bob@example.com", "bob@example.com"},
		{"Bob@Example.COM", "bob@example.com"},
		{"  bob@example.com  ", "bob@example.com"},
		{"\tbob@example.com\r\n", "bob@example.com"},
		{"\u00a0bob@example.com\u3000", "bob@example.com"}, // Unicode white space trimmed
		{"BOB.SMITH+TAG@SUB.EXAMPLE.CO.UK", "bob.smith+tag@sub.example.co.uk"},
		{"o'brien@example.ie", "o'brien@example.ie"},
		{"a!#$%&'*+-/=?^_`{|}~z@example.com", "a!#$%&'*+-/=?^_`{|}~z@example.com"},
		{"1234@example.com", "1234@example.com"},
		{"a@b.co", "a@b.co"},
		{"bob@BÜCHER.example", "bob@xn--bcher-kva.example"},
		{"bob@bu\u0308cher.example", "bob@xn--bcher-kva.example"}, // NFD input, same address as NFC
		{"bob@xn--bcher-kva.example", "bob@xn--bcher-kva.example"},
		{"bob@XN--BCHER-KVA.EXAMPLE", "bob@xn--bcher-kva.example"},
		{"bob@café.example", "bob@xn--caf-dma.example"},
		{"bob@ｅｘａｍｐｌｅ.com", "bob@example.com"},            // full-width letters mapped by IDNA
		{"bob@\u212Aelvin.example", "bob@kelvin.example"}, // Kelvin sign in the domain maps to k
		{"bob@пример.рф", "bob@xn--e1afmkfd.xn--p1ai"},
		{"bob@my-host.example", "bob@my-host.example"},
		{local64 + "@example.com", local64 + "@example.com"},
		{"bob@" + domain63, "bob@" + domain63},
		{local64 + "@" + domain189, local64 + "@" + domain189},
	}
	for _, tt := range tests {
		got, err := email.Canonical(field, tt.give)
		if err != nil || got != tt.want {
			t.Errorf("Canonical(%q) = %q, %v; want %q", tt.give, got, err, tt.want)
		}
	}
}

// The canonical form is a fixed point: canon(canon(x)) == canon(x).
func TestCanonicalIsIdempotent(t *testing.T) {
	tests := []string{
		"Bob@Example.COM", "bob@BÜCHER.example", "bob@пример.рф", "bob@\u212Aelvin.example", "  A.B+C@X.Y.Z ",
	}
	for _, give := range tests {
		once, err := email.Canonical(field, give)
		if err != nil {
			t.Fatalf("Canonical(%q): %v", give, err)
		}
		twice, err := email.Canonical(field, once)
		if err != nil || twice != once {
			t.Errorf("Canonical(Canonical(%q)) = %q, %v; want %q", give, twice, err, once)
		}
	}
}

func TestCanonicalRefuses(t *testing.T) {
	tests := []struct {
		name     string
		give     string
		wantCode string
	}{
		{"empty", "", "required"},
		{"only spaces", "   \t ", "required"},
		{"no at", "bob.example.com", "format"},
		{"nothing before at", "@example.com", "format"},
		{"nothing after at", "bob@", "format"},
		{"display name", "Bob <bob@x.com>", "format"},
		{"angle brackets only", "<bob@x.com>", "format"},
		{"trailing comment", "bob@x.com (Bob)", "format"},
		{"leading comment", "(Bob)bob@x.com", "format"},
		{"quoted local part", `"a,b"@x.com`, "format"},
		{"quoted local part with at", `"a@b"@x.com`, "format"},
		{"two ats", "a@b@x.com", "format"},
		{"IPv4 literal", "bob@[127.0.0.1]", "format"},
		{"IPv6 literal", "bob@[IPv6:::1]", "format"},
		{"no dot in domain", "bob@localhost", "format"},
		{"65-byte local part", strings.Repeat("a", 65) + "@x.com", "format"},
		{"255 bytes in all", local64 + "@" + domain190, "format"},
		{"huge", strings.Repeat("a", 2000) + "@x.com", "format"},
		{"CR LF in local part", "bob\r\n@x.com", "format"},
		{"header injection in domain", "bob@x.com\r\nBcc: eve@evil.example", "format"},
		{"LF inside", "bo\nb@x.com", "format"},
		{"NUL in local part", "bo\x00b@x.com", "format"},
		{"NUL in domain", "bob@x\x00.com", "format"},
		{"space in local part", "bo b@x.com", "format"},
		{"space in domain", "bob@x .com", "format"},
		{"Cyrillic local part", "боб@x.com", "format"},
		{"Cyrillic homoglyph in local part", "b\u043eb@x.com", "format"},
		{"accented local part", "josé@x.com", "format"},
		{"long s in local part", "ſam@x.com", "format"},
		{"Turkish dotted I in local part", "\u0130lker@x.com", "format"},
		{"full-width at", "bob＠x.com", "format"},
		{"trailing dot domain", "bob@x.com.", "format"},
		{"ideographic full stop ends domain", "bob@x.com\u3002", "format"},
		{"double dot domain end", "bob@x.com..", "format"},
		{"double dot local part", "bo..b@x.com", "format"},
		{"leading dot local part", ".bob@x.com", "format"},
		{"trailing dot local part", "bob.@x.com", "format"},
		{"underscore in domain", "bob@my_host.example", "format"},
		{"leading hyphen label", "bob@-x.com", "format"},
		{"trailing hyphen label", "bob@x-.com", "format"},
		{"bad punycode", "bob@xn--a.com", "format"},
		{"comma", "bob,alice@x.com", "format"},
		{"semicolon list", "bob@x.com;eve@y.com", "format"},
		{"backslash", `bo\b@x.com`, "format"},
		{"invalid UTF-8 in local part", "b\xffb@x.com", "format"},
		{"bidi override in domain", "bob@x\u202e.com", "format"},
	}
	for _, tt := range tests {
		got, err := email.Canonical(field, tt.give)
		assertRefused(t, tt.name+": "+tt.give, got, err, tt.wantCode)
	}
}

// The field named in the error is the caller's, not a fixed one.
func TestCanonicalNamesTheGivenField(t *testing.T) {
	tests := []struct {
		giveField string
		giveValue string
	}{
		{"user_email", "nope"},
		{"support_email", "Bob <bob@x.com>"},
		{"email", ""},
	}
	for _, tt := range tests {
		_, err := email.Canonical(tt.giveField, tt.giveValue)
		var ve *fault.ValidationError
		if !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Field != tt.giveField {
			t.Errorf("Canonical(%q, %q) = %#v; want one field %q", tt.giveField, tt.giveValue, err, tt.giveField)
		}
	}
}

// RFC 1035: labels are 1 to 63 bytes. Canonical's IDNA profile does not
// verify DNS lengths, so empty labels (x..com, a leading dot) and 64-byte
// labels are accepted today.
func TestCanonicalRefusesBadDomainLabels(t *testing.T) {
	tests := []string{
		"bob@x..com",
		"bob@.x.com",
		"bob@..x.com",
		"bob@" + strings.Repeat("a", 64) + ".com",
	}
	for _, give := range tests {
		got, err := email.Canonical(field, give)
		assertRefused(t, give, got, err, "format")
	}
}

// An all-numeric top-level label makes the domain an IP address in disguise
// (RFC 3696 section 2); bob@[127.0.0.1] is refused but bob@127.0.0.1 is not.
func TestCanonicalRefusesNumericTopLevelDomain(t *testing.T) {
	tests := []string{
		"bob@127.0.0.1",
		"bob@10.0.0.1",
		"bob@example.123",
	}
	for _, give := range tests {
		got, err := email.Canonical(field, give)
		assertRefused(t, give, got, err, "format")
	}
}

// The local part must be ASCII as given. NFC runs first, and it maps two
// non-ASCII code points onto ASCII: the Kelvin sign U+212A onto K and the
// Greek varia U+1FEF onto a backtick. So "\u212Aelvin@x.com", a different
// mailbox on an SMTPUTF8 server, becomes kelvin@x.com, someone else's
// identity.
func TestCanonicalRefusesKelvinSignInLocalPart(t *testing.T) {
	tests := []string{
		"\u212Aelvin@x.com",
		"bob\u212A@x.com",
		"a\u1FEFb@x.com",
	}
	for _, give := range tests {
		got, err := email.Canonical(field, give)
		assertRefused(t, give, got, err, "format")
	}
}

// Invalid UTF-8 in the domain reaches IDNA, which turns the bad byte into
// U+FFFD and punycodes it: "bob@x\xff.com" becomes "bob@xn--x-q10i.com",
// which Canonical itself then refuses (so canon is not idempotent), and
// every invalid byte collapses onto the same address.
func TestCanonicalRefusesInvalidUTF8(t *testing.T) {
	tests := []string{
		"bob@x\xff.com",
		"bob@\xfex.com",
		"bob@x.\xc3com",
	}
	for _, give := range tests {
		got, err := email.Canonical(field, give)
		assertRefused(t, give, got, err, "format")
	}
}
