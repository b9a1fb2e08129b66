package authz

import (
	"fmt"
	"hash/maphash"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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

// Objects (the subjects of permissions: "orders", "memberships") are
// interned once per process in a table every shard shares: a check looks its
// object up in a small map that stays in cache, and shards store object
// numbers, not strings. The table only grows, with the distinct subjects the
// policies name (a registry's worth).
var objectTable struct {
	mu sync.Mutex
	m  atomic.Pointer[map[string]uint32]
}

// maxObjects bounds the object table (an object number takes 24 bits).
const maxObjects = 1 << 24

// objectOf returns the number of an interned object.
func objectOf(obj string) (uint32, bool) {
	m := objectTable.m.Load()
	if m == nil {
		return 0, false
	}
	n, ok := (*m)[obj]
	return n, ok
}

// intern returns the number of obj, adding it to the table if needed.
func intern(obj string) (uint32, error) {
	if n, ok := objectOf(obj); ok {
		return n, nil
	}
	objectTable.mu.Lock()
	defer objectTable.mu.Unlock()
	old := map[string]uint32{}
	if m := objectTable.m.Load(); m != nil {
		old = *m
	}
	if n, ok := old[obj]; ok {
		return n, nil
	}
	if len(old) >= maxObjects {
		return 0, fmt.Errorf("more than %d distinct subjects", maxObjects)
	}
	next := make(map[string]uint32, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	n := uint32(len(old))
	next[obj] = n
	objectTable.m.Store(&next)
	return n, nil
}

// grant is what some p lines allow and deny: on any object ("*"), and per
// object. Each entry of objs is object<<8 | allow<<4 | deny, in ascending
// object order.
type grant struct {
	anyAllow, anyDeny mask
	objs              []uint32
}

// add records one p line.
func (g *grant) add(obj uint32, any bool, bit mask, deny bool) {
	switch {
	case any && deny:
		g.anyDeny |= bit
	case any:
		g.anyAllow |= bit
	default:
		e := bit << 4
		if deny {
			e = bit
		}
		i, found := slices.BinarySearchFunc(g.objs, obj, func(x, o uint32) int { return int(x>>8) - int(o) })
		if found {
			g.objs[i] |= uint32(e)
		} else {
			g.objs = slices.Insert(g.objs, i, obj<<8|uint32(e))
		}
	}
}

// merge adds the lines of h (the union of their allows, and of their denies).
func (g *grant) merge(h *grant) {
	g.anyAllow |= h.anyAllow
	g.anyDeny |= h.anyDeny
	for _, e := range h.objs {
		if mask(e>>4)&0xf != 0 {
			g.add(e>>8, false, mask(e>>4)&0xf, false)
		}
		if mask(e)&0xf != 0 {
			g.add(e>>8, false, mask(e)&0xf, true)
		}
	}
}

// entry returns the allow and deny bits of object obj.
func (g *grant) entry(obj uint32) (allow, deny mask) {
	for _, e := range g.objs { // a handful of entries: a scan beats a search
		switch {
		case e>>8 == obj:
			return mask(e>>4) & 0xf, mask(e) & 0xf
		case e>>8 > obj:
			return 0, 0
		}
	}
	return 0, 0
}

// verdict applies the lines as the model's matcher and effect do: some allow
// and no deny. known is false for an object no line names (only "*" lines
// can match it).
func (g *grant) verdict(obj uint32, known bool, bit mask) Reason {
	allow, deny := g.anyAllow&bit != 0, g.anyDeny&bit != 0
	if known {
		a, d := g.entry(obj)
		allow, deny = allow || a&bit != 0, deny || d&bit != 0
	}
	switch {
	case deny:
		return Denied
	case allow:
		return Granted
	}
	return NoGrant
}

// principal is what a shard knows of one user or credential: the union of
// the lines it reaches in the organization's domain, and what gates them.
type principal struct {
	grant
	member bool // holds builtin:member
	guest  bool
	mfa    bool // requires a second factor (its own flag; the organization's is on the shard)
	fence  bool // extra.ips applies (a nil or empty list then refuses every address)
	extra  *extra
}

// extra holds what few principals have, out of line.
type extra struct {
	expiry int64 // unix nanoseconds; 0 for none
	ips    []netip.Prefix
	apps   map[string]*grant // credential id → the lines reached in that application's domain
}

func (p *principal) ext() *extra {
	if p.extra == nil {
		p.extra = &extra{}
	}
	return p.extra
}

// The kinds of principalKey.
const (
	keyUser uint8 = iota + 1
	keyCredential
)

type principalKey struct {
	kind uint8
	id   string
}

// principal returns what the shard knows of p, or nil.
func (s *shard) principal(p access.Principal) *principal {
	switch p.Kind {
	case access.KindUser:
		return s.users[p.ID]
	case access.KindCredential:
		return s.creds[p.ID]
	}
	return nil
}

// roleGrant is the lines of one role in the organization's domain.
type roleGrant struct {
	id string
	grant
}

// shard is one organization's policy at one revision, indexed for checks.
// It is never mutated after it is built (but for the lazily sorted member
// list); a new revision gets a new shard.
type shard struct {
	org      string
	revision string
	owner    string
	mfa      bool
	users    map[string]*principal // by user id
	creds    map[string]*principal // by credential id
	roles    []roleGrant           // sorted by id, for Covers

	sortOnce sync.Once
	members  []string // ids of the users with builtin:member, sorted; see sortedUsers
}

// newShard derives the snapshot's lines, resolves each principal's roles
// with Casbin's role manager (the one an enforcer of the model uses) and
// keeps, for each principal and domain, the union of the lines it reaches.
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

	// The lines of each (subject, domain).
	groups := make(map[[2]string]*grant)
	for _, l := range pl { // sub, dom, obj, act, eft
		k := [2]string{l[0], l[1]}
		g := groups[k]
		if g == nil {
			g = &grant{}
			groups[k] = g
		}
		var obj uint32
		if l[2] != anyToken {
			if obj, err = intern(l[2]); err != nil {
				return nil, internal(err)
			}
		}
		g.add(obj, l[2] == anyToken, bitOf(l[3]), l[4] == denyEffect)
	}

	sh := &shard{
		org:      snap.OrganizationID,
		revision: snap.Revision,
		owner:    snap.OwnerUserID,
		mfa:      snap.MFARequired,
		users:    make(map[string]*principal, len(snap.Members)),
		creds:    make(map[string]*principal, len(snap.Credentials)),
	}
	orgDom := orgDomain(snap.OrganizationID)
	appPrefix := appDomain(snap.OrganizationID, "")
	// own maps an id cut out of a policy token to the snapshot's own string,
	// so that the shard keeps no policy token alive once built.
	own := make(map[string]string, len(snap.Roles)+len(snap.Members)+len(snap.Credentials))
	for _, r := range snap.Roles {
		own[r.ID] = r.ID
	}
	for _, m := range snap.Members {
		own[m.UserID] = m.UserID
	}
	for _, c := range snap.Credentials {
		own[c.ID] = c.ID
	}
	sh.roles = make([]roleGrant, 0, len(snap.Roles))
	for k, g := range groups {
		if id, ok := strings.CutPrefix(k[0], "role:"); ok && k[1] == orgDom {
			g.objs = slices.Clone(g.objs) // drop the spare capacity of building
			sh.roles = append(sh.roles, roleGrant{id: own[id], grant: *g})
		}
	}
	slices.SortFunc(sh.roles, func(a, b roleGrant) int { return strings.Compare(a.id, b.id) })

	get := func(sub string) *principal {
		k, ok := principalOf(sub)
		if !ok {
			return nil
		}
		if id, ok := own[k.id]; ok {
			k.id = id
		}
		m := sh.users
		if k.kind == keyCredential {
			m = sh.creds
		}
		pr := m[k.id]
		if pr == nil {
			pr = &principal{}
			m[k.id] = pr
		}
		return pr
	}
	seen := make(map[[2]string]bool)
	visit := func(sub, dom string) error {
		if seen[[2]string{sub, dom}] {
			return nil
		}
		seen[[2]string{sub, dom}] = true
		pr := get(sub)
		if pr == nil {
			return nil // a role
		}
		roles, err := rm.GetImplicitRoles(sub, dom)
		if err != nil {
			return err
		}
		var reached grant
		for _, s := range append([]string{sub}, roles...) {
			if g := groups[[2]string{s, dom}]; g != nil {
				reached.merge(g)
			}
		}
		reached.objs = slices.Clone(reached.objs) // drop the spare capacity of building
		if dom == orgDom {
			pr.grant = reached
			pr.member = slices.Contains(roles, memberRole)
			return nil
		}
		app, ok := strings.CutPrefix(dom, appPrefix)
		if !ok {
			return fmt.Errorf("unexpected domain %q", dom)
		}
		if id, ok := own[app]; ok {
			app = id
		}
		x := pr.ext()
		if x.apps == nil {
			x.apps = make(map[string]*grant)
		}
		x.apps[app] = &reached
		return nil
	}
	for _, l := range gl {
		if err := visit(l[0], l[2]); err != nil {
			return nil, internal(err)
		}
	}
	for _, l := range pl {
		if err := visit(l[0], l[1]); err != nil {
			return nil, internal(err)
		}
	}

	// Attributes, which the model leaves to the request facts.
	for _, m := range snap.Members {
		pr := sh.users[m.UserID]
		pr.guest, pr.mfa = m.Guest, m.MFARequired
		setGate(pr, m.ExpiresAt, m.AllowedIPs)
	}
	for _, c := range snap.Credentials {
		setGate(get(credSub(c.ID)), c.ExpiresAt, c.AllowedIPs)
	}
	return sh, nil
}

// setGate records an expiry and an allowlist, when there are any.
func setGate(pr *principal, expires time.Time, ips []netip.Prefix) {
	if !expires.IsZero() {
		pr.ext().expiry = expires.UnixNano()
	}
	if ips != nil {
		pr.fence = true
		pr.ext().ips = ips
	}
}

// principalOf reads the principal of a "user:<id>" or "cred:<id>" subject.
func principalOf(sub string) (principalKey, bool) {
	if id, ok := strings.CutPrefix(sub, "user:"); ok {
		return principalKey{keyUser, id}, true
	}
	if id, ok := strings.CutPrefix(sub, "cred:"); ok {
		return principalKey{keyCredential, id}, true
	}
	return principalKey{}, false
}

// expired reports whether the principal's membership or credential has ended.
func (pr *principal) expired(now func() time.Time) bool {
	return pr.extra != nil && pr.extra.expiry != 0 && now().UnixNano() >= pr.extra.expiry
}

// decide answers one question as the model's matcher and effect would,
// after the attribute rules that the request facts decide.
func (s *shard) decide(p access.Principal, obj string, bit mask, now func() time.Time) Decision {
	d := Decision{Revision: s.revision}
	pr := s.principal(p)
	if pr == nil {
		d.Reason = NotMember
		return d
	}
	if pr.expired(now) {
		d.Reason = Expired
		return d
	}
	d.Member = pr.member
	d.Owner = p.Kind == access.KindUser && p.ID == s.owner
	switch {
	case pr.fence && !allowedIP(pr.extra.ips, p.IP):
		d.Reason = IPRefused
		return d
	case p.Kind == access.KindUser && (s.mfa || pr.mfa) && !p.MFA:
		d.Reason = MFARequired
		return d
	}
	g := pr.reached(p.App)
	if g == nil {
		d.Reason = NoGrant
		return d
	}
	o, known := objectOf(obj)
	if !known && !role.ValidSubject(obj) { // a malformed subject is never allowed, even by "*"
		d.Reason = NoGrant
		return d
	}
	d.Reason = g.verdict(o, known, bit)
	d.Allowed = d.Reason == Granted
	return d
}

// reached returns the lines the principal reaches in the organization's
// domain (app "") or in an application's; nil for none.
func (pr *principal) reached(app string) *grant {
	if app == "" {
		return &pr.grant
	}
	if pr.extra == nil {
		return nil
	}
	return pr.extra.apps[app]
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
		for id, pr := range s.users {
			if pr.member {
				s.members = append(s.members, id)
			}
		}
		slices.Sort(s.members)
	})
	return s.members
}

