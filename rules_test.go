package provisioning_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/profile"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

func TestCreateOrganizationSideEffects(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	owner := e.user(t, "owner@example.com")
	org, admin, ro := e.org(t, owner, "Blue")
	m, err := e.as(owner).GetMembership(ctx, org.OwnerMembershipID)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Owner || m.Status != membership.Active || m.RoleID != admin.ID || m.UserID != owner.ID {
		t.Fatalf("owner membership: %+v", m)
	}
	if admin.Kind != role.KindAdmin || ro.Kind != role.KindReadOnly {
		t.Fatalf("roles: %s %s", admin.Kind, ro.Kind)
	}
	if n := e.count(t, "provisioning_roles", "organization_id = ?", org.ID); n != 2 {
		t.Fatalf("%d roles, want 2", n)
	}
}

func TestSlugsAreDerivedAndUnique(t *testing.T) {
	e := newEnv(t)
	owner := e.user(t, "owner@example.com")
	tests := []struct{ giveName, wantSlug string }{
		{"The Blue Brand", "the-blue-brand"},
		{"the blue brand!", "the-blue-brand-2"},
		{"THE  BLUE  BRAND", "the-blue-brand-3"},
		{"Café Crème", "cafe-creme"},
		{"the-blue-brand-2", "the-blue-brand-2-2"},
	}
	for _, tt := range tests {
		o, _, _ := e.org(t, owner, tt.giveName)
		if o.Slug != tt.wantSlug || o.Domain != tt.wantSlug+organization.DomainSuffix {
			t.Errorf("name %q: slug %q domain %q, want %q", tt.giveName, o.Slug, o.Domain, tt.wantSlug)
		}
	}
}

func TestOrganizationsCannotBeDeleted(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeOf(&provisioning.Session{}), reflect.TypeOf(&provisioning.System{})} {
		for i := 0; i < typ.NumMethod(); i++ {
			name := typ.Method(i).Name
			if strings.HasPrefix(name, "Delete") && (strings.Contains(name, "Organization") || strings.Contains(name, "Role") ||
				strings.Contains(name, "Permission") || strings.Contains(name, "Version")) {
				t.Errorf("%s has %s: organizations, roles, permissions and versions are never deleted", typ, name)
			}
		}
	}
}

func TestInviteStatusDependsOnExistingUser(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	owner := e.user(t, "owner@example.com")
	org, _, ro := e.org(t, owner, "Blue")
	existing := e.user(t, "known@example.com")
	tests := []struct {
		giveEmail  string
		wantStatus membership.Status
		wantUser   string
		wantToken  bool
	}{
		{"known@example.com", membership.Active, existing.ID, false},
		{"unknown@example.com", membership.Pending, "", true},
	}
	for _, tt := range tests {
		m, err := e.as(owner).Invite(ctx, membership.Invite{OrganizationID: org.ID, UserEmail: tt.giveEmail, RoleID: ro.ID})
		if err != nil {
			t.Fatal(err)
		}
		inv := e.mail.last(t)
		if m.Status != tt.wantStatus || m.UserID != tt.wantUser || (inv.Token != "") != tt.wantToken || inv.MembershipID != m.ID {
			t.Errorf("%s: status %s user %q token %v", tt.giveEmail, m.Status, m.UserID, inv.Token != "")
		}
	}
}

func TestOneMembershipPerOrganizationAndEmail(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	owner := e.user(t, "owner@example.com")
	org, _, ro := e.org(t, owner, "Blue")
	if _, err := e.as(owner).Invite(ctx, membership.Invite{OrganizationID: org.ID, UserEmail: "dup@example.com", RoleID: ro.ID}); err != nil {
		t.Fatal(err)
	}
	sent := e.mail.count()
	for _, give := range []string{"dup@example.com", "DUP@Example.COM", " dup@example.com", "owner@EXAMPLE.com"} {
		before := e.fingerprint(t)
		_, err := e.as(owner).Invite(ctx, membership.Invite{OrganizationID: org.ID, UserEmail: give, RoleID: ro.ID})
		var fe *fault.Error
		if !errors.Is(err, fault.ErrAlreadyExists) || !errors.As(err, &fe) || fe.Field != "user_email" {
			t.Errorf("invite %q again: %v, want ErrAlreadyExists on user_email", give, err)
		}
		assertUnchanged(t, e, before)
	}
	if e.mail.count() != sent {
		t.Errorf("a refused invitation was notified")
	}
}

