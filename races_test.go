package provisioning_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/storage/storagetest"
	"github.com/provisionkit/provisioning/user"
	"github.com/uptrace/bun"
)

// The races, each on SQLite, PostgreSQL and MariaDB, each through
// several Provisioner instances (their own authorizers and caches) sharing
// one database, as several processes of a host would. After each iteration
// the invariants are read with direct SQL (checkRaceInvariants), and each
// test logs its iterations and outcomes per backend.

// raceBackends are the backends every race runs on; the server openers
// skip (visibly) without their DSN.
var raceBackends = []struct {
	name string
	open storagetest.Opener
}{
	{"sqlite", storagetest.SQLite},
	{"postgres", storagetest.Postgres},
	{"mysql", storagetest.MySQL},
}

// raceIterations picks the iterations of a race on a backend: SQLite
// serializes every write transaction, so its races are cheaper but
// coarser; the servers lock rows.
func raceIterations(backend string, sqlite, servers int) int {
	if backend == "sqlite" {
		return sqlite
	}
	return servers
}

// raceTally counts outcomes, safe for concurrent use.
type raceTally struct {
	mu sync.Mutex
	m  map[string]int
}

func (r *raceTally) add(what string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]int{}
	}
	r.m[what+": "+kindName(kindOrOK(err))]++
}

func (r *raceTally) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(r.m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, r.m[k]))
	}
	return strings.Join(parts, ", ")
}

// noInternal fails the test when err is of kind Internal (or Unknown): a
// race must only ever give the outcomes of one order or the other.
func noInternal(t testing.TB, what string, err error) {
	t.Helper()
	if k := fault.KindOf(err); err != nil && (k == fault.Internal || k == fault.Unknown) {
		t.Errorf("%s: %v (%s)", what, err, kindName(k))
	}
}

// checkRaceInvariants reads the organization's rows with direct SQL: it has
// exactly one owner, an existing, active, non-guest membership of its own
// with the admin role; and no two memberships share an email or a user.
func checkRaceInvariants(t testing.TB, e *env, orgID, where string) {
	t.Helper()
	ctx := context.Background()
	var owners int
	if err := e.db.NewRaw(`SELECT COUNT(*) FROM provisioning_organizations o
		JOIN provisioning_memberships m ON m.id = o.owner_membership_id AND m.organization_id = o.id
		JOIN provisioning_roles r ON r.id = m.role_id AND r.organization_id = o.id
		WHERE o.id = ? AND m.status = 'active' AND NOT m.guest AND r.kind = 'admin'`, orgID).Scan(ctx, &owners); err != nil {
		t.Fatal(err)
	}
	if owners != 1 {
		t.Errorf("%s: the organization has %d active, non-guest admin owners, want 1", where, owners)
	}
	for _, col := range []string{"user_email", "user_id"} {
		var dups []string
		if err := e.db.NewRaw(`SELECT `+col+` FROM provisioning_memberships WHERE organization_id = ? AND `+col+` IS NOT NULL
			GROUP BY `+col+` HAVING COUNT(*) > 1`, orgID).Scan(ctx, &dups); err != nil {
			t.Fatal(err)
		}
		if len(dups) > 0 {
			t.Errorf("%s: several memberships share %s %v", where, col, dups)
		}
	}
}

// versionsOf counts the versions of one resource with event ev.
func versionsOf(t testing.TB, e *env, typ, id, ev string) int {
	t.Helper()
	return e.count(t, "provisioning_versions", "resource_type = ? AND resource_id = ? AND event = ?", typ, id, ev)
}

// raceOnBackends runs race as a subtest on every backend of raceBackends,
// with instances Provisioners (their own authorizers and caches) on one
// fresh database, and logs the summary race returns with the time it took.
func raceOnBackends(t *testing.T, instances int, race func(t *testing.T, be string, envs []*env) string) {
	for _, be := range raceBackends {
		t.Run(be.name, func(t *testing.T) {
			start := time.Now()
			db := be.open(t)
			envs := make([]*env, instances)
			for i := range envs {
				envs[i] = newEnvOn(t, db)
			}
			summary := race(t, be.name, envs)
			t.Logf("%s: %s; %s", be.name, summary, time.Since(start).Round(time.Millisecond))
		})
	}
}

