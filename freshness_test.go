package provisioning_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/authz"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/storage/storagetest"
)

// TestRevocationIsSeenByEveryInstance: instance B has answered (and cached)
// a decision; instance A revokes the grant; B's very next call is refused.
// Each instance has its own authorizer; they share only the database.
func TestRevocationIsSeenByEveryInstance(t *testing.T) {
	ctx := context.Background()
	for name, open := range map[string]storagetest.Opener{"sqlite": storagetest.SQLite, "postgres": storagetest.Postgres} {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			a, b := newEnvOn(t, db), newEnvOn(t, db)
			owner := a.user(t, "owner@example.com")
			org, _, _ := a.org(t, owner, "Fresh")
			clerkRole, err := a.as(owner).CreateRole(ctx, role.Create{OrganizationID: org.ID, Name: "Clerk"})
			if err != nil {
				t.Fatal(err)
			}
			perm, err := a.as(owner).CreatePermission(ctx, role.PermissionCreate{RoleID: clerkRole.ID, Subject: "orders", CanUpdate: true})
			if err != nil {
				t.Fatal(err)
			}
			clerk := a.user(t, "clerk@example.com")
			m := a.member(t, a.as(owner), org.ID, clerk, clerkRole.ID)
			onB := b.p.As(provisioning.User(clerk.ID))

			if ok, err := onB.Can(ctx, org.ID, "orders", role.ActionUpdate); err != nil || !ok {
				t.Fatalf("before revocation B says %v, %v; want true", ok, err)
			}
			off := false
			if _, err := a.as(owner).UpdatePermission(ctx, perm.ID, role.PermissionUpdate{CanUpdate: &off}); err != nil {
				t.Fatal(err)
			}
			if ok, err := onB.Can(ctx, org.ID, "orders", role.ActionUpdate); err != nil || ok {
				t.Fatalf("after revoking the permission B says %v, %v; want false", ok, err)
			}

			if _, err := onB.GetMembership(ctx, m.ID); err != nil {
				t.Fatalf("member reads own membership on B: %v", err)
			}
			if err := a.as(owner).DeleteMembership(ctx, m.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := onB.ListMemberships(ctx, membership.Filter{OrganizationID: org.ID}); !errors.Is(err, fault.ErrNotFound) {
				t.Fatalf("removed member lists memberships on B: %v, want not found", err)
			}
		})
	}
}

// TestRolledBackChangeIsNeverSeen: a grant whose transaction fails leaves
// every instance's decisions, and every instance's policy cache, exactly as
// they were; the transaction's own checks saw the grant.
func TestRolledBackChangeIsNeverSeen(t *testing.T) {
	ctx := context.Background()
	for name, open := range map[string]storagetest.Opener{"sqlite": storagetest.SQLite, "postgres": storagetest.Postgres} {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			azA, azB := authz.New(), authz.New()
			a, b := newEnvOn(t, db, provisioning.WithAuthorizer(azA)), newEnvOn(t, db, provisioning.WithAuthorizer(azB))
			owner, clerk := a.user(t, "owner@example.com"), a.user(t, "clerk@example.com")
			org, _, _ := a.org(t, owner, "Rollback")
			clerkRole, err := a.as(owner).CreateRole(ctx, role.Create{OrganizationID: org.ID, Name: "Clerk"})
			if err != nil {
				t.Fatal(err)
			}
			a.member(t, a.as(owner), org.ID, clerk, clerkRole.ID)
			for name, e := range map[string]*env{"A": a, "B": b} {
				if ok, err := e.as(clerk).Can(ctx, org.ID, "skus", role.ActionRead); err != nil || ok {
					t.Fatalf("%s: clerk reads skus before any grant: %v, %v", name, ok, err)
				}
			}
			revA, okA := azA.Cached(org.ID)
			revB, okB := azB.Cached(org.ID)
			if !okA || !okB || revA != revB {
				t.Fatalf("caches before: A %q %v, B %q %v; want the same revision cached", revA, okA, revB, okB)
			}

			failing := errors.New("the host's own step failed")
			err = a.store.InTx(ctx, func(ctx context.Context) error {
				if _, err := a.as(owner).CreatePermission(ctx, role.PermissionCreate{RoleID: clerkRole.ID, Subject: "skus", CanRead: true}); err != nil {
					return err
				}
				// Inside the transaction the grant is visible to its own checks...
				if ok, err := a.as(clerk).Can(ctx, org.ID, "skus", role.ActionRead); err != nil || !ok {
					t.Errorf("inside the transaction: %v, %v; want true", ok, err)
				}
				return failing
			})
			if !errors.Is(err, failing) {
				t.Fatalf("InTx: %v", err)
			}
			// ...and after the rollback it never existed: no cache kept the
			// transaction's policy, and both answer as before.
			for name, az := range map[string]*authz.Authorizer{"A": azA, "B": azB} {
				if rev, ok := az.Cached(org.ID); !ok || rev != revA {
					t.Errorf("%s caches %q (%v) after the rollback, want %q as before", name, rev, ok, revA)
				}
			}
			for name, e := range map[string]*env{"A": a, "B": b} {
				if ok, err := e.as(clerk).Can(ctx, org.ID, "skus", role.ActionRead); err != nil || ok {
					t.Errorf("%s after rollback: %v, %v; want false", name, ok, err)
				}
			}
		})
	}
}

