package audit_test

import (
	"strings"
	"testing"

	"github.com/provisionkit/provisioning/audit"
)

func TestEscape(t *testing.T) {
	tests := []struct {
		give, want string
	}{
		{"plain id_123", "plain id_123"},
		{"line\nbreak", `line\x0abreak`},
		{"\r\n\t", `\x0d\x0a\x09`},
		{"\x1b[31mred", `\x1b[31mred`},
		{"back\\slash", `back\\slash`},
		{"del\x7f", `del\x7f`},
		{"c1\u0085", `c1\u0085`},
		{"sep\u2028", `sep\u2028`},
		{"file\u202egnp.exe", `file\u202egnp.exe`}, // a right-to-left override
		{"iso\u2066late", `iso\u2066late`},
		{"bad \xff utf8", `bad \ufffd utf8`},
		{"real \uFFFD stays", "real \uFFFD stays"},
		{"héllo ✓", "héllo ✓"},
		{strings.Repeat("a", 300), strings.Repeat("a", audit.MaxDetail)},
		{strings.Repeat("\n", 100), strings.Repeat(`\x0a`, audit.MaxDetail/4)},
	}
	for _, tt := range tests {
		got := audit.Escape(tt.give)
		if got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.give, got, tt.want)
		}
		if strings.ContainsFunc(got, func(r rune) bool { return r < 0x20 || r == 0x7f }) || len(got) > audit.MaxDetail {
			t.Errorf("Escape(%q) = %q keeps a control character or is too long", tt.give, got)
		}
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "a\nb", "\x1b[0m", "\xff\xfe", "é\u2028\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := audit.Escape(s)
		if strings.ContainsFunc(got, func(r rune) bool { return r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 }) {
			t.Fatalf("Escape(%q) = %q keeps a control character", s, got)
		}
		if len(got) > audit.MaxDetail {
			t.Fatalf("Escape(%q) is %d bytes", s, len(got))
		}
		// Escaping goes rune by rune: what follows a newline does not change
		// how what precedes it is escaped (s+s could join two halves of a
		// rune: a newline cannot).
		if !strings.HasPrefix(audit.Escape(s+"\n"+s), got) {
			t.Fatalf("Escape is not a prefix-stable cut: %q", s)
		}
	})
}