// endRaceIteration checks the invariants after an iteration, and stops the
// test at the first iteration that failed.
func endRaceIteration(t *testing.T, e *env, orgID, where string) {
	t.Helper()
	checkRaceInvariants(t, e, orgID, where)
	if t.Failed() {
		t.FailNow()
	}
}

// raceStart runs n goroutines that call f(g) at once and waits for them.
func raceStart(n int, f func(g int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			f(g)
		}()
	}
	close(start)
	wg.Wait()
}

// TestRacesAcceptOneInvitation: 8 goroutines, through two instances, accept
// the same invitation at once (by its token, or all pending invitations of
// the invitee): exactly one acceptance, one active membership of the
// invitee, one "accept" version; the others by token are told the
// invitation is invalid, and AcceptPendingInvitations leaves it out (an
// invitation accepted while it runs is no error).
func TestRacesAcceptOneInvitation(t *testing.T) {
	ctx := context.Background()
	raceOnBackends(t, 2, func(t *testing.T, be string, envs []*env) string {
		a, b := envs[0], envs[1]
		n := raceIterations(be, 8, 15)
		var tally raceTally
		owner := a.user(t, "accept-owner@example.com")
		for i := range n {
			org, _, ro := a.org(t, owner, fmt.Sprintf("Accept %d", i))
			email := fmt.Sprintf("invitee%d@example.com", i)
			inv, err := a.as(owner).Invite(ctx, membership.Invite{OrganizationID: org.ID, UserEmail: email, RoleID: ro.ID})
			if err != nil {
				t.Fatal(err)
			}
			token := a.mail.last(t).Token
			invitee := a.user(t, email)
			var accepted atomic.Int64
			raceStart(8, func(g int) {
				inst := []*env{a, b}[g%2]
				s := inst.as(invitee)
				if g%4 == 3 {
					ms, err := s.AcceptPendingInvitations(ctx)
					noInternal(t, "AcceptPendingInvitations", err)
					if err != nil {
						t.Errorf("AcceptPendingInvitations: %v, want success", err)
					}
					accepted.Add(int64(len(ms)))
					tally.add(fmt.Sprintf("accept pending (%d)", len(ms)), err)
					return
				}
				m, err := s.AcceptInvitation(ctx, token)
				noInternal(t, "AcceptInvitation", err)
				switch {
				case err == nil:
					accepted.Add(1)
					if m.ID != inv.ID || m.Status != membership.Active || m.UserID != invitee.ID {
						t.Errorf("iteration %d: accepted %+v", i, m)
					}
				case !errors.Is(err, fault.ErrInvitationInvalid):
					t.Errorf("AcceptInvitation: %v, want success or an invalid invitation", err)
				}
				tally.add("accept token", err)
			})
			where := fmt.Sprintf("%s iteration %d", be, i)
			if got := accepted.Load(); got != 1 {
				t.Errorf("%s: %d acceptances, want exactly 1", where, got)
			}
			if n := a.count(t, "provisioning_memberships", "organization_id = ? AND user_email = ?", org.ID, email); n != 1 {
				t.Errorf("%s: %d memberships of %s, want 1", where, n, email)
			}
			if n := a.count(t, "provisioning_memberships", "id = ? AND status = 'active' AND user_id = ? AND invitation_token_hash IS NULL",
				inv.ID, invitee.ID); n != 1 {
				t.Errorf("%s: the invitation's membership is not the invitee's, active, its token used", where)
			}
			if n := versionsOf(t, a, "memberships", inv.ID, "accept"); n != 1 {
				t.Errorf("%s: %d accept versions, want 1", where, n)
			}
			endRaceIteration(t, a, org.ID, where)
		}
		return fmt.Sprintf("%d iterations × 8 goroutines on 2 instances: %s", n, &tally)
	})
}

