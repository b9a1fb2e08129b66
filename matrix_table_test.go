package provisioning_test

import (
	"context"
	"errors"
	"slices"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/appmembership"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/idp"
	"github.com/provisionkit/provisioning/internal/testkit"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/profile"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/user"
)

// This file is the declarative specification of the authorization matrix:
// who stands where (the actors), and what each operation needs (the rules).
// Nothing here is read from the library's own tables: the vocabularies are
// written down from the specification (RELIABILITY.md I1, I2, I5, I25 and
// the authz package documentation).

// matrixSubjects are the provisioning subjects a permission may name.
var matrixSubjects = []string{"organizations", "memberships", "membership_profiles", "roles", "permissions",
	"api_credentials", "application_memberships", "identity_providers", "versions"}

// memberReadable are the subjects every active member reads, whatever its
// roles say (all provisioning subjects but the versions).
var memberReadable = matrixSubjects[:8]

// guestDenied are the subjects a guest never creates, updates or destroys,
// whatever its roles say (I5).
var guestDenied = matrixSubjects[:8]

type right struct {
	subject string
	action  role.Action
}

func need(subject string, act role.Action) right { return right{subject, act} }

// matrixActor is an actor kind: its principal and its standing in
// organization A, the organization every "same" target belongs to. No actor
// has any standing in organization B, the "other" one.
type matrixActor struct {
	name   string
	kind   access.PrincipalKind // "" for no principal at all
	active bool                 // an active, unexpired membership (or credential) in A
	owner  bool
	role   role.Kind // the role it holds in A
	grant  right     // the one permission of its custom role
	guest  bool
	fenced bool // refused by an attribute rule in A: a foreign address, a missing second factor
}

// allows tells whether the actor's rights in A cover n: its role, the
// members' reading right, and the guest's denial.
func (a matrixActor) allows(n right) bool {
	if a.guest && n.action != role.ActionRead && slices.Contains(guestDenied, n.subject) {
		return false
	}
	switch a.role {
	case role.KindAdmin:
		return true
	case role.KindReadOnly:
		return n.action == role.ActionRead
	}
	if n.action == role.ActionRead && slices.Contains(memberReadable, n.subject) {
		return true
	}
	return n == a.grant
}

// may tells whether the actor may use the right n in A as a caller: standing
// there, let through by the attribute rules, and holding it.
func (a matrixActor) may(n right) bool { return a.active && !a.fenced && a.allows(n) }

// matrixActors lists the actor kinds: one custom actor per (subject, action).
func matrixActors() []matrixActor {
	user, cred := access.KindUser, access.KindCredential
	out := []matrixActor{
		{name: "owner", kind: user, active: true, owner: true, role: role.KindAdmin},
		{name: "admin", kind: user, active: true, role: role.KindAdmin},
		{name: "read_only", kind: user, active: true, role: role.KindReadOnly},
	}
	for _, subj := range matrixSubjects {
		for _, act := range role.Actions {
			out = append(out, matrixActor{name: "custom_" + subj + "_" + string(act), kind: user, active: true,
				role: role.KindCustom, grant: need(subj, act)})
		}
	}
	return append(out,
		matrixActor{name: "guest", kind: user, active: true, role: role.KindAdmin, guest: true},
		matrixActor{name: "pending", kind: user, role: role.KindReadOnly},
		matrixActor{name: "non_member", kind: user},
		matrixActor{name: "credential", kind: cred, active: true, role: role.KindAdmin},
		matrixActor{name: "other_credential", kind: cred},
		matrixActor{name: "expired_guest", kind: user, role: role.KindAdmin, guest: true},
		matrixActor{name: "wrong_ip", kind: user, active: true, role: role.KindAdmin, fenced: true},
		matrixActor{name: "missing_mfa", kind: user, active: true, role: role.KindAdmin, fenced: true},
		matrixActor{name: "unauthenticated"},
	)
}

// actorsFor lists the actors a rule is called as: every non-custom kind,
// and the custom actors relevant to it: one per action on the subject it
// needs, and one holding the very action it needs on another subject (which
// must not help). A rule that needs no right gets one custom actor.
func (r matrixRule) actorsFor(all []matrixActor) []matrixActor {
	if r.scope == host {
		return []matrixActor{{name: "host"}}
	}
	decoy := need("memberships", r.need.action)
	if r.need.subject == "memberships" {
		decoy.subject = "roles"
	}
	var out []matrixActor
	for _, a := range all {
		switch {
		case a.role != role.KindCustom,
			r.need.subject == "" && a.grant == need("memberships", rRead),
			r.need.subject != "" && (a.grant.subject == r.need.subject || a.grant == decoy):
			out = append(out, a)
		}
	}
	return out
}

