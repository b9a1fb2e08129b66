package allowlist_test

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/provisionkit/provisioning/allowlist"
	"github.com/provisionkit/provisioning/fault"
)

// parse runs Parse and reduces its answer to the canonical strings and the
// problems as "field:code", checking the shape of every error on the way.
func parse(tb testing.TB, entries []string) (list, problems []string) {
	tb.Helper()
	out, err := allowlist.Parse("ip", entries)
	if err == nil {
		return allowlist.Strings(out), nil
	}
	if out != nil {
		tb.Errorf("Parse(%q) = %v with error %v; want nil with an error", entries, out, err)
	}
	if !errors.Is(err, fault.ErrInvalid) || fault.KindOf(err) != fault.Invalid {
		tb.Errorf("Parse(%q) error %v is not of kind invalid", entries, err)
	}
	var ve *fault.ValidationError
	if !errors.As(err, &ve) {
		tb.Fatalf("Parse(%q) error %T is not a *fault.ValidationError", entries, err)
	}
	for _, f := range ve.Fields {
		if f.Message == "" {
			tb.Errorf("Parse(%q): problem %s has no message", entries, f.Field)
		}
		problems = append(problems, f.Field+":"+f.Code)
	}
	return nil, problems
}

// mustParse returns the canonical list of entries, failing the test on error.
func mustParse(tb testing.TB, entries ...string) []netip.Prefix {
	tb.Helper()
	out, err := allowlist.Parse("ip", entries)
	if err != nil {
		tb.Fatalf("Parse(%q): %v", entries, err)
	}
	return out
}

