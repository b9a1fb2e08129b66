package provisioning_test

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/user"
)

// wantErr checks that err is nil when want is, and matches want otherwise;
// a *fault.ValidationError must also name field, when field is given.
func wantErr(t testing.TB, what string, err, want error, field ...string) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("%s: %v, want success", what, err)
	case want != nil && !errors.Is(err, want):
		t.Errorf("%s: %v, want %v", what, err, want)
	case len(field) > 0 && field[0] != "" && !fieldIs(err, field[0]):
		t.Errorf("%s: %v, want a validation error on %s", what, err, field[0])
	}
}

// frozen records a membership, to check that a refused call left it alone.
func (w *world) frozen(t testing.TB, id string) func() {
	t.Helper()
	before, err := w.p.System().As(provisioning.User(w.owner.ID)).GetMembership(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	versions := w.count(t, "provisioning_versions", "1 = 1")
	return func() {
		t.Helper()
		after, err := w.p.System().As(provisioning.User(w.owner.ID)).GetMembership(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(before, after) {
			t.Errorf("refused call changed the membership:\n was %+v\n now %+v", before, after)
		}
		if got := w.count(t, "provisioning_versions", "1 = 1"); got != versions {
			t.Errorf("refused call wrote %d versions", got-versions)
		}
	}
}

// TestUpsertMembership: created or updated, idempotent, owner-only for new
// members, and every membership rule on the way.
func TestUpsertMembership(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	own, admin := w.as(w.owner), w.as(w.adminUser)
	newcomer := w.user(t, "newcomer@example.com")
	upsert := func(s *provisioning.Session, u *user.User, mods ...func(*membership.Upsert)) (*membership.Membership, bool, error) {
		in := membership.Upsert{OrganizationID: w.org.ID, UserID: u.ID, RoleIDs: []string{w.readOnly.ID}}
		for _, m := range mods {
			m(&in)
		}
		return s.UpsertMembership(ctx, in)
	}
	guest := func(in *membership.Upsert) { in.Guest, in.MFARequired = true, true }

	// Created by the owner: active, with the user's first default organization.
	m, created, err := upsert(own, newcomer)
	if err != nil || !created || m.Status != membership.Active || !m.Default || m.UserID != newcomer.ID {
		t.Fatalf("first upsert = %+v, created %v, %v; want an active default membership, created", m, created, err)
	}
	// The same call again: the same membership, nothing written.
	versions := w.count(t, "provisioning_versions", "1 = 1")
	again, created, err := upsert(own, newcomer)
	if err != nil || created || again.ID != m.ID {
		t.Fatalf("second upsert = %s, created %v, %v; want %s, updated", again.ID, created, err, m.ID)
	}
	if got := w.count(t, "provisioning_versions", "1 = 1"); got != versions {
		t.Errorf("a no-op upsert wrote %d versions", got-versions)
	}
	// An admin updates an existing member's rules: one version.
	changed, created, err := upsert(admin, newcomer, guest)
	if err != nil || created || !changed.Guest || !changed.MFARequired {
		t.Fatalf("admin's upsert = %+v, created %v, %v; want a guest with MFA, updated", changed, created, err)
	}
	if got := w.count(t, "provisioning_versions", "1 = 1"); got != versions+1 {
		t.Errorf("an upsert that changes the rules wrote %d versions, want 1", got-versions)
	}

	refused := []struct {
		name  string
		as    *provisioning.Session
		u     *user.User
		mod   func(*membership.Upsert)
		want  error
		field string
	}{
		{"an admin making a non-member a member", admin, w.stranger, nil, fault.ErrForbidden, ""},
		{"an admin activating a pending invitation", admin, w.pendingUser, nil, fault.ErrForbidden, ""},
		{"a read-only member updating", w.as(w.reader), newcomer, nil, fault.ErrForbidden, ""},
		{"a stranger", w.as(w.stranger), newcomer, nil, fault.ErrNotFound, ""},
		{"no role", own, newcomer, func(in *membership.Upsert) { in.RoleIDs = []string{} }, fault.ErrInvalid, "role_ids"},
		{"a role of another organization", own, newcomer, func(in *membership.Upsert) { in.RoleIDs = []string{mustRole(t, w, w.otherOrg.ID)} }, fault.ErrInvalid, "role_ids"},
		{"a role twice", own, newcomer, func(in *membership.Upsert) { in.RoleIDs = []string{w.readOnly.ID, w.readOnly.ID} }, fault.ErrInvalid, "role_ids[1]"},
		{"an unknown user", own, &user.User{ID: "nosuchuser"}, nil, fault.ErrInvalid, "user"},
		{"the owner made a guest", own, w.owner, func(in *membership.Upsert) { in.RoleIDs, in.Guest = []string{w.admin.ID}, true }, fault.ErrInvalid, "guest"},
		{"the owner losing the admin role", own, w.owner, nil, fault.ErrLastOwner, ""},
		{"an expiry in the past", own, newcomer, func(in *membership.Upsert) { in.ExpiresAt = w.clock.Now().Add(-time.Minute) }, fault.ErrInvalid, "expires_at"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			before := w.fingerprint(t)
			var mods []func(*membership.Upsert)
			if tt.mod != nil {
				mods = append(mods, tt.mod)
			}
			_, _, err := upsert(tt.as, tt.u, mods...)
			wantErr(t, tt.name, err, tt.want, tt.field)
			assertUnchanged(t, w.env, before)
		})
	}

	// An active membership whose email is now another user's (its own user
	// changed address) is not that user's: a conflict, left alone.
	w.changeEmail(t, w.customUser, "moved@example.com")
	successor := w.user(t, "clerk@example.com") // the clerk's former address
	restore := w.frozen(t, w.customMembership.ID)
	_, _, err = upsert(own, successor)
	wantErr(t, "a user whose email an active membership still carries", err, fault.ErrConflict)
	restore()

	// The owner activates a pending invitation: the membership existed, so
	// it is not created, and it is active now.
	p, created, err := upsert(own, w.pendingUser)
	if err != nil || created || p.ID != w.pendingMembership.ID || p.Status != membership.Active {
		t.Fatalf("upsert of a pending invitee = %+v, created %v, %v; want the invitation, active, not created", p, created, err)
	}
}

// TestAddMember: an existing user by id, as ECI's add-member does.
func TestAddMember(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	admin := w.as(w.adminUser)
	joiner := w.user(t, "joiner@example.com")
	m, err := admin.AddMember(ctx, membership.Add{OrganizationID: w.org.ID, UserID: joiner.ID, Rules: membership.Rules{MFARequired: true}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != membership.Active || !slices.Equal(m.RoleIDs, []string{w.readOnly.ID}) || !m.MFARequired || !m.Default {
		t.Errorf("AddMember = %+v; want active, read_only by default, MFA required, default organization", m)
	}
	tests := []struct {
		name  string
		as    *provisioning.Session
		in    membership.Add
		want  error
		field string
	}{
		{"a member already", admin, membership.Add{OrganizationID: w.org.ID, UserID: joiner.ID}, fault.ErrAlreadyExists, ""},
		{"a pending invitee", admin, membership.Add{OrganizationID: w.org.ID, UserID: w.pendingUser.ID}, fault.ErrAlreadyExists, ""},
		{"an unknown user", admin, membership.Add{OrganizationID: w.org.ID, UserID: "nosuchuser"}, fault.ErrInvalid, "user"},
		{"by a read-only member", w.as(w.reader), membership.Add{OrganizationID: w.org.ID, UserID: w.stranger.ID}, fault.ErrForbidden, ""},
		{"the admin role by an admin", admin, membership.Add{OrganizationID: w.org.ID, UserID: w.stranger.ID, RoleIDs: []string{w.admin.ID}}, fault.ErrForbidden, ""},
		{"another organization", admin, membership.Add{OrganizationID: w.otherOrg.ID, UserID: joiner.ID}, fault.ErrNotFound, ""},
		{"an expiry in the past", admin, membership.Add{OrganizationID: w.org.ID, UserID: w.stranger.ID,
			Rules: membership.Rules{Guest: true, ExpiresAt: w.clock.Now().Add(-time.Second)}}, fault.ErrInvalid, "expires_at"},
	}
	for _, tt := range tests {
		before := w.fingerprint(t)
		_, err := tt.as.AddMember(ctx, tt.in)
		wantErr(t, tt.name, err, tt.want, tt.field)
		assertUnchanged(t, w.env, before)
	}
}

// TestSeveralRoles: a member's rights are the union of its roles; the
// Commerce Layer view keeps showing the primary one.
func TestSeveralRoles(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	own := w.as(w.owner)
	both := []string{w.readOnly.ID, w.custom.ID} // read everything; update orders
	m, err := own.UpdateMembership(ctx, w.readerMembership.ID, membership.Update{RoleIDs: &both})
	if err != nil {
		t.Fatal(err)
	}
	if m.RoleID != w.readOnly.ID || !slices.Equal(m.RoleIDs, both) {
		t.Fatalf("roles = %s %v, want primary %s of %v", m.RoleID, m.RoleIDs, w.readOnly.ID, both)
	}
	can := func(subject string, act role.Action) bool {
		ok, err := w.p.Can(ctx, provisioning.User(w.reader.ID), w.org.ID, subject, act)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	tests := []struct {
		subject string
		act     role.Action
		want    bool
	}{
		{"skus", role.ActionRead, true},       // read_only
		{"orders", role.ActionUpdate, true},   // the clerk role
		{"orders", role.ActionDestroy, false}, // neither
		{"skus", role.ActionUpdate, false},
	}
	for _, tt := range tests {
		if got := can(tt.subject, tt.act); got != tt.want {
			t.Errorf("Can(%s, %s) = %v, want %v", tt.subject, tt.act, got, tt.want)
		}
	}
	// Replacing the primary role keeps the others.
	m, err = own.UpdateMembership(ctx, m.ID, membership.Update{RoleID: &w.admin.ID})
	if err != nil || !slices.Equal(m.RoleIDs, []string{w.admin.ID, w.custom.ID}) {
		t.Fatalf("after a new primary role: %v, %v; want [admin clerk]", m.RoleIDs, err)
	}
	// Dropping the clerk role takes its rights away at once.
	one := []string{w.readOnly.ID}
	if _, err := own.UpdateMembership(ctx, m.ID, membership.Update{RoleIDs: &one}); err != nil {
		t.Fatal(err)
	}
	if can("orders", role.ActionUpdate) {
		t.Error("the clerk role's right survived its removal")
	}
	// Nobody adds a role beyond their own; only the owner adds admin.
	admin := w.as(w.adminUser)
	withAdmin := []string{w.readOnly.ID, w.admin.ID}
	restore := w.frozen(t, m.ID)
	_, err = admin.UpdateMembership(ctx, m.ID, membership.Update{RoleIDs: &withAdmin})
	wantErr(t, "an admin adding the admin role", err, fault.ErrForbidden)
	restore()
}

// defaultsOf returns the organizations where u's memberships say they are
// the default, and u's own default; the library keeps exactly one while u
// has an active membership.
func (w *world) defaultsOf(t testing.TB, u *user.User) (flagged []string, own string) {
	t.Helper()
	ctx := context.Background()
	orgs, err := w.store.Access().Organizations(ctx, access.User(u.ID), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, orgID := range orgs {
		page, err := w.store.Memberships().List(ctx, membership.Filter{OrganizationID: orgID, UserID: u.ID})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Items {
			if m.Default {
				flagged = append(flagged, orgID)
			}
		}
	}
	me, err := w.as(u).CurrentUser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return flagged, me.DefaultOrganizationID
}

// TestDefaultOrganization: the first organization a user joins is the
// default; picking another moves it; removing the default membership moves
// it to the oldest remaining one; the user has exactly one default while
// a member anywhere, none otherwise.
func TestDefaultOrganization(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	u := w.user(t, "roamer@example.com")
	a, b := w.org, w.otherOrg
	wantDefault := func(step, want string) {
		t.Helper()
		flagged, own := w.defaultsOf(t, u)
		wantFlags := []string{}
		if want != "" {
			wantFlags = []string{want}
		}
		if own != want || !slices.Equal(append([]string{}, flagged...), wantFlags) {
			t.Errorf("%s: default %q, flagged on %v; want %q on exactly it", step, own, flagged, want)
		}
	}
	wantDefault("before any membership", "")
	ma := w.member(t, w.as(w.owner), a.ID, u, w.readOnly.ID)
	wantDefault("after joining a", a.ID)
	w.clock.Advance(time.Minute)
	mb := w.member(t, w.as(w.stranger), b.ID, u, mustRole(t, w, b.ID))
	wantDefault("after joining b", a.ID)
	if _, err := w.as(u).SetDefaultOrganization(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	wantDefault("after picking b", b.ID)
	// An expired membership cannot be picked: it is as if it did not exist.
	soon := w.clock.Now().Add(time.Minute)
	if _, err := w.as(w.owner).UpdateMembership(ctx, ma.ID, membership.Update{ExpiresAt: &soon}); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(2 * time.Minute)
	wantErr(t, "picking an organization whose membership expired", func() error {
		_, err := w.as(u).SetDefaultOrganization(ctx, a.ID)
		return err
	}(), fault.ErrNotFound)
	never := time.Time{}
	if _, err := w.as(w.owner).UpdateMembership(ctx, ma.ID, membership.Update{ExpiresAt: &never}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "picking an organization the user is not in", func() error {
		_, err := w.as(w.reader).SetDefaultOrganization(ctx, b.ID)
		return err
	}(), fault.ErrNotFound)
	wantErr(t, "a credential picking", func() error {
		_, err := w.p.As(provisioning.Credential("somecred")).SetDefaultOrganization(ctx, a.ID)
		return err
	}(), fault.ErrForbidden)
	if err := w.as(u).DeleteMembership(ctx, mb.ID); err != nil {
		t.Fatal(err)
	}
	wantDefault("after leaving b, the default", a.ID)
	if err := w.as(w.owner).DeleteMembership(ctx, ma.ID); err != nil {
		t.Fatal(err)
	}
	wantDefault("after leaving every organization", "")
	// Creating one's first organization makes it the default.
	founder := w.user(t, "founder@example.com")
	first, _, _ := w.env.org(t, founder, "Founder's")
	w.env.org(t, founder, "Founder's second")
	if _, own := w.defaultsOf(t, founder); own != first.ID {
		t.Errorf("after creating two organizations: default %q, want the first, %q", own, first.ID)
	}
	// Accepting an invitation makes the first default too.
	inv, err := w.as(w.owner).Invite(ctx, membership.Invite{OrganizationID: a.ID, UserEmail: "later@example.com", RoleID: w.readOnly.ID})
	if err != nil {
		t.Fatal(err)
	}
	later := w.user(t, "later@example.com")
	if _, err := w.as(later).AcceptInvitation(ctx, w.mail.last(t).Token); err != nil {
		t.Fatal(err)
	}
	if _, own := w.defaultsOf(t, later); own != inv.OrganizationID {
		t.Errorf("after accepting: default %q, want %q", own, inv.OrganizationID)
	}
}

// TestIPAllowlist: canonical public networks only, null removes the
// restriction, an empty list is refused, and the check refuses calls from
// elsewhere, for members and credentials.
func TestIPAllowlist(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	own := w.as(w.owner)
	set := func(s *provisioning.Session, id string, ips []string) (*membership.Membership, error) {
		return s.UpdateMembership(ctx, id, membership.Update{AllowedIPs: &ips})
	}
	m, err := set(own, w.readerMembership.ID, []string{"8.8.8.7/24", "2001:4860:4860::8888", "8.8.8.8"})
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("8.8.8.0/24"), netip.MustParsePrefix("2001:4860:4860::8888/128")}
	if !slices.Equal(m.AllowedIPs, want) {
		t.Errorf("stored allowlist %v, want the canonical %v", m.AllowedIPs, want)
	}
	from := func(addr string) provisioning.Principal {
		p := provisioning.User(w.reader.ID)
		if addr != "" {
			p.IP = netip.MustParseAddr(addr)
		}
		return p
	}
	calls := []struct {
		addr string
		want error
	}{
		{"8.8.8.200", nil},
		{"::ffff:8.8.8.8", nil},
		{"2001:4860:4860::8888", nil},
		{"2001:4860:4860::8844", fault.ErrIPRefused},
		{"9.9.9.9", fault.ErrIPRefused},
		{"", fault.ErrIPRefused},
	}
	for _, c := range calls {
		_, err := w.p.As(from(c.addr)).GetOrganization(ctx, w.org.ID)
		wantErr(t, "a call from "+c.addr, err, c.want)
	}

	refused := []struct {
		name  string
		as    *provisioning.Session
		ips   []string
		want  error
		field string
	}{
		{"an empty list", own, []string{}, fault.ErrInvalid, "allowed_ips"},
		{"a private network", own, []string{"10.1.0.0/16"}, fault.ErrInvalid, "allowed_ips[0]"},
		{"a prefix overlapping a private one", own, []string{"8.8.8.8", "8.0.0.0/4"}, fault.ErrInvalid, "allowed_ips[1]"},
		{"loopback", own, []string{"127.0.0.1"}, fault.ErrInvalid, "allowed_ips[0]"},
		{"IPv4-mapped private", own, []string{"::ffff:192.168.1.1"}, fault.ErrInvalid, "allowed_ips[0]"},
		{"unique-local", own, []string{"fd00::/8"}, fault.ErrInvalid, "allowed_ips[0]"},
		{"everyone", own, []string{"0.0.0.0/0"}, fault.ErrInvalid, "allowed_ips[0]"},
		{"garbage", own, []string{"eight.eight"}, fault.ErrInvalid, "allowed_ips[0]"},
		{"by a read-only member", w.as(w.reader), []string{"1.1.1.1"}, fault.ErrForbidden, ""},
	}
	for _, tt := range refused {
		restore := w.frozen(t, w.readerMembership.ID)
		_, err := set(tt.as, w.readerMembership.ID, tt.ips)
		wantErr(t, tt.name, err, tt.want, tt.field)
		restore()
	}

	// Only the owner changes the owner's rules: an admin cannot lock the owner out.
	restoreOwner := w.frozen(t, w.org.OwnerMembershipID)
	_, err = set(w.as(w.adminUser), w.org.OwnerMembershipID, []string{"8.8.8.0/24"})
	wantErr(t, "an admin setting the owner's allowlist", err, fault.ErrForbidden)
	restoreOwner()

	// Nobody locks themselves out: the owner's own list must allow the
	// address of the request that sets it.
	ownerAt := w.p.As(provisioning.Principal{Kind: "user", ID: w.owner.ID, IP: netip.MustParseAddr("1.1.1.1")})
	restore := w.frozen(t, w.org.OwnerMembershipID)
	_, err = set(ownerAt, w.org.OwnerMembershipID, []string{"8.8.4.0/24"})
	wantErr(t, "an allowlist refusing the caller's own address", err, fault.ErrInvalid, "allowed_ips")
	restore()
	if _, err := set(ownerAt, w.org.OwnerMembershipID, []string{"1.1.1.0/24"}); err != nil {
		t.Errorf("an allowlist including the caller's own address: %v", err)
	}

	// null removes the restriction.
	if _, err := own.UpdateMembership(ctx, w.readerMembership.ID, membership.Update{AllowedIPs: new([]string)}); err == nil || !errors.Is(err, fault.ErrIPRefused) {
		// the owner calls from nowhere now: its own list refuses it
		t.Fatalf("the owner outside its own allowlist: %v, want %v", err, fault.ErrIPRefused)
	}
	ownerIn := w.p.As(provisioning.Principal{Kind: "user", ID: w.owner.ID, IP: netip.MustParseAddr("1.1.1.1")})
	if _, err := ownerIn.UpdateMembership(ctx, w.readerMembership.ID, membership.Update{AllowedIPs: new([]string)}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.p.As(from("")).GetOrganization(ctx, w.org.ID); err != nil {
		t.Errorf("after removing the restriction, a call from nowhere: %v", err)
	}

	// A credential's allowlist is checked the same way.
	issued, err := ownerIn.CreateCredential(ctx, credential.Create{OrganizationID: w.org.ID, Name: "Box", Kind: credential.Integration,
		RoleID: w.readOnly.ID, AllowedIPs: []string{"9.9.9.0/24"}})
	if err != nil {
		t.Fatal(err)
	}
	cred := provisioning.Credential(issued.Credential.ID)
	cred.IP = netip.MustParseAddr("9.9.9.9")
	if _, err := w.p.As(cred).GetOrganization(ctx, w.org.ID); err != nil {
		t.Errorf("the credential from its network: %v", err)
	}
	cred.IP = netip.MustParseAddr("8.8.8.8")
	_, err = w.p.As(cred).GetOrganization(ctx, w.org.ID)
	wantErr(t, "the credential from elsewhere", err, fault.ErrIPRefused)
	// A change of the credential's allowlist reaches the check at once.
	moved := []string{"8.8.8.0/24"}
	if _, err := ownerIn.UpdateCredential(ctx, issued.Credential.ID, credential.Update{AllowedIPs: &moved}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.p.As(cred).GetOrganization(ctx, w.org.ID); err != nil {
		t.Errorf("the credential from its new network: %v", err)
	}
	_, err = ownerIn.CreateCredential(ctx, credential.Create{OrganizationID: w.org.ID, Name: "Bad", Kind: credential.Integration,
		RoleID: w.readOnly.ID, AllowedIPs: []string{"192.168.0.0/16"}})
	wantErr(t, "a credential with a private allowlist", err, fault.ErrInvalid, "allowed_ips[0]")
}

// TestDirectPermissions: operations granted on top of the roles, "*" for
// any; never beyond what the granter holds; canonical.
func TestDirectPermissions(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	own := w.as(w.owner)
	grant := func(s *provisioning.Session, perms ...string) (*membership.Membership, error) {
		return s.UpdateMembership(ctx, w.readerMembership.ID, membership.Update{Permissions: &perms})
	}
	can := func(subject string, act role.Action) bool {
		ok, err := w.p.Can(ctx, provisioning.User(w.reader.ID), w.org.ID, subject, act)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if can("orders", role.ActionUpdate) {
		t.Fatal("the read-only member may update orders before any grant")
	}
	m, err := grant(own, "orders:update", "orders:*", "skus:create", "skus:create")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Permissions, []string{"orders:*", "skus:create"}) {
		t.Errorf("stored permissions %v, want the canonical [orders:* skus:create]", m.Permissions)
	}
	for _, c := range []struct {
		subject string
		act     role.Action
		want    bool
	}{{"orders", role.ActionDestroy, true}, {"skus", role.ActionCreate, true}, {"skus", role.ActionDestroy, false}, {"memberships", role.ActionCreate, false}} {
		if got := can(c.subject, c.act); got != c.want {
			t.Errorf("with the grants, Can(%s, %s) = %v, want %v", c.subject, c.act, got, c.want)
		}
	}

	// A member who manages memberships but holds only orders:read.
	mgr := w.user(t, "manager@example.com")
	mgrRole, err := own.CreateRole(ctx, role.Create{OrganizationID: w.org.ID, Name: "Member manager"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []role.PermissionCreate{
		{RoleID: mgrRole.ID, Subject: "memberships", CanRead: true, CanUpdate: true},
		{RoleID: mgrRole.ID, Subject: "orders", CanRead: true},
	} {
		if _, err := own.CreatePermission(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	w.member(t, own, w.org.ID, mgr, mgrRole.ID)
	manager, admin := w.as(mgr), w.as(w.adminUser)
	tests := []struct {
		name  string
		as    *provisioning.Session
		perms []string
		want  error
		field string
	}{
		{"what the manager holds", manager, []string{"orders:read"}, nil, ""},
		{"more than the manager holds", manager, []string{"orders:update"}, fault.ErrForbidden, ""},
		{"a wildcard action the manager lacks", manager, []string{"orders:*"}, fault.ErrForbidden, ""},
		{"a wildcard subject the manager lacks", manager, []string{"*:read"}, fault.ErrForbidden, ""},
		{"everything, by an admin", admin, []string{"*"}, fault.ErrForbidden, ""},
		{"no action", own, []string{"orders"}, fault.ErrInvalid, "permissions[0]"},
		{"an unknown subject", own, []string{"spaceships:read"}, fault.ErrInvalid, "permissions[0]"},
		{"an unknown action", own, []string{"orders:fly"}, fault.ErrInvalid, "permissions[0]"},
		{"everything, by the owner", own, []string{"*"}, nil, ""},
	}
	for _, tt := range tests {
		var restore func()
		if tt.want != nil {
			restore = w.frozen(t, w.readerMembership.ID)
		}
		_, err := grant(tt.as, tt.perms...)
		wantErr(t, tt.name, err, tt.want, tt.field)
		if restore != nil {
			restore()
		}
	}
	if !can("memberships", role.ActionDestroy) {
		t.Error(`after "*", the member may not destroy memberships`)
	}
}

// TestMFARequired: the organization's flag or the member's requires a
// second factor, refused with its own error.
func TestMFARequired(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	yes, no := true, false
	reader := func(mfa bool) *provisioning.Session {
		return w.p.As(provisioning.Principal{Kind: "user", ID: w.reader.ID, MFA: mfa})
	}
	admin := w.p.As(provisioning.User(w.adminUser.ID))
	steps := []struct {
		name          string
		org, member   bool
		readerWithout error
		readerWith    error
		adminWithout  error
	}{
		{"neither", false, false, nil, nil, nil},
		{"the member's flag", false, true, fault.ErrMFARequired, nil, nil},
		{"both", true, true, fault.ErrMFARequired, nil, fault.ErrMFARequired},
		{"the organization's flag", true, false, fault.ErrMFARequired, nil, fault.ErrMFARequired},
		{"neither again", false, false, nil, nil, nil},
	}
	ownerMFA := w.p.As(provisioning.Principal{Kind: "user", ID: w.owner.ID, MFA: true})
	for _, s := range steps {
		flag := &no
		if s.org {
			flag = &yes
		}
		if _, err := ownerMFA.UpdateOrganization(ctx, w.org.ID, organization.Update{MFARequired: flag}); err != nil {
			t.Fatal(err)
		}
		mflag := &no
		if s.member {
			mflag = &yes
		}
		if _, err := ownerMFA.UpdateMembership(ctx, w.readerMembership.ID, membership.Update{MFARequired: mflag}); err != nil {
			t.Fatal(err)
		}
		_, err := reader(false).GetOrganization(ctx, w.org.ID)
		wantErr(t, s.name+": the reader without MFA", err, s.readerWithout)
		_, err = reader(true).GetOrganization(ctx, w.org.ID)
		wantErr(t, s.name+": the reader with MFA", err, s.readerWith)
		_, err = admin.GetOrganization(ctx, w.org.ID)
		wantErr(t, s.name+": the admin without MFA", err, s.adminWithout)
	}
	page, err := ownerMFA.ListVersions(ctx, audit.Filter{OrganizationID: w.org.ID, ResourceType: "organizations"})
	if err != nil {
		t.Fatal(err)
	}
	flips := 0
	for _, v := range page.Items {
		if _, ok := v.Changes["mfa_required"]; ok {
			flips++
		}
	}
	if flips != 2 {
		t.Errorf("%d versions record the organization's mfa_required, want 2 (on, then off)", flips)
	}
}

// TestGuests: guests never manage the organization, are never owners, and
// lose access when they expire.
func TestGuests(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	own := w.as(w.owner)
	yes := true
	if _, err := own.UpdateMembership(ctx, w.adminMembership.ID, membership.Update{Guest: &yes}); err != nil {
		t.Fatal(err)
	}
	guest := w.as(w.adminUser) // a guest with the admin role
	name := "Renamed"
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"reads the organization", func() error { _, err := guest.GetOrganization(ctx, w.org.ID); return err }, nil},
		{"lists members", func() error {
			_, err := guest.ListMemberships(ctx, membership.Filter{OrganizationID: w.org.ID})
			return err
		}, nil},
		{"invites", func() error {
			_, err := guest.Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: "g@example.com", RoleID: w.readOnly.ID})
			return err
		}, fault.ErrForbidden},
		{"changes an allowlist", func() error {
			ips := []string{"1.1.1.1"}
			_, err := guest.UpdateMembership(ctx, w.readerMembership.ID, membership.Update{AllowedIPs: &ips})
			return err
		}, fault.ErrForbidden},
		{"creates a role", func() error {
			_, err := guest.CreateRole(ctx, role.Create{OrganizationID: w.org.ID, Name: "G"})
			return err
		}, fault.ErrForbidden},
		{"creates a credential", func() error {
			_, err := guest.CreateCredential(ctx, credential.Create{OrganizationID: w.org.ID, Name: "G", Kind: credential.Webapp})
			return err
		}, fault.ErrForbidden},
		{"renames the organization", func() error {
			_, err := guest.UpdateOrganization(ctx, w.org.ID, organization.Update{Name: &name})
			return err
		}, fault.ErrForbidden},
		{"becomes the owner", func() error { return own.TransferOwnership(ctx, w.org.ID, w.adminUser.Email) }, fault.ErrInvalid},
		{"the owner made a guest", func() error {
			_, err := own.UpdateMembership(ctx, w.org.OwnerMembershipID, membership.Update{Guest: &yes})
			return err
		}, fault.ErrInvalid},
	}
	for _, tt := range tests {
		before := w.fingerprint(t)
		wantErr(t, "a guest: "+tt.name, tt.call(), tt.want)
		if tt.want != nil {
			assertUnchanged(t, w.env, before)
		}
	}
	if ok, err := w.p.Can(ctx, provisioning.User(w.adminUser.ID), w.org.ID, "orders", role.ActionDestroy); err != nil || !ok {
		t.Errorf("a guest admin on the organization's own data: %v, %v; want allowed", ok, err)
	}

	// Expiry: the reader's membership ends in an hour.
	in := w.clock.Now().Add(time.Hour)
	if _, err := own.UpdateMembership(ctx, w.readerMembership.ID, membership.Update{ExpiresAt: &in}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.as(w.reader).GetOrganization(ctx, w.org.ID); err != nil {
		t.Errorf("before the expiry: %v", err)
	}
	w.clock.Advance(2 * time.Hour)
	_, err := w.as(w.reader).GetOrganization(ctx, w.org.ID)
	wantErr(t, "after the expiry", err, fault.ErrNotFound)
	past := w.clock.Now().Add(-time.Minute)
	_, err = own.UpdateMembership(ctx, w.customMembership.ID, membership.Update{ExpiresAt: &past})
	wantErr(t, "an expiry in the past", err, fault.ErrInvalid, "expires_at")
	later := w.clock.Now().Add(time.Hour)
	restore := w.frozen(t, w.org.OwnerMembershipID)
	_, err = own.UpdateMembership(ctx, w.org.OwnerMembershipID, membership.Update{ExpiresAt: &later})
	wantErr(t, "an expiry on the owner", err, fault.ErrInvalid, "expires_at")
	restore()
}

// TestRuleChangesAreVersioned: one version names every rule field changed.
func TestRuleChangesAreVersioned(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	own := w.as(w.owner)
	roles, perms, ips, yes := []string{w.readOnly.ID, w.custom.ID}, []string{"skus:read"}, []string{"8.8.8.8"}, true
	expires := w.clock.Now().Add(time.Hour)
	if _, err := own.UpdateMembership(ctx, w.readerMembership.ID, membership.Update{RoleIDs: &roles, Permissions: &perms,
		AllowedIPs: &ips, Guest: &yes, ExpiresAt: &expires, MFARequired: &yes}); err != nil {
		t.Fatal(err)
	}
	page, err := own.ListVersions(ctx, audit.Filter{OrganizationID: w.org.ID, ResourceID: w.readerMembership.ID, Event: audit.Update})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("versions of the update: %d, %v; want 1", len(page.Items), err)
	}
	got := page.Items[0].Changes
	for _, field := range []string{"role_ids", "permissions", "allowed_ips", "guest", "expires_at", "mfa_required"} {
		if _, ok := got[field]; !ok {
			t.Errorf("the version's changes %v lack %s", got, field)
		}
	}
	if v := got["allowed_ips"]; v[0] != nil {
		t.Errorf("allowed_ips before = %v, want null", v[0])
	}
}

// TestGetUser: one's own record; a fellow member's where one may read
// memberships; nobody else's (not found, like a user that does not exist).
func TestGetUser(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	tests := []struct {
		name string
		as   *provisioning.Session
		id   string
		want error
	}{
		{"oneself", w.as(w.stranger), w.stranger.ID, nil},
		{"a fellow member", w.as(w.reader), w.adminUser.ID, nil},
		{"the owner, for a member of another organization only", w.as(w.owner), w.stranger.ID, fault.ErrNotFound},
		{"a member of another organization", w.as(w.reader), w.stranger.ID, fault.ErrNotFound},
		{"a pending invitee", w.as(w.owner), w.pendingUser.ID, fault.ErrNotFound},
		{"nobody", w.as(w.owner), "nosuchuser", fault.ErrNotFound},
		{"without a principal", w.p.As(provisioning.Principal{}), w.owner.ID, fault.ErrUnauthenticated},
	}
	for _, tt := range tests {
		u, err := tt.as.GetUser(ctx, tt.id)
		wantErr(t, tt.name, err, tt.want)
		if tt.want == nil && (err != nil || u.ID != tt.id) {
			t.Errorf("%s: got %v", tt.name, u)
		}
	}
	// A fellow member's default organization is not shown: it may be one
	// the caller does not belong to.
	w.env.org(t, w.adminUser, "Admin's first")
	if me, err := w.as(w.adminUser).GetUser(ctx, w.adminUser.ID); err != nil || me.DefaultOrganizationID == "" {
		t.Fatalf("one's own default organization: %v, %v", me, err)
	}
	if u, err := w.as(w.reader).GetUser(ctx, w.adminUser.ID); err != nil || u.DefaultOrganizationID != "" {
		t.Errorf("a fellow member's record shows a default organization: %q, %v", u.DefaultOrganizationID, err)
	}
	// A member without the right to read memberships (a credential whose
	// role reads only orders) sees no other user.
	own := w.as(w.owner)
	clerk, err := own.CreateRole(ctx, role.Create{OrganizationID: w.org.ID, Name: "Orders only"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := own.CreatePermission(ctx, role.PermissionCreate{RoleID: clerk.ID, Subject: "orders", CanRead: true}); err != nil {
		t.Fatal(err)
	}
	issued, err := own.CreateCredential(ctx, credential.Create{OrganizationID: w.org.ID, Name: "Orders job",
		Kind: credential.Integration, RoleID: clerk.ID})
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.p.As(provisioning.Credential(issued.Credential.ID)).GetUser(ctx, w.reader.ID)
	wantErr(t, "a credential that may not read memberships", err, fault.ErrNotFound)
}

// TestOrganizationIDs: a user's active memberships, a credential's own
// organization, paged.
func TestOrganizationIDs(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	u := w.user(t, "many@example.com")
	var want []string
	for i := range 5 {
		o, _, _ := w.env.org(t, u, "Many "+string(rune('A'+i)))
		want = append(want, o.ID)
	}
	w.member(t, w.as(w.owner), w.org.ID, u, w.readOnly.ID)
	want = append(want, w.org.ID)
	slices.Sort(want)
	var got []string
	pr := resource.PageRequest{Limit: 2}
	for {
		page, err := w.as(u).OrganizationIDs(ctx, pr)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page.Items...)
		if page.Next == "" {
			break
		}
		pr.After = page.Next
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages of 2: %v, want %v", got, want)
	}
	issued, err := w.as(w.owner).CreateCredential(ctx, credential.Create{OrganizationID: w.org.ID, Name: "C", Kind: credential.Webapp})
	if err != nil {
		t.Fatal(err)
	}
	page, err := w.p.As(provisioning.Credential(issued.Credential.ID)).OrganizationIDs(ctx, resource.PageRequest{})
	if err != nil || !slices.Equal(page.Items, []string{w.org.ID}) {
		t.Errorf("a credential's: %v, %v; want [%s]", page.Items, err, w.org.ID)
	}
	_, err = w.p.As(provisioning.Principal{}).OrganizationIDs(ctx, resource.PageRequest{})
	wantErr(t, "without a principal", err, fault.ErrUnauthenticated)
	_, err = w.p.System().As(provisioning.Principal{Kind: access.KindSystem, ID: "system"}).OrganizationIDs(ctx, resource.PageRequest{})
	wantErr(t, "the system", err, fault.ErrForbidden)
}

// TestNoLoosening: restrictions are lifted by the owner: a member never
// loosens its own allowlist, expiry or MFA requirement, and never gives
// another member an allowlist wider, or an expiry later, than its own.
func TestNoLoosening(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	owner := w.p.As(provisioning.Principal{Kind: "user", ID: w.owner.ID})
	fence, yes, no := []string{"8.8.8.0/24"}, true, false
	inAnHour, inTwo := w.clock.Now().Add(time.Hour), w.clock.Now().Add(2*time.Hour)
	if _, err := owner.UpdateMembership(ctx, w.adminMembership.ID, membership.Update{AllowedIPs: &fence,
		ExpiresAt: &inAnHour, MFARequired: &yes}); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.UpdateMembership(ctx, w.readerMembership.ID, membership.Update{AllowedIPs: &fence, ExpiresAt: &inTwo}); err != nil {
		t.Fatal(err)
	}
	admin := w.p.As(provisioning.Principal{Kind: "user", ID: w.adminUser.ID, IP: netip.MustParseAddr("8.8.8.8"), MFA: true})
	never, wider, narrower, tiny := time.Time{}, []string{"8.8.0.0/16"}, []string{"8.8.8.0/25"}, []string{"8.8.8.0/26"}
	sooner := w.clock.Now().Add(30 * time.Minute)
	tests := []struct {
		name string
		id   string
		u    membership.Update
		want error
	}{
		{"its own expiry lifted", w.adminMembership.ID, membership.Update{ExpiresAt: &never}, fault.ErrForbidden},
		{"its own expiry extended", w.adminMembership.ID, membership.Update{ExpiresAt: &inTwo}, fault.ErrForbidden},
		{"its own allowlist removed", w.adminMembership.ID, membership.Update{AllowedIPs: new([]string)}, fault.ErrForbidden},
		{"its own allowlist widened", w.adminMembership.ID, membership.Update{AllowedIPs: &wider}, fault.ErrForbidden},
		{"its own MFA requirement lifted", w.adminMembership.ID, membership.Update{MFARequired: &no}, fault.ErrForbidden},
		{"another's allowlist removed", w.readerMembership.ID, membership.Update{AllowedIPs: new([]string)}, fault.ErrForbidden},
		{"another's allowlist wider than its own", w.readerMembership.ID, membership.Update{AllowedIPs: &wider}, fault.ErrForbidden},
		{"another's expiry later than its own", w.readerMembership.ID, membership.Update{ExpiresAt: &never}, fault.ErrForbidden},
		{"its own allowlist narrowed", w.adminMembership.ID, membership.Update{AllowedIPs: &narrower}, nil},
		{"its own expiry brought forward", w.adminMembership.ID, membership.Update{ExpiresAt: &sooner}, nil},
		{"another's allowlist within its own", w.readerMembership.ID, membership.Update{AllowedIPs: &tiny}, nil},
	}
	for _, tt := range tests {
		var restore func()
		if tt.want != nil {
			restore = w.frozen(t, tt.id)
		}
		_, err := admin.UpdateMembership(ctx, tt.id, tt.u)
		wantErr(t, tt.name, err, tt.want)
		if restore != nil {
			restore()
		}
	}
	// The owner lifts them all.
	if _, err := owner.UpdateMembership(ctx, w.adminMembership.ID, membership.Update{AllowedIPs: new([]string),
		ExpiresAt: &never, MFARequired: &no}); err != nil {
		t.Errorf("the owner lifting the admin's restrictions: %v", err)
	}
}

// TestUpsertKeepsWhatTheCallerDoesNotModel: with KeepGuestExpiryMFA (the
// Rebilly route) an upsert leaves guest, expiry and MFA as they are, under
// the lock, even on a pending invitation it activates.
func TestUpsertKeepsWhatTheCallerDoesNotModel(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	own := w.as(w.owner)
	yes, later := true, w.clock.Now().Add(time.Hour)
	if _, err := own.UpdateMembership(ctx, w.readerMembership.ID, membership.Update{Guest: &yes, ExpiresAt: &later, MFARequired: &yes}); err != nil {
		t.Fatal(err)
	}
	keep := func(u *user.User) membership.Upsert {
		return membership.Upsert{OrganizationID: w.org.ID, UserID: u.ID, RoleIDs: []string{w.readOnly.ID},
			Rules: membership.Rules{Permissions: []string{"orders:read"}}, KeepGuestExpiryMFA: true}
	}
	m, _, err := own.UpsertMembership(ctx, keep(w.reader))
	if err != nil || !m.Guest || !m.MFARequired || !m.ExpiresAt.Equal(later) || !slices.Equal(m.Permissions, []string{"orders:read"}) {
		t.Fatalf("kept: %+v, %v; want still a guest with MFA and its expiry, and the new permissions", m, err)
	}
	// Even once its expiry has passed, the membership can be upserted: the
	// kept expiry is not an input to validate.
	w.clock.Advance(2 * time.Hour)
	if _, _, err := own.UpsertMembership(ctx, keep(w.reader)); err != nil {
		t.Errorf("an expired member, kept: %v", err)
	}
	// A pending invitation's rules survive its activation.
	inv, err := own.Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: "guest@example.com", RoleID: w.readOnly.ID,
		Rules: membership.Rules{Guest: true}})
	if err != nil {
		t.Fatal(err)
	}
	guest := w.user(t, "guest@example.com")
	m, created, err := own.UpsertMembership(ctx, keep(guest))
	if err != nil || created || m.ID != inv.ID || !m.Guest {
		t.Errorf("the invitation activated: %+v, created %v, %v; want it, still a guest", m, created, err)
	}
	// Without the flag, the upsert is the whole state.
	m, _, err = own.UpsertMembership(ctx, membership.Upsert{OrganizationID: w.org.ID, UserID: guest.ID, RoleIDs: []string{w.readOnly.ID}})
	if err != nil || m.Guest {
		t.Errorf("a full-state upsert: guest %v, %v; want false", m.Guest, err)
	}
}
