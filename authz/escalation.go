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
	g := r.sh.group(roleSub(roleID), orgDomain(r.sh.org))
	if g == nil {
		return true
	}
	return r.covers(g.allowAny, g.allow)
}

// CoversGrant reports whether the principal holds the right of a direct
// grant ("*" as subject or action meaning any), by the rule of Covers.
func (r *Rights) CoversGrant(gr access.Grant) bool {
	if !validGrant(gr) {
		return false
	}
	bit := bitOf(gr.Action)
	if gr.Subject == anyToken {
		return r.covers(bit, nil)
	}
	oi, known := r.sh.objects[gr.Subject]
	if !known { // no line names it: only the principal's wildcards can cover it
		return r.covers(bit, nil)
	}
	allow := make([]mask, len(r.sh.objects))
	allow[oi] = bit
	return r.covers(0, allow)
}

// covers reports whether the principal holds anyBits on every object and
// allow[i] on each object i.
func (r *Rights) covers(anyBits mask, allow []mask) bool {
	groups, ok := r.groups()
	if !ok {
		return false
	}
	for bit := mask(1); bit <= anyAction; bit <<= 1 {
		if anyBits&bit != 0 && !r.holds(func(g *group) bool { return g.allowAny&bit != 0 }, bit) {
			return false
		}
	}
	for oi, bits := range allow {
		for bit := mask(1); bit <= anyAction; bit <<= 1 {
			if bits&bit != 0 && r.sh.verdictAt(groups, int32(oi), true, bit) != Granted {
				return false
			}
		}
	}
	return true
}

// holds reports whether one of the principal's groups satisfies has, and
// none of them denies bit on anything.
func (r *Rights) holds(has func(*group) bool, bit mask) bool {
	groups, ok := r.groups()
	if !ok {
		return false
	}
	found := false
	for _, gi := range groups {
		g := &r.sh.groups[gi]
		if g.denyAny&bit != 0 {
			return false
		}
		for _, d := range g.deny {
			if d&bit != 0 {
				return false
			}
		}
		found = found || has(g)
	}
	return found
}

// groups returns the principal's groups when no attribute rule refuses it.
func (r *Rights) groups() ([]int32, bool) {
	d := r.sh.decide(r.p, "", 0, r.now)
	if d.Reason != NoGrant { // NoGrant: past the attribute rules, nothing asked
		return nil, false
	}
	pr := r.sh.principals[principalKey{r.p.Kind, r.p.ID}]
	if r.p.App != "" {
		return pr.apps[r.p.App], true
	}
	return pr.groups, true
}

// group returns the lines of sub in dom, or nil.
func (s *shard) group(sub, dom string) *group {
	for i := range s.groups {
		if s.groups[i].sub == sub && s.groups[i].dom == dom {
			return &s.groups[i]
		}
	}
	return nil
}