func TestAcceptInvitation(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		giveName  string
		giveEmail string        // the accepting user's email
		giveWait  time.Duration // time between invitation and acceptance
		giveToken func(real string) string
		wantErr   error
	}{
		{"valid", "in@example.com", time.Hour, func(s string) string { return s }, nil},
		{"just before expiry", "in@example.com", 7*24*time.Hour - time.Second, func(s string) string { return s }, nil},
		{"expired", "in@example.com", 7*24*time.Hour + time.Second, func(s string) string { return s }, fault.ErrInvitationInvalid},
		{"other email", "other@example.com", time.Hour, func(s string) string { return s }, fault.ErrInvitationInvalid},
		{"tampered", "in@example.com", time.Hour, tamper, fault.ErrInvitationInvalid},
		{"empty", "in@example.com", time.Hour, func(string) string { return "" }, fault.ErrInvitationInvalid},
		{"huge", "in@example.com", time.Hour, func(string) string { return strings.Repeat("a", 10000) }, fault.ErrInvitationInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.giveName, func(t *testing.T) {
			e := newEnv(t)
			owner := e.user(t, "owner@example.com")
			org, _, ro := e.org(t, owner, "Blue")
			m, err := e.as(owner).Invite(ctx, membership.Invite{OrganizationID: org.ID, UserEmail: "IN@example.com", RoleID: ro.ID})
			if err != nil {
				t.Fatal(err)
			}
			token := e.mail.last(t).Token
			u := e.user(t, tt.giveEmail)
			e.clock.Advance(tt.giveWait)
			before := e.fingerprint(t)
			got, err := e.as(u).AcceptInvitation(ctx, tt.giveToken(token))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("accept: %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				assertUnchanged(t, e, before)
				return
			}
			if got.ID != m.ID || got.Status != membership.Active || got.UserID != u.ID {
				t.Fatalf("accepted: %+v", got)
			}
		})
	}
}

// tamper changes the last character of a token (always to another one).
func tamper(token string) string {
	last := byte('A')
	if token[len(token)-1] == last {
		last = 'B'
	}
	return token[:len(token)-1] + string(last)
}

