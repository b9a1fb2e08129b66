package provisioning_test

import (
	"context"
	"testing"

	"github.com/uptrace/bun"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/profile"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/user"
)

// world is one organization with a member of each kind, and a stranger who
// owns another organization.
type world struct {
	*env
	org                                  *organization.Organization
	admin, readOnly, custom              *role.Role
	owner, adminUser, reader, customUser *user.User
	stranger, pendingUser                *user.User
	readerMembership, customMembership   *membership.Membership
	pendingMembership, adminMembership   *membership.Membership
	profile                              *profile.Profile
	permission                           *role.Permission
	otherOrg                             *organization.Organization
}

func newWorld(t testing.TB) *world {
	t.Helper()
	return worldIn(t, newEnv(t))
}

// newWorldOn is newWorld on db.
func newWorldOn(t testing.TB, db *bun.DB) *world {
	t.Helper()
	return worldIn(t, newEnvOn(t, db))
}

// worldIn builds the world's fixtures in e.
func worldIn(t testing.TB, e *env) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{env: e}
	w.owner = w.user(t, "owner@example.com")
	w.org, w.admin, w.readOnly = w.env.org(t, w.owner, "Acme")
	own := w.as(w.owner)
	var err error
	w.custom, err = own.CreateRole(ctx, role.Create{OrganizationID: w.org.ID, Name: "Order clerk"})
	if err != nil {
		t.Fatal(err)
	}
	w.permission, err = own.CreatePermission(ctx, role.PermissionCreate{RoleID: w.custom.ID, Subject: "orders", CanRead: true, CanUpdate: true})
	if err != nil {
		t.Fatal(err)
	}
	w.adminUser = w.user(t, "admin@example.com")
	w.reader = w.user(t, "reader@example.com")
	w.customUser = w.user(t, "clerk@example.com")
	w.adminMembership = w.member(t, own, w.org.ID, w.adminUser, w.admin.ID)
	w.readerMembership = w.member(t, own, w.org.ID, w.reader, w.readOnly.ID)
	w.customMembership = w.member(t, own, w.org.ID, w.customUser, w.custom.ID)
	w.pendingMembership, err = own.Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: "pending@example.com", RoleID: w.readOnly.ID})
	if err != nil {
		t.Fatal(err)
	}
	// The invitee signs up but does not accept: the membership stays pending.
	w.pendingUser = w.user(t, "pending@example.com")
	w.profile, err = own.CreateProfile(ctx, profile.Create{OrganizationID: w.org.ID, Name: "Testers", AccessScope: access.TestAccess})
	if err != nil {
		t.Fatal(err)
	}
	w.stranger = w.user(t, "stranger@example.com")
	w.otherOrg, _, _ = w.env.org(t, w.stranger, "Other")
	return w
}

// tables lists the rows that tell whether a refused call changed anything.
var tables = []string{"provisioning_organizations", "provisioning_memberships", "provisioning_roles",
	"provisioning_permissions", "provisioning_membership_profiles", "provisioning_versions", "provisioning_users"}

func (e *env) fingerprint(t testing.TB) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, tbl := range tables {
		out[tbl] = e.count(t, tbl, "1 = 1")
	}
	out["updated"] = e.count(t, "provisioning_memberships", "updated_at > created_at")
	return out
}

type actor string

const (
	byOwner    actor = "owner"
	byAdmin    actor = "admin"
	byReader   actor = "read_only"
	byCustom   actor = "custom"
	byPending  actor = "pending"
	byStranger actor = "stranger"
	byNobody   actor = "unauthenticated"
)

func (w *world) session(a actor) *provisioning.Session {
	switch a {
	case byOwner:
		return w.as(w.owner)
	case byAdmin:
		return w.as(w.adminUser)
	case byReader:
		return w.as(w.reader)
	case byCustom:
		return w.as(w.customUser)
	case byPending:
		return w.as(w.pendingUser)
	case byStranger:
		return w.as(w.stranger)
	}
	return w.p.As(provisioning.Principal{})
}

// outcome is the expected error kind; ok means success.
type outcome = fault.Kind

const ok = fault.Kind(255)