// TestRacesInviteSameEmail: the owner and three admins, through two
// instances, invite the same email at once (a new address on even
// iterations, an existing user's on odd ones): one membership, one creation
// version, one notification; every other call is a conflict on user_email.
func TestRacesInviteSameEmail(t *testing.T) {
	ctx := context.Background()
	raceOnBackends(t, 2, func(t *testing.T, be string, envs []*env) string {
		a, b := envs[0], envs[1]
		n := raceIterations(be, 8, 15)
		var tally raceTally
		owner := a.user(t, "invite-owner@example.com")
		for i := range n {
			org, admin, ro := a.org(t, owner, fmt.Sprintf("Invites %d", i))
			inviters := []*user.User{owner}
			for k := range 3 {
				u := a.user(t, fmt.Sprintf("admin%d-%d@example.com", i, k))
				a.member(t, a.as(owner), org.ID, u, admin.ID)
				inviters = append(inviters, u)
			}
			email := fmt.Sprintf("target%d@example.com", i)
			if i%2 == 1 {
				a.user(t, email)
			}
			creations := a.count(t, "provisioning_versions", "organization_id = ? AND resource_type = 'memberships' AND event = 'create'", org.ID)
			mails := a.mail.count() + b.mail.count()
			var created atomic.Value
			var successes atomic.Int64
			raceStart(8, func(g int) {
				inst := []*env{a, b}[g%2]
				m, err := inst.as(inviters[g%4]).Invite(ctx, membership.Invite{OrganizationID: org.ID, UserEmail: email, RoleID: ro.ID})
				noInternal(t, "Invite", err)
				switch {
				case err == nil:
					successes.Add(1)
					created.Store(m.ID)
				case !errors.Is(err, fault.ErrAlreadyExists) || fault.KindOf(err) != fault.Conflict:
					t.Errorf("Invite: %v, want success or a conflict", err)
				}
				tally.add("invite", err)
			})
			where := fmt.Sprintf("%s iteration %d", be, i)
			if got := successes.Load(); got != 1 {
				t.Fatalf("%s: %d invitations succeeded, want exactly 1", where, got)
			}
			if n := a.count(t, "provisioning_memberships", "organization_id = ? AND user_email = ?", org.ID, email); n != 1 {
				t.Errorf("%s: %d memberships of %s, want 1", where, n, email)
			}
			id := created.Load().(string)
			if n := versionsOf(t, a, "memberships", id, "create"); n != 1 {
				t.Errorf("%s: %d creation versions of the membership, want 1", where, n)
			}
			if n := a.count(t, "provisioning_versions", "organization_id = ? AND resource_type = 'memberships' AND event = 'create'", org.ID) - creations; n != 1 {
				t.Errorf("%s: %d membership creations recorded, want 1", where, n)
			}
			if n := a.mail.count() + b.mail.count() - mails; n != 1 {
				t.Errorf("%s: %d notifications, want 1", where, n)
			}
			endRaceIteration(t, a, org.ID, where)
		}
		return fmt.Sprintf("%d iterations × 8 goroutines (4 inviters) on 2 instances: %s", n, &tally)
	})
}

