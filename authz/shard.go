package authz

import (
	"cmp"
	"encoding/binary"
	"fmt"
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
	return effect(allow, deny)
}

// effect is the model's effect: some allow and no deny.
func effect(allow, deny bool) Reason {
	switch {
	case deny:
		return Denied
	case allow:
		return Granted
	}
	return NoGrant
}

// draft is a principal while its shard is built.
type draft struct {
	kind  uint8
	id    string
	flags uint8
	grant // the lines reached in the organization's domain
	extra *extra
}

func (d *draft) ext() *extra {
	if d.extra == nil {
		d.extra = &extra{}
		d.flags |= rowExtra
	}
	return d.extra
}

// The kinds of row.
const (
	keyUser uint8 = iota + 1
	keyCredential
	keyOrg // a shard's own row: it says that the shard is cached
)

// kindOf returns the row kind of a principal kind; 0 for one that has no rows.
func kindOf(k access.PrincipalKind) uint8 {
	switch k {
	case access.KindUser:
		return keyUser
	case access.KindCredential:
		return keyCredential
	}
	return 0
}

// principalKey names a row inside a shard: its kind and principal id.
type principalKey struct {
	kind uint8
	id   string
}

// principal returns the row of (kind, id), or the zero principal.
func (s *shard) principal(kind uint8, id string) principal {
	i, ok := slices.BinarySearchFunc(s.rows, principalKey{kind, id}, compareRow)
	if !ok || kind == 0 {
		return principal{}
	}
	r := s.rows[i]
	if r.has(rowExtra) {
		return principal{row: r, extra: s.extras[principalKey{kind, id}]}
	}
	return principal{row: r}
}

// compareRow orders rows by kind, then id.
func compareRow(r row, k principalKey) int {
	return cmp.Or(cmp.Compare(r.kind(), k.kind), strings.Compare(r.id(), k.id))
}

// roleGrant is the lines of one role in the organization's domain.
type roleGrant struct {
	id string
	grant
}

// shard is one organization's policy at one revision, indexed for checks.
// It is never mutated after it is built; a new revision gets a new shard.
type shard struct {
	org      string
	revision string
	owner    string
	self     row                     // the shard's own row in the cache: kind keyOrg, no id
	rows     []row                   // users by id, then credentials by id; all in one string
	extras   map[principalKey]*extra // of the rows with rowExtra
	roles    []roleGrant             // sorted by id, for Covers
}

// users returns the rows of the users, sorted by id.
func (s *shard) users() []row {
	n, _ := slices.BinarySearchFunc(s.rows, keyCredential, func(r row, k uint8) int { return cmp.Compare(r.kind(), k) })
	return s.rows[:n]
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

	sh := &shard{owner: snap.OwnerUserID}
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
			sh.roles = append(sh.roles, roleGrant{id: own[id], grant: *g})
		}
	}
	slices.SortFunc(sh.roles, func(a, b roleGrant) int { return strings.Compare(a.id, b.id) })

	found := make(map[principalKey]*draft, len(snap.Members)+len(snap.Credentials))
	get := func(sub string) *draft {
		k, ok := principalOf(sub)
		if !ok {
			return nil
		}
		if id, ok := own[k.id]; ok {
			k.id = id
		}
		d := found[k]
		if d == nil {
			d = &draft{kind: k.kind, id: k.id}
			found[k] = d
		}
		return d
	}
	seen := make(map[[2]string]bool)
	visit := func(sub, dom string) error {
		if seen[[2]string{sub, dom}] {
			return nil
		}
		seen[[2]string{sub, dom}] = true
		d := get(sub)
		if d == nil {
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
		if dom == orgDom {
			d.grant = reached
			if slices.Contains(roles, memberRole) {
				d.flags |= rowMember
			}
			return nil
		}
		app, ok := strings.CutPrefix(dom, appPrefix)
		if !ok {
			return fmt.Errorf("unexpected domain %q", dom)
		}
		if id, ok := own[app]; ok {
			app = id
		}
		x := d.ext()
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
		d := found[principalKey{keyUser, m.UserID}]
		if m.Guest {
			d.flags |= rowGuest
		}
		if access.EffectiveMFA(snap.MFARequired, m.MFARequired, m.MFADisabled) {
			d.flags |= rowMFA
		}
		if m.UserID == snap.OwnerUserID {
			d.flags |= rowOwner
		}
		setGate(d, m.ExpiresAt, m.AllowedIPs)
	}
	for _, c := range snap.Credentials {
		setGate(get(credSub(c.ID)), c.ExpiresAt, c.AllowedIPs)
	}

	if err := sh.layOut(snap, found); err != nil {
		return nil, internal(err)
	}
	var lists objectLists
	for _, x := range sh.extras {
		for _, g := range x.apps {
			lists.add(&g.objs)
		}
	}
	for i := range sh.roles {
		lists.add(&sh.roles[i].objs)
	}
	lists.pack()
	return sh, nil
}