type matrixTarget int

const (
	sameOrg  matrixTarget = iota // an id of organization A
	otherOrg                     // the same kind of id, of organization B
	missing                      // an id of that shape that names nothing
	noTarget                     // the call names nothing
)

var targetNames = [...]string{"same", "other", "missing", "none"}

func (tg matrixTarget) String() string { return targetNames[tg] }

// matrixScope tells how a rule decides.
type matrixScope int

const (
	inOrg         matrixScope = iota // authorized in the target's organization
	self                             // the caller's own user or principal
	memberOnly                       // needs an active membership in the target organization, no right
	visibleUser                      // a user is visible to who may read the memberships of an organization of theirs
	invitee                          // only the invitee (none of the actors) accepts an invitation
	question                         // answers whether the principal may: a refusal is "no", never an error
	host                             // trusted host code: no principal; hostWant says it all
	accessor                         // no I/O
	across                           // a list across organizations: of the target's, what its own list answers
	notApplicable                    // takes no principal and no id: outside the matrix
)

// matrixCall is what a rule's call receives.
type matrixCall struct {
	ctx context.Context
	w   *matrixWorld
	s   *provisioning.Session
	pr  provisioning.Principal
	tg  matrixTarget
	f   *matrixFixtures // the target's organization's objects (A's for missing)
}

// org returns the target organization's id.
func (c *matrixCall) org() string { return c.id(func(f *matrixFixtures) string { return f.org.ID }) }

// id returns the target's object of a kind: A's, B's, or an id of nothing.
func (c *matrixCall) id(of func(*matrixFixtures) string) string {
	if c.tg == missing {
		return matrixMissingID
	}
	return of(c.f)
}

// errNo is how a question's "no" is reported.
var errNo = fault.E("matrix", fault.Forbidden, errors.New("the answer is no"))

func answer(yes bool, err error) error {
	if err == nil && !yes {
		return errNo
	}
	return err
}

// matrixRule is one row of the specification.
type matrixRule struct {
	op       string // Receiver.Method, then /variant when a method has several rows
	scope    matrixScope
	need     right
	owner    bool // only the organization's owner
	userOnly bool // only a user principal
	readOwn  bool // without the update right, a member reads only its own
	mutates  bool
	missing  outcome // another organization's or a nonexistent target: not found unless set
	granted  outcome // the outcome when permitted: success unless set
	hostWant map[matrixTarget]outcome
	call     func(c *matrixCall) error
}

var (
	rCreate  = role.ActionCreate
	rRead    = role.ActionRead
	rUpdate  = role.ActionUpdate
	rDestroy = role.ActionDestroy
)

func refUpdate() resource.CommonUpdate {
	return resource.CommonUpdate{Reference: testkit.Ptr("matrix")}
}

