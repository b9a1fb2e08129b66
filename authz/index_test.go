package authz

// Tests of the shard cache's publication (index.go): a reader that meets a
// writer half-way through publishing a bucket's table must still answer from
// a consistent table, and a row read from an older table must not be
// completed with a newer shard.

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/role"
)

// indexSnapshot is an organization of one admin, plus a member whose row
// has an extra (an allowlist) when fenced is true.
func indexSnapshot(org, rev string, fenced bool) *access.Snapshot {
	s := &access.Snapshot{
		OrganizationID: org,
		Revision:       rev,
		OwnerUserID:    "u-admin",
		Roles:          []access.RoleGrant{{ID: "r-admin", Kind: role.KindAdmin}},
		Members:        []access.Member{{UserID: "u-admin", RoleIDs: []string{"r-admin"}}},
	}
	if fenced {
		s.Members = append(s.Members, access.Member{
			UserID: "u-fenced", RoleIDs: []string{"r-admin"},
			AllowedIPs: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")},
		})
	}
	return s
}

func mustShard(t *testing.T, s *access.Snapshot) *shard {
	t.Helper()
	sh, err := newShard(s)
	if err != nil {
		t.Fatal(err)
	}
	return sh
}

// TestFindDuringPublication puts find in the state a reader sees while a
// writer is between its stores: the sequence is odd and the table's first
// slot already belongs to a larger, empty table, while the length is the
// old one. find must read the bucket's own table instead, and still find the
// admin. Reading the half-published pair would find nobody (and, with a
// table shorter than the old length, read past its end).
func TestFindDuringPublication(t *testing.T) {
	c := newShardCache()
	c.put("acme", mustShard(t, indexSnapshot("acme", "acme-1", false)), 10)
	ref := &c.table[c.orgHash("acme")>>bucketShift]

	if pr, ok := c.find("acme", "acme-1", keyUser, "u-admin"); !ok || pr.row == "" {
		t.Fatalf("published: find = %v, %v; want the admin's row", pr, ok)
	}

	m := ref.meta.Load()
	ref.meta.Store(m + 1<<32) // odd: a writer is storing
	ref.first.Store(&make([]slot, 4*int(uint32(m)))[0])
	if pr, ok := c.find("acme", "acme-1", keyUser, "u-admin"); !ok || pr.row == "" {
		t.Errorf("mid-publication: find = %v, %v; want the admin's row from the bucket", pr, ok)
	}
	if _, ok := c.find("acme", "acme-1", keyUser, "u-nobody"); !ok {
		t.Error("mid-publication: a stranger's find says acme is not cached")
	}

	// The next publication makes the table whole again.
	c.put("acme", mustShard(t, indexSnapshot("acme", "acme-2", false)), 10)
	if _, ok := ref.load(); !ok {
		t.Error("the table still reads as being stored after a put")
	}
	if _, ok := c.find("acme", "acme-1", keyUser, "u-admin"); ok {
		t.Error("acme-1 still cached after acme-2 was put")
	}
	if pr, ok := c.find("acme", "acme-2", keyUser, "u-admin"); !ok || pr.row == "" {
		t.Errorf("after publication: find = %v, %v; want the admin's row", pr, ok)
	}
}

// TestFindExtraOfALaterBucket: a reader took the row of a fenced member from
// the table of revision 1, then the bucket moved to revision 2 before it
// asked the shard for the row's extra. It must not take revision 2's shard
// for the row's (the member's allowlist could have changed): the
// organization then counts as not cached.
func TestFindExtraOfALaterBucket(t *testing.T) {
	c := newShardCache()
	c.put("acme", mustShard(t, indexSnapshot("acme", "acme-1", true)), 10)
	i := c.orgHash("acme") >> bucketShift
	old := c.bucket[i].Load().slots

	pr, ok := c.find("acme", "acme-1", keyUser, "u-fenced")
	if !ok || pr.extra == nil || len(pr.extra.ips) != 1 {
		t.Fatalf("find = %+v, %v; want the fenced member with its allowlist", pr, ok)
	}

	c.put("acme", mustShard(t, indexSnapshot("acme", "acme-2", true)), 10)
	c.table[i].store(old) // the reader's view: the table of acme-1, the bucket of acme-2
	if pr, ok := c.find("acme", "acme-1", keyUser, "u-fenced"); ok {
		t.Errorf("find = %+v, %v; want not cached (the bucket holds acme-2)", pr, ok)
	}

	c.remove("acme")
	c.table[i].store(old) // the table of acme-1, no bucket at all
	if pr, ok := c.find("acme", "acme-1", keyUser, "u-fenced"); ok {
		t.Errorf("after remove: find = %+v, %v; want not cached", pr, ok)
	}
}

// TestFindWhileWriting runs readers against a writer that keeps replacing
// and removing organizations (many share buckets with the one read). The
// organization read is never removed: every find must see it cached, at one
// of its two revisions, with its admin. Under -race this also shows that
// readers and writers share no unsynchronized memory.
func TestFindWhileWriting(t *testing.T) {
	c := newShardCache()
	revs := [2]*shard{
		mustShard(t, indexSnapshot("acme", "acme-1", true)),
		mustShard(t, indexSnapshot("acme", "acme-2", true)),
	}
	c.put("acme", revs[0], 1<<20)
	const others = 3000 // about three per bucket
	churn := make([]*shard, others)
	for i := range churn {
		churn[i] = mustShard(t, indexSnapshot(fmt.Sprintf("org-%d", i), "v1", i%2 == 0))
	}

	var stop atomic.Bool
	var current atomic.Int32 // the revision of acme last put (0 or 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer stop.Store(true)
		deadline := time.Now().Add(300 * time.Millisecond)
		for n := 0; time.Now().Before(deadline) || n < 2*others; n++ {
			sh := churn[n%others]
			if n/others%2 == 0 {
				c.put(sh.org, sh, 1<<20)
			} else {
				c.remove(sh.org)
			}
			if n%64 == 0 {
				r := int32(n / 64 % 2)
				c.put("acme", revs[r], 1<<20)
				current.Store(r)
			}
		}
	})
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				// A find fails only when the writer moved acme on since the
				// reader read current: try the other revision, and again.
				r := current.Load()
				found := false
				for n := range int32(100) {
					try := (r + n) % 2
					if pr, ok := c.find("acme", revs[try].revision, keyUser, "u-fenced"); ok {
						if pr.row == "" || pr.extra == nil {
							t.Errorf("acme at %s: find = %+v; want the fenced member", revs[try].revision, pr)
							return
						}
						found = true
						break
					}
				}
				if !found {
					t.Error("acme not cached at either revision")
					return
				}
			}
		})
	}
	wg.Wait()
}