func TestResendOnlyPendingAndReplacesToken(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	owner := e.user(t, "owner@example.com")
	org, _, ro := e.org(t, owner, "Blue")
	m, err := e.as(owner).Invite(ctx, membership.Invite{OrganizationID: org.ID, UserEmail: "in@example.com", RoleID: ro.ID})
	if err != nil {
		t.Fatal(err)
	}
	first := e.mail.last(t).Token
	if err := e.as(owner).ResendInvitation(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	second := e.mail.last(t)
	if !second.Resent || second.Token == first || second.Email != "in@example.com" {
		t.Fatalf("resent invitation: %+v", second)
	}
	u := e.user(t, "in@example.com")
	if _, err := e.as(u).AcceptInvitation(ctx, first); !errors.Is(err, fault.ErrInvitationInvalid) {
		t.Fatalf("old token after resend: %v, want ErrInvitationInvalid", err)
	}
	if _, err := e.as(u).AcceptInvitation(ctx, second.Token); err != nil {
		t.Fatal(err)
	}
	before := e.fingerprint(t)
	for _, id := range []string{m.ID, org.OwnerMembershipID} {
		if err := e.as(owner).ResendInvitation(ctx, id); !errors.Is(err, fault.ErrNotPending) {
			t.Errorf("resend of active membership: %v, want ErrNotPending", err)
		}
	}
	assertUnchanged(t, e, before)
}

func TestAcceptPendingInvitations(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	owner := e.user(t, "owner@example.com")
	var orgs []string
	for _, name := range []string{"A", "B", "C"} {
		o, _, ro := e.org(t, owner, name)
		orgs = append(orgs, o.ID)
		if _, err := e.as(owner).Invite(ctx, membership.Invite{OrganizationID: o.ID, UserEmail: "many@example.com", RoleID: ro.ID}); err != nil {
			t.Fatal(err)
		}
	}
	u := e.user(t, "Many@Example.com")
	got, err := e.as(u).AcceptPendingInvitations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("accepted %d, want 3", len(got))
	}
	page, err := e.as(u).ListOrganizations(ctx, organization.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, o := range page.Items {
		seen = append(seen, o.ID)
	}
	if !slices.Equal(seen, orgs) {
		t.Fatalf("user sees organizations %v, want %v", seen, orgs)
	}
}

func TestTransferOwnership(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	tests := []struct {
		giveEmail string
		wantErr   error
		wantField string
	}{
		{"pending@example.com", fault.ErrInvalid, "new_owner_email"},
		{"nobody@example.com", fault.ErrInvalid, "new_owner_email"},
		{"owner@example.com", fault.ErrInvalid, "new_owner_email"},
		{"not an email", fault.ErrInvalid, "new_owner_email"},
	}
	for _, tt := range tests {
		before := w.fingerprint(t)
		err := w.as(w.owner).TransferOwnership(ctx, w.org.ID, tt.giveEmail)
		var ve *fault.ValidationError
		if !errors.Is(err, tt.wantErr) || !errors.As(err, &ve) || !ve.Has(tt.wantField) {
			t.Errorf("transfer to %q: %v, want %v on %s", tt.giveEmail, err, tt.wantErr, tt.wantField)
		}
		assertUnchanged(t, w.env, before)
	}
	// To a read-only member: they become owner with the admin role; the old owner keeps theirs.
	if err := w.as(w.owner).TransferOwnership(ctx, w.org.ID, "READER@example.com"); err != nil {
		t.Fatal(err)
	}
	newOwner, err := w.as(w.reader).GetMembership(ctx, w.readerMembership.ID)
	if err != nil {
		t.Fatal(err)
	}
	oldOwner, err := w.as(w.reader).GetMembership(ctx, w.org.OwnerMembershipID)
	if err != nil {
		t.Fatal(err)
	}
	if !newOwner.Owner || newOwner.RoleID != w.admin.ID || oldOwner.Owner || oldOwner.RoleID != w.admin.ID {
		t.Fatalf("after transfer: new %+v old %+v", newOwner, oldOwner)
	}
	// The former owner is no longer the owner: they cannot transfer again, and can now leave.
	if err := w.as(w.owner).TransferOwnership(ctx, w.org.ID, w.adminUser.Email); !errors.Is(err, fault.ErrForbidden) {
		t.Fatalf("former owner transfers: %v, want forbidden", err)
	}
	if err := w.as(w.owner).DeleteMembership(ctx, oldOwner.ID); err != nil {
		t.Fatalf("former owner leaves: %v", err)
	}
	if err := w.as(w.reader).DeleteMembership(ctx, newOwner.ID); !errors.Is(err, fault.ErrLastOwner) {
		t.Fatalf("new owner deletes own membership: %v, want ErrLastOwner", err)
	}
}

func TestOwnerKeepsAdminRole(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	before := w.fingerprint(t)
	for _, r := range []*role.Role{w.readOnly, w.custom} {
		_, err := w.as(w.owner).UpdateMembership(ctx, w.org.OwnerMembershipID, membership.Update{RoleID: &r.ID})
		if !errors.Is(err, fault.ErrLastOwner) {
			t.Errorf("demote owner to %s: %v, want ErrLastOwner", r.Kind, err)
		}
	}
	assertUnchanged(t, w.env, before)
}

func TestEffectiveAccessScopeFollowsProfile(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	own := w.as(w.owner)
	live := access.LiveAccess
	if _, err := own.UpdateMembership(ctx, w.readerMembership.ID, membership.Update{AccessScope: &live, ProfileID: &w.profile.ID}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		giveProfileScope access.Scope
		wantScope        access.Scope
		wantTest         bool
	}{
		{access.TestAccess, access.TestAccess, true},
		{access.AllAccess, access.AllAccess, true},
		{access.LiveAccess, access.LiveAccess, false},
	}
	for _, tt := range tests {
		scope := tt.giveProfileScope
		if _, err := own.UpdateProfile(ctx, w.profile.ID, profile.Update{AccessScope: &scope}); err != nil {
			t.Fatal(err)
		}
		m, err := own.GetMembership(ctx, w.readerMembership.ID)
		if err != nil {
			t.Fatal(err)
		}
		if m.EffectiveAccessScope() != tt.wantScope || m.TestEnabled() != tt.wantTest || m.AccessScope != access.LiveAccess {
			t.Errorf("profile %s: effective %s test %v own %s", tt.giveProfileScope, m.EffectiveAccessScope(), m.TestEnabled(), m.AccessScope)
		}
	}
	// Unlinking the profile brings the member's own scope back.
	none := ""
	m, err := own.UpdateMembership(ctx, w.readerMembership.ID, membership.Update{ProfileID: &none})
	if err != nil {
		t.Fatal(err)
	}
	if m.EffectiveAccessScope() != access.LiveAccess || m.ProfileID != "" {
		t.Fatalf("after unlink: %+v", m)
	}
	if err := own.DeleteProfile(ctx, w.profile.ID); err != nil {
		t.Fatalf("delete unused profile: %v", err)
	}
}

func TestProfileInUseCannotBeDeleted(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	if _, err := w.as(w.owner).UpdateMembership(ctx, w.readerMembership.ID, membership.Update{ProfileID: &w.profile.ID}); err != nil {
		t.Fatal(err)
	}
	before := w.fingerprint(t)
	if err := w.as(w.owner).DeleteProfile(ctx, w.profile.ID); !errors.Is(err, fault.ErrInUse) {
		t.Fatalf("delete profile in use: %v, want ErrInUse", err)
	}
	assertUnchanged(t, w.env, before)
}

func TestRolesAndPermissions(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	own := w.as(w.owner)
	r, err := own.CreateRole(ctx, role.Create{OrganizationID: w.org.ID, Name: "Viewer"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != role.KindCustom {
		t.Fatalf("API-created role kind %s, want custom", r.Kind)
	}
	tests := []struct {
		giveName string
		give     role.PermissionCreate
		wantErr  error
		wantFld  string
	}{
		{"duplicate subject", role.PermissionCreate{RoleID: w.custom.ID, Subject: "orders"}, fault.ErrAlreadyExists, "subject"},
		{"unknown subject", role.PermissionCreate{RoleID: r.ID, Subject: "spaceships"}, fault.ErrInvalid, "subject"},
		{"admin role", role.PermissionCreate{RoleID: w.admin.ID, Subject: "orders"}, fault.ErrInvalid, "role"},
		{"read_only role", role.PermissionCreate{RoleID: w.readOnly.ID, Subject: "orders"}, fault.ErrInvalid, "role"},
		{"other organization's role", role.PermissionCreate{RoleID: mustRole(t, w, w.otherOrg.ID), Subject: "orders"}, fault.ErrInvalid, "role"},
		{"missing role", role.PermissionCreate{Subject: "orders"}, fault.ErrInvalid, "role"},
	}
	for _, tt := range tests {
		before := w.fingerprint(t)
		_, err := own.CreatePermission(ctx, tt.give)
		if !errors.Is(err, tt.wantErr) || !fieldIs(err, tt.wantFld) {
			t.Errorf("%s: %v, want %v on %s", tt.giveName, err, tt.wantErr, tt.wantFld)
		}
		assertUnchanged(t, w.env, before)
	}
}

func mustRole(t testing.TB, w *world, orgID string) string {
	t.Helper()
	r, err := w.store.Roles().RoleOfKind(context.Background(), orgID, role.KindAdmin)
	if err != nil {
		t.Fatal(err)
	}
	return r.ID
}

// fieldIs reports whether err names field, as a validation error or a taken unique key.
func fieldIs(err error, field string) bool {
	var ve *fault.ValidationError
	if errors.As(err, &ve) {
		return ve.Has(field)
	}
	var fe *fault.Error
	return errors.As(err, &fe) && fe.Field == field
}

func TestNoEscalation(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	own := w.as(w.owner)
	// A delegate role may invite members and grant permissions, and read orders.
	delegate, err := own.CreateRole(ctx, role.Create{OrganizationID: w.org.ID, Name: "Delegate"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []role.PermissionCreate{
		{RoleID: delegate.ID, Subject: "memberships", CanCreate: true, CanRead: true},
		{RoleID: delegate.ID, Subject: "permissions", CanCreate: true, CanUpdate: true, CanRead: true},
		{RoleID: delegate.ID, Subject: "orders", CanRead: true},
	} {
		if _, err := own.CreatePermission(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	du := w.user(t, "delegate@example.com")
	w.member(t, own, w.org.ID, du, delegate.ID)
	d := w.as(du)
	tests := []struct {
		giveName string
		give     func() error
		wantErr  error
	}{
		{"invite with own role", func() error {
			_, err := d.Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: "a@example.com", RoleID: delegate.ID})
			return err
		}, nil},
		{"invite read_only (reads everything)", func() error {
			_, err := d.Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: "b@example.com", RoleID: w.readOnly.ID})
			return err
		}, fault.ErrForbidden},
		{"invite with a role that updates orders", func() error {
			_, err := d.Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: "c@example.com", RoleID: w.custom.ID})
			return err
		}, fault.ErrForbidden},
		{"grant a right held", func() error {
			_, err := d.CreatePermission(ctx, role.PermissionCreate{RoleID: w.custom.ID, Subject: "permissions", CanRead: true})
			return err
		}, nil},
		{"grant a right not held", func() error {
			_, err := d.CreatePermission(ctx, role.PermissionCreate{RoleID: w.custom.ID, Subject: "skus", CanRead: true})
			return err
		}, fault.ErrForbidden},
		{"turn on a right not held", func() error {
			yes := true
			_, err := d.UpdatePermission(ctx, w.permission.ID, role.PermissionUpdate{CanDestroy: &yes})
			return err
		}, fault.ErrForbidden},
	}
	for _, tt := range tests {
		before := w.fingerprint(t)
		err := tt.give()
		if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", tt.giveName, err, tt.wantErr)
		}
		if tt.wantErr != nil {
			assertUnchanged(t, w.env, before)
		}
	}
}

