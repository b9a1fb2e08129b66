package membership

import (
	"errors"
	"net/netip"
	"slices"
	"time"

	"github.com/provisionkit/provisioning/allowlist"
	"github.com/provisionkit/provisioning/fault"
)

// Editor is who changes a membership's rules, as far as the rules about
// such a change need to know.
type Editor struct {
	// Owner: the caller owns the organization.
	Owner bool
	// Trusted: the host's system handle, bound by no member's rule.
	Trusted bool
	// Self: a user changing its own membership.
	Self bool
	// IP is the address of the caller's request (the zero Addr when the
	// host did not give it).
	IP netip.Addr
}

// Limits are an editor's own restrictions in the organization: its
// membership's, or its API credential's.
type Limits struct {
	AllowedIPs []netip.Prefix // nil: anywhere
	ExpiresAt  time.Time      // zero: never
}

// Equal reports whether two canonical rule sets are the same: the same
// permissions, allowlist (a nil list, no restriction, differs from any
// list), guest flag, expiry and second-factor requirement.
func (r Rules) Equal(o Rules) bool {
	return slices.Equal(r.Permissions, o.Permissions) && slices.Equal(r.AllowedIPs, o.AllowedIPs) &&
		(r.AllowedIPs == nil) == (o.AllowedIPs == nil) && r.Guest == o.Guest &&
		r.ExpiresAt.Equal(o.ExpiresAt) && r.MFARequired == o.MFARequired
}

// CheckOwnerAndSelf holds the rules of the owner's membership and of one's
// own, for m's rules becoming after (canonical): the owner's membership is
// never a guest's and never expires, and only the owner (or the host)
// changes its rules; a member never gives itself an allowlist that refuses
// the address of the very request (it would lock itself out).
func CheckOwnerAndSelf(op string, m *Membership, after Rules, e Editor) error {
	if m.Owner {
		switch {
		case after.Guest:
			return fault.InvalidField(op, "guest", "owner", "the owner's membership cannot be a guest")
		case !after.ExpiresAt.IsZero():
			return fault.InvalidField(op, "expires_at", "owner", "the owner's membership cannot expire")
		case !e.Owner && !e.Trusted && !after.Equal(m.Rules()):
			return fault.E(op, fault.Forbidden, errors.New("only the owner changes the rules of the owner's membership"))
		}
	}
	if e.Self && after.AllowedIPs != nil && !allowlist.Allows(prefixes(after.AllowedIPs), e.IP) {
		return fault.InvalidField(op, "allowed_ips", "lockout", "would refuse the address of this very request: you would lock yourself out")
	}
	return nil
}

// CheckNoLoosening refuses, to anyone but the owner and the host, a change
// of m's rules to after that lifts a restriction beyond the editor's own: a
// member never widens its own allowlist, extends its own expiry or lifts
// its own second-factor requirement (the owner set them), and never gives
// another member an allowlist wider, or an expiry later, than its own (a
// fenced admin cannot unfence others). own reads the editor's limits; it is
// called only when another member's restriction is lifted.
func CheckNoLoosening(op string, m *Membership, after Rules, e Editor, own func() (Limits, error)) error {
	if e.Owner || e.Trusted {
		return nil
	}
	before := m.Rules()
	list := prefixes(after.AllowedIPs)
	widens := !allowlist.Within(list, m.AllowedIPs)
	extends := !before.ExpiresAt.IsZero() && later(after.ExpiresAt, before.ExpiresAt)
	if e.Self {
		switch {
		case widens:
			return fault.E(op, fault.Forbidden, errors.New("a member does not widen its own allowlist"))
		case extends:
			return fault.E(op, fault.Forbidden, errors.New("a member does not extend its own expiry"))
		case before.MFARequired && !after.MFARequired:
			return fault.E(op, fault.Forbidden, errors.New("a member does not lift its own second-factor requirement"))
		}
		return nil
	}
	if !widens && !extends {
		return nil
	}
	mine, err := own()
	if err != nil {
		return err
	}
	switch {
	case widens && !allowlist.Within(list, mine.AllowedIPs):
		return fault.E(op, fault.Forbidden, errors.New("cannot give an allowlist wider than the caller's own"))
	case extends && !mine.ExpiresAt.IsZero() && later(after.ExpiresAt, mine.ExpiresAt):
		return fault.E(op, fault.Forbidden, errors.New("cannot give an expiry later than the caller's own"))
	}
	return nil
}

// InvitationExpired reports whether m's invitation has expired at now: its
// token, and the pending membership on every path (acceptance, upsert),
// stop working at InvitationExpiresAt, that instant included.
func (m *Membership) InvitationExpired(now time.Time) bool {
	return !now.Before(m.InvitationExpiresAt)
}

// later reports whether expiry t (zero: never) ends after bound.
func later(t, bound time.Time) bool {
	return t.IsZero() || t.After(bound)
}

// prefixes reads a canonical allowlist (nil stays nil).
func prefixes(entries []string) []netip.Prefix {
	list, _ := allowlist.Parse("allowed_ips", entries) // canonical already
	return list
}
