// Package email gives every email address one canonical form, used for
// lookup, uniqueness and delivery alike.
package email

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"

	"github.com/provisionkit/provisioning/fault"
)

// Limits from RFC 5321.
const (
	MaxLen      = 254
	MaxLocalLen = 64
)

var profile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false), idna.StrictDomainName(true), idna.VerifyDNSLength(true))

// Canonical returns the canonical form of an address: trimmed, the local
// part an ASCII dot-atom lower-cased (checked before any Unicode
// normalisation, so that no character is folded into ASCII), the domain in
// NFC, lower-cased and converted to its ASCII (IDNA) form, with at least one
// dot, DNS label lengths, and a last label that is not all digits. Display
// names, comments, quoted local parts, IP addresses, invalid UTF-8 and
// control characters are refused. The field name in the error is field.
func Canonical(field, s string) (string, error) {
	bad := func(msg string) (string, error) {
		return "", fault.InvalidField("email", field, "format", msg)
	}
	if !utf8.ValidString(s) {
		return bad("must be valid UTF-8")
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fault.InvalidField("email", field, "required", "can't be blank")
	}
	if len(s) > 4*MaxLen {
		return bad("is too long")
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return bad("is not an email address")
	}
	local, domain := s[:at], s[at+1:]
	if len(local) > MaxLocalLen {
		return bad("has a local part that is too long")
	}
	if !dotAtom(local) {
		return bad("has a local part with characters that are not allowed")
	}
	ascii, err := profile.ToASCII(norm.NFC.String(domain))
	if err != nil || !strings.Contains(ascii, ".") || strings.HasSuffix(ascii, ".") || allDigits(ascii[strings.LastIndexByte(ascii, '.')+1:]) {
		return bad("has an invalid domain")
	}
	for i := 0; i < len(ascii); i++ {
		c := ascii[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return bad("has an invalid domain")
		}
	}
	out := lowerASCII(local) + "@" + ascii
	if len(out) > MaxLen {
		return bad("is too long")
	}
	return out, nil
}

// dotAtom reports whether s is an RFC 5322 dot-atom of ASCII characters.
func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-/=?^_`{|}~.", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
