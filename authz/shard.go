package authz

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	defaultrolemanager "github.com/casbin/casbin/v2/rbac/default-role-manager"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/role"
)

// maxHierarchy bounds role inheritance, as Casbin's default does.
const maxHierarchy = 10

// mask holds one bit per action.
type mask uint8

const anyAction mask = 0b1111 // create, read, update, destroy

// bitOf returns the bit of an action; 0 for an unknown one.
func bitOf(a string) mask {
	switch role.Action(a) {
	case role.ActionCreate:
		return 1
	case role.ActionRead:
		return 2
	case role.ActionUpdate:
		return 4
	case role.ActionDestroy:
		return 8
	case anyToken:
		return anyAction
	}
	return 0
}

// group is the p lines of one Casbin subject in one domain: what it allows
// and denies, on any object ("*") and per object of the shard.
type group struct {
	sub, dom          string
	allowAny, denyAny mask
	allow, deny       []mask // indexed by the shard's object index; nil when empty
}

// principal is what a shard knows of one user or credential: the groups it
// reaches in the organization's domain and in each application's, and the
// attributes that gate them.
type principal struct {
	groups []int32            // organization domain: its own lines and its roles'
	apps   map[string][]int32 // credential id → groups reached in that application's domain
	member bool               // holds builtin:member
	guest  bool
	mfa    bool  // requires a second factor (its own flag; the organization's is on the shard)
	expiry int64 // unix nanoseconds; 0 for none
	ips    []netip.Prefix
	fence  bool // ips applies (a nil or empty list then refuses every address)
}

type principalKey struct {
	kind access.PrincipalKind
	id   string
}

// shard is one organization's policy at one revision, indexed for checks.
// It is never mutated after it is built (but for the lazily sorted member
// list); a new revision gets a new shard.
type shard struct {
	org        string
	revision   string
	owner      string
	mfa        bool
	objects    map[string]int32 // object of a p line → index into group masks
	groups     []group
	principals map[principalKey]*principal

	sortOnce sync.Once
	users    []string // ids of the users with builtin:member, sorted; see sortedUsers
}

// newShard derives the snapshot's lines, resolves each principal's roles
// with Casbin's role manager (the one an enforcer of the model uses) and
// indexes the p lines of every subject it reaches, domain by domain.
func newShard(snap *access.Snapshot) (*shard, error) {
	pl, gl, err := Lines(snap)
	if err != nil {
		return nil, err
	}
	internal := func(err error) error { return fault.E("authz.newShard", fault.Internal, err) }
	rm := defaultrolemanager.NewDomainManager(maxHierarchy)
	for _, l := range gl {
		if err := rm.AddLink(l[0], l[1], l[2]); err != nil {
			return nil, internal(err)
		}
	}

	sh := &shard{
		org:        snap.OrganizationID,
		revision:   snap.Revision,
		owner:      snap.OwnerUserID,
		mfa:        snap.MFARequired,
		objects:    make(map[string]int32),
		principals: make(map[principalKey]*principal, len(snap.Members)+len(snap.Credentials)),
	}
	for _, l := range pl {
		if _, ok := sh.objects[l[2]]; !ok && l[2] != anyToken {
			sh.objects[l[2]] = int32(len(sh.objects))
		}
	}
	index := make(map[[2]string]int32) // (sub, dom) → group
	for _, l := range pl {             // sub, dom, obj, act, eft
		k := [2]string{l[0], l[1]}
		gi, ok := index[k]
		if !ok {
			gi = int32(len(sh.groups))
			index[k] = gi
			sh.groups = append(sh.groups, group{sub: l[0], dom: l[1]})
		}
		g := &sh.groups[gi]
		bit := bitOf(l[3])
		switch {
		case l[2] == anyToken && l[4] == allowEffect:
			g.allowAny |= bit
		case l[2] == anyToken:
			g.denyAny |= bit
		case l[4] == allowEffect:
			g.allow = setBit(g.allow, sh.objects[l[2]], bit, len(sh.objects))
		default:
			g.deny = setBit(g.deny, sh.objects[l[2]], bit, len(sh.objects))
		}
	}

	// reach lists the groups a subject reaches in a domain: its own and its
	// implicit roles' (Casbin's role manager resolves the links).
	reach := func(sub, dom string) ([]int32, []string, error) {
		roles, err := rm.GetImplicitRoles(sub, dom)
		if err != nil {
			return nil, nil, err
		}
		var out []int32
		for _, s := range append([]string{sub}, roles...) {
			if gi, ok := index[[2]string{s, dom}]; ok {
				out = append(out, gi)
			}
		}
		return out, roles, nil
	}
	orgDom := orgDomain(snap.OrganizationID)
	get := func(sub string) *principal {
		k, ok := principalOf(sub)
		if !ok {
			return nil
		}
		pr := sh.principals[k]
		if pr == nil {
			pr = &principal{}
			sh.principals[k] = pr
		}
		return pr
	}
	seen := make(map[[2]string]bool)
	subjects := func(yield func(sub, dom string) bool) {
		for _, l := range gl {
			if !seen[[2]string{l[0], l[2]}] {
				seen[[2]string{l[0], l[2]}] = true
				if !yield(l[0], l[2]) {
					return
				}
			}
		}
		for _, l := range pl {
			if !seen[[2]string{l[0], l[1]}] {
				seen[[2]string{l[0], l[1]}] = true
				if !yield(l[0], l[1]) {
					return
				}
			}
		}
	}
	for sub, dom := range subjects {
		pr := get(sub)
		if pr == nil {
			continue // a role
		}
		groups, roles, err := reach(sub, dom)
		if err != nil {
			return nil, internal(err)
		}
		if dom == orgDom {
			pr.groups = groups
			pr.member = slices.Contains(roles, memberRole)
			continue
		}
		app, ok := strings.CutPrefix(dom, appDomain(snap.OrganizationID, ""))
		if !ok {
			return nil, internal(fmt.Errorf("unexpected domain %q", dom))
		}
		if pr.apps == nil {
			pr.apps = make(map[string][]int32)
		}
		pr.apps[app] = groups
	}

	// Attributes, which the model leaves to the request facts.
	for _, m := range snap.Members {
		pr := sh.principals[principalKey{access.KindUser, m.UserID}]
		pr.guest, pr.mfa = m.Guest, m.MFARequired
		pr.expiry = unixNano(m.ExpiresAt)
		pr.ips, pr.fence = m.AllowedIPs, m.AllowedIPs != nil
	}
	for _, c := range snap.Credentials {
		pr := get(credSub(c.ID))
		pr.expiry = unixNano(c.ExpiresAt)
		pr.ips, pr.fence = c.AllowedIPs, c.AllowedIPs != nil
	}
	return sh, nil
}

