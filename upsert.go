package provisioning

import (
	"context"
	"errors"
	"time"

	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/authz"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/user"
)

// UpsertMembership sets the membership of a user in an organization to
// the state in (Rebilly's PUT /memberships/{organizationId}/{userId}) and
// reports whether it created it.
//
// When the user is not a member yet, only the owner may make them one, and
// only while the user's address is verified (fault.ErrEmailUnverified
// otherwise: Invite the address instead, and the user accepts once it is
// verified): the membership is created active (a pending invitation of the user's email
// is activated instead, and reported as not created; an expired one is
// never activated: it is deleted, and the membership created in its place). Otherwise the
// caller needs the right to update memberships, and every rule of
// UpdateMembership holds. The same call repeated changes nothing and
// writes no second version. Calls for the same organization are
// serialized by its row lock, so concurrent upserts of one user leave one
// membership.
func (s *Session) UpsertMembership(ctx context.Context, in membership.Upsert) (*membership.Membership, bool, error) {
	const op = "provisioning.UpsertMembership"
	var out *membership.Membership
	var created bool
	err := s.tx(ctx, func(ctx context.Context) error {
		// The right to read first: whether the user is a member decides
		// which right the call needs, and a caller who may not even read
		// memberships learns nothing about who is one.
		org, d, u, err := s.lockForUser(ctx, op, in.OrganizationID, role.ActionRead, func() (string, error) {
			var err error
			in, err = in.Validate(s.env())
			return in.UserID, err
		})
		if err != nil {
			return err
		}
		m, err := s.p.b.Memberships().GetByUser(ctx, org.ID, u.ID)
		if fault.KindOf(err) == fault.NotFound {
			// An invitation of the user's email, not yet accepted, is theirs.
			// An active membership with that email is someone else's (whose
			// address has changed since): a conflict, never touched.
			m, err = s.p.b.Memberships().GetByEmail(ctx, org.ID, u.Email)
			if err == nil && (m.Status != membership.Pending || m.UserID != "") {
				return fault.E(op, fault.Conflict, fault.ErrAlreadyExists)
			}
		}
		switch {
		case fault.KindOf(err) == fault.NotFound || err == nil && m.Status == membership.Pending:
			if !d.Owner {
				return fault.E(op, fault.Forbidden, errors.New("only the owner grants membership to a user who is not a member"))
			}
			if !u.EmailVerified() {
				return fault.E(op, fault.Forbidden, fault.ErrEmailUnverified)
			}
		case err != nil:
			return fault.Wrap(op, err)
		}
		if m != nil && m.Status == membership.Pending && m.InvitationExpired(s.now()) {
			// An expired invitation grants nothing: the owner's call
			// replaces it by a new membership, with none of its grants.
			if err := s.dropInvitation(ctx, op, m); err != nil {
				return err
			}
			m = nil
		}
		if m == nil {
			if in.KeepGuestExpiryMFA { // nothing to keep: a new member has none
				in.Guest, in.ExpiresAt, in.MFARequired = false, time.Time{}, false
			}
			roleIDs, err := s.rolesOrReadOnly(ctx, op, org.ID, in.RoleIDs)
			if err != nil {
				return err
			}
			out, err = s.addActive(ctx, op, org, d, u, roleIDs, in.Rules, resource.CommonInput{})
			created = err == nil
			return err
		}
		if m.Status == membership.Pending {
			if m, err = s.activate(ctx, op, m, u.ID); err != nil {
				return err
			}
		} else if d, err = s.authorize(ctx, op, org.ID, typeMemberships, role.ActionUpdate); err != nil {
			return err
		}
		up := membership.Update{Permissions: &in.Permissions, AllowedIPs: &in.AllowedIPs}
		if in.RoleIDs != nil {
			up.RoleIDs = &in.RoleIDs
		}
		if !in.KeepGuestExpiryMFA {
			up.Guest, up.ExpiresAt, up.MFARequired = &in.Guest, &in.ExpiresAt, &in.MFARequired
		}
		out, _, err = s.changeMembership(ctx, op, lockedMembership{Membership: m, org: org, d: d}, up)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return out, created, nil
}

// dropInvitation deletes a pending membership and records it.
func (s *Session) dropInvitation(ctx context.Context, op string, m *membership.Membership) error {
	if err := s.p.b.Memberships().Delete(ctx, m.ID); err != nil {
		return fault.Wrap(op, err)
	}
	return s.record(ctx, m.OrganizationID, typeMemberships, m.ID, audit.Destroy,
		resource.Changes{"user_email": {m.UserEmail, nil}, "status": {string(m.Status), nil}, "role_id": {m.RoleID, nil}})
}

// AddMember adds an existing user, by id, to an organization as an active
// member (ECI's POST /v1/organizations/{organizationId}/members): admins
// add members; the roles default to the organization's read_only role;
// nobody grants a role or permission beyond their own. A user who is a
// member already, or whose email has a pending invitation there, is a
// conflict on field "user"; a user whose address is not verified is
// fault.ErrEmailUnverified (Invite the address instead: the user accepts
// once it is verified).
func (s *Session) AddMember(ctx context.Context, in membership.Add) (*membership.Membership, error) {
	const op = "provisioning.AddMember"
	var out *membership.Membership
	err := s.tx(ctx, func(ctx context.Context) error {
		org, d, u, err := s.lockForUser(ctx, op, in.OrganizationID, role.ActionCreate, func() (string, error) {
			var err error
			in, err = in.Validate(s.env())
			return in.UserID, err
		})
		if err != nil {
			return err
		}
		if !u.EmailVerified() {
			return fault.E(op, fault.Forbidden, fault.ErrEmailUnverified)
		}
		if in.RoleIDs, err = s.rolesOrReadOnly(ctx, op, org.ID, in.RoleIDs); err != nil {
			return err
		}
		out, err = s.addActive(ctx, op, org, d, u, in.RoleIDs, in.Rules, in.CommonInput)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// rolesOrReadOnly returns the roles of a new member: ids, or, when there
// are none, the organization's read_only role.
func (s *Session) rolesOrReadOnly(ctx context.Context, op, orgID string, ids []string) ([]string, error) {
	if len(ids) > 0 {
		return ids, nil
	}
	r, err := s.p.b.Roles().RoleOfKind(ctx, orgID, role.KindReadOnly)
	if err != nil {
		return nil, fault.Wrap(op, err)
	}
	return []string{r.ID}, nil
}

// lockForUser locks the organization, authorizes act on its memberships,
// validates the input (validate returns the user id it names) and loads
// the user the membership is for.
func (s *Session) lockForUser(ctx context.Context, op, orgID string, act role.Action, validate func() (string, error)) (*organization.Organization, authz.Decision, *user.User, error) {
	org, d, err := s.lockedOrg(ctx, op, orgID, typeMemberships, act)
	if err != nil {
		return nil, d, nil, err
	}
	userID, err := validate()
	if err != nil {
		return nil, d, nil, err
	}
	u, err := s.userForMembership(ctx, op, userID)
	return org, d, u, err
}

// userForMembership loads the user a membership is for; one that does not
// exist is the field "user".
func (s *Session) userForMembership(ctx context.Context, op, id string) (*user.User, error) {
	u, err := s.p.b.Users().Get(ctx, id)
	if fault.KindOf(err) == fault.NotFound {
		return nil, fault.InvalidField(op, "user", "not_found", "does not exist")
	}
	return u, fault.Wrap(op, err)
}

// addActive creates an active membership of user u in org with validated
// roles and rules, after the escalation check.
func (s *Session) addActive(ctx context.Context, op string, org *organization.Organization, d authz.Decision, u *user.User, roleIDs []string, rules membership.Rules, common resource.CommonInput) (*membership.Membership, error) {
	roles, err := s.rolesIn(ctx, op, org.ID, roleIDs)
	if err != nil {
		return nil, err
	}
	if err := s.mayGrantAll(ctx, op, org.ID, d, roles, membership.Grants(rules.Permissions)); err != nil {
		return nil, err
	}
	m := &membership.Membership{ID: s.p.ids.NewID(), OrganizationID: org.ID, UserID: u.ID, UserEmail: u.Email,
		UserFirstName: u.FirstName, UserLastName: u.LastName, Status: membership.Active, Common: common.New(s.now())}
	m.SetRoles(roleIDs, resource.Changes{})
	m.SetRules(rules, resource.Changes{})
	if err := s.createMembership(ctx, op, org, m, nil, "user"); err != nil {
		return nil, err
	}
	return m, nil
}

// SetDefaultOrganization makes orgID the calling user's default
// organization. The user must be an active member there whose membership
// has not expired; otherwise the organization is not found.
func (s *Session) SetDefaultOrganization(ctx context.Context, orgID string) (*user.User, error) {
	const op = "provisioning.SetDefaultOrganization"
	if err := s.userOnly(op); err != nil {
		return nil, err
	}
	var out *user.User
	err := s.tx(ctx, func(ctx context.Context) error {
		u, err := s.lockedSelf(ctx, op)
		if err != nil {
			return err
		}
		m, err := s.p.b.Memberships().GetByUser(ctx, orgID, u.ID)
		switch {
		case fault.KindOf(err) == fault.NotFound || err == nil && (m.Status != membership.Active || m.Expired(s.now())):
			return fault.E(op, fault.NotFound, errors.New("not a member of the organization"))
		case err != nil:
			return fault.Wrap(op, err)
		}
		out = u
		if u.DefaultOrganizationID == orgID {
			return nil
		}
		from := u.DefaultOrganizationID
		u.DefaultOrganizationID = orgID
		return s.setDefault(ctx, op, u.ID, from, orgID)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
