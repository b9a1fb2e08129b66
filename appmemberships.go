package provisioning

import (
	"context"
	"slices"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/appmembership"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/authz"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

const typeAppMemberships = string(role.SubjectApplicationMemberships)

// appKinds are the kinds of credential users work through: the Dashboard
// apps and web apps.
func appKind(k credential.Kind) bool {
	return k == credential.Webapp || slices.Contains(credential.DashboardKinds, k)
}

// CreateAppMembership gives a membership, or every member of a profile, a
// role inside an application: an API credential of the organization of a
// Dashboard-app or webapp kind (admins). Nobody grants a role with rights
// they do not hold; only the owner grants the admin role. Members of the
// profile get it computed, never copied.
func (s *Session) CreateAppMembership(ctx context.Context, in appmembership.Create) (*appmembership.AppMembership, error) {
	const op = "provisioning.CreateAppMembership"
	var out *appmembership.AppMembership
	err := s.tx(ctx, func(ctx context.Context) error {
		d, err := s.lockOrg(ctx, op, in.OrganizationID, typeAppMemberships, role.ActionCreate)
		if err != nil {
			return err
		}
		if err := in.Validate(); err != nil {
			return err
		}
		if err := s.appCredentialIn(ctx, op, in.OrganizationID, in.CredentialID); err != nil {
			return err
		}
		r, err := s.roleIn(ctx, op, in.OrganizationID, in.RoleID)
		if err != nil {
			return err
		}
		if err := s.mayGrant(ctx, op, in.OrganizationID, d, r); err != nil {
			return err
		}
		if in.MembershipID != "" {
			m, err := s.p.b.Memberships().Get(ctx, in.MembershipID)
			if fault.KindOf(err) == fault.NotFound || err == nil && m.OrganizationID != in.OrganizationID {
				return fault.InvalidField(op, "membership", "not_found", "does not exist")
			}
			if err != nil {
				return fault.Wrap(op, err)
			}
		} else if _, err := s.profileIn(ctx, op, in.OrganizationID, in.ProfileID); err != nil {
			return err
		}
		out = in.New(s.p.ids.NewID(), s.now())
		if err := s.p.b.AppMemberships().Create(ctx, out); err != nil {
			return fault.Wrap(op, err)
		}
		return s.record(ctx, out.OrganizationID, typeAppMemberships, out.ID, audit.Create,
			created("api_credential_id", out.CredentialID, "membership_id", out.MembershipID,
				"membership_profile_id", out.ProfileID, "role_id", out.RoleID, "filters", filtersValue(out.Filters),
				"reference", out.Reference, "reference_origin", out.ReferenceOrigin))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// filtersValue is nil for no filters, so that versions show null.
func filtersValue(f map[string]any) any {
	if f == nil {
		return nil
	}
	return f
}

// appCredentialIn checks that id is an application credential of orgID.
func (s *Session) appCredentialIn(ctx context.Context, op, orgID, id string) error {
	c, err := s.p.b.Credentials().Get(ctx, id)
	switch {
	case fault.KindOf(err) == fault.NotFound || err == nil && c.OrganizationID != orgID:
		return fault.InvalidField(op, "api_credential", "not_found", "does not exist")
	case err != nil:
		return fault.Wrap(op, err)
	case !appKind(c.Kind):
		return fault.InvalidField(op, "api_credential", "inclusion", "must be a Dashboard app or webapp credential")
	}
	return nil
}

// GetAppMembership returns an application membership: any of the
// organization to those who manage them, only their own (through their
// membership or its profile) to other members; the others are not found.
func (s *Session) GetAppMembership(ctx context.Context, id string) (*appmembership.AppMembership, error) {
	const op = "provisioning.GetAppMembership"
	a, err := preRead(ctx, s, op, func(ctx context.Context) (*appmembership.AppMembership, error) {
		return s.p.b.AppMemberships().Get(ctx, id)
	})
	if err != nil {
		return nil, err
	}
	holder, err := s.appHolder(ctx, op, a.OrganizationID)
	if err != nil {
		return nil, err
	}
	if holder != nil && a.MembershipID != holder.MembershipID && (a.ProfileID == "" || a.ProfileID != holder.ProfileID) {
		return nil, fault.E(op, fault.NotFound, nil)
	}
	return a, nil
}

// ListAppMemberships lists an organization's application memberships, by
// id: all of them to those who manage them, only their own to other members
// (Commerce Layer: "all your application memberships plus all the organization
// memberships of the organizations of which you are an admin"). Across
// organizations (OrganizationID empty, see the package documentation), the
// same holds in each organization.
func (s *Session) ListAppMemberships(ctx context.Context, f appmembership.Filter) (resource.Page[appmembership.AppMembership], error) {
	const op = "provisioning.ListAppMemberships"
	f.Holder, f.Holders = nil, nil
	var err error
	if f.OrganizationID == "" {
		f.OrganizationIDs, f.Holders, err = s.appHoldersAcross(ctx, op, f.OrganizationIDs)
	} else if f.Holder, err = s.appHolder(ctx, op, f.OrganizationID); err == nil && len(f.OrganizationIDs) > 0 {
		err = errBothScopes(op)
	}
	if err != nil {
		return resource.Page[appmembership.AppMembership]{}, err
	}
	if err := f.Validate(); err != nil {
		return resource.Page[appmembership.AppMembership]{}, err
	}
	page, err := s.p.b.AppMemberships().List(ctx, f)
	return page, fault.Wrap(op, err)
}

// appHolder authorizes reading application memberships of orgID and
// returns nil when the caller sees them all (it may manage them), or the
// caller's own membership and profile otherwise.
func (s *Session) appHolder(ctx context.Context, op, orgID string) (*appmembership.Holder, error) {
	if _, err := s.authorize(ctx, op, orgID, typeAppMemberships, role.ActionRead); err != nil {
		return nil, err
	}
	if s.pr.Kind == access.KindSystem {
		return nil, nil
	}
	rights, err := s.p.authz.Rights(ctx, s.p.b.Access(), s.pr, orgID)
	if err != nil {
		return nil, fault.Wrap(op, err)
	}
	return s.holderIn(ctx, op, orgID, rights)
}

// appHoldersAcross returns the organizations of a list of application
// memberships across organizations (see readableIn) and the caller's holder
// in each of them where it sees only its own.
func (s *Session) appHoldersAcross(ctx context.Context, op string, asked []string) ([]string, map[string]appmembership.Holder, error) {
	orgs, err := s.readableIn(ctx, op, typeAppMemberships, asked)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, len(orgs))
	holders := map[string]appmembership.Holder{}
	for i, o := range orgs {
		ids[i] = o.id
		if o.rights == nil { // the system principal
			continue
		}
		h, err := s.holderIn(ctx, op, o.id, o.rights)
		if err != nil {
			return nil, nil, err
		}
		if h != nil {
			holders[o.id] = *h
		}
	}
	return ids, holders, nil
}

// holderIn returns nil when rights let the caller see every application
// membership of orgID (it may manage them), or the caller's own membership
// and profile otherwise.
func (s *Session) holderIn(ctx context.Context, op, orgID string, rights *authz.Rights) (*appmembership.Holder, error) {
	if rights.Allows(typeAppMemberships, role.ActionUpdate) {
		return nil, nil
	}
	h := &appmembership.Holder{}
	if s.pr.Kind == access.KindUser {
		m, err := s.p.b.Memberships().GetByUser(ctx, orgID, s.pr.ID)
		if err != nil {
			return nil, fault.Wrap(op, err)
		}
		h.MembershipID, h.ProfileID = m.ID, m.ProfileID
	}
	return h, nil
}

// lockAppMembership loads an application membership, locks its
// organization, authorizes act and reads it again under the lock.
func (s *Session) lockAppMembership(ctx context.Context, op, id string, act role.Action) (*appmembership.AppMembership, authz.Decision, error) {
	return lockIn(ctx, s, op, func(ctx context.Context) (*appmembership.AppMembership, error) {
		return s.p.b.AppMemberships().Get(ctx, id)
	},
		func(a *appmembership.AppMembership) string { return a.OrganizationID }, typeAppMemberships, act)
}

// UpdateAppMembership changes the role, the profile (of one given to a
// profile), the filters or the common attributes (admins), under the same
// no-escalation rule as creation.
func (s *Session) UpdateAppMembership(ctx context.Context, id string, u appmembership.Update) (*appmembership.AppMembership, error) {
	const op = "provisioning.UpdateAppMembership"
	var out *appmembership.AppMembership
	err := s.tx(ctx, func(ctx context.Context) error {
		a, d, err := s.lockAppMembership(ctx, op, id, role.ActionUpdate)
		if err != nil {
			return err
		}
		if err := u.Validate(); err != nil {
			return err
		}
		if u.RoleID != nil && *u.RoleID != a.RoleID {
			r, err := s.roleIn(ctx, op, a.OrganizationID, *u.RoleID)
			if err != nil {
				return err
			}
			if err := s.mayGrant(ctx, op, a.OrganizationID, d, r); err != nil {
				return err
			}
		}
		if u.ProfileID != nil && *u.ProfileID != a.ProfileID {
			if a.MembershipID != "" {
				return fault.InvalidField(op, "membership_profile", "exclusion", "can't be set on a membership's application membership")
			}
			if _, err := s.profileIn(ctx, op, a.OrganizationID, *u.ProfileID); err != nil {
				return err
			}
		}
		out = a
		ch := u.Apply(a, s.now())
		if len(ch) == 0 {
			return nil
		}
		if err := s.p.b.AppMemberships().Update(ctx, a); err != nil {
			return fault.Wrap(op, err)
		}
		return s.record(ctx, a.OrganizationID, typeAppMemberships, a.ID, audit.Update, ch)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteAppMembership removes an application membership (admins).
func (s *Session) DeleteAppMembership(ctx context.Context, id string) error {
	const op = "provisioning.DeleteAppMembership"
	return s.tx(ctx, func(ctx context.Context) error {
		a, _, err := s.lockAppMembership(ctx, op, id, role.ActionDestroy)
		if err != nil {
			return err
		}
		if err := s.p.b.AppMemberships().Delete(ctx, id); err != nil {
			return fault.Wrap(op, err)
		}
		return s.record(ctx, a.OrganizationID, typeAppMemberships, a.ID, audit.Destroy, nil)
	})
}
