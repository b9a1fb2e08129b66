package httpapi

import (
	"strconv"
	"testing"
	"time"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/resource"
)

// TestCountCacheRules checks the cache's own rules, step by step on a fake
// clock: the threshold, the TTL, one recount at a time (the others serve
// the stale count meanwhile), a failed recount, invalidation (by
// organization, and of a count begun before it) and the size bound.
func TestCountCacheRules(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cc := newCountCache(CountCache{Threshold: 5, TTL: time.Minute, Size: 3}, func() time.Time { return now })
	count := func(key, org string, total int) { cc.keep(cc.lookup(key), org, total) }
	type step struct {
		name    string
		do      func()
		key     string
		wantHit bool
		wantN   int
	}
	var held countTicket
	steps := []step{
		{"unknown", nil, "a", false, 0},
		{"at the threshold: not kept", func() { count("a", "o1", 5) }, "a", false, 0},
		{"above: kept", func() { count("a", "o1", 6) }, "a", true, 6},
		{"fresh until the TTL", func() { now = now.Add(59 * time.Second) }, "a", true, 6},
		{"stale: the first lookup recounts", func() { now = now.Add(time.Second); held = cc.lookup("a") }, "a", true, 6},
		{"recounted", func() { cc.keep(held, "o1", 8) }, "a", true, 8},
		{"a failed recount releases", func() {
			now = now.Add(time.Minute)
			cc.release(cc.lookup("a"))
		}, "a", false, 0},
		{"a recount below the threshold drops", func() { cc.keep(cc.lookup("a"), "o1", 2) }, "a", false, 0},
		{"kept again", func() { count("a", "o1", 7); count("b", "o2", 7) }, "a", true, 7},
		{"another organization's write keeps it", func() { cc.invalidate("o2") }, "a", true, 7},
		{"its own drops it", func() { cc.invalidate("o1") }, "a", false, 0},
		{"a count begun before a write is not kept", func() {
			tk := cc.lookup("a")
			cc.invalidate("o9")
			cc.keep(tk, "o1", 9)
		}, "a", false, 0},
		{"a stale recount begun before a write is not kept, and gives up", func() {
			count("a", "o1", 9)
			now = now.Add(time.Minute)
			tk := cc.lookup("a") // claims the recount
			cc.invalidate("o9")  // another organization's: the entry stays
			cc.keep(tk, "o1", 10)
		}, "a", false, 0}, // the next request recounts, not served the stale 9
		{"a caller's own list goes with any write", func() { count("me", "", 9); cc.invalidate("o9") }, "me", false, 0},
		{"an unknown organization drops every count", func() { count("a", "o1", 9); cc.invalidate("") }, "a", false, 0},
		{"the least recently used goes first", func() {
			for i := range 3 {
				count("k"+strconv.Itoa(i), "o1", 10+i)
			}
			cc.lookup("k0")
			count("k3", "o1", 13)
		}, "k1", false, 0},
		{"the others stay", nil, "k0", true, 10},
	}
	for _, s := range steps {
		if s.do != nil {
			s.do()
		}
		tk := cc.lookup(s.key)
		if tk.hit != s.wantHit || tk.total != s.wantN {
			t.Fatalf("%s: hit %v, %d; want %v, %d", s.name, tk.hit, tk.total, s.wantHit, s.wantN)
		}
		if !tk.hit {
			cc.release(tk)
		}
	}
	if cc.order.Len() != 3 || len(cc.byKey) != 3 {
		t.Errorf("%d entries, %d keys; want 3", cc.order.Len(), len(cc.byKey))
	}
}

// TestCountKey checks that the key of a list's count names everything
// that decides its records, and nothing else.
func TestCountKey(t *testing.T) {
	ks := kinds()
	user := func(id string) *call { return &call{pr: provisioning.User(id)} }
	eq := func(f string, v ...string) resource.Condition {
		return resource.Condition{Fields: []string{f}, Op: resource.Eq, Values: v}
	}
	base := user("u1").countKey(ks[typeMemberships], "o1", []resource.Condition{eq("status", "pending")})
	tests := []struct {
		name     string
		c        *call
		typ, org string
		where    []resource.Condition
		wantSame bool
	}{
		{"the same list", user("u1"), typeMemberships, "o1", []resource.Condition{eq("status", "pending")}, true},
		{"another caller, a shared list", user("u2"), typeMemberships, "o1", []resource.Condition{eq("status", "pending")}, true},
		{"another organization", user("u1"), typeMemberships, "o2", []resource.Condition{eq("status", "pending")}, false},
		{"another type", user("u1"), typeRoles, "o1", []resource.Condition{eq("status", "pending")}, false},
		{"another value", user("u1"), typeMemberships, "o1", []resource.Condition{eq("status", "active")}, false},
		{"another field", user("u1"), typeMemberships, "o1", []resource.Condition{eq("role_id", "pending")}, false},
		{"OR null", user("u1"), typeMemberships, "o1", []resource.Condition{{Fields: []string{"status"}, Op: resource.Eq, Values: []string{"pending"}, OrNull: true}}, false},
		{"values split otherwise", user("u1"), typeMemberships, "o1", []resource.Condition{eq("status", "pend", "ing")}, false},
		{"no condition", user("u1"), typeMemberships, "o1", nil, false},
	}
	for _, tt := range tests {
		if got := tt.c.countKey(ks[tt.typ], tt.org, tt.where) == base; got != tt.wantSame {
			t.Errorf("%s: same key %v; want %v", tt.name, got, tt.wantSame)
		}
	}
	// a list that depends on the caller is keyed per caller
	am := ks[typeAppMemberships]
	if user("u1").countKey(am, "o1", nil) == user("u2").countKey(am, "o1", nil) {
		t.Error("application memberships: two callers share a key")
	}
	orgs := ks[typeOrganizations]
	if user("u1").countKey(orgs, "", nil) == user("u2").countKey(orgs, "", nil) {
		t.Error("organizations: two callers share a key")
	}
}
