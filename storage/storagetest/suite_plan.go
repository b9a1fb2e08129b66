package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/role"
)

// testPlanRoundTrip: the subscription is stored and read back, and Update
// changes it.
func testPlanRoundTrip(t *testing.T, e *env) {
	sub := organization.Subscription{PlanType: "growth", Limits: organization.Limits{Memberships: 5, Organizations: 2, APICredentials: 7, Roles: 3}, CanSwitchLive: true}
	o := e.newOrg(t, func(o *organization.Organization) { o.Subscription = sub })
	got, err := e.s.Organizations().Get(t.Context(), o.ID)
	must(t, err)
	if got.Subscription != sub {
		t.Fatalf("Get: subscription %+v, want %+v", got.Subscription, sub)
	}
	got.Subscription = organization.Subscription{PlanType: "enterprise"}
	must(t, e.s.Organizations().Update(t.Context(), got))
	again, err := e.s.Organizations().Get(t.Context(), o.ID)
	must(t, err)
	if again.Subscription != got.Subscription {
		t.Errorf("after Update: subscription %+v, want %+v", again.Subscription, got.Subscription)
	}
}

// testPlanCountMemberships: Count counts pending and active memberships of
// one organization only.
func testPlanCountMemberships(t *testing.T, e *env) {
	tn := e.newTenant(t)
	other := e.newTenant(t)
	e.newMember(t, tn.org.ID, tn.admin.ID) // pending
	e.newMember(t, tn.org.ID, tn.admin.ID, activeFor(e.newUser(t)))
	e.newMember(t, other.org.ID, other.admin.ID)
	for _, tt := range []struct {
		org  string
		want int
	}{{tn.org.ID, 3}, {other.org.ID, 2}, {"nosuchorg", 0}} {
		got, err := e.s.Memberships().Count(t.Context(), tt.org)
		must(t, err)
		if got != tt.want {
			t.Errorf("Count(%s) = %d, want %d", tt.org, got, tt.want)
		}
	}
}

// testPlanCountOwned: CountOwned counts the organizations a user owns, not
// those where the user is only a member, and follows a transfer.
func testPlanCountOwned(t *testing.T, e *env) {
	a := e.newTenant(t)
	b := e.newTenant(t)
	// a's owner also owns a second organization, and is a plain member of b.
	o2 := e.newOrg(t)
	admin2 := e.newRole(t, o2.ID, role.KindAdmin)
	m2 := e.newMember(t, o2.ID, admin2.ID, activeFor(a.owner))
	must(t, e.s.Organizations().SetOwner(t.Context(), o2.ID, "", m2.ID))
	e.newMember(t, b.org.ID, b.admin.ID, activeFor(a.owner))
	count := func(userID string) int {
		n, err := e.s.Organizations().CountOwned(t.Context(), userID)
		must(t, err)
		return n
	}
	if got := count(a.owner.ID); got != 2 {
		t.Errorf("CountOwned(a's owner) = %d, want 2", got)
	}
	if got := count(b.owner.ID); got != 1 {
		t.Errorf("CountOwned(b's owner) = %d, want 1", got)
	}
	// b's owner hands b to a's owner.
	ma, err := e.s.Memberships().GetByUser(t.Context(), b.org.ID, a.owner.ID)
	must(t, err)
	must(t, e.s.Organizations().SetOwner(t.Context(), b.org.ID, b.om.ID, ma.ID))
	if got, got2 := count(a.owner.ID), count(b.owner.ID); got != 3 || got2 != 0 {
		t.Errorf("after the transfer: CountOwned = %d and %d, want 3 and 0", got, got2)
	}
	if got := count("nosuchuser"); got != 0 {
		t.Errorf("CountOwned(unknown) = %d, want 0", got)
	}
}

// testUserLock: Lock reads the user, inside and outside a transaction, and
// an unknown or malformed id is not found.
func testUserLock(t *testing.T, e *env) {
	u := e.newUser(t)
	want, err := e.s.Users().Get(t.Context(), u.ID)
	must(t, err)
	must(t, e.s.InTx(t.Context(), func(ctx context.Context) error {
		got, err := e.s.Users().Lock(ctx, u.ID)
		must(t, err)
		wantEqual(t, "Lock", *got, *want)
		return nil
	}))
	for _, id := range []string{"nosuchuser", "Not An Id"} {
		if _, err := e.s.Users().Lock(t.Context(), id); fault.KindOf(err) != fault.NotFound {
			t.Errorf("Lock(%q): %v, want not found", id, err)
		}
	}
}

// testUserLockSerializes: a count-then-insert under the user's lock admits
// exactly the limit, whatever the interleaving.
func testUserLockSerializes(t *testing.T, e *env) {
	tn := e.newTenant(t)
	const limit, n = 3, 8
	errs := race(n, func(int) error {
		return e.s.InTx(t.Context(), func(ctx context.Context) error {
			if _, err := e.s.Users().Lock(ctx, tn.owner.ID); err != nil {
				return err
			}
			c, err := e.s.Memberships().Count(ctx, tn.org.ID)
			if err != nil {
				return err
			}
			if c >= limit {
				return fault.ErrLimitReached
			}
			time.Sleep(20 * time.Millisecond) // widen the window between count and insert
			return e.s.Memberships().Create(ctx, e.member(tn.org.ID, tn.admin.ID), nil)
		})
	})
	created := 0
	for _, err := range errs {
		switch {
		case err == nil:
			created++
		case err != fault.ErrLimitReached:
			t.Errorf("transaction: %v", err)
		}
	}
	got, err := e.s.Memberships().Count(t.Context(), tn.org.ID)
	must(t, err)
	if got != limit || created != limit-1 {
		t.Errorf("%d memberships (%d created), want %d (%d created)", got, created, limit, limit-1)
	}
}
