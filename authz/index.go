package authz

import (
	"hash/maphash"
	"math/bits"
	"sync"
	"sync/atomic"
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
//   - the bucket of the organization, one of cacheBuckets atomic pointers
//     (an array that stays in cache), and the bucket's header (a thousand
//     small structs, which stay in cache too);
//   - one slot of the bucket's table, found by one hash of (organization,
//     principal): the slot holds that hash and the row;
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
// build a new one and swap the pointer. A bucket holds the rows of the
// organizations whose id hashes into it (about ten organizations at 10,000),
// so a write copies little. A shard built for an uncommitted transaction is
// never put here.

// cacheBuckets is the number of buckets, a power of two.
const (
	cacheBuckets = 1024
	bucketShift  = 64 - 10 // a bucket is the top 10 bits of the organization's hash
)

// shardCache maps organization ids to shards, and (organization, principal)
// to rows.
type shardCache struct {
	seed   maphash.Seed
	noID   uint64 // the hash of "", the id part of an organization's row
	bucket [cacheBuckets]atomic.Pointer[bucket]

	mu    sync.Mutex // serializes writers
	count int
}

// bucket is an immutable part of the cache: the shards of some
// organizations, and an open-addressed table of their rows (linear probing,
// two thirds full: a probe reads one or two cache lines). A slot is chosen
// by the high bits of the product of the hash and the table's length, so
// that the length need not be a power of two and the table wastes no room.
type bucket struct {
	slots  []slot
	shards map[string]*shard
}

// slot is one entry of a bucket's table; an empty slot has an empty row.
// The full hash is kept so that a probe passes over other rows without
// reading them.
type slot struct {
	hash uint64
	row  row
}

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
func (c *shardCache) find(org, rev string, kind uint8, id string) (pr principal, ok bool) {
	h := c.orgHash(org)
	b := c.bucket[h>>bucketShift].Load()
	if b == nil {
		return principal{}, false
	}
	if kind != 0 {
		if r := b.probe(rowHash(h, kind, maphash.String(c.seed, id)), kind, id, org, rev); r != "" {
			if r.has(rowExtra) { // out of line: ask the shard
				return b.shards[org].principal(kind, id), true
			}
			return principal{row: r}, true
		}
	}
	return principal{}, b.probe(rowHash(h, keyOrg, c.noID), keyOrg, "", org, rev) != ""
}

// probe returns the row of key (kind, id, org, rev) whose hash is h, or "".
func (b *bucket) probe(h uint64, kind uint8, id, org, rev string) row {
	slots := b.slots
	for i := home(h, len(slots)); ; i++ {
		if i == len(slots) {
			i = 0
		}
		s := &slots[i]
		switch {
		case s.row == "":
			return ""
		case s.hash == h && s.row.is(kind, id, org, rev):
			return s.row
		}
	}
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
	p := &c.bucket[c.orgHash(org)>>bucketShift]
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
	p.Store(c.newBucket(shards))
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
	b := &bucket{slots: make([]slot, rows+rows/2+1), shards: shards} // two thirds full
	add := func(h uint64, r row) {
		i := home(h, len(b.slots))
		for b.slots[i].row != "" {
			if i++; i == len(b.slots) {
				i = 0
			}
		}
		b.slots[i] = slot{hash: h, row: r}
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