func setBit(m []mask, i int32, bit mask, n int) []mask {
	if m == nil {
		m = make([]mask, n)
	}
	m[i] |= bit
	return m
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// principalOf reads the principal of a "user:<id>" or "cred:<id>" subject.
func principalOf(sub string) (principalKey, bool) {
	if id, ok := strings.CutPrefix(sub, "user:"); ok {
		return principalKey{access.KindUser, id}, true
	}
	if id, ok := strings.CutPrefix(sub, "cred:"); ok {
		return principalKey{access.KindCredential, id}, true
	}
	return principalKey{}, false
}

// decide answers one question as the model's matcher and effect would,
// after the attribute rules that the request facts decide.
func (s *shard) decide(p access.Principal, obj string, bit mask, now func() time.Time) Decision {
	d := Decision{Revision: s.revision}
	pr := s.principals[principalKey{p.Kind, p.ID}]
	if pr == nil {
		d.Reason = NotMember
		return d
	}
	if pr.expiry != 0 && now().UnixNano() >= pr.expiry {
		d.Reason = Expired
		return d
	}
	d.Member = pr.member
	d.Owner = p.Kind == access.KindUser && p.ID == s.owner
	switch {
	case pr.fence && !allowedIP(pr.ips, p.IP):
		d.Reason = IPRefused
		return d
	case p.Kind == access.KindUser && (s.mfa || pr.mfa) && !p.MFA:
		d.Reason = MFARequired
		return d
	}
	groups := pr.groups
	if p.App != "" {
		groups = pr.apps[p.App]
	}
	d.Reason = s.verdict(groups, obj, bit)
	d.Allowed = d.Reason == Granted
	return d
}

// verdict applies the lines of the groups: some allow and no deny.
func (s *shard) verdict(groups []int32, obj string, bit mask) Reason {
	oi, known := s.objects[obj]
	return s.verdictAt(groups, oi, known, bit)
}

// verdictAt is verdict for the object of index oi (known false: an object
// no line names).
func (s *shard) verdictAt(groups []int32, oi int32, known bool, bit mask) Reason {
	var allow, deny bool
	for _, gi := range groups {
		g := &s.groups[gi]
		allow = allow || g.allowAny&bit != 0 || known && g.allow != nil && g.allow[oi]&bit != 0
		deny = deny || g.denyAny&bit != 0 || known && g.deny != nil && g.deny[oi]&bit != 0
	}
	switch {
	case deny:
		return Denied
	case allow:
		return Granted
	}
	return NoGrant
}

// allowedIP reports whether addr lies in one of the networks.
func allowedIP(nets []netip.Prefix, addr netip.Addr) bool {
	if !addr.IsValid() {
		return false
	}
	addr = addr.Unmap()
	for _, n := range nets {
		if n.Contains(addr) {
			return true
		}
	}
	return false
}

// sortedUsers returns the ids of the organization's members, sorted.
func (s *shard) sortedUsers() []string {
	s.sortOnce.Do(func() {
		for k, pr := range s.principals {
			if k.kind == access.KindUser && pr.member {
				s.users = append(s.users, k.id)
			}
		}
		slices.Sort(s.users)
	})
	return s.users
}