// role returns the lines of a role in the organization's domain, or nil.
func (s *shard) role(id string) *grant {
	i, ok := slices.BinarySearchFunc(s.roles, id, func(r roleGrant, id string) int { return strings.Compare(r.id, id) })
	if !ok {
		return nil
	}
	return &s.roles[i].grant
}

// cacheBuckets is the number of buckets of the shard cache.
const cacheBuckets = 256

// shardCache maps organization ids to shards. Readers take no lock: each
// bucket is an immutable map behind an atomic pointer, which writers
// (serialized) replace by a copy; with many organizations a bucket holds a
// few dozen, so a copy is cheap.
type shardCache struct {
	seed    maphash.Seed
	buckets [cacheBuckets]atomic.Pointer[map[string]*shard]
	mu      sync.Mutex // serializes writers
	count   int
}

func newShardCache() *shardCache { return &shardCache{seed: maphash.MakeSeed()} }

func (c *shardCache) bucket(org string) *atomic.Pointer[map[string]*shard] {
	return &c.buckets[maphash.String(c.seed, org)%cacheBuckets]
}

// get returns the organization's shard, or nil.
func (c *shardCache) get(org string) *shard {
	m := c.bucket(org).Load()
	if m == nil {
		return nil
	}
	return (*m)[org]
}

