package provisioning_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/storage/storagetest"
)

// TestConcurrentUpserts: 50 goroutines, through two Provisioner instances
// on one database, upsert the same (organization, user). Identical calls
// leave one membership, one creation, no update and one default
// organization; calls that disagree leave a history whose every version
// starts where the previous one ended, and ends where the row is.
func TestConcurrentUpserts(t *testing.T) {
	openers := map[string]storagetest.Opener{"sqlite": storagetest.SQLite, "postgres": storagetest.Postgres,
		"mysql": storagetest.MySQL}
	for name, open := range openers {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			a, b := newEnvOn(t, db), newEnvOn(t, db)
			for round := range 3 {
				upsertRace(t, a, b, round)
			}
		})
	}
}

func upsertRace(t *testing.T, a, b *env, round int) {
	ctx := context.Background()
	owner := a.user(t, fmt.Sprintf("upsert-owner%d@example.com", round))
	org, _, ro := a.org(t, owner, fmt.Sprintf("Upserts %d", round))
	target := a.user(t, fmt.Sprintf("upsert-target%d@example.com", round))
	run := func(give func(g int) membership.Upsert) (ids map[string]int, created int) {
		ids = map[string]int{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := make(chan struct{})
		for g := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				inst := a
				if g%2 == 1 {
					inst = b
				}
				<-start
				m, c, err := inst.as(owner).UpsertMembership(ctx, give(g))
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					ids["error: "+err.Error()]++
					return
				}
				ids[m.ID]++
				if c {
					created++
				}
			}()
		}
		close(start)
		wg.Wait()
		return ids, created
	}

	same := membership.Upsert{OrganizationID: org.ID, UserID: target.ID, RoleIDs: []string{ro.ID}}
	ids, created := run(func(int) membership.Upsert { return same })
	if len(ids) != 1 || created != 1 {
		t.Fatalf("round %d, identical upserts: results %v, %d created; want one membership for all 50, created once", round, ids, created)
	}
	var id string
	for id = range ids {
	}
	count := func(where string, args ...any) int { return a.count(t, "provisioning_memberships", where, args...) }
	if n := count("organization_id = ? AND user_id = ?", org.ID, target.ID); n != 1 {
		t.Fatalf("round %d: %d memberships of the user, want 1", round, n)
	}
	versions := func(typ, resourceID string) []audit.Version {
		var out []audit.Version
		f := audit.Filter{OrganizationID: org.ID, ResourceType: typ, ResourceID: resourceID}
		for {
			page, err := a.as(owner).ListVersions(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, page.Items...)
			if page.Next == "" {
				return out
			}
			f.After = page.Next
		}
	}
	if vs := versions("memberships", id); len(vs) != 1 || vs[0].Event != audit.Create {
		t.Fatalf("round %d, identical upserts: %d versions of the membership, want its creation only", round, len(vs))
	}
	if n := a.count(t, "provisioning_versions", "resource_type = 'users' AND resource_id = ? AND event = 'update'", target.ID); n != 1 {
		t.Errorf("round %d: %d changes of the user's default organization, want 1", round, n)
	}

	// Calls that disagree: half want a guest who must use MFA.
	ids, created = run(func(g int) membership.Upsert {
		in := same
		in.Guest, in.MFARequired = g%4 < 2, g%4 < 2
		return in
	})
	if len(ids) != 1 || ids[id] != 50 || created != 0 {
		t.Fatalf("round %d, disagreeing upserts: results %v, %d created; want all 50 on %s, none created", round, ids, created, id)
	}
	vs := versions("memberships", id)
	guest := false
	for _, v := range vs { // by id: oldest first
		if v.Event != audit.Update {
			continue
		}
		ch, ok := v.Changes["guest"]
		if !ok || ch[0] != guest || ch[1] == guest {
			t.Fatalf("round %d: version %s changes guest %v while it was %v", round, v.ID, ch, guest)
		}
		guest = ch[1].(bool)
	}
	m, err := a.as(owner).GetMembership(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if m.Guest != guest || m.MFARequired != guest {
		t.Errorf("round %d: the membership is guest %v, MFA %v; its history ends at %v", round, m.Guest, m.MFARequired, guest)
	}
	t.Logf("round %d: %d updates recorded for 50 disagreeing upserts", round, len(vs)-1)
}