// TestRacesRoleEditsDuringChecks: two writers (on instances A and B) turn a
// custom role's right to read orders on and off, one change at a time,
// while six readers (two on each of A, B and C) ask, as a member with that
// role, through a session (Can) or the Provisioner (Check). Every
// call is allowed or forbidden, never an internal error; a call during
// which no change was under way answers as the policy then was; once the
// writers stop, every instance answers per the final policy on its very
// next call; and each change wrote one version.
func TestRacesRoleEditsDuringChecks(t *testing.T) {
	ctx := context.Background()
	raceOnBackends(t, 3, func(t *testing.T, be string, envs []*env) string {
		a := envs[0]
		toggles := raceIterations(be, 20, 30)
		owner := a.user(t, "edits-owner@example.com")
		org, _, _ := a.org(t, owner, "Edits")
		clerkRole, err := a.as(owner).CreateRole(ctx, role.Create{OrganizationID: org.ID, Name: "Clerk"})
		if err != nil {
			t.Fatal(err)
		}
		perm, err := a.as(owner).CreatePermission(ctx, role.PermissionCreate{RoleID: clerkRole.ID, Subject: "orders", CanRead: true})
		if err != nil {
			t.Fatal(err)
		}
		clerk := a.user(t, "edits-clerk@example.com")
		a.member(t, a.as(owner), org.ID, clerk, clerkRole.ID)

		// The policy: seq is odd while a change is under way; allowed is
		// the committed right.
		var (
			smu     sync.Mutex
			seq     int
			allowed = true
			wmu     sync.Mutex // one change at a time
			writes  atomic.Int64
			done    atomic.Bool
		)
		state := func() (int, bool) {
			smu.Lock()
			defer smu.Unlock()
			return seq, allowed
		}
		// ask makes one call as the clerk on e and returns whether it was allowed.
		ask := func(e *env, session bool) (bool, error) {
			if session {
				return e.as(clerk).Can(ctx, org.ID, "orders", role.ActionRead)
			}
			d, err := e.p.Check(ctx, provisioning.User(clerk.ID), org.ID, "orders", role.ActionRead)
			return d.Allowed, err
		}
		var tally raceTally
		var stable, moving atomic.Int64
		var readers, writers sync.WaitGroup
		for r := range 6 {
			readers.Add(1)
			go func() {
				defer readers.Done()
				e := envs[r%3]
				for k := 0; !done.Load(); k++ {
					s1, want := state()
					got, err := ask(e, k%2 == 0)
					s2, _ := state()
					what := "check"
					if k%2 == 0 {
						what = "session can"
					}
					noInternal(t, what, err)
					if err != nil {
						t.Errorf("%s as the clerk: %v, want allowed or forbidden", what, err)
						tally.add(what, err)
						continue
					}
					tally.add(fmt.Sprintf("%s %v", what, got), nil)
					if s1 != s2 || s1%2 == 1 {
						moving.Add(1)
						continue
					}
					stable.Add(1)
					if got != want {
						t.Errorf("%s on instance %d: allowed %v while the policy was %v (no change under way)", what, r%3, got, want)
					}
				}
			}()
		}
		for w := range 2 {
			writers.Add(1)
			go func() {
				defer writers.Done()
				s := envs[w].as(owner)
				for range toggles / 2 {
					wmu.Lock()
					smu.Lock()
					seq++
					next := !allowed
					smu.Unlock()
					_, err := s.UpdatePermission(ctx, perm.ID, role.PermissionUpdate{CanRead: &next})
					noInternal(t, "UpdatePermission", err)
					smu.Lock()
					if err == nil {
						allowed = next
						writes.Add(1)
					} else {
						t.Errorf("UpdatePermission: %v", err)
					}
					seq++
					smu.Unlock()
					// Let the readers see each state: the quiet spell is
					// taken under wmu, or the other writer's next change
					// would start at once and leave no call unmoved.
					time.Sleep(10 * time.Millisecond)
					wmu.Unlock()
				}
			}()
		}
		writers.Wait()
		done.Store(true)
		readers.Wait()

		_, final := state()
		for i, e := range envs {
			for _, session := range []bool{true, false} {
				if got, err := ask(e, session); err != nil || got != final {
					t.Errorf("after the writers: instance %d (session %v) answers %v, %v; the policy is %v", i, session, got, err, final)
				}
			}
		}
		if n := versionsOf(t, a, "permissions", perm.ID, "update"); n != int(writes.Load()) {
			t.Errorf("%d versions of the permission's updates, want %d (one per change)", n, writes.Load())
		}
		checkRaceInvariants(t, a, org.ID, be)
		return fmt.Sprintf("%d changes by 2 writers, %d calls by 6 readers on 3 instances (%d with no change under way): %s",
			writes.Load(), stable.Load()+moving.Load(), stable.Load(), &tally)
	})
}

