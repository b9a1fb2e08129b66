package provisioning_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/storage/storagetest"
)

// onBackends runs test on a fresh env of each backend (PostgreSQL and
// MySQL skip visibly without their variables).
func onBackends(t *testing.T, test func(t *testing.T, e *env)) {
	t.Helper()
	for name, open := range map[string]storagetest.Opener{"sqlite": storagetest.SQLite, "postgres": storagetest.Postgres, "mysql": storagetest.MySQL} {
		t.Run(name, func(t *testing.T) { test(t, newEnvOn(t, open(t))) })
	}
}

// An invitation past its expiry (7 days by default) activates on no path:
// not by its token, not by AcceptPendingInvitations, not by the owner's
// upsert of its user, which creates a new membership in its place.
func TestInvitationExpiryHoldsOnEveryPath(t *testing.T) {
	onBackends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		owner := e.user(t, "owner@example.com")
		old, admin, _ := e.org(t, owner, "Old")
		fresh, _, ro := e.org(t, owner, "Fresh")
		stale, err := e.as(owner).Invite(ctx, membership.Invite{OrganizationID: old.ID, UserEmail: "late@example.com", RoleID: admin.ID})
		if err != nil {
			t.Fatal(err)
		}
		staleToken := e.mail.last(t).Token
		e.clock.Advance(30 * 24 * time.Hour)
		current, err := e.as(owner).Invite(ctx, membership.Invite{OrganizationID: fresh.ID, UserEmail: "late@example.com", RoleID: ro.ID})
		if err != nil {
			t.Fatal(err)
		}
		late := e.user(t, "late@example.com")
		versions := e.count(t, "provisioning_versions", "resource_id = ?", stale.ID)

		got, err := e.as(late).AcceptPendingInvitations(ctx)
		if err != nil || len(got) != 1 || got[0].ID != current.ID {
			t.Fatalf("AcceptPendingInvitations = %v, %v; want only the unexpired invitation %s", got, err, current.ID)
		}
		if _, err := e.as(late).AcceptInvitation(ctx, staleToken); !errors.Is(err, fault.ErrInvitationInvalid) {
			t.Errorf("AcceptInvitation of the expired token: %v, want ErrInvitationInvalid", err)
		}
		if m, err := e.as(owner).GetMembership(ctx, stale.ID); err != nil || m.Status != membership.Pending || m.UserID != "" {
			t.Fatalf("expired invitation after the accepting calls = %+v, %v; want it pending, without a user", m, err)
		}
		if n := e.count(t, "provisioning_versions", "resource_id = ?", stale.ID); n != versions {
			t.Errorf("the refused acceptances wrote %d versions of the expired invitation", n-versions)
		}

		// The owner's upsert of its user: a new membership with the
		// upsert's roles, not the expired invitation's admin role.
		m, created, err := e.as(owner).UpsertMembership(ctx, membership.Upsert{OrganizationID: old.ID, UserID: late.ID, RoleIDs: []string{mustReadOnly(t, e, old.ID)}})
		if err != nil || !created || m.ID == stale.ID || m.Status != membership.Active || m.RoleID == admin.ID {
			t.Fatalf("upsert over the expired invitation = %+v, created %v, %v; want a new active read-only membership", m, created, err)
		}
		if _, err := e.as(owner).GetMembership(ctx, stale.ID); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("the expired invitation after the upsert: %v, want it gone", err)
		}
	})
}

// mustReadOnly is the id of the read_only role of org.
func mustReadOnly(t testing.TB, e *env, orgID string) string {
	t.Helper()
	r, err := e.store.Roles().RoleOfKind(context.Background(), orgID, role.KindReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	return r.ID
}
