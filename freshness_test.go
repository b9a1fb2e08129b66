package provisioning_test

import (
	"context"
	"errors"
	"testing"

	"github.com/provisionkit/provisioning"
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
// every instance's decisions as they were.
func TestRolledBackChangeIsNeverSeen(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	other := newEnvOn(t, w.db)
	onOther := other.p.As(provisioning.User(w.customUser.ID))
	if ok, _ := onOther.Can(ctx, w.org.ID, "skus", role.ActionRead); ok {
		t.Fatal("custom member can read skus before any grant")
	}
	failing := errors.New("the host's own step failed")
	err := w.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := w.as(w.owner).CreatePermission(ctx, role.PermissionCreate{RoleID: w.custom.ID, Subject: "skus", CanRead: true}); err != nil {
			return err
		}
		// Inside the transaction the grant is visible to its own checks...
		if ok, err := w.as(w.customUser).Can(ctx, w.org.ID, "skus", role.ActionRead); err != nil || !ok {
			t.Errorf("inside the transaction: %v, %v; want true", ok, err)
		}
		return failing
	})
	if !errors.Is(err, failing) {
		t.Fatalf("InTx: %v", err)
	}
	// ...and after the rollback, on both instances, it never existed.
	for name, s := range map[string]*provisioning.Session{"same instance": w.as(w.customUser), "other instance": onOther} {
		if ok, err := s.Can(ctx, w.org.ID, "skus", role.ActionRead); err != nil || ok {
			t.Errorf("%s after rollback: %v, %v; want false", name, ok, err)
		}
	}
}