func TestAddMissingBasePermissions(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	if _, err := w.as(w.owner).AddMissingBasePermissions(ctx, w.custom.ID); err != nil {
		t.Fatal(err)
	}
	want := len(w.p.Subjects().List())
	if n := w.count(t, "provisioning_permissions", "role_id = ?", w.custom.ID); n != want {
		t.Fatalf("%d permissions, want %d", n, want)
	}
	if n := w.count(t, "provisioning_permissions", "role_id = ? AND (can_create OR can_read OR can_update OR can_destroy)", w.custom.ID); n != 1 {
		t.Fatalf("%d permissions grant something, want only the original one", n)
	}
	if _, err := w.as(w.owner).AddMissingBasePermissions(ctx, w.admin.ID); err != nil {
		t.Fatal(err)
	}
	if n := w.count(t, "provisioning_permissions", "role_id = ?", w.admin.ID); n != 0 {
		t.Fatalf("admin role got %d permission rows", n)
	}
}

// TestUpdateRoleWithBasePermissions: the rename and the trigger are one
// transaction: both happen, or, refused, neither.
func TestUpdateRoleWithBasePermissions(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	own := w.as(w.owner)
	fresh, err := own.CreateRole(ctx, role.Create{OrganizationID: w.org.ID, Name: "Fresh"})
	if err != nil {
		t.Fatal(err)
	}
	// A manager who may update roles but not create permissions.
	mgrRole, err := own.CreateRole(ctx, role.Create{OrganizationID: w.org.ID, Name: "Role editor"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := own.CreatePermission(ctx, role.PermissionCreate{RoleID: mgrRole.ID, Subject: "roles", CanRead: true, CanUpdate: true}); err != nil {
		t.Fatal(err)
	}
	editor := w.user(t, "editor@example.com")
	w.member(t, own, w.org.ID, editor, mgrRole.ID)
	name := "Renamed"
	before := w.fingerprint(t)
	_, err = w.as(editor).UpdateRole(ctx, fresh.ID, role.Update{Name: &name, AddMissingBasePermissions: true})
	wantErr(t, "the trigger without the right to create permissions", err, fault.ErrForbidden)
	assertUnchanged(t, w.env, before)
	if _, err := w.as(editor).UpdateRole(ctx, fresh.ID, role.Update{Name: &name}); err != nil {
		t.Fatalf("the rename alone: %v", err)
	}
	got, err := own.UpdateRole(ctx, fresh.ID, role.Update{Name: &name, AddMissingBasePermissions: true})
	if err != nil || got.Name != name {
		t.Fatalf("rename and trigger: %v, %v", got, err)
	}
	if n := w.count(t, "provisioning_permissions", "role_id = ?", fresh.ID); n != len(w.p.Subjects().List()) {
		t.Errorf("%d permissions after the trigger, want one per subject", n)
	}
}

func TestCanForHostSubjects(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, provisioning.WithSubjects("projects"))
	owner := e.user(t, "owner@example.com")
	org, _, ro := e.org(t, owner, "Blue")
	reader := e.user(t, "reader@example.com")
	e.member(t, e.as(owner), org.ID, reader, ro.ID)
	stranger := e.user(t, "s@example.com")
	tests := []struct {
		giveWho  *provisioning.Session
		giveSubj string
		giveAct  role.Action
		want     bool
		wantErr  error
	}{
		{e.as(owner), "projects", role.ActionDestroy, true, nil},
		{e.as(reader), "projects", role.ActionRead, true, nil},
		{e.as(reader), "projects", role.ActionCreate, false, nil},
		{e.as(stranger), "projects", role.ActionRead, false, nil},
		{e.as(owner), "unregistered", role.ActionRead, false, fault.ErrInvalid},
		{e.as(owner), "projects", role.Action("fly"), false, fault.ErrInvalid},
	}
	for _, tt := range tests {
		got, err := tt.giveWho.Can(ctx, org.ID, tt.giveSubj, tt.giveAct)
		if got != tt.want || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
			t.Errorf("Can(%s, %s) = %v, %v; want %v, %v", tt.giveSubj, tt.giveAct, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestBadInputNamesTheFieldAndChangesNothing(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	own := w.as(w.owner)
	long := strings.Repeat("x", 300)
	bad := access.Scope("sometimes")
	tests := []struct {
		giveName  string
		give      func() error
		wantField string
	}{
		{"blank org name", func() error { _, err := own.CreateOrganization(ctx, organization.Create{Name: "  "}); return err }, "name"},
		{"long org name", func() error { _, err := own.CreateOrganization(ctx, organization.Create{Name: long}); return err }, "name"},
		{"bad color", func() error {
			_, err := own.CreateOrganization(ctx, organization.Create{Name: "X", PrimaryColor: "red"})
			return err
		}, "primary_color"},
		{"bad update url", func() error {
			u := "javascript:alert(1)"
			_, err := own.UpdateOrganization(ctx, w.org.ID, organization.Update{LogoURL: &u})
			return err
		}, "logo_url"},
		{"malformed email", func() error {
			_, err := own.Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: "Bob <bob@example.com>", RoleID: w.readOnly.ID})
			return err
		}, "user_email"},
		{"unknown access scope", func() error {
			_, err := own.Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: "n@example.com", RoleID: w.readOnly.ID, AccessScope: bad})
			return err
		}, "access_scope"},
		{"foreign role", func() error {
			_, err := own.Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: "n@example.com", RoleID: mustRole(t, w, w.otherOrg.ID)})
			return err
		}, "role"},
		{"unknown role", func() error {
			_, err := own.Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: "n@example.com", RoleID: "nope"})
			return err
		}, "role"},
		{"foreign profile", func() error {
			p, err := w.as(w.stranger).CreateProfile(ctx, profile.Create{OrganizationID: w.otherOrg.ID, Name: "P", AccessScope: access.LiveAccess})
			if err != nil {
				return err
			}
			before := w.fingerprint(t)
			_, err = own.UpdateMembership(ctx, w.readerMembership.ID, membership.Update{ProfileID: &p.ID})
			assertUnchanged(t, w.env, before)
			return err
		}, "membership_profile"},
		{"bad metadata", func() error {
			md := resource.Metadata{"": 1}
			_, err := own.UpdateMembership(ctx, w.readerMembership.ID, membership.Update{CommonUpdate: resource.CommonUpdate{Metadata: &md}})
			return err
		}, "metadata"},
		{"profile without scope", func() error {
			_, err := own.CreateProfile(ctx, profile.Create{OrganizationID: w.org.ID, Name: "P"})
			return err
		}, "access_scope"},
		{"role without name", func() error { _, err := own.CreateRole(ctx, role.Create{OrganizationID: w.org.ID}); return err }, "name"},
		// Without an organization a list runs across the caller's: what it
		// names of them must be ids, and not beside one organization.
		{"list across a malformed organization id", func() error {
			_, err := own.ListMemberships(ctx, membership.Filter{OrganizationIDs: []string{w.org.ID, "not an id"}})
			return err
		}, "organization_ids"},
		{"versions of an organization and a set", func() error {
			_, err := own.ListVersions(ctx, audit.Filter{OrganizationID: w.org.ID, OrganizationIDs: []string{w.org.ID}})
			return err
		}, "organization_ids"},
		{"reference with newline", func() error {
			ref := "a\nb"
			_, err := own.UpdateRole(ctx, w.custom.ID, role.Update{CommonUpdate: resource.CommonUpdate{Reference: &ref}})
			return err
		}, "reference"},
	}
	for _, tt := range tests {
		before := w.fingerprint(t)
		err := tt.give()
		var ve *fault.ValidationError
		if fault.KindOf(err) != fault.Invalid || !errors.As(err, &ve) || !ve.Has(tt.wantField) {
			t.Errorf("%s: %v (kind %s), want a validation error on %s", tt.giveName, err, fault.KindOf(err), tt.wantField)
			continue
		}
		if tt.giveName != "foreign profile" {
			assertUnchanged(t, w.env, before)
		}
	}
}

