package provisioning

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/authz"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
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
// optionally a profile and access scope). The membership is active at once
// when a user with that email exists, pending otherwise; either way the
// Notifier hears of it after commit. Admins invite; only the owner grants
// the admin role; nobody grants a role with rights they do not hold.
func (s *Session) Invite(ctx context.Context, in membership.Invite) (*membership.Membership, error) {
	const op = "provisioning.Invite"
	var m *membership.Membership
	var inv *Invitation
	err := s.tx(ctx, func(ctx context.Context) error {
		org, err := s.p.b.Organizations().Lock(ctx, in.OrganizationID)
		if err != nil {
			return fault.Wrap(op, err)
		}
		d, err := s.authorize(ctx, op, org.ID, typeMemberships, role.ActionCreate)
		if err != nil {
			return err
		}
		in, err := in.Validate()
		if err != nil {
			return err
		}
		r, err := s.roleIn(ctx, op, org.ID, in.RoleID)
		if err != nil {
			return err
		}
		if err := s.mayGrant(ctx, op, org.ID, d, r); err != nil {
			return err
		}
		if err := s.withinMembershipLimit(ctx, op, org); err != nil {
			return err
		}
		var profileScope access.Scope
		if in.ProfileID != "" {
			p, err := s.profileIn(ctx, op, org.ID, in.ProfileID)
			if err != nil {
				return err
			}
			profileScope = p.AccessScope
		}
		now := s.now()
		m = &membership.Membership{ID: s.p.ids.NewID(), OrganizationID: org.ID, UserEmail: in.UserEmail,
			Status: membership.Pending, RoleID: r.ID, ProfileID: in.ProfileID, AccessScope: in.AccessScope,
			ProfileAccessScope: profileScope, Common: in.CommonInput.New(now)}
		inv = &Invitation{MembershipID: m.ID, OrganizationID: org.ID, OrganizationName: org.Name, Email: m.UserEmail}
		var tokenHash []byte
		switch u, err := s.p.b.Users().GetByEmail(ctx, in.UserEmail); {
		case err == nil:
			m.Status, m.UserID = membership.Active, u.ID
			m.UserFirstName, m.UserLastName = u.FirstName, u.LastName
		case fault.KindOf(err) == fault.NotFound:
			inv.Token, tokenHash = newInvitationToken()
			m.InvitationExpiresAt = now.Add(s.p.invitationTTL)
			inv.ExpiresAt = m.InvitationExpiresAt
		default:
			return fault.Wrap(op, err)
		}
		if err := s.p.b.Memberships().Create(ctx, m, tokenHash); err != nil {
			if errors.Is(err, fault.ErrAlreadyExists) {
				// Both unique keys that can fire here, (organization, email) and
				// (organization, user), come from the email the caller gave.
				return &fault.Error{Op: op, Kind: fault.Conflict, Field: "user_email", Err: err}
			}
			return fault.Wrap(op, err)
		}
		if m.Status == membership.Active {
			if err := s.p.b.Organizations().BumpPolicy(ctx, org.ID); err != nil {
				return fault.Wrap(op, err)
			}
		}
		return s.record(ctx, org.ID, typeMemberships, m.ID, audit.Create,
			created("user_email", m.UserEmail, "status", string(m.Status), "role_id", m.RoleID,
				"membership_profile_id", m.ProfileID, "access_scope", string(m.AccessScope),
				"reference", m.Reference, "reference_origin", m.ReferenceOrigin))
	})
	if err != nil {
		return nil, err
	}
	s.notify(ctx, *inv)
	return m, nil
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
	r, err := s.p.b.Roles().GetRole(ctx, roleID)
	if fault.KindOf(err) == fault.NotFound || err == nil && r.OrganizationID != orgID {
		return nil, fault.InvalidField(op, "role", "not_found", "does not exist")
	}
	return r, fault.Wrap(op, err)
}

// mayGrant refuses to let the caller give someone role r when r carries
// rights the caller does not hold (Kubernetes' escalation rule, through
// authz.Rights.Covers: a wildcard is covered only by a wildcard); the admin
// kind only the owner grants.
func (s *Session) mayGrant(ctx context.Context, op, orgID string, d authz.Decision, r *role.Role) error {
	if s.pr.Kind == access.KindSystem {
		return nil
	}
	if r.Kind == role.KindAdmin {
		if !d.Owner {
			return fault.E(op, fault.Forbidden, errors.New("only the owner grants the admin role"))
		}
		return nil
	}
	rights, err := s.p.authz.Rights(ctx, s.p.b.Access(), s.pr, orgID)
	if err != nil {
		return fault.E(op, fault.Internal, err)
	}
	if !rights.Covers(r.ID) {
		return fault.E(op, fault.Forbidden, errors.New("cannot grant a role with rights the caller does not hold"))
	}
	return nil
}

// GetMembership returns a membership of an organization the caller belongs to.
func (s *Session) GetMembership(ctx context.Context, id string) (*membership.Membership, error) {
	const op = "provisioning.GetMembership"
	m, err := s.p.b.Memberships().Get(ctx, id)
	if err != nil {
		return nil, fault.Wrap(op, err)
	}
	if _, err := s.authorize(ctx, op, m.OrganizationID, typeMemberships, role.ActionRead); err != nil {
		return nil, err
	}
	return m, nil
}