// TestParseEntry parses one entry at a time. Every refused range has a row
// with an address strictly inside it, so that dropping the range from the
// package's table fails a row; the rows next to the ranges' edges show that
// nothing public is refused with them.
func TestParseEntry(t *testing.T) {
	tests := []struct {
		give     string
		want     string // the canonical entry, when accepted
		wantCode string // the problem's code, when refused
	}{
		// Addresses, prefixes and wildcards, in their canonical form.
		{give: "153.12.32.33", want: "153.12.32.33"},
		{give: "8.8.8.8/32", want: "8.8.8.8"},
		{give: "201.54.122.0/24", want: "201.54.122.0/24"},
		{give: "201.54.122.7/24", want: "201.54.122.0/24"},
		{give: "76.*.*.*", want: "76.0.0.0/8"},
		{give: "76.12.*.*", want: "76.12.0.0/16"},
		{give: "1.2.3.*", want: "1.2.3.0/24"},
		{give: " 8.8.4.4\t", want: "8.8.4.4"},
		{give: strings.Repeat(" ", 57) + "8.8.8.8", want: "8.8.8.8"}, // MaxEntryLen bytes exactly
		{give: "2606:4700:4700::1111", want: "2606:4700:4700::1111"},
		{give: "2606:4700:4700:0000:0000:0000:0000:1111", want: "2606:4700:4700::1111"},
		{give: "2606:4700:4700::1111/128", want: "2606:4700:4700::1111"},
		{give: "2A00:1450::/32", want: "2a00:1450::/32"},
		{give: "2a00:1450:4001:800::200e/64", want: "2a00:1450:4001:800::/64"},
		{give: "2000::/16", want: "2000::/16"},
		{give: "3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", want: "3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},

		// IPv4-mapped IPv6 is judged, and written, as IPv4.
		{give: "::ffff:8.8.8.8", want: "8.8.8.8"},
		{give: "::ffff:808:808", want: "8.8.8.8"},
		{give: "::ffff:8.8.8.0/120", want: "8.8.8.0/24"},
		{give: "::ffff:10.0.0.1", wantCode: "not_public"},
		{give: "::ffff:192.168.0.0/112", wantCode: "not_public"},
		{give: "::ffff:0:0/96", wantCode: "not_public"},
		{give: "::ffff:8.8.8.8/95", wantCode: "not_public"},

		// Public neighbours of the refused IPv4 ranges.
		{give: "1.0.0.0/8", want: "1.0.0.0/8"},
		{give: "11.0.0.0/8", want: "11.0.0.0/8"},
		{give: "100.63.255.255", want: "100.63.255.255"},
		{give: "100.128.0.0/9", want: "100.128.0.0/9"},
		{give: "126.255.255.255", want: "126.255.255.255"},
		{give: "128.0.0.0", want: "128.0.0.0"},
		{give: "169.253.255.255", want: "169.253.255.255"},
		{give: "172.15.255.255", want: "172.15.255.255"},
		{give: "172.32.0.0/11", want: "172.32.0.0/11"},
		{give: "192.0.1.0/24", want: "192.0.1.0/24"},
		{give: "192.31.196.1", want: "192.31.196.1"},
		{give: "192.88.98.255", want: "192.88.98.255"},
		{give: "192.167.255.255", want: "192.167.255.255"},
		{give: "192.169.0.0/16", want: "192.169.0.0/16"},
		{give: "198.17.255.255", want: "198.17.255.255"},
		{give: "198.20.0.0/14", want: "198.20.0.0/14"},
		{give: "198.51.101.0/24", want: "198.51.101.0/24"},
		{give: "203.0.112.255", want: "203.0.112.255"},
		{give: "223.255.255.255", want: "223.255.255.255"},

		// Inside each refused IPv4 range.
		{give: "0.1.2.3", wantCode: "not_public"},
		{give: "10.1.2.3", wantCode: "not_public"},
		{give: "100.100.0.1", wantCode: "not_public"},
		{give: "127.0.0.53", wantCode: "not_public"},
		{give: "169.254.169.254", wantCode: "not_public"},
		{give: "172.20.1.1", wantCode: "not_public"},
		{give: "192.0.0.170", wantCode: "not_public"},
		{give: "192.0.2.1", wantCode: "not_public"},
		{give: "192.88.99.1", wantCode: "not_public"},
		{give: "192.168.1.1", wantCode: "not_public"},
		{give: "198.19.0.1", wantCode: "not_public"},
		{give: "198.51.100.7", wantCode: "not_public"},
		{give: "203.0.113.9", wantCode: "not_public"},
		{give: "239.255.255.250", wantCode: "not_public"},
		{give: "255.255.255.255", wantCode: "not_public"},
		{give: "10.*.*.*", wantCode: "not_public"},

		// Prefixes that merely overlap a refused IPv4 range.
		{give: "172.0.0.0/8", wantCode: "not_public"},
		{give: "100.0.0.0/8", wantCode: "not_public"},
		{give: "192.0.0.0/16", wantCode: "not_public"},
		{give: "198.0.0.0/8", wantCode: "not_public"},
		{give: "8.0.0.0/4", wantCode: "not_public"},
		{give: "8.8.8.8/0", wantCode: "not_public"},
		{give: "0.0.0.0/0", wantCode: "not_public"},
		{give: "*.*.*.*", wantCode: "not_public"},

		// Public neighbours of the refused IPv6 ranges.
		{give: "2001:200::/23", want: "2001:200::/23"},
		{give: "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", want: "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"},
		{give: "2001:db9::/32", want: "2001:db9::/32"},
		{give: "2003::/16", want: "2003::/16"},
		{give: "3fff:1000::/20", want: "3fff:1000::/20"},

		// Inside each refused IPv6 range, and prefixes overlapping one.
		{give: "2001:0db8:abcd:0012:0000:0000:0000:ffff", wantCode: "not_public"},
		{give: "2001:db8:abcd:12::0/64", wantCode: "not_public"},
		{give: "2001::1", wantCode: "not_public"},
		{give: "2001:2::1", wantCode: "not_public"},
		{give: "2001:1ff:ffff::1", wantCode: "not_public"},
		{give: "2002:c0a8:101::1", wantCode: "not_public"},
		{give: "3fff::1", wantCode: "not_public"},
		{give: "3fff:fff::1", wantCode: "not_public"},
		{give: "2000::/3", wantCode: "not_public"},
		{give: "2000::/7", wantCode: "not_public"},
		{give: "2001::/16", wantCode: "not_public"},

		// Outside 2000::/3.
		{give: "::", wantCode: "not_public"},
		{give: "::1", wantCode: "not_public"},
		{give: "::/0", wantCode: "not_public"},
		{give: "::a00:1", wantCode: "not_public"},
		{give: "64:ff9b::a00:1", wantCode: "not_public"},
		{give: "64:ff9b:1::1", wantCode: "not_public"},
		{give: "100::1", wantCode: "not_public"},
		{give: "1fff:ffff::1", wantCode: "not_public"},
		{give: "4000::1", wantCode: "not_public"},
		{give: "5f00::1", wantCode: "not_public"},
		{give: "fc00::/7", wantCode: "not_public"},
		{give: "fd12:3456::1", wantCode: "not_public"},
		{give: "fe80::1", wantCode: "not_public"},
		{give: "fec0::1", wantCode: "not_public"},
		{give: "ff02::1", wantCode: "not_public"},

		// Not an entry at all.
		{give: "fe80::1%eth0", wantCode: "format"},
		{give: "2606:4700::1%eth0", wantCode: "format"},
		{give: "fe80::1%eth0/64", wantCode: "format"},
		{give: "010.1.1.1", wantCode: "format"},
		{give: "256.1.1.1", wantCode: "format"},
		{give: "1.2.3", wantCode: "format"},
		{give: "8.8.8.8/33", wantCode: "format"},
		{give: "8.8.8.8/024", wantCode: "format"},
		{give: "2001:4860::/129", wantCode: "format"},
		{give: "8.8.8.8 /32", wantCode: "format"},
		{give: "8.8. 8.8", wantCode: "format"},
		{give: "8.8.8.8\n", wantCode: "format"},
		{give: "\u00a08.8.8.8", wantCode: "format"},
		{give: "1.*.3.4", wantCode: "format"},
		{give: "*.1.1.1", wantCode: "format"},
		{give: "1.2.3.*/24", wantCode: "format"},
		{give: "76.*", wantCode: "format"},
		{give: "1.2.3.4.*", wantCode: "format"},
		{give: "7*.1.1.1", wantCode: "format"},
		{give: "*", wantCode: "format"},
		{give: "2606:4700::*", wantCode: "format"},
		{give: "example.com", wantCode: "format"},
		{give: "", wantCode: "empty"},
		{give: " \t ", wantCode: "empty"},
		{give: strings.Repeat(" ", 58) + "8.8.8.8", wantCode: "too_long"},
		{give: strings.Repeat("1", 1000), wantCode: "too_long"},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			list, problems := parse(t, []string{tt.give})
			if want := nonEmpty(tt.want, ""); !slices.Equal(list, want) {
				t.Errorf("Parse(%q) = %q, want %q", tt.give, list, want)
			}
			if want := nonEmpty(tt.wantCode, "ip[0]:"); !slices.Equal(problems, want) {
				t.Errorf("Parse(%q) problems %q, want %q", tt.give, problems, want)
			}
		})
	}
}

