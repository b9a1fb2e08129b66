package provisioning

import (
	"context"

	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/profile"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

// profileIn loads a profile that must belong to orgID; otherwise the field
// "membership_profile" does not exist.
func (s *Session) profileIn(ctx context.Context, op, orgID, id string) (*profile.Profile, error) {
	p, err := s.p.b.Profiles().Get(ctx, id)
	if fault.KindOf(err) == fault.NotFound || err == nil && p.OrganizationID != orgID {
		return nil, fault.InvalidField(op, "membership_profile", "not_found", "does not exist")
	}
	return p, fault.Wrap(op, err)
}

// CreateProfile creates a membership profile (admins).
func (s *Session) CreateProfile(ctx context.Context, in profile.Create) (*profile.Profile, error) {
	const op = "provisioning.CreateProfile"
	var out *profile.Profile
	err := s.tx(ctx, func(ctx context.Context) error {
		if _, err := s.lockOrg(ctx, op, in.OrganizationID, typeProfiles, role.ActionCreate); err != nil {
			return err
		}
		if id, err := s.replayed(ctx, op, in.OrganizationID); err != nil || id != "" {
			out, err = replay(ctx, op, id, err, s.p.b.Profiles().Get)
			return err
		}
		if err := in.Validate(); err != nil {
			return err
		}
		out = in.New(s.p.ids.NewID(), s.now())
		if err := s.p.b.Profiles().Create(ctx, out); err != nil {
			return fault.Wrap(op, err)
		}
		if err := s.record(ctx, out.OrganizationID, typeProfiles, out.ID, audit.Create,
			created("name", out.Name, "access_scope", string(out.AccessScope), "reference", out.Reference, "reference_origin", out.ReferenceOrigin)); err != nil {
			return err
		}
		return s.remember(ctx, op, out.OrganizationID, out.ID)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetProfile returns a profile of an organization the caller belongs to.
func (s *Session) GetProfile(ctx context.Context, id string) (*profile.Profile, error) {
	return readIn(ctx, s, "provisioning.GetProfile", id, s.p.b.Profiles().Get, func(p *profile.Profile) string { return p.OrganizationID }, typeProfiles)
}

// ListProfiles lists the profiles of an organization, by id.
// With OrganizationID empty, it lists across the caller's organizations
// (see Lists in the package documentation).
func (s *Session) ListProfiles(ctx context.Context, f profile.Filter) (resource.Page[profile.Profile], error) {
	const op = "provisioning.ListProfiles"
	if err := s.scopeList(ctx, op, typeProfiles, f.OrganizationID, &f.OrganizationIDs); err != nil {
		return resource.Page[profile.Profile]{}, err
	}
	page, err := s.p.b.Profiles().List(ctx, f)
	return page, fault.Wrap(op, err)
}

// lockProfile loads a profile, locks its organization and authorizes act.
func (s *Session) lockProfile(ctx context.Context, op, id string, act role.Action) (*profile.Profile, error) {
	p, _, err := lockIn(ctx, s, op, func(ctx context.Context) (*profile.Profile, error) { return s.p.b.Profiles().Get(ctx, id) },
		func(p *profile.Profile) string { return p.OrganizationID }, typeProfiles, act)
	return p, err
}

// UpdateProfile changes a profile (admins). Its members see the new access
// scope at once: it is read through the profile, never copied.
func (s *Session) UpdateProfile(ctx context.Context, id string, u profile.Update) (*profile.Profile, error) {
	const op = "provisioning.UpdateProfile"
	var out *profile.Profile
	err := s.tx(ctx, func(ctx context.Context) error {
		p, err := s.lockProfile(ctx, op, id, role.ActionUpdate)
		if err != nil {
			return err
		}
		if err := u.Validate(); err != nil {
			return err
		}
		out = p
		ch := u.Apply(p, s.now())
		if len(ch) == 0 {
			return nil
		}
		if err := s.p.b.Profiles().Update(ctx, p); err != nil {
			return fault.Wrap(op, err)
		}
		return s.record(ctx, p.OrganizationID, typeProfiles, p.ID, audit.Update, ch)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteProfile deletes a profile no membership uses (admins), and its
// application memberships with it; one in use gives fault.ErrInUse.
func (s *Session) DeleteProfile(ctx context.Context, id string) error {
	const op = "provisioning.DeleteProfile"
	return s.tx(ctx, func(ctx context.Context) error {
		p, err := s.lockProfile(ctx, op, id, role.ActionDestroy)
		if err != nil {
			return err
		}
		if err := s.p.b.Profiles().Delete(ctx, id); err != nil {
			return fault.Wrap(op, err)
		}
		return s.record(ctx, p.OrganizationID, typeProfiles, p.ID, audit.Destroy,
			resource.Changes{"name": {p.Name, nil}, "access_scope": {string(p.AccessScope), nil}})
	})
}
