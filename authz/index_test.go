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
// writer is between its stores: the sequence is odd, the first slot is
// already another table's, the length still the old table's. Here the other
// table holds a decoy of acme at the same revision, in which the admin is
// read-only. find must not read the half-published pair (it would answer
// from the decoy; with a table shorter than the length, it would read past
// its end, which TestFindWhileWriting's writer makes happen under -race) but
// the bucket.
func TestFindDuringPublication(t *testing.T) {
	c := newShardCache()
	c.put("acme", mustShard(t, indexSnapshot("acme", "acme-1", false)), 10)
	ref := &c.table[c.orgHash("acme")>>bucketShift]
	want, _ := c.find("acme", "acme-1", keyUser, "u-admin")
	if want.row == "" {
		t.Fatal("published: find does not find the admin")
	}

	decoy := indexSnapshot("acme", "acme-1", false)
	decoy.Roles[0].Kind = role.KindReadOnly
	other := c.newBucket(map[string]*shard{"acme": mustShard(t, decoy)})
	ref.meta.Add(1 << 32) // odd: a writer is storing
	ref.first.Store(&other.slots[0])
	if pr, ok := c.find("acme", "acme-1", keyUser, "u-admin"); !ok || pr.row != want.row {
		t.Errorf("mid-publication: find = %q, %v; want the admin's row %q, from the bucket", pr.row, ok, want.row)
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

// TestFindWhenTableAndBucketDisagree puts find in the state a reader sees
// while a writer is between its two stores: the bucket already holds
// revision 2, the table array still revision 1. The row of a fenced member
// read from the old table must not be completed with revision 2's shard (the
// member's allowlist could have changed): acme is then not cached at
// revision 1, as the bucket says. And revision 2, which the old table does
// not hold, must be found in the bucket rather than reported as not cached.
func TestFindWhenTableAndBucketDisagree(t *testing.T) {
	c := newShardCache()
	c.put("acme", mustShard(t, indexSnapshot("acme", "acme-1", true)), 10)
	i := c.orgHash("acme") >> bucketShift
	old := c.bucket[i].Load().slots

	pr, ok := c.find("acme", "acme-1", keyUser, "u-fenced")
	if !ok || pr.extra == nil || len(pr.extra.ips) != 1 {
		t.Fatalf("find = %+v, %v; want the fenced member with its allowlist", pr, ok)
	}

	rev2 := mustShard(t, indexSnapshot("acme", "acme-2", true))
	c.put("acme", rev2, 10)
	c.table[i].store(old) // the table of acme-1, the bucket of acme-2
	if pr, ok := c.find("acme", "acme-1", keyUser, "u-fenced"); ok {
		t.Errorf("acme-1: find = %+v, %v; want not cached (the bucket holds acme-2)", pr, ok)
	}
	pr, ok = c.find("acme", "acme-2", keyUser, "u-fenced")
	if want := rev2.extras[principalKey{keyUser, "u-fenced"}]; !ok || !pr.row.is(keyUser, "u-fenced", "acme", "acme-2") || pr.extra != want {
		t.Errorf("acme-2: find = %+v, %v; want acme-2's fenced member, from the bucket", pr, ok)
	}
	if _, ok := c.find("acme", "acme-2", keyUser, "u-nobody"); !ok {
		t.Error("acme-2: a stranger's find says acme is not cached")
	}

	c.remove("acme")
	c.table[i].store(old) // the table of acme-1, no bucket at all
	if pr, ok := c.find("acme", "acme-1", keyUser, "u-fenced"); ok {
		t.Errorf("after remove: find = %+v, %v; want not cached", pr, ok)
	}
}

// TestFindWhileWriting runs readers against a writer that keeps putting and
// removing organizations of acme's bucket, so that acme's table is
// published again on every write, and moves acme between two revisions. A
// find that says acme is cached must return the row and the extra of the
// revision asked; and since acme is never removed, a reader must find it at
// one of the two. Under -race this also shows that readers and writers share
// no unsynchronized memory.
func TestFindWhileWriting(t *testing.T) {
	c := newShardCache()
	revs := [2]*shard{
		mustShard(t, indexSnapshot("acme", "acme-1", true)),
		mustShard(t, indexSnapshot("acme", "acme-2", true)),
	}
	c.put("acme", revs[0], 1<<20)
	bi := c.orgHash("acme") >> bucketShift
	var churn []*shard // organizations of acme's bucket
	for k := 0; len(churn) < 40; k++ {
		if org := fmt.Sprintf("org-%d", k); c.orgHash(org)>>bucketShift == bi {
			churn = append(churn, mustShard(t, indexSnapshot(org, "v1", k%2 == 0)))
		}
	}

	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		defer stop.Store(true)
		deadline := time.Now().Add(300 * time.Millisecond)
		for n := 0; time.Now().Before(deadline) || n < 4*len(churn); n++ {
			sh := churn[n%len(churn)]
			if n/len(churn)%2 == 0 {
				c.put(sh.org, sh, 1<<20)
			} else {
				c.remove(sh.org)
			}
			if n%8 == 0 {
				c.put("acme", revs[n/8%2], 1<<20)
			}
		}
	})
	for range 2 {
		wg.Go(func() {
			for n := 0; !stop.Load(); n++ {
				// A find misses only when the writer moved acme on since
				// the revision was chosen: try the other, and again.
				found := false
				for try := range 100 {
					want := revs[(n+try)%2]
					pr, ok := c.find("acme", want.revision, keyUser, "u-fenced")
					if !ok {
						continue
					}
					if !pr.row.is(keyUser, "u-fenced", "acme", want.revision) ||
						pr.extra != want.extras[principalKey{keyUser, "u-fenced"}] {
						t.Errorf("find(acme, %s) = row %q, extra %p; want that revision's", want.revision, pr.row, pr.extra)
						return
					}
					// The admin's row (no extra: the table's path) and a
					// stranger's none, at the same revision when still there.
					if pr, ok := c.find("acme", want.revision, keyUser, "u-admin"); ok && !pr.row.is(keyUser, "u-admin", "acme", want.revision) {
						t.Errorf("find(acme, %s, u-admin) = row %q; want that revision's", want.revision, pr.row)
						return
					}
					if pr, ok := c.find("acme", want.revision, keyUser, "u-nobody"); ok && pr.row != "" {
						t.Errorf("find(acme, %s, u-nobody) = row %q; want none", want.revision, pr.row)
						return
					}
					found = true
					break
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