// nonEmpty returns []string{prefix + s}, or nil when s is "".
func nonEmpty(s, prefix string) []string {
	if s == "" {
		return nil
	}
	return []string{prefix + s}
}

func TestParseList(t *testing.T) {
	many := slices.Repeat([]string{"8.8.8.8"}, allowlist.MaxEntries)
	tests := []struct {
		name         string
		give         []string
		want         []string
		wantProblems []string
	}{
		{name: "nil is no restriction", give: nil},
		{name: "empty is refused", give: []string{}, wantProblems: []string{"ip:empty"}},
		{name: "duplicates", give: []string{"8.8.8.8", "8.8.8.8/32", " 8.8.8.8", "::ffff:8.8.8.8"}, want: []string{"8.8.8.8"}},
		{name: "contained address", give: []string{"8.8.8.8", "8.8.8.0/24"}, want: []string{"8.8.8.0/24"}},
		{name: "contained prefixes", give: []string{"8.8.8.0/25", "8.8.*.*", "8.8.8.0/24", "8.8.8.8"}, want: []string{"8.8.0.0/16"}},
		{name: "contained after siblings", give: []string{"8.8.8.8", "9.9.9.9", "8.0.0.0/7", "8.8.8.0/24"}, want: []string{"8.0.0.0/7"}},
		{name: "equal after masking", give: []string{"201.54.122.7/24", "201.54.122.0/24"}, want: []string{"201.54.122.0/24"}},
		{name: "adjacent prefixes stay apart", give: []string{"8.8.8.128/25", "8.8.8.0/25"}, want: []string{"8.8.8.0/25", "8.8.8.128/25"}},
		{name: "IPv6 containment", give: []string{"2606:4700:4700::1111", "2606:4700::/32"}, want: []string{"2606:4700::/32"}},
		{
			name: "sorted IPv4 first, then by address, then by length",
			give: []string{"2606:4700::1", "9.9.9.9", "8.8.8.0/24", "2001:4860::/32", "8.8.4.4", "1.1.1.1", "2001:4860::/48"},
			want: []string{"1.1.1.1", "8.8.4.4", "8.8.8.0/24", "9.9.9.9", "2001:4860::/32", "2606:4700::1"},
		},
		{name: "one bad entry", give: []string{"8.8.8.8", "10.0.0.1", "1.1.1.1"}, wantProblems: []string{"ip[1]:not_public"}},
		{
			name:         "every bad entry",
			give:         []string{"x", "8.8.8.8", "", "192.168.0.1", "1.*.1.1"},
			wantProblems: []string{"ip[0]:format", "ip[2]:empty", "ip[3]:not_public", "ip[4]:format"},
		},
		{name: "MaxEntries entries", give: many, want: []string{"8.8.8.8"}},
		{name: "too many entries", give: append(many, "8.8.8.8"), wantProblems: []string{"ip:too_many"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, problems := parse(t, tt.give)
			if !slices.Equal(list, tt.want) || (list == nil) != (tt.want == nil) {
				t.Errorf("Parse(%q) = %#v, want %#v", tt.give, list, tt.want)
			}
			if !slices.Equal(problems, tt.wantProblems) {
				t.Errorf("Parse(%q) problems %q, want %q", tt.give, problems, tt.wantProblems)
			}
		})
	}
}

