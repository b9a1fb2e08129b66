package allowlist

import (
	"net/netip"
	"slices"
)

// reserved is a non-public range, named for messages.
type reserved struct {
	prefix netip.Prefix
	name   string
}

func reserve(prefix, name string) reserved { return reserved{netip.MustParsePrefix(prefix), name} }

// reserved4 are the IPv4 ranges refused: every entry of the IANA IPv4
// Special-Purpose Address Registry (RFC 6890) that is not globally
// reachable, or whose addresses do not name one host everywhere, plus
// multicast (IANA IPv4 Multicast Address Space Registry) and the reserved
// class E. The registry's globally reachable entries (192.31.196.0/24 and
// 192.175.48.0/24 for AS112, 192.52.193.0/24 for AMT) are allowed.
var reserved4 = []reserved{
	reserve("0.0.0.0/8", `"this network", RFC 791`),
	reserve("10.0.0.0/8", "private-use, RFC 1918"),
	reserve("100.64.0.0/10", "shared address space (CGNAT), RFC 6598"),
	reserve("127.0.0.0/8", "loopback, RFC 1122"),
	reserve("169.254.0.0/16", "link-local, RFC 3927"),
	reserve("172.16.0.0/12", "private-use, RFC 1918"),
	reserve("192.0.0.0/24", "IETF protocol assignments, RFC 6890"),
	reserve("192.0.2.0/24", "documentation TEST-NET-1, RFC 5737"),
	reserve("192.88.99.0/24", "deprecated 6to4 relay anycast, RFC 7526"),
	reserve("192.168.0.0/16", "private-use, RFC 1918"),
	reserve("198.18.0.0/15", "benchmarking, RFC 2544"),
	reserve("198.51.100.0/24", "documentation TEST-NET-2, RFC 5737"),
	reserve("203.0.113.0/24", "documentation TEST-NET-3, RFC 5737"),
	reserve("224.0.0.0/4", "multicast, RFC 5771"),
	reserve("240.0.0.0/4", "reserved and limited broadcast, RFC 1112 and RFC 919"),
}

// globalUnicast is the only IPv6 space an entry may come from (IANA IPv6
// Address Space Registry, RFC 4291 section 2.4). Outside it lie, among
// others, :: and ::1, ::ffff:0:0/96 (IPv4-mapped, judged as IPv4 before this
// rule when it has at least 96 bits), the deprecated IPv4-compatible ::/96,
// 64:ff9b::/96 and 64:ff9b:1::/48 (NAT64, RFC 6052 and RFC 8215), 100::/64
// (discard-only), 5f00::/16 (SRv6 SIDs, RFC 9602), fc00::/7 (unique local),
// fe80::/10 (link-local), fec0::/10 (site-local) and ff00::/8 (multicast).
var globalUnicast = netip.MustParsePrefix("2000::/3")

// reserved6 are the ranges inside 2000::/3 refused: the entries of the IANA
// IPv6 Special-Purpose Address Registry there that are not globally
// reachable, or that embed IPv4 addresses which may be private. The whole
// 2001::/23 block is refused to keep it simple, though a few of its entries
// (2001:3::/32 for AMT, 2001:4:112::/48 for AS112, for example) are
// globally reachable.
var reserved6 = []reserved{
	reserve("2001::/23", "IETF protocol assignments (Teredo, benchmarking, ORCHID...), RFC 2928"),
	reserve("2001:db8::/32", "documentation, RFC 3849"),
	reserve("2002::/16", "6to4, which embeds IPv4 addresses, RFC 3056"),
	reserve("3fff::/20", "documentation, RFC 9637"),
}

// Public reports whether every address of p is public, so that p may be in
// an allowlist: p is valid and, once masked and unmapped, is an IPv4 prefix
// that overlaps none of the non-public IPv4 ranges, or an IPv6 prefix inside
// 2000::/3 that overlaps none of the non-public ranges there.
func Public(p netip.Prefix) bool {
	return p.IsValid() && whyNotPublic(unmap(p).Masked()) == ""
}

// whyNotPublic explains why a masked, unmapped prefix is not public, or
// returns "" when it is.
func whyNotPublic(p netip.Prefix) string {
	table := reserved4
	if p.Addr().Is6() {
		if p.Bits() < globalUnicast.Bits() || !globalUnicast.Contains(p.Addr()) {
			return "is outside the IPv6 global unicast range 2000::/3"
		}
		table = reserved6
	}
	if i := slices.IndexFunc(table, func(r reserved) bool { return r.prefix.Overlaps(p) }); i >= 0 {
		return "overlaps the non-public range " + table[i].prefix.String() + " (" + table[i].name + ")"
	}
	return ""
}