// TestRacesRevocationDuringCalls: a member and an API credential call
// without pause, through three instances, while the owner deletes the
// membership, then the credential: once a delete has returned, no call
// started afterwards, on any instance, succeeds (and Authenticate refuses
// the credential's secret); calls never fail as internal; each delete
// wrote one version.
func TestRacesRevocationDuringCalls(t *testing.T) {
	ctx := context.Background()
	raceOnBackends(t, 3, func(t *testing.T, be string, envs []*env) string {
		a := envs[0]
		n := raceIterations(be, 6, 10)
		var tally raceTally
		var late atomic.Int64 // calls started after a delete returned
		owner := a.user(t, "revoke-owner@example.com")
		for i := range n {
			org, _, ro := a.org(t, owner, fmt.Sprintf("Revoke %d", i))
			member := a.user(t, fmt.Sprintf("revoked%d@example.com", i))
			m := a.member(t, a.as(owner), org.ID, member, ro.ID)
			issued, err := a.as(owner).CreateCredential(ctx, credential.Create{OrganizationID: org.ID, Name: "ERP",
				Kind: credential.Integration, RoleID: ro.ID})
			if err != nil {
				t.Fatal(err)
			}
			cred := issued.Credential
			var memberGone, credGone, stop atomic.Bool
			var callers sync.WaitGroup
			call := func(what string, gone *atomic.Bool, f func() error) {
				after := gone.Load()
				err := f()
				noInternal(t, what, err)
				if after {
					late.Add(1)
					if err == nil {
						t.Errorf("iteration %d: %s succeeded, started after its revocation returned", i, what)
					}
					tally.add(what+" after", err)
				} else {
					tally.add(what+" before", err)
				}
			}
			for g := range 6 {
				callers.Add(1)
				go func() {
					defer callers.Done()
					e := envs[g%3]
					for !stop.Load() {
						if g%2 == 0 {
							call("member lists", &memberGone, func() error {
								_, err := e.as(member).ListMemberships(ctx, membership.Filter{OrganizationID: org.ID})
								return err
							})
							call("member reads its organization", &memberGone, func() error {
								_, err := e.as(member).GetOrganization(ctx, org.ID)
								return err
							})
						} else {
							call("credential lists", &credGone, func() error {
								_, err := e.p.As(provisioning.Credential(cred.ID)).ListMemberships(ctx, membership.Filter{OrganizationID: org.ID})
								return err
							})
							call("credential authenticates", &credGone, func() error {
								_, err := e.p.Authenticate(ctx, cred.ClientID, issued.ClientSecret)
								return err
							})
						}
					}
				}()
			}
			time.Sleep(20 * time.Millisecond) // the callers have cached the policy
			// A delete that stalls (a transaction waiting for another
			// caller's policy load, which waits for the transaction's
			// lock: SQLite's write lock) fails here, not at the timeout.
			bounded, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if err := envs[i%3].as(owner).DeleteMembership(bounded, m.ID); err != nil {
				t.Fatalf("iteration %d: DeleteMembership: %v", i, err)
			}
			memberGone.Store(true)
			time.Sleep(20 * time.Millisecond)
			if err := envs[(i+1)%3].as(owner).DeleteCredential(bounded, cred.ID); err != nil {
				t.Fatalf("iteration %d: DeleteCredential: %v", i, err)
			}
			credGone.Store(true)
			time.Sleep(20 * time.Millisecond)
			stop.Store(true)
			callers.Wait()

			where := fmt.Sprintf("%s iteration %d", be, i)
			if n := a.count(t, "provisioning_memberships", "id = ?", m.ID); n != 0 {
				t.Errorf("%s: the deleted membership is still there", where)
			}
			if n := a.count(t, "provisioning_api_credentials", "id = ? AND revoked_at IS NOT NULL", cred.ID); n != 1 {
				t.Errorf("%s: the credential is not revoked", where)
			}
			if n := versionsOf(t, a, "memberships", m.ID, "destroy"); n != 1 {
				t.Errorf("%s: %d destroy versions of the membership, want 1", where, n)
			}
			if n := versionsOf(t, a, "api_credentials", cred.ID, "destroy"); n != 1 {
				t.Errorf("%s: %d destroy versions of the credential, want 1", where, n)
			}
			endRaceIteration(t, a, org.ID, where)
		}
		return fmt.Sprintf("%d iterations, 6 callers on 3 instances, %d calls started after a revocation: %s",
			n, late.Load(), &tally)
	})
}

