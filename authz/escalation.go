package authz

import (
	"github.com/provisionkit/provisioning/access"
)

// Covers reports whether the principal holds every right that role roleID
// of the organization carries, so that it may give that role to someone
// (Kubernetes RBAC's escalation rule): each line of the role must be allowed
// to the principal, and a wildcard line ("*" subject or action) is covered
// only by a wildcard the principal holds, never by a list of subjects. A role
// the organization does not have carries nothing. A principal refused by an
// attribute rule (expired, address, second factor) holds nothing, nor does a
// guest whose deny lines cut into a wildcard.
func (r *Rights) Covers(roleID string) bool {
	g := r.sh.role(roleID)
	if g == nil {
		return true
	}
	return r.covers(g)
}

// CoversGrant reports whether the principal holds the right of a direct
// grant ("*" as subject or action meaning any), by the rule of Covers.
func (r *Rights) CoversGrant(gr access.Grant) bool {
	if !validGrant(gr) {
		return false
	}
	bit := bitOf(gr.Action)
	if gr.Subject == anyToken {
		return r.covers(&grant{anyAllow: bit})
	}
	obj, known := objectOf(gr.Subject)
	if !known { // no line names it: only the principal's wildcards can cover it
		return r.covers(&grant{anyAllow: bit})
	}
	return r.covers(&grant{objs: []uint32{obj<<8 | uint32(bit)<<4}})
}

// covers reports whether the principal holds every allow of want.
func (r *Rights) covers(want *grant) bool {
	have, ok := r.reached()
	if !ok {
		return false
	}
	for bit := mask(1); bit <= anyAction; bit <<= 1 {
		// A wildcard is covered by a wildcard that no deny line cuts into.
		if want.anyAllow&bit != 0 && (have.anyAllow&bit == 0 || have.denies(bit)) {
			return false
		}
	}
	for _, e := range want.objs {
		for bit := mask(1); bit <= anyAction; bit <<= 1 {
			if mask(e>>4)&bit != 0 && have.verdict(e>>8, true, bit) != Granted {
				return false
			}
		}
	}
	return true
}

// denies reports whether a deny line of g matches bit on any object.
func (g *grant) denies(bit mask) bool {
	if g.anyDeny&bit != 0 {
		return true
	}
	for _, e := range g.objs {
		if mask(e)&bit != 0 {
			return true
		}
	}
	return false
}

// reached returns the principal's lines when no attribute rule refuses it.
func (r *Rights) reached() (*grant, bool) {
	d := decide(r.pr, r.p, r.sh.revision, "", 0, r.now)
	if d.Reason != NoGrant { // NoGrant: past the attribute rules, nothing asked
		return nil, false
	}
	g := r.pr.reached(r.p.App)
	return g, g != nil
}