func TestEveryMutationWritesOneVersion(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	own := w.as(w.owner)
	n := "New name"
	scope := access.AllAccess
	yes := true
	tests := []struct {
		giveName string
		give     func() error
		wantType string
	}{
		{"update organization", func() error {
			_, err := own.UpdateOrganization(ctx, w.org.ID, organization.Update{Name: &n})
			return err
		}, "organizations"},
		{"invite", func() error {
			_, err := own.Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: "v@example.com", RoleID: w.readOnly.ID})
			return err
		}, "memberships"},
		{"update membership", func() error {
			_, err := own.UpdateMembership(ctx, w.readerMembership.ID, membership.Update{AccessScope: &scope})
			return err
		}, "memberships"},
		{"resend", func() error { return own.ResendInvitation(ctx, w.pendingMembership.ID) }, "memberships"},
		// The clerk's default organization was this one: it moves (to none), on the user.
		{"delete membership", func() error { return own.DeleteMembership(ctx, w.customMembership.ID) }, "users"},
		{"create profile", func() error {
			_, err := own.CreateProfile(ctx, profile.Create{OrganizationID: w.org.ID, Name: "X", AccessScope: access.LiveAccess})
			return err
		}, "membership_profiles"},
		{"update profile", func() error { _, err := own.UpdateProfile(ctx, w.profile.ID, profile.Update{Name: &n}); return err }, "membership_profiles"},
		{"delete profile", func() error { return own.DeleteProfile(ctx, w.profile.ID) }, "membership_profiles"},
		{"create role", func() error {
			_, err := own.CreateRole(ctx, role.Create{OrganizationID: w.org.ID, Name: "X"})
			return err
		}, "roles"},
		{"update role", func() error { _, err := own.UpdateRole(ctx, w.custom.ID, role.Update{Name: &n}); return err }, "roles"},
		{"create permission", func() error {
			_, err := own.CreatePermission(ctx, role.PermissionCreate{RoleID: w.custom.ID, Subject: "skus", CanRead: true})
			return err
		}, "permissions"},
		{"update permission", func() error {
			_, err := own.UpdatePermission(ctx, w.permission.ID, role.PermissionUpdate{CanCreate: &yes})
			return err
		}, "permissions"},
		{"transfer ownership", func() error { return own.TransferOwnership(ctx, w.org.ID, w.adminUser.Email) }, "organizations"},
	}
	for _, tt := range tests {
		before := w.count(t, "provisioning_versions", "1 = 1")
		if err := tt.give(); err != nil {
			t.Fatalf("%s: %v", tt.giveName, err)
		}
		want := 1
		if tt.wantType == "users" { // the change, then the user's default organization that moved
			want = 2
		}
		if got := w.count(t, "provisioning_versions", "1 = 1") - before; got != want {
			t.Errorf("%s wrote %d versions, want %d", tt.giveName, got, want)
		}
		if got := w.count(t, "provisioning_versions", "resource_type = ? AND id = (SELECT MAX(id) FROM provisioning_versions)", tt.wantType); got != 1 {
			t.Errorf("%s: last version is not of %s", tt.giveName, tt.wantType)
		}
	}
	// A no-op update writes nothing.
	before := w.count(t, "provisioning_versions", "1 = 1")
	if _, err := own.UpdateRole(ctx, w.custom.ID, role.Update{Name: &n}); err != nil {
		t.Fatal(err)
	}
	if got := w.count(t, "provisioning_versions", "1 = 1") - before; got != 0 {
		t.Errorf("no-op update wrote %d versions", got)
	}
}