func TestParseLeavesInputAlone(t *testing.T) {
	give := []string{"9.9.9.9", " 8.8.8.8 ", "1.1.1.1"}
	want := slices.Clone(give)
	mustParse(t, give...)
	if !slices.Equal(give, want) {
		t.Errorf("Parse changed its input to %q", give)
	}
}

func TestStrings(t *testing.T) {
	if got := allowlist.Strings(nil); got != nil {
		t.Errorf("Strings(nil) = %#v, want nil", got)
	}
	if got := allowlist.Strings([]netip.Prefix{}); got == nil || len(got) != 0 {
		t.Errorf("Strings([]) = %#v, want an empty list", got)
	}
}

func TestAllows(t *testing.T) {
	v4 := mustParse(t, "8.8.8.0/24", "1.1.1.1")
	v6 := mustParse(t, "2606:4700::/32")
	tests := []struct {
		name     string
		giveList []netip.Prefix
		giveAddr netip.Addr
		want     bool
	}{
		{name: "nil list allows", giveList: nil, giveAddr: netip.MustParseAddr("10.0.0.1"), want: true},
		{name: "nil list allows an unknown address", giveList: nil, giveAddr: netip.Addr{}, want: true},
		{name: "empty list allows nothing", giveList: []netip.Prefix{}, giveAddr: netip.MustParseAddr("8.8.8.8"), want: false},
		{name: "inside a prefix", giveList: v4, giveAddr: netip.MustParseAddr("8.8.8.200"), want: true},
		{name: "the single address", giveList: v4, giveAddr: netip.MustParseAddr("1.1.1.1"), want: true},
		{name: "next to the single address", giveList: v4, giveAddr: netip.MustParseAddr("1.1.1.2"), want: false},
		{name: "outside", giveList: v4, giveAddr: netip.MustParseAddr("8.8.9.1"), want: false},
		{name: "mapped client", giveList: v4, giveAddr: netip.MustParseAddr("::ffff:8.8.8.8"), want: true},
		{name: "mapped client outside", giveList: v4, giveAddr: netip.MustParseAddr("::ffff:8.8.9.8"), want: false},
		{name: "zero address", giveList: v4, giveAddr: netip.Addr{}, want: false},
		{name: "IPv6 client of an IPv4 list", giveList: v4, giveAddr: netip.MustParseAddr("2606:4700::1"), want: false},
		{name: "IPv6 inside", giveList: v6, giveAddr: netip.MustParseAddr("2606:4700:4700::1111"), want: true},
		{name: "IPv6 zone ignored", giveList: v6, giveAddr: netip.MustParseAddr("2606:4700::1%eth0"), want: true},
		{name: "IPv6 outside", giveList: v6, giveAddr: netip.MustParseAddr("2606:4701::1"), want: false},
		{name: "IPv4-compatible is not IPv4", giveList: v4, giveAddr: netip.MustParseAddr("::8.8.8.8"), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := allowlist.Allows(tt.giveList, tt.giveAddr); got != tt.want {
				t.Errorf("Allows(%v, %v) = %v, want %v", tt.giveList, tt.giveAddr, got, tt.want)
			}
		})
	}
}