// TestAuthorization checks each operation for each actor: admins manage
// memberships, profiles, roles and permissions; members read; strangers and
// pending invitees see nothing (not found, not forbidden); a refused call
// changes nothing.
func TestAuthorization(t *testing.T) {
	ctx := context.Background()
	yes := true
	type op func(s *provisioning.Session, w *world) error
	tests := []struct {
		giveOp string
		give   op
		want   map[actor]outcome
	}{
		{"GetOrganization", func(s *provisioning.Session, w *world) error { _, err := s.GetOrganization(ctx, w.org.ID); return err },
			map[actor]outcome{byOwner: ok, byAdmin: ok, byReader: ok, byCustom: ok, byPending: fault.NotFound, byStranger: fault.NotFound, byNobody: fault.Unauthenticated}},
		{"UpdateOrganization", func(s *provisioning.Session, w *world) error {
			n := "Renamed"
			_, err := s.UpdateOrganization(ctx, w.org.ID, organization.Update{Name: &n})
			return err
		}, map[actor]outcome{byOwner: ok, byAdmin: ok, byReader: fault.Forbidden, byCustom: fault.Forbidden, byPending: fault.NotFound, byStranger: fault.NotFound, byNobody: fault.Unauthenticated}},
		{"Invite", func(s *provisioning.Session, w *world) error {
			_, err := s.Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: "x@example.com", RoleID: w.readOnly.ID})
			return err
		}, map[actor]outcome{byOwner: ok, byAdmin: ok, byReader: fault.Forbidden, byCustom: fault.Forbidden, byPending: fault.NotFound, byStranger: fault.NotFound, byNobody: fault.Unauthenticated}},
		{"InviteAdmin", func(s *provisioning.Session, w *world) error {
			_, err := s.Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: "x@example.com", RoleID: w.admin.ID})
			return err
		}, map[actor]outcome{byOwner: ok, byAdmin: fault.Forbidden, byReader: fault.Forbidden, byCustom: fault.Forbidden, byPending: fault.NotFound, byStranger: fault.NotFound, byNobody: fault.Unauthenticated}},
		{"GetMembership", func(s *provisioning.Session, w *world) error {
			_, err := s.GetMembership(ctx, w.readerMembership.ID)
			return err
		},
			map[actor]outcome{byOwner: ok, byAdmin: ok, byReader: ok, byCustom: ok, byPending: fault.NotFound, byStranger: fault.NotFound, byNobody: fault.Unauthenticated}},
		{"ListMemberships", func(s *provisioning.Session, w *world) error {
			_, err := s.ListMemberships(ctx, membership.Filter{OrganizationID: w.org.ID})
			return err
		}, map[actor]outcome{byOwner: ok, byAdmin: ok, byReader: ok, byCustom: ok, byPending: fault.NotFound, byStranger: fault.NotFound, byNobody: fault.Unauthenticated}},
		{"UpdateMembership", func(s *provisioning.Session, w *world) error {
			scope := access.AllAccess
			_, err := s.UpdateMembership(ctx, w.customMembership.ID, membership.Update{AccessScope: &scope})
			return err
		}, map[actor]outcome{byOwner: ok, byAdmin: ok, byReader: fault.Forbidden, byCustom: fault.Forbidden, byPending: fault.NotFound, byStranger: fault.NotFound, byNobody: fault.Unauthenticated}},
		{"PromoteToAdmin", func(s *provisioning.Session, w *world) error {
			_, err := s.UpdateMembership(ctx, w.readerMembership.ID, membership.Update{RoleID: &w.admin.ID})
			return err
		}, map[actor]outcome{byOwner: ok, byAdmin: fault.Forbidden, byReader: fault.Forbidden, byCustom: fault.Forbidden, byPending: fault.NotFound, byStranger: fault.NotFound, byNobody: fault.Unauthenticated}},
		{"DeleteOthersMembership", func(s *provisioning.Session, w *world) error { return s.DeleteMembership(ctx, w.readerMembership.ID) },
			map[actor]outcome{byOwner: ok, byAdmin: ok, byReader: ok /* their own */, byCustom: fault.Forbidden, byPending: fault.NotFound, byStranger: fault.NotFound, byNobody: fault.Unauthenticated}},
		{"DeleteOwnersMembership", func(s *provisioning.Session, w *world) error { return s.DeleteMembership(ctx, w.org.OwnerMembershipID) },
			map[actor]outcome{byOwner: fault.Conflict, byAdmin: fault.Conflict, byReader: fault.Forbidden, byCustom: fault.Forbidden, byPending: fault.NotFound, byStranger: fault.NotFound, byNobody: fault.Unauthenticated}},
		{"ResendInvitation", func(s *provisioning.Session, w *world) error { return s.ResendInvitation(ctx, w.pendingMembership.ID) },
			map[actor]outcome{byOwner: ok, byAdmin: ok, byReader: fault.Forbidden, byCustom: fault.Forbidden, byPending: fault.NotFound, byStranger: fault.NotFound, byNobody: fault.Unauthenticated}},
		{"TransferOwnership", func(s *provisioning.Session, w *world) error {
			return s.TransferOwnership(ctx, w.org.ID, w.adminUser.Email)
		},
			map[actor]outcome{byOwner: ok, byAdmin: fault.Forbidden, byReader: fault.Forbidden, byCustom: fault.Forbidden, byPending: fault.NotFound, byStranger: fault.NotFound, byNobody: fault.Unauthenticated}},
		{"CreateProfile", func(s *provisioning.Session, w *world) error {
			_, err := s.CreateProfile(ctx, profile.Create{OrganizationID: w.org.ID, Name: "P", AccessScope: access.LiveAccess})
			return err
		}, map[actor]outcome{byOwner: ok, byAdmin: ok, byReader: fault.Forbidden, byCustom: fault.Forbidden, byPending: fault.NotFound, byStranger: fault.NotFound, byNobody: fault.Unauthenticated}},
		{"GetProfile", func(s *provisioning.Session, w *world) error { _, err := s.GetProfile(ctx, w.profile.ID); return err },
			map[actor]outcome{byOwner: ok, byAdmin: ok, byReader: ok, byCustom: ok, byPending: fault.NotFound, byStranger: fault.NotFound, byNobody: fault.Unauthenticated}},
		{"UpdateProfile", func(s *provisioning.Session, w *world) error {
			n := "Q"
			_, err := s.UpdateProfile(ctx, w.profile.ID, profile.Update{Name: &n})
			return err
		}, map[actor]outcome{byOwner: ok, byAdmin: ok, byReader: fault.Forbidden, byCustom: fault.Forbidden, byPending: fault.NotFound, byStranger: fault.NotFound, byNobody: fault.Unauthenticated}},
		{"DeleteProfile", func(s *provisioning.Session, w *world) error { return s.DeleteProfile(ctx, w.profile.ID) },
			map[actor]outcome{byOwner: ok, byAdmin: ok, byReader: fault.Forbidden, byCustom: fault.Forbidden, byPending: fault.NotFound, byStranger: fault.NotFound, byNobody: fault.Unauthenticated}},
		{"CreateRole", func(s *provisioning.Session, w *world) error {
			_, err := s.CreateRole(ctx, role.Create{OrganizationID: w.org.ID, Name: "R"})
			return err
		}, map[actor]outcome{byOwner: ok, byAdmin: ok, byReader: fault.Forbidden, byCustom: fault.Forbidden, byPending: fault.NotFound, byStranger: fault.NotFound, byNobody: fault.Unauthenticated}},
		{"GetRole", func(s *provisioning.Session, w *world) error { _, err := s.GetRole(ctx, w.custom.ID); return err },
			map[actor]outcome{byOwner: ok, byAdmin: ok, byReader: ok, byCustom: ok, byPending: fault.NotFound, byStranger: fault.NotFound, byNobody: fault.Unauthenticated}},
		{"UpdateRole", func(s *provisioning.Session, w *world) error {
			n := "R2"
			_, err := s.UpdateRole(ctx, w.custom.ID, role.Update{Name: &n})
			return err
		}, map[actor]outcome{byOwner: ok, byAdmin: ok, byReader: fault.Forbidden, byCustom: fault.Forbidden, byPending: fault.NotFound, byStranger: fault.NotFound, byNobody: fault.Unauthenticated}},
		{"CreatePermission", func(s *provisioning.Session, w *world) error {
			_, err := s.CreatePermission(ctx, role.PermissionCreate{RoleID: w.custom.ID, Subject: "skus", CanRead: true})
			return err
		}, map[actor]outcome{byOwner: ok, byAdmin: ok, byReader: fault.Forbidden, byCustom: fault.Forbidden, byPending: fault.Invalid, byStranger: fault.Invalid, byNobody: fault.Unauthenticated}},
		{"UpdatePermission", func(s *provisioning.Session, w *world) error {
			_, err := s.UpdatePermission(ctx, w.permission.ID, role.PermissionUpdate{CanDestroy: &yes})
			return err
		}, map[actor]outcome{byOwner: ok, byAdmin: ok, byReader: fault.Forbidden, byCustom: fault.Forbidden, byPending: fault.NotFound, byStranger: fault.NotFound, byNobody: fault.Unauthenticated}},
		{"GetPermission", func(s *provisioning.Session, w *world) error {
			_, err := s.GetPermission(ctx, w.permission.ID)
			return err
		},
			map[actor]outcome{byOwner: ok, byAdmin: ok, byReader: ok, byCustom: ok, byPending: fault.NotFound, byStranger: fault.NotFound, byNobody: fault.Unauthenticated}},
		{"ListVersions", func(s *provisioning.Session, w *world) error {
			_, err := s.ListVersions(ctx, audit.Filter{OrganizationID: w.org.ID})
			return err
		}, map[actor]outcome{byOwner: ok, byAdmin: ok, byReader: ok, byCustom: fault.Forbidden, byPending: fault.NotFound, byStranger: fault.NotFound, byNobody: fault.Unauthenticated}},
	}
	for _, tt := range tests {
		for _, a := range []actor{byOwner, byAdmin, byReader, byCustom, byPending, byStranger, byNobody} {
			t.Run(tt.giveOp+"/"+string(a), func(t *testing.T) {
				w := newWorld(t)
				before := w.fingerprint(t)
				err := tt.give(w.session(a), w)
				want := tt.want[a]
				if got := kindOrOK(err); got != want {
					t.Fatalf("%s as %s: got %s (%v), want %s", tt.giveOp, a, kindName(got), err, kindName(want))
				}
				if want != ok {
					assertUnchanged(t, w.env, before)
				}
			})
		}
	}
}

func kindOrOK(err error) fault.Kind {
	if err == nil {
		return ok
	}
	return fault.KindOf(err)
}

func kindName(k fault.Kind) string {
	if k == ok {
		return "success"
	}
	return k.String()
}

func assertUnchanged(t testing.TB, e *env, before map[string]int) {
	t.Helper()
	after := e.fingerprint(t)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("refused call changed %s: %d rows, was %d", k, after[k], v)
		}
	}
}
