package authz

import (
	"hash/maphash"
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"
)

// The shard cache is also the index that Decide reads. Its layout follows
// from where a check spends its time once many organizations are cached: not
// in computing (a few comparisons and bit tests) but in waiting for memory.
// The requests of a busy process touch a different organization almost every
// time, and each dependent read of a cold cache line costs about as much as
// the whole decision does when it is warm. Looking up the organization in a
// map, then its revision, then the principal in another map, then the
// principal, then its lines took a dozen such reads, each needing the one
// before.
//
// So a check reads a short, fixed chain, whatever the number of
// organizations:
//
//   - the table of the organization's bucket, one of cacheBuckets entries
//     of 16 bytes (an array that stays in cache: see tableRef);
//   - one slot of the bucket's table, found by one hash of (organization,
//     principal): the slot holds half of that hash and the row;
//   - the row (row.go), one string in which the principal's flags and masks,
//     its key (principal id, organization id and revision) and its
//     per-object entries sit next to each other: one or two adjacent cache
//     lines, read by a single dependent load.
//
// A principal with no row in the organization costs a second slot: the
// organization's own row, which says that the organization is cached at the
// asked revision (the principal is then no member) or not (Check must load
// it).
//
// Readers take no lock: a bucket is immutable, and writers (serialized)
// build a new one and swap the pointers (the bucket, then its table). A
// bucket holds the rows of the organizations whose id hashes into it (about
// ten organizations at 10,000), so a write copies little. A shard built for
// an uncommitted transaction is never put here.

// cacheBuckets is the number of buckets, a power of two.
const (
	cacheBuckets = 1024
	bucketShift  = 64 - 10 // a bucket is the top 10 bits of the organization's hash
)

// shardCache maps organization ids to shards, and (organization, principal)
// to rows.
type shardCache struct {
	seed   maphash.Seed
	noID   uint64                               // the hash of "", the id part of an organization's row
	table  [cacheBuckets]tableRef               // what find reads: each bucket's table
	bucket [cacheBuckets]atomic.Pointer[bucket] // the buckets themselves

	mu    sync.Mutex // serializes writers
	count int
}

// bucket is an immutable part of the cache: the shards of some
// organizations, and an open-addressed table of their rows (linear probing,
// half full: a probe, found or not, mostly reads one cache line of four
// slots). A slot is chosen by the high bits of the product of the hash and
// the table's length, so that the length need not be a power of two.
type bucket struct {
	slots  []slot
	shards map[string]*shard
}

// slot is one entry of a bucket's table: a row, taken apart so that a slot
// takes 16 bytes instead of 24 (a string and the hash), with half of the
// row's hash, so that a probe passes over other rows without reading them
// (one in four billion is read for nothing: its key does not match). An
// empty slot has no data. Smaller slots let the table be half full, not two
// thirds, in less memory: shorter probes, fewer lines read.
type slot struct {
	data *byte  // the row's first byte; nil for an empty slot
	tag  uint32 // the low half of the row's hash
	n    uint32 // the row's length
}

// newSlot is the slot of row r (never empty) whose hash is h.
func newSlot(h uint64, r row) slot {
	return slot{data: unsafe.StringData(string(r)), tag: uint32(h), n: uint32(len(r))}
}

// row returns the slot's row: the string newSlot took apart, which data
// keeps alive.
func (s *slot) row() row { return row(unsafe.String(s.data, s.n)) }

func newShardCache() *shardCache {
	c := &shardCache{seed: maphash.MakeSeed()}
	c.noID = maphash.String(c.seed, "")
	return c
}

// orgHash hashes an organization id; its top bits choose the bucket.
func (c *shardCache) orgHash(org string) uint64 { return maphash.String(c.seed, org) }

// rowHash hashes a row's key from the organization's hash and the hash of the
// principal id. The product mixes every bit into the high bits, which choose
// the slot: the organizations of a bucket share the top bits of their hash,
// their rows must not share slots.
func rowHash(orgHash uint64, kind uint8, idHash uint64) uint64 {
	return (orgHash ^ (idHash + uint64(kind))) * 0x9e3779b97f4a7c15
}

// home returns the first slot to probe for hash h in a table of n slots.
func home(h uint64, n int) int {
	hi, _ := bits.Mul64(h, uint64(n))
	return int(hi)
}

// find returns the principal (kind, id) in the shard of org at revision
// rev; ok reports whether that shard is cached (the principal is then the
// zero principal when it has no row).
//
// The table array is the fast path: what it finds is right, for the key of a
// row holds the revision. Anything else is decided by the bucket alone, which
// holds its table and its shards together: a table being published, a table
// that does not hold org at rev (the bucket may be newer), and a row whose
// extra lies in its shard.
func (c *shardCache) find(org, rev string, kind uint8, id string) (pr principal, ok bool) {
	h := c.orgHash(org)
	i := h >> bucketShift
	if slots, ok := c.table[i].load(); ok {
		if r, cached := c.lookup(slots, h, kind, id, org, rev); cached && (r == "" || !r.has(rowExtra)) {
			return principal{row: r}, true
		}
	}
	b := c.bucket[i].Load()
	if b == nil {
		return principal{}, false
	}
	r, cached := c.lookup(b.slots, h, kind, id, org, rev)
	switch {
	case !cached:
		return principal{}, false
	case r != "" && r.has(rowExtra): // out of line: ask the shard
		return b.shards[org].principal(kind, id), true
	}
	return principal{row: r}, true
}