func TestPublic(t *testing.T) {
	tests := []struct {
		give netip.Prefix
		want bool
	}{
		{give: netip.MustParsePrefix("8.8.8.0/24"), want: true},
		{give: netip.MustParsePrefix("8.8.8.7/24"), want: true},
		{give: netip.MustParsePrefix("::ffff:8.8.8.0/120"), want: true},
		{give: netip.MustParsePrefix("::ffff:10.0.0.0/104"), want: false},
		{give: netip.MustParsePrefix("10.0.0.0/8"), want: false},
		{give: netip.MustParsePrefix("2606:4700::/32"), want: true},
		{give: netip.MustParsePrefix("2001:db8::/48"), want: false},
		{give: netip.MustParsePrefix("fe80::/64"), want: false},
		{give: netip.Prefix{}, want: false},
		{give: netip.PrefixFrom(netip.MustParseAddr("8.8.8.8"), 33), want: false},
	}
	for _, tt := range tests {
		if got := allowlist.Public(tt.give); got != tt.want {
			t.Errorf("Public(%v) = %v, want %v", tt.give, got, tt.want)
		}
	}
}

func TestWithin(t *testing.T) {
	wide := mustParse(t, "8.8.0.0/16", "2606:4700::/32")
	tests := []struct {
		name      string
		giveList  []netip.Prefix
		giveBound []netip.Prefix
		want      bool
	}{
		{name: "nil bound contains anywhere", giveList: nil, giveBound: nil, want: true},
		{name: "nil bound contains a list", giveList: mustParse(t, "1.1.1.1"), giveBound: nil, want: true},
		{name: "anywhere is not within a list", giveList: nil, giveBound: wide, want: false},
		{name: "narrower prefix", giveList: mustParse(t, "8.8.8.0/24"), giveBound: wide, want: true},
		{name: "the same prefix", giveList: mustParse(t, "8.8.0.0/16"), giveBound: wide, want: true},
		{name: "one address", giveList: mustParse(t, "8.8.4.4"), giveBound: wide, want: true},
		{name: "wider prefix of the same network", giveList: mustParse(t, "8.0.0.0/8"), giveBound: wide, want: false},
		{name: "outside", giveList: mustParse(t, "9.9.9.9"), giveBound: wide, want: false},
		{name: "one of two outside", giveList: mustParse(t, "8.8.8.8", "9.9.9.9"), giveBound: wide, want: false},
		{name: "IPv6 inside", giveList: mustParse(t, "2606:4700:4700::1111"), giveBound: wide, want: true},
		{name: "IPv6 outside", giveList: mustParse(t, "2606:4701::1"), giveBound: wide, want: false},
		{name: "empty list within anything", giveList: []netip.Prefix{}, giveBound: wide, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := allowlist.Within(tt.giveList, tt.giveBound); got != tt.want {
				t.Errorf("Within(%v, %v) = %v, want %v", tt.giveList, tt.giveBound, got, tt.want)
			}
		})
	}
}
