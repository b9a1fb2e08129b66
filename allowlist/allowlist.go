// Package allowlist parses, canonicalises and checks IP allowlists: the
// addresses a membership or an API credential may call from.
//
// An entry is an IPv4 or IPv6 address ("153.12.32.33",
// "2606:4700:4700::1111"), a CIDR prefix ("201.54.122.0/24",
// "2a00:1450::/32") or an IPv4 address whose trailing whole octets are
// wildcards ("76.*.*.*" is 76.0.0.0/8, "1.2.3.*" is 1.2.3.0/24).
// Parse turns a list of entries into its canonical form:
//
//   - ASCII spaces and tabs around an entry are trimmed; any other
//     whitespace, an IPv6 zone ("fe80::1%eth0"), an IPv4 octet with a
//     leading zero, a non-trailing wildcard ("1.*.3.4") or a wildcard with a
//     prefix length ("1.2.*.*/16") is a format error;
//   - an address becomes a /32 or /128 prefix, and a prefix with host bits
//     set is masked ("201.54.122.7/24" is stored and shown as
//     "201.54.122.0/24");
//   - an IPv4-mapped IPv6 entry (::ffff:1.2.3.4, or a prefix of
//     ::ffff:0:0/96 with at least 96 bits) is unmapped and judged as IPv4;
//   - duplicates and entries contained in another entry are dropped
//     (adjacent prefixes are kept apart, not merged), and the list is sorted
//     (IPv4 before IPv6, then by address, then by length).
//
// Only public addresses may be listed (see Public): an entry that merely
// overlaps a private, loopback, link-local, shared (CGNAT), unique-local,
// documentation or other special-purpose range is refused. Such ranges
// name different machines on every network, so allowing 10.0.0.0/8 would
// let in anyone on the server's own network (or behind the same proxy), not
// the office the user had in mind; a prefix as wide as 0.0.0.0/0 or 2000::/3
// would quietly allow them too.
//
// A nil list means "no restriction". An empty list is refused rather than
// read as "everyone" or "no one": a client that sends [] by mistake must not
// silently lift the restriction, and one that wants to lift it says so with
// null. A call whose client address is outside a list is refused (Allows).
package allowlist

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/provisionkit/provisioning/fault"
)

// Limits on what Parse accepts.
const (
	// MaxEntries is the largest number of entries in one list.
	MaxEntries = 100
	// MaxEntryLen is the longest entry, in bytes, surrounding spaces
	// included. The longest canonical entry,
	// "0000:0000:0000:0000:0000:ffff:255.255.255.255/128", has 49.
	MaxEntryLen = 64
)

// op names the operation in the errors Parse returns.
const op = "allowlist.Parse"

// Parse validates entries and returns the canonical list (see the package
// comment for the rules).
//
// A nil slice means "no restriction" and returns (nil, nil). A non-nil empty
// slice is refused with code "empty". Each bad entry gives its own problem,
// named field[i] (code "format", "not_public", "empty" or "too_long"); a
// list longer than MaxEntries gives one problem named field (code
// "too_many"). The error is a *fault.ValidationError matching
// fault.ErrInvalid, and nothing is returned with it.
func Parse(field string, entries []string) ([]netip.Prefix, error) {
	if entries == nil {
		return nil, nil
	}
	if err := checkLength(field, len(entries)); err != nil {
		return nil, err
	}
	var problems fault.Problems
	list := make([]netip.Prefix, 0, len(entries))
	for i, entry := range entries {
		p, bad := parseEntry(entry)
		if bad != nil {
			problems.Add(fmt.Sprintf("%s[%d]", field, i), bad.code, bad.message)
			continue
		}
		list = append(list, p)
	}
	if err := problems.Err(op); err != nil {
		return nil, err
	}
	return normalize(list), nil
}

// checkLength refuses an empty list and one longer than MaxEntries.
func checkLength(field string, n int) error {
	switch {
	case n == 0:
		return fault.InvalidField(op, field, "empty",
			"must list at least one address; use null to remove the restriction")
	case n > MaxEntries:
		return fault.InvalidField(op, field, "too_many",
			fmt.Sprintf("must list at most %d entries", MaxEntries))
	}
	return nil
}

// Strings formats a canonical list: an entry of a single address as the
// address ("153.12.32.33"), others in CIDR notation ("201.54.122.0/24").
// Parse reads the result back to the same list. A nil list gives nil.
func Strings(list []netip.Prefix) []string {
	if list == nil {
		return nil
	}
	out := make([]string, len(list))
	for i, p := range list {
		out[i] = format(p)
	}
	return out
}