// matrixRules is the specification of every exported operation.
func matrixRules() []matrixRule {
	return append([]matrixRule{
		// Organizations: members read; admins update; the owner transfers.
		{op: "Session.CreateOrganization", scope: self, userOnly: true, mutates: true, call: func(c *matrixCall) error {
			_, err := c.s.CreateOrganization(c.ctx, organization.Create{Name: "New"})
			return err
		}},
		{op: "Session.GetOrganization", need: need("organizations", rRead), call: func(c *matrixCall) error {
			_, err := c.s.GetOrganization(c.ctx, c.org())
			return err
		}},
		// By its number (ECI's integer ids): as GetOrganization; a number
		// no organization has is not found.
		{op: "Session.GetOrganizationByNumber", need: need("organizations", rRead), call: func(c *matrixCall) error {
			n := int32(1<<31 - 1)
			if c.tg != missing {
				n = c.f.org.Number
			}
			_, err := c.s.GetOrganizationByNumber(c.ctx, n)
			return err
		}},
		{op: "Session.ListOrganizations", scope: self, call: func(c *matrixCall) error {
			_, err := c.s.ListOrganizations(c.ctx, organization.Filter{})
			return err
		}},
		{op: "Session.OrganizationIDs", scope: self, call: func(c *matrixCall) error {
			_, err := c.s.OrganizationIDs(c.ctx, resource.PageRequest{})
			return err
		}},
		{op: "Session.UpdateOrganization", need: need("organizations", rUpdate), mutates: true, call: func(c *matrixCall) error {
			_, err := c.s.UpdateOrganization(c.ctx, c.org(), organization.Update{Name: testkit.Ptr("Renamed")})
			return err
		}},
		{op: "Session.TransferOwnership", need: need("organizations", rUpdate), owner: true, mutates: true, call: func(c *matrixCall) error {
			return c.s.TransferOwnership(c.ctx, c.org(), c.f.adminUser.Email)
		}},
		{op: "Session.SetDefaultOrganization", scope: memberOnly, userOnly: true, mutates: true, call: func(c *matrixCall) error {
			_, err := c.s.SetDefaultOrganization(c.ctx, c.org())
			return err
		}},

		// Memberships: admins invite, add, change and remove; only the
		// owner grants the admin role or adds a user who is not a member.
		{op: "Session.Invite", need: need("memberships", rCreate), mutates: true, call: func(c *matrixCall) error {
			_, err := c.s.Invite(c.ctx, membership.Invite{OrganizationID: c.org(), UserEmail: c.f.newcomerEmail, RoleID: c.f.empty.ID})
			return err
		}},
		{op: "Session.InviteMany", need: need("memberships", rCreate), mutates: true, call: func(c *matrixCall) error {
			res, err := c.s.InviteMany(c.ctx, c.org(), []membership.Invite{{UserEmail: c.f.newcomerEmail, RoleID: c.f.empty.ID}})
			if err == nil && len(res) == 1 {
				err = res[0].Err // the one invitation's own outcome
			}
			return err
		}},
		{op: "Session.Invite/admin_role", need: need("memberships", rCreate), owner: true, mutates: true, call: func(c *matrixCall) error {
			_, err := c.s.Invite(c.ctx, membership.Invite{OrganizationID: c.org(), UserEmail: c.f.newcomerEmail, RoleID: c.f.admin.ID})
			return err
		}},
		{op: "Session.AddMember", need: need("memberships", rCreate), mutates: true, call: func(c *matrixCall) error {
			_, err := c.s.AddMember(c.ctx, membership.Add{OrganizationID: c.org(), UserID: c.f.joiner.ID, RoleIDs: []string{c.f.empty.ID}})
			return err
		}},
		{op: "Session.UpsertMembership", need: need("memberships", rRead), owner: true, mutates: true, call: func(c *matrixCall) error {
			_, _, err := c.s.UpsertMembership(c.ctx, membership.Upsert{OrganizationID: c.org(), UserID: c.f.joiner.ID, RoleIDs: []string{c.f.empty.ID}})
			return err
		}},
		{op: "Session.UpsertMembership/existing_member", need: need("memberships", rUpdate), mutates: true, call: func(c *matrixCall) error {
			_, _, err := c.s.UpsertMembership(c.ctx, membership.Upsert{OrganizationID: c.org(), UserID: c.f.memberUser.ID, RoleIDs: []string{c.f.readOnly.ID}})
			return err
		}},
		{op: "Session.GetMembership", need: need("memberships", rRead), call: func(c *matrixCall) error {
			_, err := c.s.GetMembership(c.ctx, c.id(func(f *matrixFixtures) string { return f.member.ID }))
			return err
		}},
		{op: "Session.GetMembershipByEmail", need: need("memberships", rRead), call: func(c *matrixCall) error {
			_, err := c.s.GetMembershipByEmail(c.ctx, c.org(), c.f.memberUser.Email)
			return err
		}},
		{op: "Session.ListMemberships", need: need("memberships", rRead), call: func(c *matrixCall) error {
			_, err := c.s.ListMemberships(c.ctx, membership.Filter{OrganizationID: c.org()})
			return err
		}},
		{op: "Session.RolesCan", need: need("permissions", rRead), call: func(c *matrixCall) error {
			_, err := c.s.RolesCan(c.ctx, c.org(), []string{c.id(func(f *matrixFixtures) string { return f.readOnly.ID })}, []access.Grant{{Subject: "memberships", Action: "read"}})
			return err
		}},
		{op: "Session.MembersCan", need: need("memberships", rRead), call: func(c *matrixCall) error {
			_, err := c.s.MembersCan(c.ctx, c.org(), []string{c.id(func(f *matrixFixtures) string { return f.memberUser.ID })}, []access.Grant{{Subject: "memberships", Action: "read"}})
			return err
		}},
		{op: "Session.UpdateMembership", need: need("memberships", rUpdate), mutates: true, call: func(c *matrixCall) error {
			_, err := c.s.UpdateMembership(c.ctx, c.id(func(f *matrixFixtures) string { return f.member.ID }), membership.Update{CommonUpdate: refUpdate()})
			return err
		}},
		{op: "Session.UpdateMembership/promote_to_admin", need: need("memberships", rUpdate), owner: true, mutates: true, call: func(c *matrixCall) error {
			_, err := c.s.UpdateMembership(c.ctx, c.id(func(f *matrixFixtures) string { return f.member.ID }), membership.Update{RoleID: &c.f.admin.ID})
			return err
		}},
		{op: "Session.DeleteMembership", need: need("memberships", rDestroy), mutates: true, call: func(c *matrixCall) error {
			return c.s.DeleteMembership(c.ctx, c.id(func(f *matrixFixtures) string { return f.member.ID }))
		}},
		{op: "Session.ResendInvitation", need: need("memberships", rUpdate), mutates: true, call: func(c *matrixCall) error {
			return c.s.ResendInvitation(c.ctx, c.id(func(f *matrixFixtures) string { return f.pending.ID }))
		}},
		{op: "Session.AcceptInvitation", scope: invitee, userOnly: true, mutates: true, call: func(c *matrixCall) error {
			_, err := c.s.AcceptInvitation(c.ctx, c.id(func(f *matrixFixtures) string { return f.token }))
			return err
		}},
		{op: "Session.AcceptPendingInvitations", scope: self, userOnly: true, mutates: true, call: func(c *matrixCall) error {
			_, err := c.s.AcceptPendingInvitations(c.ctx)
			return err
		}},

		// Users: one's own record; others' through a readable membership.
		{op: "Session.CurrentUser", scope: self, userOnly: true, call: func(c *matrixCall) error {
			_, err := c.s.CurrentUser(c.ctx)
			return err
		}},
		{op: "Session.UpdateCurrentUser", scope: self, userOnly: true, mutates: true, call: func(c *matrixCall) error {
			_, err := c.s.UpdateCurrentUser(c.ctx, user.Update{FirstName: testkit.Ptr("Renamed")})
			return err
		}},
		{op: "Session.ConfirmEmail", scope: self, userOnly: true, mutates: true, granted: fault.NotFound /* no change pending */, call: func(c *matrixCall) error {
			_, err := c.s.ConfirmEmail(c.ctx, "no-such-code")
			return err
		}},
		{op: "Session.GetUser", scope: visibleUser, call: func(c *matrixCall) error {
			_, err := c.s.GetUser(c.ctx, c.id(func(f *matrixFixtures) string { return f.memberUser.ID }))
			return err
		}},
		{op: "Session.Principal", scope: accessor, call: func(c *matrixCall) error {
			if c.s.Principal() != c.pr {
				return errors.New("Principal() is not the session's principal")
			}
			return nil
		}},

		// Membership profiles.
		{op: "Session.CreateProfile", need: need("membership_profiles", rCreate), mutates: true, call: func(c *matrixCall) error {
			_, err := c.s.CreateProfile(c.ctx, profile.Create{OrganizationID: c.org(), Name: "New", AccessScope: access.LiveAccess})
			return err
		}},
		{op: "Session.GetProfile", need: need("membership_profiles", rRead), call: func(c *matrixCall) error {
			_, err := c.s.GetProfile(c.ctx, c.id(func(f *matrixFixtures) string { return f.profile.ID }))
			return err
		}},
		{op: "Session.ListProfiles", need: need("membership_profiles", rRead), call: func(c *matrixCall) error {
			_, err := c.s.ListProfiles(c.ctx, profile.Filter{OrganizationID: c.org()})
			return err
		}},
		{op: "Session.UpdateProfile", need: need("membership_profiles", rUpdate), mutates: true, call: func(c *matrixCall) error {
			_, err := c.s.UpdateProfile(c.ctx, c.id(func(f *matrixFixtures) string { return f.profile.ID }), profile.Update{Name: testkit.Ptr("Renamed")})
			return err
		}},
		{op: "Session.DeleteProfile", need: need("membership_profiles", rDestroy), mutates: true, call: func(c *matrixCall) error {
			return c.s.DeleteProfile(c.ctx, c.id(func(f *matrixFixtures) string { return f.profile.ID }))
		}},

		// Roles and permissions. A permission's role that the caller may
		// not see is a role that does not exist: an invalid field.
		{op: "Session.CreateRole", need: need("roles", rCreate), mutates: true, call: func(c *matrixCall) error {
			_, err := c.s.CreateRole(c.ctx, role.Create{OrganizationID: c.org(), Name: "New"})
			return err
		}},
		{op: "Session.GetRole", need: need("roles", rRead), call: func(c *matrixCall) error {
			_, err := c.s.GetRole(c.ctx, c.id(func(f *matrixFixtures) string { return f.role.ID }))
			return err
		}},
		{op: "Session.ListRoles", need: need("roles", rRead), call: func(c *matrixCall) error {
			_, err := c.s.ListRoles(c.ctx, role.Filter{OrganizationID: c.org()})
			return err
		}},
		{op: "Session.UpdateRole", need: need("roles", rUpdate), mutates: true, call: func(c *matrixCall) error {
			_, err := c.s.UpdateRole(c.ctx, c.id(func(f *matrixFixtures) string { return f.role.ID }), role.Update{Name: testkit.Ptr("Renamed")})
			return err
		}},
		{op: "Session.AddMissingBasePermissions", need: need("permissions", rCreate), mutates: true, call: func(c *matrixCall) error {
			_, err := c.s.AddMissingBasePermissions(c.ctx, c.id(func(f *matrixFixtures) string { return f.role.ID }))
			return err
		}},
		{op: "Session.CreatePermission", need: need("permissions", rCreate), missing: fault.Invalid, mutates: true, call: func(c *matrixCall) error {
			_, err := c.s.CreatePermission(c.ctx, role.PermissionCreate{RoleID: c.id(func(f *matrixFixtures) string { return f.role.ID }), Subject: "skus"})
			return err
		}},
		{op: "Session.GetPermission", need: need("permissions", rRead), call: func(c *matrixCall) error {
			_, err := c.s.GetPermission(c.ctx, c.id(func(f *matrixFixtures) string { return f.permission.ID }))
			return err
		}},
		{op: "Session.ListPermissions", need: need("permissions", rRead), call: func(c *matrixCall) error {
			_, err := c.s.ListPermissions(c.ctx, role.PermissionFilter{OrganizationID: c.org()})
			return err
		}},
		{op: "Session.UpdatePermission", need: need("permissions", rUpdate), mutates: true, call: func(c *matrixCall) error {
			_, err := c.s.UpdatePermission(c.ctx, c.id(func(f *matrixFixtures) string { return f.permission.ID }), role.PermissionUpdate{CommonUpdate: refUpdate()})
			return err
		}},

		// API credentials: only the owner hands out the admin role.
		{op: "Session.CreateCredential", need: need("api_credentials", rCreate), mutates: true, call: func(c *matrixCall) error {
			_, err := c.s.CreateCredential(c.ctx, credential.Create{OrganizationID: c.org(), Name: "New", Kind: credential.SalesChannel})
			return err
		}},
		{op: "Session.CreateCredential/admin_role", need: need("api_credentials", rCreate), owner: true, mutates: true, call: func(c *matrixCall) error {
			_, err := c.s.CreateCredential(c.ctx, credential.Create{OrganizationID: c.org(), Name: "New", Kind: credential.Integration, RoleID: c.f.admin.ID})
			return err
		}},
		{op: "Session.GetCredential", need: need("api_credentials", rRead), call: func(c *matrixCall) error {
			_, err := c.s.GetCredential(c.ctx, c.id(func(f *matrixFixtures) string { return f.cred.Credential.ID }))
			return err
		}},
		{op: "Session.ListCredentials", need: need("api_credentials", rRead), call: func(c *matrixCall) error {
			_, err := c.s.ListCredentials(c.ctx, credential.Filter{OrganizationID: c.org()})
			return err
		}},
		{op: "Session.UpdateCredential", need: need("api_credentials", rUpdate), mutates: true, call: func(c *matrixCall) error {
			_, err := c.s.UpdateCredential(c.ctx, c.id(func(f *matrixFixtures) string { return f.cred.Credential.ID }), credential.Update{Name: testkit.Ptr("Renamed")})
			return err
		}},
		{op: "Session.RotateCredential", need: need("api_credentials", rUpdate), mutates: true, call: func(c *matrixCall) error {
			_, err := c.s.RotateCredential(c.ctx, c.id(func(f *matrixFixtures) string { return f.cred.Credential.ID }), 0)
			return err
		}},
		{op: "Session.DeleteCredential", need: need("api_credentials", rDestroy), mutates: true, call: func(c *matrixCall) error {
			return c.s.DeleteCredential(c.ctx, c.id(func(f *matrixFixtures) string { return f.cred.Credential.ID }))
		}},

		// Application memberships: without the update right, a member
		// sees only its own.
		{op: "Session.CreateAppMembership", need: need("application_memberships", rCreate), mutates: true, call: func(c *matrixCall) error {
			_, err := c.s.CreateAppMembership(c.ctx, appmembership.Create{OrganizationID: c.org(), CredentialID: c.f.webapp.Credential.ID,
				ProfileID: c.f.profile.ID, RoleID: c.f.empty.ID})
			return err
		}},
		{op: "Session.GetAppMembership", need: need("application_memberships", rRead), readOwn: true, call: func(c *matrixCall) error {
			_, err := c.s.GetAppMembership(c.ctx, c.id(func(f *matrixFixtures) string { return f.appMembership.ID }))
			return err
		}},
		{op: "Session.ListAppMemberships", need: need("application_memberships", rRead), call: func(c *matrixCall) error {
			_, err := c.s.ListAppMemberships(c.ctx, appmembership.Filter{OrganizationID: c.org()})
			return err
		}},
		{op: "Session.UpdateAppMembership", need: need("application_memberships", rUpdate), mutates: true, call: func(c *matrixCall) error {
			_, err := c.s.UpdateAppMembership(c.ctx, c.id(func(f *matrixFixtures) string { return f.appMembership.ID }), appmembership.Update{CommonUpdate: refUpdate()})
			return err
		}},
		{op: "Session.DeleteAppMembership", need: need("application_memberships", rDestroy), mutates: true, call: func(c *matrixCall) error {
			return c.s.DeleteAppMembership(c.ctx, c.id(func(f *matrixFixtures) string { return f.appMembership.ID }))
		}},

		// Identity providers: members read; only the owner writes.
		{op: "Session.CreateIdentityProvider", need: need("identity_providers", rCreate), owner: true, mutates: true, call: func(c *matrixCall) error {
			_, err := c.s.CreateIdentityProvider(c.ctx, idpCreate(c.org(), "New SSO", "new.example"))
			return err
		}},
		{op: "Session.GetIdentityProvider", need: need("identity_providers", rRead), call: func(c *matrixCall) error {
			_, err := c.s.GetIdentityProvider(c.ctx, c.id(func(f *matrixFixtures) string { return f.provider.ID }))
			return err
		}},
		{op: "Session.ListIdentityProviders", need: need("identity_providers", rRead), call: func(c *matrixCall) error {
			_, err := c.s.ListIdentityProviders(c.ctx, idp.Filter{OrganizationID: c.org()})
			return err
		}},
		{op: "Session.UpdateIdentityProvider", need: need("identity_providers", rUpdate), owner: true, mutates: true, call: func(c *matrixCall) error {
			_, err := c.s.UpdateIdentityProvider(c.ctx, c.id(func(f *matrixFixtures) string { return f.provider.ID }), idp.Update{Name: testkit.Ptr("Renamed SSO")})
			return err
		}},
		{op: "Session.VerifyIdentityProvider", need: need("identity_providers", rUpdate), owner: true, mutates: true, call: func(c *matrixCall) error {
			_, _, err := c.s.VerifyIdentityProvider(c.ctx, c.id(func(f *matrixFixtures) string { return f.provider.ID }))
			return err
		}},
		{op: "Session.DeleteIdentityProvider", need: need("identity_providers", rDestroy), owner: true, mutates: true, call: func(c *matrixCall) error {
			return c.s.DeleteIdentityProvider(c.ctx, c.id(func(f *matrixFixtures) string { return f.provider.ID }))
		}},

		// Versions: read with the versions right (not every member's).
		{op: "Session.ListVersions", need: need("versions", rRead), call: func(c *matrixCall) error {
			_, err := c.s.ListVersions(c.ctx, audit.Filter{OrganizationID: c.org()})
			return err
		}},
		{op: "Session.GetVersion", need: need("versions", rRead), call: func(c *matrixCall) error {
			_, err := c.s.GetVersion(c.ctx, c.id(func(f *matrixFixtures) string { return f.version.ID }))
			return err
		}},

		// Questions: a refusal is "no", never an error; another
		// organization, or none, is "no" too.
		{op: "Session.Can", scope: question, need: need("memberships", rCreate), call: func(c *matrixCall) error {
			return answer(c.s.Can(c.ctx, c.org(), "memberships", rCreate))
		}},
		{op: "Session.Checker", scope: question, need: need("memberships", rCreate), call: func(c *matrixCall) error {
			ch, err := c.s.Checker(c.ctx, c.org())
			if err != nil {
				return err
			}
			return answer(ch.Can(c.ctx, "memberships", rCreate))
		}},
		{op: "Provisioner.Check", scope: question, need: need("memberships", rCreate), call: func(c *matrixCall) error {
			d, err := c.w.p.Check(c.ctx, c.pr, c.org(), "memberships", rCreate)
			return answer(d.Allowed, err)
		}},
		{op: "Provisioner.Can", scope: question, need: need("memberships", rCreate), call: func(c *matrixCall) error {
			return answer(c.w.p.Can(c.ctx, c.pr, c.org(), "memberships", rCreate))
		}},
		{op: "Provisioner.Explain", scope: question, need: need("memberships", rCreate), call: func(c *matrixCall) error {
			ex, err := c.w.p.Explain(c.ctx, c.pr, c.org(), "memberships", rCreate)
			return answer(ex.Allowed, err)
		}},
		{op: "Provisioner.OrganizationsWhere", scope: question, need: need("memberships", rCreate), call: func(c *matrixCall) error {
			page, err := c.w.p.OrganizationsWhere(c.ctx, c.pr, "memberships", rCreate, resource.PageRequest{})
			return answer(slices.Contains(page.Items, c.w.a.org.ID), err)
		}},

		// Handles: As gives the principal's own session.
		{op: "Provisioner.As", need: need("organizations", rRead), call: func(c *matrixCall) error {
			_, err := c.w.p.As(c.pr).GetOrganization(c.ctx, c.org())
			return err
		}},
		{op: "System.As", need: need("organizations", rRead), call: func(c *matrixCall) error {
			_, err := c.w.p.System().As(c.pr).GetOrganization(c.ctx, c.org())
			return err
		}},

		// Host calls: trusted code, no principal; the system sees every
		// organization, and an id that names nothing is not found.
		{op: "System.CreateUser", scope: host, mutates: true, hostWant: map[matrixTarget]outcome{noTarget: ok}, call: func(c *matrixCall) error {
			_, err := c.w.p.System().CreateUser(c.ctx, user.Create{Email: "created@example.com", FirstName: "F", LastName: "L"})
			return err
		}},
		{op: "System.UserByEmail", scope: host, hostWant: map[matrixTarget]outcome{sameOrg: ok, otherOrg: ok, missing: fault.NotFound}, call: func(c *matrixCall) error {
			address := "nobody@example.com"
			if c.tg != missing {
				address = c.f.memberUser.Email
			}
			_, err := c.w.p.System().UserByEmail(c.ctx, address)
			return err
		}},
		{op: "System.VerifyEmail", scope: host, mutates: true, hostWant: map[matrixTarget]outcome{sameOrg: ok, otherOrg: ok, missing: fault.NotFound}, call: func(c *matrixCall) error {
			_, err := c.w.p.System().VerifyEmail(c.ctx, c.id(func(f *matrixFixtures) string { return f.memberUser.ID }), c.f.memberUser.Email)
			return err
		}},
		{op: "System.SetUserMFADisabled", scope: host, mutates: true, hostWant: map[matrixTarget]outcome{sameOrg: ok, otherOrg: ok, missing: fault.NotFound}, call: func(c *matrixCall) error {
			_, err := c.w.p.System().SetUserMFADisabled(c.ctx, c.id(func(f *matrixFixtures) string { return f.memberUser.ID }), true)
			return err
		}},
		{op: "System.ListSecurityEvents", scope: host, hostWant: map[matrixTarget]outcome{noTarget: ok}, call: func(c *matrixCall) error {
			_, err := c.w.p.System().ListSecurityEvents(c.ctx, audit.SecurityFilter{})
			return err
		}},
		{op: "System.SetSubscription", scope: host, mutates: true, hostWant: map[matrixTarget]outcome{sameOrg: ok, otherOrg: ok, missing: fault.NotFound}, call: func(c *matrixCall) error {
			_, err := c.w.p.System().SetSubscription(c.ctx, c.org(), organization.Subscription{PlanType: "growth"})
			return err
		}},
		{op: "System.SetPlan", scope: host, mutates: true, hostWant: map[matrixTarget]outcome{sameOrg: ok, otherOrg: ok, missing: fault.NotFound}, call: func(c *matrixCall) error {
			_, err := c.w.p.System().SetPlan(c.ctx, c.org(), "enterprise")
			return err
		}},
		{op: "System.VerifyIdentityProvider", scope: host, mutates: true, hostWant: map[matrixTarget]outcome{sameOrg: ok, otherOrg: ok, missing: fault.NotFound}, call: func(c *matrixCall) error {
			_, _, err := c.w.p.System().VerifyIdentityProvider(c.ctx, c.id(func(f *matrixFixtures) string { return f.provider.ID }))
			return err
		}},
		{op: "System.VerifyPendingIdentityProviders", scope: host, mutates: true, hostWant: map[matrixTarget]outcome{noTarget: ok}, call: func(c *matrixCall) error {
			_, err := c.w.p.System().VerifyPendingIdentityProviders(c.ctx, 10)
			return err
		}},
		{op: "System.PurgeVersions", scope: host, mutates: true, hostWant: map[matrixTarget]outcome{noTarget: ok}, call: func(c *matrixCall) error {
			_, _, err := c.w.p.System().PurgeVersions(c.ctx, provisioning.DefaultVersionRetention, 10)
			return err
		}},
		{op: "System.ReencryptIdentityProviderSecret", scope: host, mutates: true, hostWant: map[matrixTarget]outcome{sameOrg: ok, otherOrg: ok, missing: fault.NotFound}, call: func(c *matrixCall) error {
			_, err := c.w.p.System().ReencryptIdentityProviderSecret(c.ctx, c.id(func(f *matrixFixtures) string { return f.provider.ID }))
			return err
		}},
		{op: "System.ReencryptIdentityProviderSecrets", scope: host, mutates: true, hostWant: map[matrixTarget]outcome{noTarget: ok}, call: func(c *matrixCall) error {
			_, err := c.w.p.System().ReencryptIdentityProviderSecrets(c.ctx, 10)
			return err
		}},
		{op: "System.IdentityProviderSecretKeys", scope: host, hostWant: map[matrixTarget]outcome{noTarget: ok}, call: func(c *matrixCall) error {
			_, err := c.w.p.System().IdentityProviderSecretKeys(c.ctx)
			return err
		}},
		// Unknown client ids and wrong secrets are told apart by nothing (I25).
		{op: "Provisioner.Authenticate", scope: host, mutates: true, hostWant: map[matrixTarget]outcome{sameOrg: ok, otherOrg: fault.Unauthenticated, missing: fault.Unauthenticated}, call: func(c *matrixCall) error {
			_, err := c.w.p.Authenticate(c.ctx, c.id(func(f *matrixFixtures) string { return f.cred.Credential.ClientID }), c.w.a.cred.ClientSecret)
			return err
		}},
		// A secret is handed out only for a verified provider (none here).
		{op: "System.IdentityProviderSecret", scope: host, hostWant: map[matrixTarget]outcome{sameOrg: fault.Conflict, otherOrg: fault.Conflict, missing: fault.NotFound}, call: func(c *matrixCall) error {
			_, _, err := c.w.p.System().IdentityProviderSecret(c.ctx, c.id(func(f *matrixFixtures) string { return f.provider.ID }))
			return err
		}},
		{op: "System.MembersWho", scope: host, hostWant: map[matrixTarget]outcome{sameOrg: ok, otherOrg: ok, missing: fault.NotFound}, call: func(c *matrixCall) error {
			_, err := c.w.p.System().MembersWho(c.ctx, c.org(), "memberships", rCreate, resource.PageRequest{})
			return err
		}},

		// Outside the matrix: no principal, no id.
		{op: "Provisioner.Close", scope: notApplicable},
		{op: "Provisioner.Subjects", scope: notApplicable},
		{op: "Provisioner.System", scope: notApplicable},
		{op: "Provisioner.WatchPolicy", scope: notApplicable},
		{op: "System.RecordSecurityEvent", scope: notApplicable},
	}, acrossRules()...)
}

