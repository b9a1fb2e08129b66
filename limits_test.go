package provisioning_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/storage/storagetest"
)

func TestMembershipLimit(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, provisioning.WithSubscription(organization.Subscription{PlanType: "growth", Limits: organization.Limits{Memberships: 3}}))
	owner := e.user(t, "owner@example.com")
	org, _, ro := e.org(t, owner, "Limited")
	own := e.as(owner)
	// The owner's membership counts: two more fit, pending ones count too.
	if _, err := own.Invite(ctx, membership.Invite{OrganizationID: org.ID, UserEmail: "a@example.com", RoleID: ro.ID}); err != nil {
		t.Fatal(err)
	}
	e.member(t, own, org.ID, e.user(t, "b@example.com"), ro.ID)
	before := e.count(t, "provisioning_memberships", "1 = 1")
	versions := e.count(t, "provisioning_versions", "1 = 1")
	_, err := own.Invite(ctx, membership.Invite{OrganizationID: org.ID, UserEmail: "c@example.com", RoleID: ro.ID})
	var fe *fault.Error
	if !errors.Is(err, fault.ErrLimitReached) || !errors.Is(err, fault.ErrConflict) || !errors.As(err, &fe) || fe.Field != "memberships" {
		t.Fatalf("invite beyond the limit: %v, want ErrLimitReached on field memberships", err)
	}
	if got := e.count(t, "provisioning_memberships", "1 = 1"); got != before {
		t.Errorf("memberships %d after a refused invite, want %d", got, before)
	}
	if got := e.count(t, "provisioning_versions", "1 = 1"); got != versions {
		t.Errorf("versions %d after a refused invite, want %d", got, versions)
	}
	got, err := own.GetOrganization(ctx, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantSub := organization.Subscription{PlanType: "growth", Limits: organization.Limits{Memberships: 3}}
	if got.Subscription != wantSub || got.Totals != (organization.Totals{Memberships: 3, Organizations: 1}) {
		t.Errorf("subscription %+v, totals %+v; want %+v and 3 memberships, 1 organization", got.Subscription, got.Totals, wantSub)
	}

	// Raising the limit (the host's billing) lets one more in, and is versioned.
	upgraded, err := e.p.System().SetSubscription(ctx, org.ID, organization.Subscription{PlanType: "enterprise",
		Limits: organization.Limits{Memberships: 4}, CanSwitchLive: true})
	if err != nil {
		t.Fatal(err)
	}
	if again, err := own.GetOrganization(ctx, org.ID); err != nil || !again.Subscription.CanSwitchLive || !upgraded.Subscription.CanSwitchLive {
		t.Errorf("after the upgrade: can switch live %v, %v", again.Subscription.CanSwitchLive, err)
	}
	if _, err := own.Invite(ctx, membership.Invite{OrganizationID: org.ID, UserEmail: "c@example.com", RoleID: ro.ID}); err != nil {
		t.Fatalf("invite after raising the limit: %v", err)
	}
	page, err := own.ListVersions(ctx, audit.Filter{OrganizationID: org.ID, ResourceType: "organizations", Event: audit.Update})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].Changes["subscription_info.plan_type"] != [2]any{"growth", "enterprise"} ||
		page.Items[0].Changes["can_switch_live"] != [2]any{false, true} {
		t.Errorf("versions of the plan change: %+v", page.Items)
	}
	// Removing a member frees a place; 0 means no limit.
	if _, err := e.p.System().SetSubscription(ctx, org.ID, organization.Subscription{}); err != nil {
		t.Fatal(err)
	}
	if _, err := own.Invite(ctx, membership.Invite{OrganizationID: org.ID, UserEmail: "d@example.com", RoleID: ro.ID}); err != nil {
		t.Fatalf("invite without a limit: %v", err)
	}
}

