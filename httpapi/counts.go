package httpapi

import (
	lru "container/list"
	"context"
	"crypto/sha256"
	"strconv"
	"sync"
	"time"

	"github.com/provisionkit/provisioning/resource"
)

// CountCache configures the cached record_count of the page-number path.
// Counting a list is a COUNT(*) of every matching record on every page
// request: linear in the list. A list whose exact count is more than
// Threshold records is counted at most once per TTL (the count is kept in
// memory, at most Size lists, least recently used first out), and the
// responses that serve the kept count say so in their meta:
// record_count_cached true and record_count_as_of, the RFC 3339 time of
// the count. A list of at most Threshold records is counted on every
// request, as is every list when TTL is not positive.
type CountCache struct {
	Threshold int
	TTL       time.Duration
	Size      int
}

// DefaultCountCache counts exactly up to 10,000 records, and caches the
// counts of larger lists for a minute, at most 1,024 of them.
var DefaultCountCache = CountCache{Threshold: 10_000, TTL: time.Minute, Size: 1024}

// WithCountCache sets the count cache of lists (DefaultCountCache by
// default; CountCache{} counts every list on every request). now is its
// clock (nil: time.Now).
func WithCountCache(cc CountCache, now func() time.Time) Option {
	return optionFunc(func(h *Handler) { h.counts = newCountCache(cc, now) })
}

// sharedCounts are the lists whose records are the same for every caller
// the facade lets list them: an organization's, narrowed by the query's
// conditions only. Their counts are kept per organization and conditions.
// The count of any other list is kept per caller as well (the
// organizations of a user; the application memberships, all of them or
// only one's own).
var sharedCounts = map[string]bool{typeMemberships: true, typeProfiles: true, typeRoles: true,
	typePermissions: true, typeCredentials: true, typeProviders: true, typeVersions: true}

// countCache keeps the counts of large lists. Every request still makes its
// facade call (which authorizes it and reads the page); only the count of
// a list kept here is skipped, so a count is only ever served to a caller
// the facade let list that list.
type countCache struct {
	cfg   CountCache
	now   func() time.Time
	mu    sync.Mutex
	order *lru.List // of *countEntry, most recently used first
	byKey map[string]*lru.Element
	epoch uint64 // bumped by every invalidation: a count begun before it is not kept
}

type countEntry struct {
	key   string
	org   string // the organization of the list, "" for a caller's own
	total int
	asOf  time.Time // when the counted request began
	// recount is when a request began to count the entry again, once
	// stale (zero: none is): the others serve the stale count meanwhile.
	recount time.Time
}

func newCountCache(cc CountCache, now func() time.Time) *countCache {
	if now == nil {
		now = time.Now
	}
	if cc.Size <= 0 {
		cc.Size = DefaultCountCache.Size
	}
	return &countCache{cfg: cc, now: now, order: lru.New(), byKey: map[string]*lru.Element{}}
}

func (cc *countCache) enabled() bool { return cc != nil && cc.cfg.TTL > 0 }

// countTicket is a lookup's outcome: a count to serve (hit), or the
// permission to count and keep the result (see keep).
type countTicket struct {
	key   string
	hit   bool
	total int
	asOf  time.Time
	epoch uint64
	start time.Time
}

// lookup returns the count kept for key when it may be served: fresh, or
// stale while another request counts it again. Otherwise the caller
// counts, and hands the result to keep (or the failure to release).
func (cc *countCache) lookup(key string) countTicket {
	now := cc.now()
	cc.mu.Lock()
	defer cc.mu.Unlock()
	t := countTicket{key: key, epoch: cc.epoch, start: now}
	el := cc.byKey[key]
	if el == nil {
		return t
	}
	e := el.Value.(*countEntry)
	cc.order.MoveToFront(el)
	fresh := now.Sub(e.asOf) < cc.cfg.TTL
	recounting := !e.recount.IsZero() && now.Sub(e.recount) < cc.cfg.TTL
	if !fresh && !recounting {
		e.recount = now // this request counts; the others serve e meanwhile
		return t
	}
	t.hit, t.total, t.asOf = true, e.total, e.asOf
	return t
}