// TestAcceptPendingSkipsInvitationsGoneMeanwhile: the invitee's
// AcceptPendingInvitations has read its two pending invitations and waits
// for an organization's lock, held by another transaction, which deletes one
// of the invitations (as a revoke does) and commits. The call must activate
// the other and leave the deleted one out, not fail as a whole. PostgreSQL
// says which backend waits for which (pg_blocking_pids), so the interleaving
// is certain; SQLite serializes the two transactions, and MariaDB is covered
// by TestRacesAcceptOneInvitation.
func TestAcceptPendingSkipsInvitationsGoneMeanwhile(t *testing.T) {
	ctx := context.Background()
	e := newEnvOn(t, storagetest.Postgres(t))
	owner := e.user(t, "gone-owner@example.com")
	const email = "gone-invitee@example.com"
	var orgs, invites []string
	for _, name := range []string{"Gone A", "Gone B"} {
		org, _, ro := e.org(t, owner, name)
		inv, err := e.as(owner).Invite(ctx, membership.Invite{OrganizationID: org.ID, UserEmail: email, RoleID: ro.ID})
		if err != nil {
			t.Fatal(err)
		}
		orgs, invites = append(orgs, org.ID), append(invites, inv.ID)
	}
	invitee := e.user(t, email)

	// The other transaction locks both organizations, so the call waits at
	// the first it takes, whichever that is.
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var pid int
	if err := tx.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "SELECT id FROM provisioning_organizations WHERE id IN (?) FOR UPDATE", bun.List(orgs)); err != nil {
		t.Fatal(err)
	}

	type result struct {
		ms  []membership.Membership
		err error
	}
	done := make(chan result, 1)
	go func() {
		ms, err := e.as(invitee).AcceptPendingInvitations(ctx)
		done <- result{ms, err}
	}()
	// Polled outside tx: a transaction sees pg_stat_activity as it was at
	// its first look, which may be before the call's connection existed.
	deadline := time.Now().Add(30 * time.Second)
	for waiting := 0; waiting == 0; {
		select {
		case r := <-done:
			t.Fatalf("AcceptPendingInvitations returned (%v) without waiting for the lock", r.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("AcceptPendingInvitations never waited for the organizations' lock")
		}
		if err := e.db.QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE ? = ANY(pg_blocking_pids(pid))", pid).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM provisioning_memberships WHERE id = ?", invites[0]); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	r := <-done
	if r.err != nil {
		t.Fatalf("AcceptPendingInvitations: %v; want the remaining invitation accepted", r.err)
	}
	if len(r.ms) != 1 || r.ms[0].ID != invites[1] || r.ms[0].Status != membership.Active {
		t.Fatalf("accepted %+v; want only %s, active", r.ms, invites[1])
	}
	if n := e.count(t, "provisioning_memberships", "id = ? AND status = 'active' AND user_id = ?", invites[1], invitee.ID); n != 1 {
		t.Error("the remaining invitation is not the invitee's active membership")
	}
	if n := versionsOf(t, e, "memberships", invites[1], "accept"); n != 1 {
		t.Errorf("%d accept versions of the remaining invitation, want 1", n)
	}
}