func TestOrganizationLimit(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, provisioning.WithSubscription(organization.Subscription{Limits: organization.Limits{Organizations: 2}}))
	ann, bob := e.user(t, "ann@example.com"), e.user(t, "bob@example.com")
	e.org(t, ann, "One")
	e.org(t, ann, "Two")
	before := e.count(t, "provisioning_organizations", "1 = 1")
	_, err := e.as(ann).CreateOrganization(ctx, organization.Create{Name: "Three"})
	var fe *fault.Error
	if !errors.Is(err, fault.ErrLimitReached) || !errors.As(err, &fe) || fe.Field != "organizations" {
		t.Fatalf("third organization: %v, want ErrLimitReached on field organizations", err)
	}
	if got := e.count(t, "provisioning_organizations", "1 = 1"); got != before {
		t.Errorf("organizations %d after a refused creation, want %d", got, before)
	}
	// The limit is per owner: bob still may.
	if _, err := e.as(bob).CreateOrganization(ctx, organization.Create{Name: "Bob's"}); err != nil {
		t.Errorf("another user's first organization: %v", err)
	}
}

func TestSubscriptionValidation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	owner := e.user(t, "owner@example.com")
	org, _, _ := e.org(t, owner, "Plans")
	tests := []struct {
		name string
		give organization.Subscription
		want string
	}{
		{"negative memberships", organization.Subscription{Limits: organization.Limits{Memberships: -1}}, "limits.memberships"},
		{"absurd organizations", organization.Subscription{Limits: organization.Limits{Organizations: organization.MaxLimit + 1}}, "limits.organizations"},
		{"plan type with spaces", organization.Subscription{PlanType: "Growth plan"}, "plan_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.count(t, "provisioning_versions", "1 = 1")
			_, err := e.p.System().SetSubscription(ctx, org.ID, tt.give)
			var ve *fault.ValidationError
			if !errors.As(err, &ve) || !ve.Has(tt.want) {
				t.Fatalf("SetSubscription: %v, want a validation error on %s", err, tt.want)
			}
			if got := e.count(t, "provisioning_versions", "1 = 1"); got != before {
				t.Errorf("a refused change wrote a version")
			}
			if _, err := provisioning.New(e.store, provisioning.WithSubscription(tt.give)); err == nil {
				t.Errorf("New accepted WithSubscription(%+v)", tt.give)
			}
		})
	}
	if _, err := e.p.System().SetSubscription(ctx, "nosuchorg", organization.Subscription{}); !errors.Is(err, fault.ErrNotFound) {
		t.Errorf("SetSubscription of an unknown organization: %v, want not found", err)
	}
	// Setting the same plan again changes nothing and writes no version.
	before := e.count(t, "provisioning_versions", "1 = 1")
	if _, err := e.p.System().SetSubscription(ctx, org.ID, organization.Subscription{}); err != nil {
		t.Fatal(err)
	}
	if got := e.count(t, "provisioning_versions", "1 = 1"); got != before {
		t.Errorf("a no-op plan change wrote a version")
	}
}

// TestLimitsHoldUnderConcurrency: concurrent invitations and creations never
// pass a limit, on SQLite and PostgreSQL.
func TestLimitsHoldUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	for name, open := range map[string]storagetest.Opener{"sqlite": storagetest.SQLite, "postgres": storagetest.Postgres} {
		t.Run(name, func(t *testing.T) {
			e := newEnvOn(t, open(t), provisioning.WithSubscription(organization.Subscription{Limits: organization.Limits{Memberships: 5, Organizations: 3}}))
			owner := e.user(t, "owner@example.com")
			org, _, ro := e.org(t, owner, "Busy")
			const n = 20
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(2)
				go func() {
					defer wg.Done()
					_, err := e.as(owner).Invite(ctx, membership.Invite{OrganizationID: org.ID, UserEmail: fmt.Sprintf("u%d@example.com", i), RoleID: ro.ID})
					if err != nil && !errors.Is(err, fault.ErrLimitReached) {
						t.Errorf("invite %d: %v", i, err)
					}
				}()
				go func() {
					defer wg.Done()
					_, err := e.as(owner).CreateOrganization(ctx, organization.Create{Name: fmt.Sprintf("Org %d", i)})
					if err != nil && !errors.Is(err, fault.ErrLimitReached) {
						t.Errorf("create %d: %v", i, err)
					}
				}()
			}
			wg.Wait()
			if got := e.count(t, "provisioning_memberships", "organization_id = ?", org.ID); got != 5 {
				t.Errorf("%d memberships, want the limit, 5", got)
			}
			if got := e.count(t, "provisioning_organizations", "1 = 1"); got != 3 {
				t.Errorf("%d organizations, want the limit, 3", got)
			}
		})
	}
}
