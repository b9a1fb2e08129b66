package provisioning_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/storage/storagetest"
)

// TestOwnerAndUniquenessUnderRaces runs 50 goroutines, through two
// Provisioner instances on one database, that race to delete or demote the
// owner's and each other's memberships, to transfer ownership back and forth,
// and to invite the same email: the organization never ends without its
// owner (an active admin), and the email never has two memberships.
func TestOwnerAndUniquenessUnderRaces(t *testing.T) {
	openers := map[string]storagetest.Opener{"sqlite": storagetest.SQLite, "postgres": storagetest.Postgres, "mysql": storagetest.MySQL}
	iterations := map[string]int{"sqlite": 10, "postgres": 25, "mysql": 15}
	for name, open := range openers {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			a := newEnvOn(t, db)
			b := newEnvOn(t, db) // a second instance: its own authorizer and caches
			outcomes := map[string]int{}
			for i := 0; i < iterations[name]; i++ {
				raceOnce(t, a, b, i, outcomes)
			}
			t.Logf("%s: %d iterations × 50 goroutines, outcomes %v", name, iterations[name], outcomes)
		})
	}
}

func raceOnce(t *testing.T, a, b *env, i int, outcomes map[string]int) {
	t.Helper()
	ctx := context.Background()
	owner := a.user(t, fmt.Sprintf("owner%d@example.com", i))
	org, admin, ro := a.org(t, owner, fmt.Sprintf("Race %d", i))
	second := a.user(t, fmt.Sprintf("second%d@example.com", i))
	sm := a.member(t, a.as(owner), org.ID, second, admin.ID)
	ids := map[string]string{owner.ID: org.OwnerMembershipID, second.ID: sm.ID}
	users := []string{owner.ID, second.ID}
	emails := map[string]string{owner.ID: owner.Email, second.ID: second.Email}
	dup := fmt.Sprintf("dup%d@example.com", i)

	var wg sync.WaitGroup
	var mu sync.Mutex
	start := make(chan struct{})
	for g := 0; g < 50; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inst := a
			if g%2 == 1 {
				inst = b
			}
			me, other := users[g%2], users[1-g%2]
			s := inst.p.As(provisioning.User(me))
			<-start
			var err error
			var what string
			switch g % 5 {
			case 0:
				what, err = "delete other", s.DeleteMembership(ctx, ids[other])
			case 1:
				what, err = "delete self", s.DeleteMembership(ctx, ids[me])
			case 2:
				what = "demote other"
				_, err = s.UpdateMembership(ctx, ids[other], membership.Update{RoleID: &ro.ID})
			case 3:
				what, err = "transfer", s.TransferOwnership(ctx, org.ID, emails[other])
			case 4:
				what = "invite"
				_, err = s.Invite(ctx, membership.Invite{OrganizationID: org.ID, UserEmail: dup, RoleID: ro.ID})
			}
			if err != nil && fault.KindOf(err) == fault.Internal {
				t.Errorf("%s: internal error: %v", what, err)
			}
			mu.Lock()
			outcomes[what+": "+kindName(kindOrOK(err))]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()

	// The organization has its owner: an existing, active membership with the admin role.
	o, err := a.store.Organizations().Get(ctx, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	m, err := a.store.Memberships().Get(ctx, o.OwnerMembershipID)
	if err != nil {
		t.Fatalf("iteration %d: owner membership %q: %v", i, o.OwnerMembershipID, err)
	}
	r, err := a.store.Roles().GetRole(ctx, m.RoleID)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Owner || m.Status != membership.Active || r.Kind != role.KindAdmin {
		t.Fatalf("iteration %d: owner membership %+v with role %s", i, m, r.Kind)
	}
	if n := a.count(t, "provisioning_memberships", "organization_id = ? AND user_email = ?", org.ID, dup); n != 1 {
		t.Fatalf("iteration %d: %d memberships for %s, want 1", i, n, dup)
	}
	checkRaceInvariants(t, a, org.ID, fmt.Sprintf("iteration %d", i)) // the same, in SQL (races_test.go)
}