// ListMemberships lists the memberships of an organization, by id.
func (s *Session) ListMemberships(ctx context.Context, f membership.Filter) (resource.Page[membership.Membership], error) {
	const op = "provisioning.ListMemberships"
	if _, err := s.authorize(ctx, op, f.OrganizationID, typeMemberships, role.ActionRead); err != nil {
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
	m, err := s.p.b.Memberships().Get(ctx, id)
	if err != nil {
		return lockedMembership{}, fault.Wrap(op, err)
	}
	org, err := s.p.b.Organizations().Lock(ctx, m.OrganizationID)
	if err != nil {
		return lockedMembership{}, fault.Wrap(op, err)
	}
	d, err := s.authorize(ctx, op, m.OrganizationID, typeMemberships, act(m))
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

// UpdateMembership changes a membership's role, profile, access scope or
// common attributes (admins). The owner's membership keeps an admin role.
func (s *Session) UpdateMembership(ctx context.Context, id string, u membership.Update) (*membership.Membership, error) {
	const op = "provisioning.UpdateMembership"
	var out *membership.Membership
	err := s.tx(ctx, func(ctx context.Context) error {
		lm, err := s.lockMembership(ctx, op, id, always(role.ActionUpdate))
		if err != nil {
			return err
		}
		m, d := lm.Membership, lm.d
		if err := u.Validate(); err != nil {
			return err
		}
		if u.RoleID != nil && *u.RoleID != m.RoleID {
			r, err := s.roleIn(ctx, op, m.OrganizationID, *u.RoleID)
			if err != nil {
				return err
			}
			if m.Owner && r.Kind != role.KindAdmin {
				return fault.E(op, fault.Conflict, fault.ErrLastOwner)
			}
			if err := s.mayGrant(ctx, op, m.OrganizationID, d, r); err != nil {
				return err
			}
		}
		if u.ProfileID != nil && *u.ProfileID != "" {
			p, err := s.profileIn(ctx, op, m.OrganizationID, *u.ProfileID)
			if err != nil {
				return err
			}
			m.ProfileAccessScope = p.AccessScope
		} else if u.ProfileID != nil {
			m.ProfileAccessScope = ""
		}
		roleBefore, profileBefore := m.RoleID, m.ProfileID
		ch := u.Apply(m, s.now())
		out = m
		if len(ch) == 0 {
			return nil
		}
		if err := s.p.b.Memberships().Update(ctx, m); err != nil {
			return fault.Wrap(op, err)
		}
		// The role decides rights; the profile decides the application
		// memberships the member inherits.
		if m.RoleID != roleBefore || m.ProfileID != profileBefore {
			if err := s.p.b.Organizations().BumpPolicy(ctx, m.OrganizationID); err != nil {
				return fault.Wrap(op, err)
			}
		}
		return s.record(ctx, m.OrganizationID, typeMemberships, m.ID, audit.Update, ch)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteMembership removes a membership. Admins remove others; any member
// may remove their own; nobody removes the owner's (transfer it first).
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
			return fault.E(op, fault.Conflict, fault.ErrLastOwner)
		}
		if err := s.p.b.Memberships().Delete(ctx, id); err != nil {
			return fault.Wrap(op, err)
		}
		if err := s.p.b.Organizations().BumpPolicy(ctx, m.OrganizationID); err != nil {
			return fault.Wrap(op, err)
		}
		return s.record(ctx, m.OrganizationID, typeMemberships, m.ID, audit.Destroy,
			resource.Changes{"user_email": {m.UserEmail, nil}, "status": {string(m.Status), nil}, "role_id": {m.RoleID, nil}})
	})
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
// The calling user's email must be the invited one. Unknown, used, expired
// and foreign tokens all give fault.ErrInvitationInvalid.
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
		u, err := s.currentUser(ctx, op)
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
		if m.UserEmail != u.Email || !s.now().Before(m.InvitationExpiresAt) {
			return invalid
		}
		out, err = s.activate(ctx, op, m, u.ID)
		return err
	})
	return out, err
}

// AcceptPendingInvitations activates every pending membership of the calling
// user's email, in every organization. Call it once the host has verified
// that the user owns the address (at sign-up or first sign-in).
func (s *Session) AcceptPendingInvitations(ctx context.Context) ([]membership.Membership, error) {
	const op = "provisioning.AcceptPendingInvitations"
	if err := s.userOnly(op); err != nil {
		return nil, err
	}
	var out []membership.Membership
	err := s.tx(ctx, func(ctx context.Context) error {
		out = out[:0]
		u, err := s.currentUser(ctx, op)
		if err != nil {
			return err
		}
		pending, err := s.p.b.Memberships().PendingForEmail(ctx, u.Email)
		if err != nil {
			return fault.Wrap(op, err)
		}
		for i := range pending {
			m, err := s.activate(ctx, op, &pending[i], u.ID)
			if err != nil {
				return err
			}
			out = append(out, *m)
		}
		return nil
	})
	return out, err
}

// activate turns a pending membership active for userID, under its organization's lock.
func (s *Session) activate(ctx context.Context, op string, m *membership.Membership, userID string) (*membership.Membership, error) {
	if _, err := s.p.b.Organizations().Lock(ctx, m.OrganizationID); err != nil {
		return nil, fault.Wrap(op, err)
	}
	now := s.now()
	if err := s.p.b.Memberships().Activate(ctx, m.ID, userID, now); err != nil {
		if errors.Is(err, fault.ErrNotPending) {
			return nil, fault.E(op, fault.NotFound, fault.ErrInvitationInvalid)
		}
		return nil, fault.Wrap(op, err) // another membership of the organization has the user
	}
	if err := s.p.b.Organizations().BumpPolicy(ctx, m.OrganizationID); err != nil {
		return nil, fault.Wrap(op, err)
	}
	if err := s.record(ctx, m.OrganizationID, typeMemberships, m.ID, audit.Accept,
		resource.Changes{"status": {string(membership.Pending), string(membership.Active)}}); err != nil {
		return nil, err
	}
	out, err := s.p.b.Memberships().Get(ctx, m.ID)
	return out, fault.Wrap(op, err)
}