// TestWatchRefreshesOtherInstances: with WatchPolicy running, an instance's
// cached policy follows another instance's change before it is asked
// anything (LISTEN/NOTIFY on PostgreSQL, polling on SQLite).
func TestWatchRefreshesOtherInstances(t *testing.T) {
	ctx := context.Background()
	for name, open := range map[string]storagetest.Opener{"sqlite": storagetest.SQLite, "postgres": storagetest.Postgres} {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			azB := authz.New()
			a, b := newEnvOn(t, db), newEnvOn(t, db, provisioning.WithAuthorizer(azB))
			owner, clerk := a.user(t, "owner@example.com"), a.user(t, "clerk@example.com")
			org, _, ro := a.org(t, owner, "Watched")
			m := a.member(t, a.as(owner), org.ID, clerk, ro.ID)
			if ok, err := b.as(clerk).Can(ctx, org.ID, "orders", role.ActionRead); err != nil || !ok {
				t.Fatalf("B before: %v, %v", ok, err)
			}
			before, _ := azB.Cached(org.ID)

			wctx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); b.p.WatchPolicy(wctx, 20*time.Millisecond) }()
			defer func() { stop(); <-done }()
			if name == "postgres" {
				time.Sleep(300 * time.Millisecond) // let the listener connect
			}

			if err := a.as(owner).DeleteMembership(ctx, m.ID); err != nil {
				t.Fatal(err)
			}
			want, err := a.store.Access().Revision(ctx, org.ID)
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				if rev, _ := azB.Cached(org.ID); rev == want {
					break
				}
				if time.Now().After(deadline) {
					rev, _ := azB.Cached(org.ID)
					t.Fatalf("B still caches %q (before: %q), want %q", rev, before, want)
				}
				time.Sleep(5 * time.Millisecond)
			}
			if ok, err := b.as(clerk).Can(ctx, org.ID, "orders", role.ActionRead); err == nil && ok {
				t.Fatal("B lets the removed member read")
			}
		})
	}
}

// TestPolicyChangesBumpTheRevision: every change that can change a
// decision gives the organization a new policy revision in its own
// transaction, and a change that cannot (a name) keeps it.
func TestPolicyChangesBumpTheRevision(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	own := w.as(w.owner)
	yes := true
	newRole := w.readOnly.ID
	tests := []struct {
		name     string
		give     func() error
		wantBump bool
	}{
		{"create a role", func() error {
			_, err := own.CreateRole(ctx, role.Create{OrganizationID: w.org.ID, Name: "Another"})
			return err
		}, true},
		{"create a permission", func() error {
			_, err := own.CreatePermission(ctx, role.PermissionCreate{RoleID: w.custom.ID, Subject: "skus", CanRead: true})
			return err
		}, true},
		{"update a permission", func() error {
			_, err := own.UpdatePermission(ctx, w.permission.ID, role.PermissionUpdate{CanDestroy: &yes})
			return err
		}, true},
		{"change a member's role", func() error {
			_, err := own.UpdateMembership(ctx, w.customMembership.ID, membership.Update{RoleID: &newRole})
			return err
		}, true},
		{"give a member a profile", func() error {
			_, err := own.UpdateMembership(ctx, w.customMembership.ID, membership.Update{ProfileID: &w.profile.ID})
			return err
		}, true},
		{"invite an existing user (active at once)", func() error {
			_, err := own.Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: w.stranger.Email, RoleID: w.readOnly.ID})
			return err
		}, true},
		{"remove a member", func() error { return own.DeleteMembership(ctx, w.readerMembership.ID) }, true},
		{"transfer ownership", func() error { return own.TransferOwnership(ctx, w.org.ID, w.adminUser.Email) }, true},
		{"rename a role", func() error {
			name := "Renamed"
			_, err := w.as(w.adminUser).UpdateRole(ctx, w.custom.ID, role.Update{Name: &name})
			return err
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, err := w.store.Access().Revision(ctx, w.org.ID)
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.give(); err != nil {
				t.Fatal(err)
			}
			after, err := w.store.Access().Revision(ctx, w.org.ID)
			if err != nil {
				t.Fatal(err)
			}
			if (after != before) != tt.wantBump {
				t.Errorf("revision %q → %q; want a new one: %v", before, after, tt.wantBump)
			}
		})
	}
}
