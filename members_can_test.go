package provisioning_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/storage/storagetest"
	"github.com/provisionkit/provisioning/user"
)

// rightsAsks are the questions TestMembersCan and TestRolesCan ask.
var rightsAsks = []access.Grant{{Subject: "memberships", Action: "read"}, {Subject: "memberships", Action: "create"},
	{Subject: "orders", Action: "update"}, {Subject: "versions", Action: "read"}}

// eachRightsWorld runs test on every backend, in an organization "Acme"
// of owner, with its admin and read_only roles.
func eachRightsWorld(t *testing.T, test func(t *testing.T, e *env, owner *user.User, org *organization.Organization, admin, ro *role.Role)) {
	for name, open := range storagetest.Backends() {
		t.Run(name, func(t *testing.T) {
			e := newEnvOn(t, open(t))
			owner := e.user(t, "owner@example.com")
			org, admin, ro := e.org(t, owner, "Acme")
			test(t, e, owner, org, admin, ro)
		})
	}
}

// TestMembersCan checks the members' rights by policy on every backend:
// roles, direct permissions and the guest's denial decide, the request
// facts a membership requires (a second factor, an address) do not, and an
// expired membership, a non-member and a malformed id allow nothing.
func TestMembersCan(t *testing.T) {
	ctx := context.Background()
	eachRightsWorld(t, func(t *testing.T, e *env, owner *user.User, org *organization.Organization, admin, ro *role.Role) {
		own := e.as(owner)
		yes, soon := true, e.clock.Now().Add(time.Hour)
		add := func(email, roleID string, u membership.Update) string {
			usr := e.user(t, email)
			m := e.member(t, own, org.ID, usr, roleID)
			if _, err := own.UpdateMembership(ctx, m.ID, u); err != nil {
				t.Fatal(err)
			}
			return usr.ID
		}
		perms := []string{"orders:update"}
		ips := []string{"8.8.8.8"}
		reader := add("reader@example.com", ro.ID, membership.Update{})
		fenced := add("fenced@example.com", ro.ID, membership.Update{Permissions: &perms, MFARequired: &yes, AllowedIPs: &ips})
		guest := add("guest@example.com", admin.ID, membership.Update{Guest: &yes})
		expiring := add("expiring@example.com", admin.ID, membership.Update{ExpiresAt: &soon})
		stranger := e.user(t, "stranger@example.com")
		e.clock.Advance(2 * time.Hour)

		got, err := own.MembersCan(ctx, org.ID, []string{owner.ID, reader, fenced, guest, expiring, stranger.ID, "Not An Id"}, rightsAsks)
		want := [][]bool{
			{true, true, true, true},     // the owner
			{true, false, false, true},   // read_only reads everything
			{true, false, true, true},    // its direct permission, whatever its facts
			{true, false, true, true},    // a guest admin: all but writes of the library's own subjects
			{false, false, false, false}, // expired
			{false, false, false, false}, // not a member
			{false, false, false, false}, // malformed
		}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("MembersCan = %v, %v; want %v", got, err, want)
		}
		if _, err := e.as(stranger).MembersCan(ctx, org.ID, []string{owner.ID}, rightsAsks); !errors.Is(err, fault.ErrNotFound) && !errors.Is(err, fault.ErrForbidden) {
			t.Errorf("a non-member asks: %v; want not found or forbidden", err)
		}
		if _, err := own.MembersCan(ctx, org.ID, []string{owner.ID}, []access.Grant{{Subject: "nosuch", Action: "read"}}); !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("an unregistered subject: %v; want invalid", err)
		}
		if _, err := own.MembersCan(ctx, org.ID, []string{owner.ID}, []access.Grant{{Subject: "orders", Action: "*"}}); !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("a wildcard action: %v; want invalid", err)
		}
	})
}

// TestRolesCan checks what roles allow by their own lines on every
// backend: an admin role everything, a read_only role every read, a custom
// role its permissions only (not the reads every member has), a role of
// another organization nothing.
func TestRolesCan(t *testing.T) {
	ctx := context.Background()
	eachRightsWorld(t, func(t *testing.T, e *env, owner *user.User, org *organization.Organization, admin, ro *role.Role) {
		_, otherAdmin, _ := e.org(t, e.user(t, "other@example.com"), "Other")
		own := e.as(owner)
		custom, err := own.CreateRole(ctx, role.Create{OrganizationID: org.ID, Name: "Orders"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := own.CreatePermission(ctx, role.PermissionCreate{RoleID: custom.ID, Subject: "orders", CanUpdate: true}); err != nil {
			t.Fatal(err)
		}
		got, err := own.RolesCan(ctx, org.ID, []string{admin.ID, ro.ID, custom.ID, otherAdmin.ID, "Not An Id"}, rightsAsks)
		want := [][]bool{
			{true, true, true, true},
			{true, false, false, true},
			{false, false, true, false},
			{false, false, false, false},
			{false, false, false, false},
		}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("RolesCan = %v, %v; want %v", got, err, want)
		}
		if _, err := own.RolesCan(ctx, org.ID, []string{ro.ID}, []access.Grant{{Subject: "nosuch", Action: "read"}}); !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("an unregistered subject: %v; want invalid", err)
		}
	})
}
