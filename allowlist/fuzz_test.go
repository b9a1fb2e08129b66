package allowlist_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/provisionkit/provisioning/allowlist"
)

// specNonPublic restates, independently of the package's tables, the ranges
// no accepted prefix may overlap (besides everything outside 2000::/3).
var specNonPublic = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
		"198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
		"2001::/23", "2001:db8::/32", "2002::/16", "3fff::/20",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

var specGlobalUnicast = netip.MustParsePrefix("2000::/3")

// fuzzSeeds are lists, entries separated by commas.
var fuzzSeeds = []string{
	"153.12.32.33",
	"8.8.8.8,8.8.8.0/24,2606:4700::/32",
	"76.*.*.*,1.2.3.*, 9.9.9.9 ",
	"::ffff:8.8.8.8,::ffff:8.8.8.0/120",
	"201.54.122.7/24,2a00:1450:4001:800::200e/64",
	"10.0.0.1,fe80::1%eth0,*.*.*.*",
	"2001:db8::/32,::ffff:0:0/96,,x",
}

func splitList(s string) []string { return strings.Split(s, ",") }

// FuzzParse checks that Parse either fails with nothing or returns a
// canonical list of public prefixes that reads back to itself.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		entries := splitList(s)
		out, err := allowlist.Parse("ip", entries)
		if err != nil {
			if out != nil {
				t.Fatalf("Parse(%q) = %v with error %v", entries, out, err)
			}
			return
		}
		checkCanonical(t, out)
		again, err := allowlist.Parse("ip", allowlist.Strings(out))
		if err != nil || !slices.Equal(again, out) {
			t.Fatalf("Parse(Strings(%v)) = %v, %v; want the same list", out, again, err)
		}
	})
}

// checkCanonical checks every promise Parse makes about a list it returns.
func checkCanonical(tb testing.TB, out []netip.Prefix) {
	tb.Helper()
	if len(out) == 0 {
		tb.Fatalf("Parse returned an empty list")
	}
	for i, p := range out {
		if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" || !allowlist.Public(p) {
			tb.Fatalf("entry %v is not a valid, masked, unmapped, public prefix", p)
		}
		if p.Addr().Is6() && (p.Bits() < 3 || !specGlobalUnicast.Contains(p.Addr())) {
			tb.Fatalf("entry %v is outside 2000::/3", p)
		}
		for _, bad := range specNonPublic {
			if p.Overlaps(bad) {
				tb.Fatalf("entry %v overlaps %v", p, bad)
			}
		}
		if a := p.Addr(); a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsMulticast() || a.IsUnspecified() || !a.IsGlobalUnicast() {
			tb.Fatalf("entry %v is not global unicast by net/netip", p)
		}
		if i > 0 && out[i-1].Compare(p) >= 0 {
			tb.Fatalf("entries %v and %v are not sorted", out[i-1], p)
		}
		for j, q := range out {
			if i != j && q.Bits() <= p.Bits() && q.Contains(p.Addr()) {
				tb.Fatalf("entry %v contains %v", q, p)
			}
		}
	}
}

// FuzzAllows checks Allows against a plain loop over every accepted list
// and any address, and that nothing non-public is ever allowed.
func FuzzAllows(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, []byte{8, 8, 8, 8})
		f.Add(s, netip.MustParseAddr("::ffff:8.8.8.8").AsSlice())
	}
	f.Add("2606:4700::/32", netip.MustParseAddr("2606:4700::1111").AsSlice())
	f.Add("8.8.8.8", []byte{})
	f.Fuzz(func(t *testing.T, s string, raw []byte) {
		list, err := allowlist.Parse("ip", splitList(s))
		if err != nil {
			return
		}
		addr, _ := netip.AddrFromSlice(raw) // the zero Addr unless 4 or 16 bytes
		want := slices.ContainsFunc(list, func(p netip.Prefix) bool { return p.Contains(addr.Unmap()) })
		got := allowlist.Allows(list, addr)
		if got != want {
			t.Fatalf("Allows(%v, %v) = %v, want %v", list, addr, got, want)
		}
		if got && !allowlist.Public(netip.PrefixFrom(addr, addr.BitLen())) {
			t.Fatalf("Allows(%v, %v) allows a non-public address", list, addr)
		}
	})
}
