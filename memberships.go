package provisioning

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"slices"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/authz"
	"github.com/provisionkit/provisioning/email"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/user"
)

// maxInvitationToken bounds the length of a token we bother hashing.
const maxInvitationToken = 128

// newInvitationToken returns a token with 256 bits from crypto/rand and its
// SHA-256 hash, the only form that is stored.
func newInvitationToken() (token string, hash []byte) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashToken(token)
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Invite invites a user, by email, into an organization with a role (and
// optionally more roles, a profile, an access scope and the membership
// rules). The membership is active at once when a user with that email
// exists and the address is verified (user.User.EmailVerifiedAt), pending
// otherwise, with a token, until its user accepts it; either way the
// Notifier hears of it after commit. Admins invite; only the owner grants the admin role; nobody
// grants a role or permission with rights they do not hold.
func (s *Session) Invite(ctx context.Context, in0 membership.Invite) (*membership.Membership, error) {
	const op = "provisioning.Invite"
	var m *membership.Membership
	var inv Invitation
	err := s.tx(ctx, func(ctx context.Context) error {
		pre, d, err := s.lockedTarget(ctx, op, in0)
		if err != nil {
			return err
		}
		res, sent, err := s.invite(ctx, op, pre.t.Organization, d, []membership.Invite{in0}, pre)
		if err != nil {
			return err
		}
		if res[0].Err != nil {
			return res[0].Err
		}
		m, inv = res[0].Membership, sent[0]
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.notify(ctx, inv)
	return m, nil
}

// prefetched is what an invitation read with its organization's lock
// (lockedTarget): the role of roleID and the user of email.
type prefetched struct {
	roleID, email string
	t             membership.Target
}

// lockedTarget is lockedOrg for one invitation (the lock, then the
// authorization of inviting) that also reads, with the lock, the role the
// invitation grants and the user of its address (membership.Store's
// LockTarget). Input that is not valid reads no role and no user: the plan
// refuses it after the authorization.
func (s *Session) lockedTarget(ctx context.Context, op string, in membership.Invite) (*prefetched, authz.Decision, error) {
	if err := s.authenticated(op); err != nil {
		return nil, authz.Decision{}, err
	}
	pre := &prefetched{}
	if v, err := in.Validate(s.env()); err == nil {
		pre.roleID, pre.email = v.RoleID, v.UserEmail
	}
	var err error
	if pre.t, err = s.p.b.Memberships().LockTarget(ctx, in.OrganizationID, pre.roleID, pre.email); err != nil {
		return nil, authz.Decision{}, missing(op, err)
	}
	d, err := s.authorize(ctx, op, in.OrganizationID, typeMemberships, role.ActionCreate)
	return pre, d, err
}

// env is what membership input validation needs from the Provisioner.
func (s *Session) env() membership.Env {
	return membership.Env{Subjects: s.p.subjects, Now: s.now()}
}

// prepareInvite validates an invitation into org and checks what it grants
// (roles found with roleAs, each owned by org; no escalation), and returns
// the membership it would create, without its user, and its invitation.
func (s *Session) prepareInvite(ctx context.Context, op string, org *organization.Organization, d authz.Decision, in membership.Invite,
	roleAs func(ctx context.Context, op, field, orgID, roleID string) (*role.Role, error)) (membership.Invite, *membership.Membership, *Invitation, error) {
	in, err := in.Validate(s.env())
	if err != nil {
		return in, nil, nil, err
	}
	r, err := roleAs(ctx, op, "role", org.ID, in.RoleID)
	if err != nil {
		return in, nil, nil, err
	}
	roles := []*role.Role{r}
	for _, id := range in.ExtraRoleIDs {
		r, err := roleAs(ctx, op, "role_ids", org.ID, id)
		if err != nil {
			return in, nil, nil, err
		}
		roles = append(roles, r)
	}
	if err := s.mayGrantAll(ctx, op, org.ID, d, roles, membership.Grants(in.Permissions)); err != nil {
		return in, nil, nil, err
	}
	var profileScope access.Scope
	if in.ProfileID != "" {
		p, err := s.profileIn(ctx, op, org.ID, in.ProfileID)
		if err != nil {
			return in, nil, nil, err
		}
		profileScope = p.AccessScope
	}
	m := &membership.Membership{ID: s.p.ids.NewID(), OrganizationID: org.ID, UserEmail: in.UserEmail,
		Status: membership.Pending, ProfileID: in.ProfileID, AccessScope: in.AccessScope,
		ProfileAccessScope: profileScope, Common: in.CommonInput.New(s.now())}
	m.SetRoles(in.RoleIDs(), resource.Changes{})
	m.SetRules(in.Rules, resource.Changes{})
	return in, m, &Invitation{MembershipID: m.ID, OrganizationID: org.ID, OrganizationName: org.Name, Email: m.UserEmail}, nil
}

// pending makes m wait for its user: an invitation token, and its expiry.
// It returns the token's hash, the only form stored.
func (s *Session) pending(m *membership.Membership, inv *Invitation) []byte {
	var hash []byte
	inv.Token, hash = newInvitationToken()
	m.InvitationExpiresAt = m.CreatedAt.Add(s.p.invitationTTL)
	inv.ExpiresAt = m.InvitationExpiresAt
	return hash
}

// createMembership stores a new membership of org, under org's lock,
// within the plan's limit: when it is active, it makes org the user's
// default organization if the user has none. A unique key that fires is a
// conflict on field. It records the creation (an active one changes the
// policy: see affectsPolicy).
func (s *Session) createMembership(ctx context.Context, op string, org *organization.Organization, m *membership.Membership, tokenHash []byte, field string) error {
	if err := s.withinMembershipLimit(ctx, op, org); err != nil {
		return err
	}
	return s.insertMembership(ctx, op, org, m, tokenHash, field)
}

// insertMembership is createMembership once the plan's limit is checked.
func (s *Session) insertMembership(ctx context.Context, op string, org *organization.Organization, m *membership.Membership, tokenHash []byte, field string) error {
	if m.Status != membership.Active {
		c := change{org: org.ID, typ: typeMemberships, id: m.ID, ev: audit.Create, ch: membershipCreated(m)}
		return s.createPending(ctx, op, m, tokenHash, field, c)
	}
	if err := s.p.b.Memberships().Create(ctx, m, tokenHash); err != nil {
		if errors.Is(err, fault.ErrAlreadyExists) {
			return &fault.Error{Op: op, Kind: fault.Conflict, Field: field, Err: err}
		}
		return fault.Wrap(op, err)
	}
	if err := s.joined(ctx, op, m); err != nil {
		return err
	}
	return s.record(ctx, org.ID, typeMemberships, m.ID, audit.Create, membershipCreated(m))
}

// membershipCreated is the changes of a new membership's version.
func membershipCreated(m *membership.Membership) resource.Changes {
	ch := created("user_email", m.UserEmail, "status", string(m.Status), "role_id", m.RoleID,
		"membership_profile_id", m.ProfileID, "access_scope", string(m.AccessScope),
		"reference", m.Reference, "reference_origin", m.ReferenceOrigin)
	if len(m.RoleIDs) > 1 {
		ch.Record("role_ids", nil, m.RoleIDs)
	}
	// The rule fields that are set: the changes from a blank membership's.
	new(membership.Membership).SetRules(m.Rules(), ch)
	return ch
}

// joined follows a membership that became active: the user gets org as
// default organization when it has none.
func (s *Session) joined(ctx context.Context, op string, m *membership.Membership) error {
	u, err := s.p.b.Users().Lock(ctx, m.UserID)
	if err != nil {
		return fault.Wrap(op, err)
	}
	if u.DefaultOrganizationID != "" {
		return nil
	}
	m.Default = true
	return s.setDefault(ctx, op, u.ID, "", m.OrganizationID)
}

// left follows the removal of an active membership of userID in orgID:
// when orgID was the user's default organization, the oldest remaining
// active membership's organization becomes it (none when there is none).
func (s *Session) left(ctx context.Context, op, userID, orgID string) error {
	u, err := s.p.b.Users().Lock(ctx, userID)
	if err != nil || u.DefaultOrganizationID != orgID {
		return fault.Wrap(op, err)
	}
	next, err := s.p.b.Memberships().OldestActiveOrganization(ctx, userID)
	if err != nil {
		return fault.Wrap(op, err)
	}
	return s.setDefault(ctx, op, userID, orgID, next)
}

// setDefault changes a user's default organization and records it on the user.
func (s *Session) setDefault(ctx context.Context, op, userID, from, to string) error {
	if err := s.p.b.Users().SetDefaultOrganization(ctx, userID, to); err != nil {
		return fault.Wrap(op, err)
	}
	return s.record(ctx, "", typeUsers, userID, audit.Update,
		resource.Changes{"default_organization_id": {nullable(from), nullable(to)}})
}

// nullable is how an optional id appears in a version: null when empty.
func nullable(id string) any {
	if id == "" {
		return nil
	}
	return id
}

// notify hands an invitation to the Notifier; a failure is logged, not returned.
func (s *Session) notify(ctx context.Context, inv Invitation) {
	if s.p.notifier == nil {
		return
	}
	if err := s.p.notifier.Invited(ctx, inv); err != nil {
		s.p.log.ErrorContext(ctx, "provisioning: notifier failed", "membership_id", inv.MembershipID, "error", err)
	}
}

// roleIn loads a role that must belong to orgID; otherwise the field "role" does not exist.
func (s *Session) roleIn(ctx context.Context, op, orgID, roleID string) (*role.Role, error) {
	return s.roleAs(ctx, op, "role", orgID, roleID)
}

// roleAs loads a role that must belong to orgID; otherwise field does not exist.
func (s *Session) roleAs(ctx context.Context, op, field, orgID, roleID string) (*role.Role, error) {
	r, err := s.p.b.Roles().GetRole(ctx, roleID)
	return roleOf(op, field, orgID, r, err)
}

// roleOf is roleAs of a role read (r, or the error of its read).
func roleOf(op, field, orgID string, r *role.Role, err error) (*role.Role, error) {
	if fault.KindOf(err) == fault.NotFound || err == nil && (r == nil || r.OrganizationID != orgID) {
		return nil, fault.InvalidField(op, field, "not_found", "does not exist")
	}
	return r, fault.Wrap(op, err)
}

// rolesIn loads roles that must belong to orgID, in order; otherwise the
// field "role_ids" does not exist.
func (s *Session) rolesIn(ctx context.Context, op, orgID string, ids []string) ([]*role.Role, error) {
	out := make([]*role.Role, 0, len(ids))
	for _, id := range ids {
		r, err := s.roleAs(ctx, op, "role_ids", orgID, id)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// mayGrant refuses to let the caller give someone role r when r carries
// rights the caller does not hold; see mayGrantAll.
func (s *Session) mayGrant(ctx context.Context, op, orgID string, d authz.Decision, r *role.Role) error {
	return s.mayGrantAll(ctx, op, orgID, d, []*role.Role{r}, nil)
}

// mayGrantAll refuses to let the caller give someone roles or direct
// permissions that carry rights the caller does not hold (Kubernetes'
// escalation rule, through authz.Rights: a wildcard is covered only by a
// wildcard). The admin kind, and a direct "*" (every action on every
// subject, the admin role in all but name), only the owner grants.
func (s *Session) mayGrantAll(ctx context.Context, op, orgID string, d authz.Decision, roles []*role.Role, grants []access.Grant) error {
	if s.pr.Kind == access.KindSystem {
		return nil
	}
	onlyOwner := fault.E(op, fault.Forbidden, errors.New("only the owner grants the admin role or every permission"))
	var rights *authz.Rights
	covers := func(ok func(*authz.Rights) bool) (bool, error) {
		if rights == nil {
			var err error
			if rights, err = s.p.authz.Rights(ctx, s.p.b.Access(), s.pr, orgID); err != nil {
				return false, fault.Wrap(op, err)
			}
		}
		return ok(rights), nil
	}
	for _, r := range roles {
		if r.Kind == role.KindAdmin {
			if !d.Owner {
				return onlyOwner
			}
			continue
		}
		ok, err := covers(func(rs *authz.Rights) bool { return rs.Covers(r.ID) })
		if err != nil {
			return err
		}
		if !ok {
			return fault.E(op, fault.Forbidden, errors.New("cannot grant a role with rights the caller does not hold"))
		}
	}
	for _, g := range grants {
		if g.Subject == membership.Wildcard && g.Action == membership.Wildcard && !d.Owner {
			return onlyOwner
		}
		ok, err := covers(func(rs *authz.Rights) bool { return rs.CoversGrant(g) })
		if err != nil {
			return err
		}
		if !ok {
			return fault.E(op, fault.Forbidden, errors.New("cannot grant a permission the caller does not hold"))
		}
	}
	return nil
}

// GetMembership returns a membership of an organization the caller belongs to.
func (s *Session) GetMembership(ctx context.Context, id string) (*membership.Membership, error) {
	return readIn(ctx, s, "provisioning.GetMembership", id, s.p.b.Memberships().Get, func(m *membership.Membership) string { return m.OrganizationID }, typeMemberships)
}

// GetMembershipByEmail returns the membership of the organization for an
// email address (compared in canonical form), pending or active. Like every
// lookup by email it answers not found for an address without a
// membership, an organization that does not exist and one the caller is no
// member of alike.
func (s *Session) GetMembershipByEmail(ctx context.Context, orgID, address string) (*membership.Membership, error) {
	const op = "provisioning.GetMembershipByEmail"
	canon, err := email.Canonical("user_email", address)
	if err != nil {
		return nil, fault.Wrap(op, err)
	}
	nothing := false
	m, err := readIn(ctx, s, op, canon, func(ctx context.Context, canon string) (*membership.Membership, error) {
		m, err := s.p.b.Memberships().GetByEmail(ctx, orgID, canon)
		nothing = fault.KindOf(err) == fault.NotFound
		return m, err
	}, func(m *membership.Membership) string { return m.OrganizationID }, typeMemberships)
	if nothing {
		// Nothing to read: still decide (once: a refused read has already
		// been decided), so that a member without the right to read
		// memberships learns no more from a miss than from a hit.
		if _, err := s.authorize(ctx, op, orgID, typeMemberships, role.ActionRead); err != nil {
			return nil, err
		}
	}
	return m, err
}

// ListMemberships lists the memberships of an organization, by id.
// With OrganizationID empty, it lists across the caller's organizations
// (see Lists in the package documentation).
func (s *Session) ListMemberships(ctx context.Context, f membership.Filter) (resource.Page[membership.Membership], error) {
	const op = "provisioning.ListMemberships"
	if err := s.scopeList(ctx, op, typeMemberships, f.OrganizationID, &f.OrganizationIDs); err != nil {
		return resource.Page[membership.Membership]{}, err
	}
	f, err := f.Validate()
	if err != nil {
		return resource.Page[membership.Membership]{}, err
	}
	page, err := s.p.b.Memberships().List(ctx, f)
	return page, fault.Wrap(op, err)
}

// lockedMembership is a membership read under its organization's lock.
type lockedMembership struct {
	*membership.Membership
	org *organization.Organization
	d   authz.Decision
}

// lockMembership loads a membership, locks its organization, authorizes the
// action act chooses for it and reads the membership again under the lock.
func (s *Session) lockMembership(ctx context.Context, op, id string, act func(*membership.Membership) role.Action) (lockedMembership, error) {
	m, err := preRead(ctx, s, op, func(ctx context.Context) (*membership.Membership, error) { return s.p.b.Memberships().Get(ctx, id) })
	if err != nil {
		return lockedMembership{}, err
	}
	org, d, err := s.lockedOrg(ctx, op, m.OrganizationID, typeMemberships, act(m))
	if err != nil {
		return lockedMembership{}, err
	}
	m, err = s.p.b.Memberships().Get(ctx, id)
	if err != nil {
		return lockedMembership{}, fault.Wrap(op, err)
	}
	return lockedMembership{Membership: m, org: org, d: d}, nil
}

// always returns a chooser of the one action a.
func always(a role.Action) func(*membership.Membership) role.Action {
	return func(*membership.Membership) role.Action { return a }
}

// UpdateMembership changes a membership's roles, profile, access scope,
// rules or common attributes (admins). The owner's membership keeps an
// admin primary role, is never a guest, never expires, and only the owner
// changes its rules. Nobody grants a role or permission beyond their own.
func (s *Session) UpdateMembership(ctx context.Context, id string, u membership.Update) (*membership.Membership, error) {
	const op = "provisioning.UpdateMembership"
	var out *membership.Membership
	err := s.tx(ctx, func(ctx context.Context) error {
		lm, err := s.lockMembership(ctx, op, id, always(role.ActionUpdate))
		if err != nil {
			return err
		}
		out, _, err = s.changeMembership(ctx, op, lm, u)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// changeMembership applies u to a membership read under its organization's
// lock, with the rules of UpdateMembership, and reports whether anything
// changed. A change that changes nothing writes nothing: no row, no version.
func (s *Session) changeMembership(ctx context.Context, op string, lm lockedMembership, u membership.Update) (*membership.Membership, bool, error) {
	m := lm.Membership
	u, err := u.Validate(s.env())
	if err != nil {
		return nil, false, err
	}
	if err := s.mayChange(ctx, op, lm, u); err != nil {
		return nil, false, err
	}
	if u.ProfileID != nil && *u.ProfileID != "" {
		p, err := s.profileIn(ctx, op, m.OrganizationID, *u.ProfileID)
		if err != nil {
			return nil, false, err
		}
		m.ProfileAccessScope = p.AccessScope
	} else if u.ProfileID != nil {
		m.ProfileAccessScope = ""
	}
	ch := u.Apply(m, s.now())
	if len(ch) == 0 {
		return m, false, nil
	}
	if err := s.p.b.Memberships().Update(ctx, m); err != nil {
		return nil, false, fault.Wrap(op, err)
	}
	return m, true, s.apply(ctx, change{org: m.OrganizationID, typ: typeMemberships, id: m.ID, ev: audit.Update, ch: ch, res: m})
}

// mayChange refuses an update the rules forbid: roles or permissions beyond
// the caller's own, an owner who would lose the admin primary role, be a
// guest or expire, the owner's rules changed by anyone else, and an
// allowlist that would refuse the caller's own request address.
func (s *Session) mayChange(ctx context.Context, op string, lm lockedMembership, u membership.Update) error {
	m, d := lm.Membership, lm.d
	roleIDs := u.Roles(m)
	added := slices.DeleteFunc(slices.Clone(roleIDs), func(id string) bool { return slices.Contains(m.RoleIDs, id) })
	roles, err := s.rolesIn(ctx, op, m.OrganizationID, added)
	if err != nil {
		return err
	}
	if m.Owner && roleIDs[0] != m.RoleID {
		primary, err := s.roleIn(ctx, op, m.OrganizationID, roleIDs[0])
		if err != nil {
			return err
		}
		if primary.Kind != role.KindAdmin {
			return s.lastOwner(ctx, op, m)
		}
	}
	rules := u.Rules(m)
	var grants []access.Grant
	for _, g := range membership.Grants(rules.Permissions) {
		if !slices.Contains(m.Permissions, membership.FormatGrant(g)) {
			grants = append(grants, g)
		}
	}
	if err := s.mayGrantAll(ctx, op, m.OrganizationID, d, roles, grants); err != nil {
		return err
	}
	e := s.editor(lm)
	if err := membership.CheckOwnerAndSelf(op, m, rules, e); err != nil {
		return err
	}
	return membership.CheckNoLoosening(op, m, rules, e, func() (membership.Limits, error) {
		return s.callerLimits(ctx, op, m.OrganizationID)
	})
}

// editor is the caller, as the membership rules of lm see it.
func (s *Session) editor(lm lockedMembership) membership.Editor {
	return membership.Editor{
		Owner:   lm.d.Owner,
		Trusted: s.pr.Kind == access.KindSystem,
		Self:    s.pr.Kind == access.KindUser && lm.UserID == s.pr.ID,
		IP:      s.pr.IP,
	}
}

// callerLimits reads the caller's own limits in an organization: its
// membership's, or its credential's.
func (s *Session) callerLimits(ctx context.Context, op, orgID string) (membership.Limits, error) {
	if s.pr.Kind == access.KindCredential {
		c, err := s.p.b.Credentials().Get(ctx, s.pr.ID)
		if err != nil {
			return membership.Limits{}, fault.Wrap(op, err)
		}
		return membership.Limits{AllowedIPs: c.AllowedIPs, ExpiresAt: c.ExpiresAt}, nil
	}
	me, err := s.p.b.Memberships().GetByUser(ctx, orgID, s.pr.ID)
	if err != nil {
		return membership.Limits{}, fault.Wrap(op, err)
	}
	return membership.Limits{AllowedIPs: me.AllowedIPs, ExpiresAt: me.ExpiresAt}, nil
}

// DeleteMembership removes a membership. Admins remove others; any member
// may remove their own; nobody removes the owner's (transfer it first).
// With WithUserTokensEndingWithLastMembership, the user's bearer tokens end
// with their last active membership.
func (s *Session) DeleteMembership(ctx context.Context, id string) error {
	const op = "provisioning.DeleteMembership"
	return s.tx(ctx, func(ctx context.Context) error {
		lm, err := s.lockMembership(ctx, op, id, func(m *membership.Membership) role.Action {
			if s.pr.Kind == access.KindUser && m.UserID == s.pr.ID {
				return role.ActionRead // a member leaving needs only to be a member
			}
			return role.ActionDestroy
		})
		if err != nil {
			return err
		}
		m := lm.Membership
		if m.Owner {
			return s.lastOwner(ctx, op, m)
		}
		if err := s.p.b.Memberships().Delete(ctx, id); err != nil {
			return fault.Wrap(op, err)
		}
		if err := s.record(ctx, m.OrganizationID, typeMemberships, m.ID, audit.Destroy,
			resource.Changes{"user_email": {m.UserEmail, nil}, "status": {string(m.Status), nil}, "role_id": {m.RoleID, nil}}); err != nil {
			return err
		}
		if m.Status != membership.Active {
			return nil
		}
		if err := s.left(ctx, op, m.UserID, m.OrganizationID); err != nil {
			return err
		}
		return s.endUserTokens(ctx, op, m.UserID)
	})
}

// endUserTokens deletes a user's bearer tokens when the user has no active
// membership left, if the host asked for it
// (WithUserTokensEndingWithLastMembership).
func (s *Session) endUserTokens(ctx context.Context, op, userID string) error {
	if !s.p.userTokensEnd {
		return nil
	}
	next, err := s.p.b.Memberships().OldestActiveOrganization(ctx, userID)
	if err != nil || next != "" {
		return fault.Wrap(op, err)
	}
	_, err = s.p.tokens.DeletePrincipal(ctx, User(userID))
	return fault.Wrap(op, err)
}

// ResendInvitation issues a new token for a pending membership (the old one
// stops working) and hands it to the Notifier again (admins).
func (s *Session) ResendInvitation(ctx context.Context, id string) error {
	const op = "provisioning.ResendInvitation"
	var inv Invitation
	err := s.tx(ctx, func(ctx context.Context) error {
		m, err := s.lockMembership(ctx, op, id, always(role.ActionUpdate))
		if err != nil {
			return err
		}
		now := s.now()
		token, hash := newInvitationToken()
		expires := now.Add(s.p.invitationTTL)
		// The update is conditional on the membership being pending:
		// fault.ErrNotPending otherwise, even under a concurrent acceptance.
		if err := s.p.b.Memberships().SetInvitation(ctx, m.ID, hash, expires, now); err != nil {
			return fault.Wrap(op, err)
		}
		inv = Invitation{MembershipID: m.ID, OrganizationID: m.OrganizationID, OrganizationName: m.org.Name,
			Email: m.UserEmail, Token: token, ExpiresAt: expires, Resent: true}
		return s.record(ctx, m.OrganizationID, typeMemberships, m.ID, audit.Resend, resource.Changes{})
	})
	if err != nil {
		return err
	}
	s.notify(ctx, inv)
	return nil
}

// AcceptInvitation activates the pending membership that token stands for.
// The calling user's email must be the invited one, and verified
// (fault.ErrEmailUnverified otherwise). Unknown, used, expired and foreign
// tokens all give fault.ErrInvitationInvalid.
func (s *Session) AcceptInvitation(ctx context.Context, token string) (*membership.Membership, error) {
	const op = "provisioning.AcceptInvitation"
	if err := s.userOnly(op); err != nil {
		return nil, err
	}
	invalid := fault.E(op, fault.NotFound, fault.ErrInvitationInvalid)
	if token == "" || len(token) > maxInvitationToken {
		return nil, invalid
	}
	var out *membership.Membership
	err := s.tx(ctx, func(ctx context.Context) error {
		u, err := s.verifiedUser(ctx, op)
		if err != nil {
			return err
		}
		m, err := s.p.b.Memberships().GetByInvitation(ctx, hashToken(token))
		if err != nil {
			if fault.KindOf(err) == fault.NotFound {
				return invalid
			}
			return fault.Wrap(op, err)
		}
		if m.UserEmail != u.Email {
			return invalid
		}
		out, err = s.activate(ctx, op, m, u.ID)
		return err
	})
	return out, err
}

// AcceptPendingInvitations activates every pending membership of the calling
// user's email, in every organization. The address must be verified
// (fault.ErrEmailUnverified otherwise, and nothing changes): the host proves
// that the user owns it (user.Create.EmailVerified at sign-up, or
// System.VerifyEmail) before it calls this at sign-up or sign-in. An
// invitation that has expired (WithInvitationTTL), like one that stops
// being pending while the call runs (accepted by its token, or revoked),
// is left out of the result, not an error; it stays pending until it is
// resent or revoked.
func (s *Session) AcceptPendingInvitations(ctx context.Context) ([]membership.Membership, error) {
	const op = "provisioning.AcceptPendingInvitations"
	if err := s.userOnly(op); err != nil {
		return nil, err
	}
	var out []membership.Membership
	err := s.tx(ctx, func(ctx context.Context) error {
		out = out[:0]
		u, err := s.verifiedUser(ctx, op)
		if err != nil {
			return err
		}
		pending, err := s.p.b.Memberships().PendingForEmail(ctx, u.Email)
		if err != nil {
			return fault.Wrap(op, err)
		}
		for i := range pending {
			m, err := s.activate(ctx, op, &pending[i], u.ID)
			switch {
			case errors.Is(err, fault.ErrInvitationInvalid): // no longer pending; activate wrote nothing
				continue
			case err != nil:
				return err
			}
			out = append(out, *m)
		}
		return nil
	})
	return out, err
}

// activate turns a pending membership active for userID, under its
// organization's lock. It is the only way a pending membership becomes
// active, so the expiry of its invitation holds on every path: an expired
// invitation, like one no longer pending (accepted or revoked since m was
// read), is fault.ErrInvitationInvalid, and then nothing is written.
func (s *Session) activate(ctx context.Context, op string, m *membership.Membership, userID string) (*membership.Membership, error) {
	if _, err := s.p.b.Organizations().Lock(ctx, m.OrganizationID); err != nil {
		return nil, fault.Wrap(op, err)
	}
	now := s.now()
	if m.InvitationExpired(now) {
		return nil, fault.E(op, fault.NotFound, fault.ErrInvitationInvalid)
	}
	if err := s.p.b.Memberships().Activate(ctx, m.ID, userID, now); err != nil {
		if errors.Is(err, fault.ErrNotPending) {
			return nil, fault.E(op, fault.NotFound, fault.ErrInvitationInvalid)
		}
		return nil, fault.Wrap(op, err) // another membership of the organization has the user
	}
	m.UserID = userID
	if err := s.joined(ctx, op, m); err != nil {
		return nil, err
	}
	if err := s.record(ctx, m.OrganizationID, typeMemberships, m.ID, audit.Accept,
		resource.Changes{"status": {string(membership.Pending), string(membership.Active)}}); err != nil {
		return nil, err
	}
	out, err := s.p.b.Memberships().Get(ctx, m.ID)
	return out, fault.Wrap(op, err)
}

// verifiedUser reads the calling user's record, which must have a verified
// address: what belongs to an address is granted only to its proven owner.
func (s *Session) verifiedUser(ctx context.Context, op string) (*user.User, error) {
	u, err := s.currentUser(ctx, op)
	if err != nil {
		return nil, err
	}
	if !u.EmailVerified() {
		return nil, fault.E(op, fault.Forbidden, fault.ErrEmailUnverified)
	}
	return u, nil
}