// layOut encodes the rows of the drafts, sorted, and the shard's own row in
// one string, with the role ids, and points the shard into it.
func (sh *shard) layOut(snap *access.Snapshot, found map[principalKey]*draft) error {
	org, rev := snap.OrganizationID, snap.Revision
	drafts := make([]*draft, 0, len(found))
	size := rowHeader + len(org) + len(rev)
	for _, d := range found {
		drafts = append(drafts, d)
		size += rowHeader + len(d.id) + len(org) + len(rev) + 4*len(d.objs)
	}
	slices.SortFunc(drafts, func(a, b *draft) int {
		return cmp.Or(cmp.Compare(a.kind, b.kind), strings.Compare(a.id, b.id))
	})
	for _, r := range sh.roles {
		size += len(r.id)
	}
	b := make([]byte, 0, size)
	ends := make([]int, len(drafts))
	var err error
	for i, d := range drafts {
		if b, err = appendRow(b, d.kind, d.flags, d.id, org, rev, &d.grant); err != nil {
			return err
		}
		ends[i] = len(b)
	}
	if b, err = appendRow(b, keyOrg, 0, "", org, rev, &grant{}); err != nil {
		return err
	}
	selfEnd := len(b)
	for _, r := range sh.roles {
		b = append(b, r.id...)
	}
	all := string(b)

	sh.rows = make([]row, len(drafts))
	start := 0
	for i, d := range drafts {
		sh.rows[i] = row(all[start:ends[i]])
		start = ends[i]
		if d.extra != nil {
			if sh.extras == nil {
				sh.extras = make(map[principalKey]*extra)
			}
			sh.extras[principalKey{d.kind, sh.rows[i].id()}] = d.extra
		}
		if d.flags&rowOwner != 0 {
			sh.owner = sh.rows[i].id()
		}
	}
	sh.self = row(all[start:selfEnd])
	o := rowHeader + len(org)
	sh.org, sh.revision = string(sh.self[rowHeader:o]), string(sh.self[o:sh.self.keyEnd()])
	start = selfEnd
	for i := range sh.roles {
		n := len(sh.roles[i].id)
		sh.roles[i].id = all[start : start+n]
		start += n
	}
	return nil
}

// objectLists gathers a shard's object lists into one array, each distinct
// list once.
type objectLists struct{ refs []*[]uint32 }

// add registers a list to move into the array.
func (l *objectLists) add(list *[]uint32) { l.refs = append(l.refs, list) }

// pack moves every list registered into one array.
func (l *objectLists) pack() {
	keys := make([]string, len(l.refs))
	at := make(map[string]int, len(l.refs))
	total := 0
	for i, r := range l.refs {
		b := make([]byte, 0, 4*len(*r))
		for _, e := range *r {
			b = binary.LittleEndian.AppendUint32(b, e)
		}
		keys[i] = string(b)
		if _, ok := at[keys[i]]; !ok {
			at[keys[i]] = total
			total += len(*r)
		}
	}
	all := make([]uint32, total)
	for i, r := range l.refs {
		if len(*r) == 0 {
			*r = nil
			continue
		}
		o, n := at[keys[i]], len(*r)
		copy(all[o:o+n], *r)
		*r = all[o : o+n : o+n]
	}
}