// put stores the shard; when the cache holds max organizations, an
// arbitrary other one is dropped.
func (c *shardCache) put(org string, sh *shard, max int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.replace(org, sh) {
		c.count++
	}
	for c.count > max {
		if !c.evictOne(org) {
			break
		}
	}
}

// remove drops the organization's shard.
func (c *shardCache) remove(org string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.replace(org, nil) {
		c.count--
	}
}

// replace sets (sh != nil) or deletes the entry of org, and reports whether
// the number of entries changed. The caller holds mu.
func (c *shardCache) replace(org string, sh *shard) bool {
	b := c.bucket(org)
	var old map[string]*shard
	if m := b.Load(); m != nil {
		old = *m
	}
	_, had := old[org]
	next := make(map[string]*shard, len(old)+1)
	for k, v := range old {
		if k != org {
			next[k] = v
		}
	}
	if sh != nil {
		next[org] = sh
	}
	b.Store(&next)
	return had != (sh != nil)
}

// evictOne drops one organization other than keep. The caller holds mu.
func (c *shardCache) evictOne(keep string) bool {
	start := int(maphash.String(c.seed, keep) % cacheBuckets)
	for i := range cacheBuckets {
		m := c.buckets[(start+i+1)%cacheBuckets].Load()
		if m == nil {
			continue
		}
		for k := range *m {
			if k != keep {
				c.replace(k, nil)
				c.count--
				return true
			}
		}
	}
	return false
}

// each calls fn with every cached organization id.
func (c *shardCache) each(fn func(org string)) {
	for i := range c.buckets {
		if m := c.buckets[i].Load(); m != nil {
			for k := range *m {
				fn(k)
			}
		}
	}
}