// expect derives a cell's outcome from the rule and the actor's standing.
func (r matrixRule) expect(a matrixActor, tg matrixTarget) outcome {
	refused := r.missing
	if refused == 0 {
		refused = fault.NotFound
	}
	granted := r.granted
	if granted == 0 {
		granted = ok
	}
	switch r.scope {
	case accessor:
		return ok
	case host:
		return r.hostWant[tg]
	}
	if a.kind == "" {
		return fault.Unauthenticated // deny by default, before anything is read (I2)
	}
	if r.userOnly && a.kind != access.KindUser {
		return fault.Forbidden
	}
	switch r.scope {
	case self:
		return granted
	case invitee:
		return fault.NotFound // an invitation is nobody else's: as if it did not exist
	case question:
		if (tg == sameOrg || tg == noTarget) && a.may(r.need) {
			return ok
		}
		return fault.Forbidden // errNo
	case memberOnly:
		// The default organization is the user's own data: any active
		// membership will do, whatever the organization's request rules.
		if tg == sameOrg && a.active {
			return granted
		}
		return fault.NotFound
	case visibleUser:
		if tg == sameOrg && a.may(need("memberships", rRead)) {
			return granted
		}
		return fault.NotFound
	case across: // nothing of an organization it may not read, and no error, but for its request rules
		if tg == sameOrg && a.active && a.fenced {
			return fault.Forbidden
		}
		return granted
	}
	// inOrg: another organization, or none, is one the caller cannot tell
	// from an id that does not exist (I1).
	switch {
	case tg != sameOrg || !a.active:
		return refused
	case a.fenced, !a.allows(r.need), r.owner && !a.owner:
		return fault.Forbidden
	case r.readOwn && !a.allows(need(r.need.subject, rUpdate)):
		return fault.NotFound
	}
	return granted
}

// targets lists the targets a rule is called with.
func (r matrixRule) targets() []matrixTarget {
	switch {
	case r.scope == self, r.scope == accessor, r.scope == host && len(r.hostWant) == 1,
		r.op == "Provisioner.OrganizationsWhere":
		return []matrixTarget{noTarget}
	}
	return []matrixTarget{sameOrg, otherOrg, missing}
}