// setGate records an expiry and an allowlist, when there are any.
func setGate(d *draft, expires time.Time, ips []netip.Prefix) {
	if !expires.IsZero() {
		d.ext().expiry = expires.UnixNano()
	}
	if ips != nil {
		d.flags |= rowFence
		d.ext().ips = ips
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
func (p principal) expired(now func() time.Time) bool {
	return p.extra != nil && p.extra.expiry != 0 && now().UnixNano() >= p.extra.expiry
}

// decide answers one question as the model's matcher and effect would,
// after the attribute rules that the request facts decide.
func (s *shard) decide(p access.Principal, obj string, bit mask, now func() time.Time) Decision {
	return decide(s.principal(kindOf(p.Kind), p.ID), p, s.revision, obj, bit, now)
}

// decide answers one question for the row pr of principal p (the zero
// principal when p has none) in a shard at revision rev.
func decide(pr principal, p access.Principal, rev, obj string, bit mask, now func() time.Time) Decision {
	d, app, ok := admit(pr, p, rev, now)
	if !ok {
		return d
	}
	o, known := objectOf(obj)
	if !known && !role.ValidSubject(obj) { // a malformed subject is never allowed, even by "*"
		d.Reason = NoGrant
		return d
	}
	d.Reason = reason(pr.row, app, o, known, bit)
	d.Allowed = d.Reason == Granted
	return d
}

// admit applies the attribute rules that the request facts decide: ok is
// false when one refuses p (d.Reason says which). app is the lines p reaches
// in its application's domain, when p acts for one. A nil now leaves the
// expiry out (Rights compares it at each question).
func admit(pr principal, p access.Principal, rev string, now func() time.Time) (d Decision, app *grant, ok bool) {
	d = Decision{Revision: rev}
	if pr.row == "" {
		d.Reason = NotMember
		return d, nil, false
	}
	if now != nil && pr.expired(now) {
		d.Reason = Expired
		return d, nil, false
	}
	d.Member, d.Owner = pr.row.has(rowMember), pr.row.has(rowOwner)
	switch {
	case pr.row.has(rowFence) && !allowedIP(pr.extra.ips, p.IP):
		d.Reason = IPRefused
		return d, nil, false
	case pr.row.has(rowMFA) && !p.MFA:
		d.Reason = MFARequired
		return d, nil, false
	}
	if p.App != "" {
		if app = pr.app(p.App); app == nil {
			d.Reason = NoGrant
			return d, nil, false
		}
	}
	return d, app, true
}

// reason is the verdict on object o (known: o is interned) of the lines the
// principal reaches: app's when set, else its row's.
func reason(r row, app *grant, o uint32, known bool, bit mask) Reason {
	if app != nil {
		return app.verdict(o, known, bit)
	}
	return r.verdict(o, known, bit)
}

// app returns the lines the principal reaches in an application's domain,
// or nil.
func (p principal) app(id string) *grant {
	if p.extra == nil {
		return nil
	}
	return p.extra.apps[id]
}

// reached returns the lines the principal reaches in the organization's
// domain (app "") or in an application's; nil for none.
func (p principal) reached(app string) *grant {
	if app == "" {
		return p.row.grant()
	}
	return p.app(app)
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

// role returns the lines of a role in the organization's domain, or nil.
func (s *shard) role(id string) *grant {
	i, ok := slices.BinarySearchFunc(s.roles, id, func(r roleGrant, id string) int { return strings.Compare(r.id, id) })
	if !ok {
		return nil
	}
	return &s.roles[i].grant
}