// keep records the exact count of a ticket's list: kept when it is above
// the threshold, dropped when it is not; a count begun before a write
// invalidated the cache is not kept (it may miss the write), and gives up
// its recount.
func (cc *countCache) keep(t countTicket, org string, total int) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	el := cc.byKey[t.key]
	switch {
	case t.epoch != cc.epoch: // a write since: the count may be out of date
		if el != nil {
			el.Value.(*countEntry).recount = time.Time{} // another request may count
		}
		return
	case total <= cc.cfg.Threshold:
		if el != nil {
			cc.remove(el)
		}
		return
	}
	if el != nil {
		e := el.Value.(*countEntry)
		e.total, e.asOf, e.recount = total, t.start, time.Time{}
		cc.order.MoveToFront(el)
		return
	}
	cc.byKey[t.key] = cc.order.PushFront(&countEntry{key: t.key, org: org, total: total, asOf: t.start})
	for cc.order.Len() > cc.cfg.Size {
		cc.remove(cc.order.Back())
	}
}

// release gives up a ticket's recount (its facade call failed): another
// request may count the list.
func (cc *countCache) release(t countTicket) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if el := cc.byKey[t.key]; el != nil {
		el.Value.(*countEntry).recount = time.Time{}
	}
}

// invalidate drops the counts of organization org's lists and of the
// callers' own lists (every count when org is ""), and keeps no count
// begun before.
func (cc *countCache) invalidate(org string) {
	if cc == nil {
		return
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.epoch++
	for el := cc.order.Front(); el != nil; {
		next := el.Next()
		if e := el.Value.(*countEntry); org == "" || e.org == "" || e.org == org {
			cc.remove(el)
		}
		el = next
	}
}

func (cc *countCache) remove(el *lru.Element) {
	delete(cc.byKey, el.Value.(*countEntry).key)
	cc.order.Remove(el)
}

// countKey names a list by everything that decides its records: the type,
// the organization, the conditions (the query's filters and a
// relationship's), and the caller unless the list is the same for every
// caller (sharedCounts). Not the sort keys nor the page.
func (c *call) countKey(k *kind, org string, where []resource.Condition) string {
	h := sha256.New()
	put := func(s string) {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
	put(k.typ)
	put(org)
	if org == "" || !sharedCounts[k.typ] {
		put("caller")
		put(string(c.pr.Kind))
		put(c.pr.ID)
		put(c.pr.App)
	} else {
		put("shared")
	}
	for _, cond := range where {
		put(strconv.Itoa(len(cond.Fields)))
		for _, f := range cond.Fields {
			put(f)
		}
		put(string(cond.Op))
		put(strconv.Itoa(len(cond.Values)))
		for _, v := range cond.Values {
			put(v)
		}
		put(string(cond.Mode))
		put(strconv.FormatBool(cond.OrNull))
	}
	return string(h.Sum(nil))
}

// listPage makes the facade call of a list's page in organization org.
// When pr asks for the count and the cache keeps the list's count, the
// call skips the count (Count false) and the page carries the kept one;
// the call notes it for the response's meta (see cachedCount).
func (c *call) listPage(ctx context.Context, k *kind, org string, pr resource.PageRequest) (resource.Page[object], error) {
	cc := c.h.counts
	if !pr.Count || !cc.enabled() {
		return k.list(c.s, ctx, org, pr)
	}
	t := cc.lookup(c.countKey(k, org, pr.Where))
	if t.hit {
		pr.Count = false
		p, err := k.list(c.s, ctx, org, pr)
		if err != nil {
			return p, err
		}
		p.Total = t.total
		if !c.countCached || t.asOf.Before(c.countAsOf) {
			c.countAsOf = t.asOf
		}
		c.countCached = true
		return p, nil
	}
	p, err := k.list(c.s, ctx, org, pr)
	if err != nil {
		cc.release(t)
		return p, err
	}
	cc.keep(t, org, p.Total)
	return p, nil
}

// countMeta adds to a list's meta whether its count was served from the
// cache, and as of when.
func (c *call) countMeta(meta map[string]any) {
	if c.countCached {
		meta["record_count_cached"] = true
		meta["record_count_as_of"] = c.countAsOf.UTC().Format(time.RFC3339)
	}
}

// touch notes that the call wrote through the facade in organization org
// ("" for unknown or none): the handler then drops the kept counts it may
// have changed (see countCache.invalidate).
func (c *call) touch(org string) {
	c.wrote, c.wroteOrg = true, org
}

// afterWrite drops the counts a call's write may have changed.
func (h *Handler) afterWrite(c *call) {
	if c.wrote {
		h.counts.invalidate(c.wroteOrg)
	}
}

// orgOf returns the organization of a resource of kind k, "" for none
// known.
func orgOf(k *kind, v object) string {
	if v == nil {
		return ""
	}
	if k.typ == typeOrganizations {
		return k.id(v)
	}
	if r := k.rel("organization"); r != nil {
		return r.linked(v)
	}
	return ""
}