// lookup returns the row of (kind, id) in org at rev from a bucket's table
// ("" for none), and whether the table holds org at rev. h is org's hash.
func (c *shardCache) lookup(slots []slot, h uint64, kind uint8, id, org, rev string) (r row, cached bool) {
	if len(slots) == 0 {
		return "", false
	}
	if kind != 0 {
		if r := probe(slots, rowHash(h, kind, maphash.String(c.seed, id)), kind, id, org, rev); r != "" {
			return r, true
		}
	}
	return "", probe(slots, rowHash(h, keyOrg, c.noID), keyOrg, "", org, rev) != ""
}

// probe returns the row of key (kind, id, org, rev) whose hash is h, or "".
func probe(slots []slot, h uint64, kind uint8, id, org, rev string) row {
	for i := home(h, len(slots)); ; i++ {
		if i == len(slots) {
			i = 0
		}
		s := &slots[i]
		switch {
		case s.data == nil:
			return ""
		case s.tag == uint32(h):
			if r := s.row(); r.is(kind, id, org, rev) {
				return r
			}
		}
	}
}

// tableRef is where readers find a bucket's table: its first slot and its
// length, in an array of 16-byte entries that stays in cache. Reading them
// from the bucket cost one more dependent read of memory on every check (the
// 1,024 buckets lie all over the heap): at 10,000 organizations, 7% of the
// check (BENCHMARKS.md).
//
// A pointer and a length cannot be swapped together, so they are published
// under a sequence number (a seqlock): meta holds the sequence in its high
// half, odd while a writer is storing, and the length in its low half. A
// reader that sees the sequence move or odd does not wait: it reads the
// bucket, as before. (The sequence wraps after 2^31 stores to one bucket; a
// reader would have to sleep between its two loads for all of them to be
// fooled.)
type tableRef struct {
	meta  atomic.Uint64 // sequence<<32 | length
	first atomic.Pointer[slot]
}

// load returns the table; ok is false when a writer is storing it.
func (t *tableRef) load() (slots []slot, ok bool) {
	m := t.meta.Load()
	p := t.first.Load()
	if m&(1<<32) != 0 || t.meta.Load() != m {
		return nil, false
	}
	if p == nil {
		return nil, true
	}
	return unsafe.Slice(p, uint32(m)), true // p is the first of uint32(m) slots
}

// store publishes a table (nil for none; shorter than 2^32 slots, which a
// bucket of even millions of organizations is). The caller holds the
// cache's mu.
func (t *tableRef) store(slots []slot) {
	m := t.meta.Load()
	seq := (m>>32 + 1) | 1
	t.meta.Store(seq<<32 | m&(1<<32-1)) // odd: storing
	var p *slot
	if len(slots) > 0 {
		p = &slots[0]
	}
	t.first.Store(p)
	t.meta.Store((seq+1)<<32 | uint64(len(slots)))
}

// get returns the organization's shard, or nil.
func (c *shardCache) get(org string) *shard {
	b := c.bucket[c.orgHash(org)>>bucketShift].Load()
	if b == nil {
		return nil
	}
	return b.shards[org]
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

// replace sets (sh != nil) or deletes the shard of org, rebuilding its
// bucket, and reports whether the number of shards changed. The caller holds
// mu.
func (c *shardCache) replace(org string, sh *shard) bool {
	i := c.orgHash(org) >> bucketShift
	p := &c.bucket[i]
	var old map[string]*shard
	if b := p.Load(); b != nil {
		old = b.shards
	}
	_, had := old[org]
	shards := make(map[string]*shard, len(old)+1)
	for k, v := range old {
		if k != org {
			shards[k] = v
		}
	}
	if sh != nil {
		shards[org] = sh
	}
	b := c.newBucket(shards)
	p.Store(b)
	var slots []slot
	if b != nil {
		slots = b.slots
	}
	c.table[i].store(slots)
	return had != (sh != nil)
}

// newBucket indexes the rows of the shards.
func (c *shardCache) newBucket(shards map[string]*shard) *bucket {
	if len(shards) == 0 {
		return nil
	}
	rows := 0
	for _, sh := range shards {
		rows += 1 + len(sh.rows)
	}
	b := &bucket{slots: make([]slot, 2*rows+1), shards: shards} // half full
	add := func(h uint64, r row) {
		i := home(h, len(b.slots))
		for b.slots[i].data != nil {
			if i++; i == len(b.slots) {
				i = 0
			}
		}
		b.slots[i] = newSlot(h, r)
	}
	for org, sh := range shards {
		h := c.orgHash(org)
		add(rowHash(h, keyOrg, c.noID), sh.self)
		for _, r := range sh.rows {
			add(rowHash(h, r.kind(), maphash.String(c.seed, r.id())), r)
		}
	}
	return b
}

// evictOne drops one organization other than keep. The caller holds mu.
func (c *shardCache) evictOne(keep string) bool {
	start := int(c.orgHash(keep) >> bucketShift)
	for i := range cacheBuckets {
		b := c.bucket[(start+i+1)%cacheBuckets].Load()
		if b == nil {
			continue
		}
		for k := range b.shards {
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
	for i := range c.bucket {
		if b := c.bucket[i].Load(); b != nil {
			for k := range b.shards {
				fn(k)
			}
		}
	}
}