// format writes one prefix as Strings does.
func format(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// Allows reports whether a call from addr passes the list. An IPv4-mapped
// addr is unmapped and an IPv6 zone ignored before it is matched.
//
// A nil list is no restriction and allows everything, even the zero Addr
// (the client address need not be known). Any other list fails closed: it
// never allows the zero Addr, and an empty list allows nothing.
func Allows(list []netip.Prefix, addr netip.Addr) bool {
	if list == nil {
		return true
	}
	addr = addr.Unmap().WithZone("")
	return slices.ContainsFunc(list, func(p netip.Prefix) bool { return p.Contains(addr) })
}

// problem is why one entry is refused.
type problem struct {
	code    string
	message string
}

const formatMessage = "must be an IPv4 or IPv6 address, a CIDR prefix or an IPv4 wildcard like 76.*.*.*"

// parseEntry parses one entry into a masked, unmapped, public prefix.
func parseEntry(entry string) (netip.Prefix, *problem) {
	if len(entry) > MaxEntryLen {
		return netip.Prefix{}, &problem{"too_long", fmt.Sprintf("must be at most %d characters", MaxEntryLen)}
	}
	s := strings.Trim(entry, " \t")
	p, bad := parseSyntax(s)
	if bad != nil {
		return netip.Prefix{}, bad
	}
	p = unmap(p).Masked()
	if why := whyNotPublic(p); why != "" {
		return netip.Prefix{}, &problem{"not_public", format(p) + " " + why + "; only public addresses may be listed"}
	}
	return p, nil
}

// parseSyntax reads an address, a prefix or an IPv4 wildcard, as written.
func parseSyntax(s string) (netip.Prefix, *problem) {
	switch {
	case s == "":
		return netip.Prefix{}, &problem{"empty", "must not be empty"}
	case strings.Contains(s, "%"):
		return netip.Prefix{}, &problem{"format", "must not have an IPv6 zone (%...)"}
	case strings.Contains(s, "*"):
		return parseWildcard(s)
	case strings.Contains(s, "/"):
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, &problem{"format", formatMessage}
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, &problem{"format", formatMessage}
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// parseWildcard reads an IPv4 address whose trailing whole octets are "*":
// each wildcard octet takes 8 bits off the prefix length.
func parseWildcard(s string) (netip.Prefix, *problem) {
	if strings.Contains(s, "/") {
		return netip.Prefix{}, &problem{"format", "must not combine wildcards with a prefix length"}
	}
	octets := strings.Split(s, ".")
	first := slices.Index(octets, "*")
	if len(octets) != 4 || first < 0 {
		return netip.Prefix{}, &problem{"format", formatMessage}
	}
	for i := first; i < len(octets); i++ {
		if octets[i] != "*" {
			return netip.Prefix{}, &problem{"format", "may have wildcards only as whole trailing octets, like 76.12.*.*"}
		}
		octets[i] = "0"
	}
	a, err := netip.ParseAddr(strings.Join(octets, "."))
	if err != nil || !a.Is4() {
		return netip.Prefix{}, &problem{"format", formatMessage}
	}
	return netip.PrefixFrom(a, 8*first), nil
}

// unmap turns a prefix inside ::ffff:0:0/96 into the IPv4 prefix it stands
// for. Anything else, including a mapped prefix shorter than /96, is
// returned as it is.
func unmap(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

// normalize sorts a list of masked prefixes and drops every prefix that is
// contained in (or equal to) another.
func normalize(list []netip.Prefix) []netip.Prefix {
	slices.SortFunc(list, netip.Prefix.Compare)
	// Sorted by address then length, a prefix comes right after the
	// prefixes it is contained in, so only the last one kept can contain it.
	out := list[:0]
	for _, p := range list {
		if n := len(out); n > 0 && out[n-1].Bits() <= p.Bits() && out[n-1].Contains(p.Addr()) {
			continue
		}
		out = append(out, p)
	}
	return slices.Clip(out)
}

// Within reports whether every network of list lies inside a network of
// bound: whether a member given list can call from nowhere that bound
// refuses. A nil list (anywhere) is within a nil bound only; a nil bound
// (no restriction) contains every list.
func Within(list, bound []netip.Prefix) bool {
	if bound == nil {
		return true
	}
	if list == nil {
		return false
	}
	for _, p := range list {
		if !slices.ContainsFunc(bound, func(b netip.Prefix) bool { return b.Bits() <= p.Bits() && b.Contains(p.Addr()) }) {
			return false
		}
	}
	return true
}