func TestUserByEmailComparesCanonicalForms(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ada := e.user(t, "ada@example.com")
	tests := []struct {
		give    string
		wantErr error
	}{
		{" ADA@Example.COM ", nil},
		{"ada@example.com", nil},
		{"bob@example.com", fault.ErrNotFound},
		{"Ada <ada@example.com>", fault.ErrInvalid},
	}
	for _, tt := range tests {
		u, err := e.p.System().UserByEmail(ctx, tt.give)
		if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
			t.Errorf("UserByEmail(%q): %v, want %v", tt.give, err, tt.wantErr)
			continue
		}
		if err == nil && u.ID != ada.ID {
			t.Errorf("UserByEmail(%q) = %s, want %s", tt.give, u.ID, ada.ID)
		}
	}
}

// TestWildcardIsCoveredOnlyByAWildcard: Kubernetes' escalation rule. A role
// that reads every registered subject one by one still does not hold "read
// anything" (read_only's wildcard, which also covers subjects registered
// later), so it cannot grant read_only; an admin, who holds the wildcard,
// can; only the owner grants admin.
func TestWildcardIsCoveredOnlyByAWildcard(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	own := w.as(w.owner)
	everyReader, err := own.CreateRole(ctx, role.Create{OrganizationID: w.org.ID, Name: "Reads each subject"})
	if err != nil {
		t.Fatal(err)
	}
	for _, subject := range w.p.Subjects().List() {
		in := role.PermissionCreate{RoleID: everyReader.ID, Subject: subject, CanRead: true}
		if subject == "memberships" {
			in.CanCreate, in.CanUpdate = true, true
		}
		if _, err := own.CreatePermission(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	eu := w.user(t, "each@example.com")
	w.member(t, own, w.org.ID, eu, everyReader.ID)
	each := w.as(eu)
	admin := w.as(w.adminUser)
	tests := []struct {
		name    string
		as      *provisioning.Session
		roleID  string
		wantErr error
	}{
		{"each-subject reader grants read_only", each, w.readOnly.ID, fault.ErrForbidden},
		{"each-subject reader grants its own role", each, everyReader.ID, nil},
		{"each-subject reader grants a subset role", each, w.custom.ID, fault.ErrForbidden}, // custom updates orders
		{"admin grants read_only", admin, w.readOnly.ID, nil},
		{"admin grants a custom role", admin, w.custom.ID, nil},
		{"admin grants admin", admin, w.admin.ID, fault.ErrForbidden},
		{"owner grants admin", own, w.admin.ID, nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// By invitation...
			before := w.fingerprint(t)
			_, err := tt.as.Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: fmt.Sprintf("new%d@example.com", i), RoleID: tt.roleID})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("Invite: %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				assertUnchanged(t, w.env, before)
			}
			// ...and by changing an existing member's role.
			before = w.fingerprint(t)
			_, err = tt.as.UpdateMembership(ctx, w.customMembership.ID, membership.Update{RoleID: &tt.roleID})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("UpdateMembership: %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				assertUnchanged(t, w.env, before)
			}
		})
	}
}
