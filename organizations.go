package provisioning

import (
	"context"
	"errors"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/authz"
	"github.com/provisionkit/provisioning/email"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

// Wire names of the resource types, used in versions and as the subjects
// of their checks: the subjects of the library's resources (users are no
// subject: no permission names them).
const (
	typeOrganizations = string(role.SubjectOrganizations)
	typeUsers         = "users"
	typeMemberships   = string(role.SubjectMemberships)
	typeProfiles      = string(role.SubjectMembershipProfiles)
	typeRoles         = string(role.SubjectRoles)
	typePermissions   = string(role.SubjectPermissions)
	typeVersions      = string(role.SubjectVersions)
)

// created returns the changes of a creation: each set attribute as [null, value].
func created(kv ...any) resource.Changes {
	ch := resource.Changes{}
	for i := 0; i+1 < len(kv); i += 2 {
		v := kv[i+1]
		if s, ok := v.(string); ok && s == "" {
			continue
		}
		ch.Record(kv[i].(string), nil, v)
	}
	return ch
}

// CreateOrganization creates an organization owned by the calling user: the
// user gets an active owner membership with the admin role, and the
// organization gets its admin and read_only roles, and its two admin API
// credentials (kind resources, test and live mode, admin role), whose
// secrets are not returned: the owner rotates one to obtain its secret.
// The slug is derived from the name and made unique with a numeric suffix.
func (s *Session) CreateOrganization(ctx context.Context, in organization.Create) (*organization.Organization, error) {
	const op = "provisioning.CreateOrganization"
	if err := s.userOnly(op); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var org *organization.Organization
	err := s.tx(ctx, func(ctx context.Context) error {
		// The user's row is locked so that concurrent creations count the
		// organizations it owns one at a time.
		u, err := s.lockedSelf(ctx, op)
		if err != nil {
			return err
		}
		if id, err := s.replayed(ctx, op, ""); err != nil || id != "" {
			org, err = replay(ctx, op, id, err, s.p.b.Organizations().Get)
			return err
		}
		if limit := s.p.planOf(s.p.plan).Limits.Organizations; limit > 0 {
			n, err := s.p.b.Organizations().CountOwned(ctx, u.ID)
			if err != nil {
				return fault.Wrap(op, err)
			}
			if n >= limit {
				return &fault.Error{Op: op, Kind: fault.Conflict, Field: "organizations", Err: fault.ErrLimitReached}
			}
		}
		base := organization.Slugify(in.Name)
		taken, err := s.p.b.Organizations().SlugsWithPrefix(ctx, organization.SlugPrefix(base))
		if err != nil {
			return fault.Wrap(op, err)
		}
		now := s.now()
		org = in.New(s.p.ids.NewID(), organization.FreeSlug(base, taken), now)
		org.Subscription = s.p.plan
		if err := s.p.b.Organizations().Create(ctx, org); err != nil {
			if errors.Is(err, fault.ErrAlreadyExists) {
				// Another transaction took the slug since we read: try again.
				return fault.E(op, fault.Busy, err)
			}
			return fault.Wrap(op, err)
		}
		ch := created("name", org.Name, "slug", org.Slug, "domain", org.Domain, "region", org.Region,
			"support_phone", org.SupportPhone, "support_email", org.SupportEmail, "logo_url", org.LogoURL,
			"favicon_url", org.FaviconURL, "primary_color", org.PrimaryColor, "contrast_color", org.ContrastColor,
			"gtm_id", org.GTMID, "gtm_id_test", org.GTMIDTest, "reference", org.Reference, "reference_origin", org.ReferenceOrigin)
		if err := s.record(ctx, org.ID, typeOrganizations, org.ID, audit.Create, ch); err != nil {
			return fault.Wrap(op, err)
		}
		var adminID string
		for _, r := range []struct {
			name string
			kind role.Kind
		}{{role.AdminName, role.KindAdmin}, {role.ReadOnlyName, role.KindReadOnly}} {
			rl := &role.Role{ID: s.p.ids.NewID(), OrganizationID: org.ID, Name: r.name, Kind: r.kind, Common: resource.Common{CreatedAt: now, UpdatedAt: now}}
			if err := s.p.b.Roles().CreateRole(ctx, rl); err != nil {
				return fault.Wrap(op, err)
			}
			if err := s.record(ctx, org.ID, typeRoles, rl.ID, audit.Create, created("name", rl.Name, "kind", string(rl.Kind))); err != nil {
				return fault.Wrap(op, err)
			}
			if r.kind == role.KindAdmin {
				adminID = rl.ID
			}
		}
		m := &membership.Membership{ID: s.p.ids.NewID(), OrganizationID: org.ID, UserID: u.ID, UserEmail: u.Email,
			Status: membership.Active, Owner: true, RoleID: adminID, Common: resource.Common{CreatedAt: now, UpdatedAt: now}}
		if err := s.p.b.Memberships().Create(ctx, m, nil); err != nil {
			return fault.Wrap(op, err)
		}
		if err := s.p.b.Organizations().SetOwner(ctx, org.ID, "", m.ID); err != nil {
			return fault.Wrap(op, err)
		}
		org.OwnerMembershipID = m.ID
		if err := s.record(ctx, org.ID, typeMemberships, m.ID, audit.Create,
			created("user_email", m.UserEmail, "status", string(m.Status), "owner", true, "role_id", m.RoleID)); err != nil {
			return err
		}
		if u.DefaultOrganizationID == "" { // the user's first organization (its row is locked above)
			if err := s.setDefault(ctx, op, u.ID, "", org.ID); err != nil {
				return err
			}
		}
		if err := s.createAdminCredentials(ctx, op, org.ID, adminID, u.ID, now); err != nil {
			return err
		}
		return s.remember(ctx, op, "", org.ID)
	})
	if err != nil {
		return nil, err
	}
	return s.p.described(org), nil
}

// GetOrganization returns an organization the caller is an active member of.
func (s *Session) GetOrganization(ctx context.Context, id string) (*organization.Organization, error) {
	const op = "provisioning.GetOrganization"
	if _, err := s.authorize(ctx, op, id, typeOrganizations, role.ActionRead); err != nil {
		return nil, err
	}
	o, err := s.p.b.Organizations().Get(ctx, id)
	if err != nil {
		return nil, fault.Wrap(op, err)
	}
	return o, fault.Wrap(op, s.countTotals(ctx, o))
}

// GetOrganizationByNumber returns the organization of that Number (the
// integer id of APIs such as ECI's), as GetOrganization would: one the
// caller is an active member of. A number no organization has is not
// found, like one the caller may not see.
func (s *Session) GetOrganizationByNumber(ctx context.Context, number int32) (*organization.Organization, error) {
	const op = "provisioning.GetOrganizationByNumber"
	if err := s.authenticated(op); err != nil {
		return nil, err
	}
	o, err := s.p.b.Organizations().GetByNumber(ctx, number)
	if fault.KindOf(err) == fault.NotFound {
		return nil, fault.E(op, fault.NotFound, nil) // as for one the caller may not see
	} else if err != nil {
		return nil, fault.Wrap(op, err)
	}
	if _, err := s.authorize(ctx, op, o.ID, typeOrganizations, role.ActionRead); err != nil {
		return nil, err
	}
	return o, fault.Wrap(op, s.countTotals(ctx, o))
}

// countTotals fills the organization's subscription totals, and its plan.
func (s *Session) countTotals(ctx context.Context, o *organization.Organization) error {
	s.p.described(o)
	n, err := s.p.b.Memberships().Count(ctx, o.ID)
	if err != nil {
		return err
	}
	o.Totals.Memberships = n
	owner, err := s.p.b.Memberships().Get(ctx, o.OwnerMembershipID)
	if err != nil {
		return err
	}
	o.Totals.Organizations, err = s.p.b.Organizations().CountOwned(ctx, owner.UserID)
	return err
}

// withinMembershipLimit refuses a new membership when the organization (read
// under its row lock, so that the count is exact) holds as many as its plan
// allows.
func (s *Session) withinMembershipLimit(ctx context.Context, op string, org *organization.Organization) error {
	room, err := s.membershipRoom(ctx, op, org)
	if err == nil && room == 0 {
		return &fault.Error{Op: op, Kind: fault.Conflict, Field: "memberships", Err: fault.ErrLimitReached}
	}
	return err
}

// membershipRoom returns how many more memberships the organization's plan
// lets it hold (-1 for no limit); the caller holds the organization's lock.
func (s *Session) membershipRoom(ctx context.Context, op string, org *organization.Organization) (int, error) {
	limit := s.p.planOf(org.Subscription).Limits.Memberships
	if limit <= 0 {
		return -1, nil
	}
	n, err := s.p.b.Memberships().Count(ctx, org.ID)
	if err != nil {
		return 0, fault.Wrap(op, err)
	}
	return max(limit-n, 0), nil
}

// SetSubscription sets an organization's plan: its type, its limits and
// whether it may switch to live mode (the host's billing decides them;
// users cannot). Limits already exceeded stay
// as they are; they only refuse what would add more.
func (y *System) SetSubscription(ctx context.Context, orgID string, sub organization.Subscription) (*organization.Organization, error) {
	const op = "provisioning.SetSubscription"
	if err := sub.Validate(); err != nil {
		return nil, err
	}
	if err := y.s.p.knownPlan(op, "plan_type", sub.PlanType); err != nil {
		return nil, err
	}
	return y.changeSubscription(ctx, op, orgID, func(o *organization.Subscription, ch resource.Changes) {
		resource.SetField(ch, "subscription_info.plan_type", &o.PlanType, &sub.PlanType)
		resource.SetField(ch, "subscription_info.limits.memberships", &o.Limits.Memberships, &sub.Limits.Memberships)
		resource.SetField(ch, "subscription_info.limits.organizations", &o.Limits.Organizations, &sub.Limits.Organizations)
		resource.SetField(ch, "subscription_info.limits.api_credentials", &o.Limits.APICredentials, &sub.Limits.APICredentials)
		resource.SetField(ch, "subscription_info.limits.roles", &o.Limits.Roles, &sub.Limits.Roles)
		resource.SetField(ch, "can_switch_live", &o.CanSwitchLive, &sub.CanSwitchLive)
	})
}

// OrganizationIDs lists, by id, the ids of the caller's own organizations:
// a user's active memberships', an API credential's own (while it is not
// revoked). It reveals only what the caller belongs to, so it needs no
// right; what the caller may do there is for the check to say.
func (s *Session) OrganizationIDs(ctx context.Context, pr resource.PageRequest) (resource.Page[string], error) {
	const op = "provisioning.OrganizationIDs"
	if err := s.authenticated(op); err != nil {
		return resource.Page[string]{}, err
	}
	if s.pr.Kind == access.KindSystem {
		return resource.Page[string]{}, fault.E(op, fault.Forbidden, errors.New("the system belongs to no organization"))
	}
	after, err := pr.AfterID()
	if err != nil {
		return resource.Page[string]{}, err
	}
	size := min(pr.Size(), resource.MaxPageLimit-1) // one more is read, to know of a next page
	ids, err := s.p.b.Access().Organizations(ctx, s.pr, after, size+1)
	if err != nil {
		return resource.Page[string]{}, fault.Wrap(op, err)
	}
	return resource.NewPage(ids, size, func(id string) string { return id }), nil
}

// ListOrganizations lists the organizations of the caller, by id (creation
// order): a user's, where they are an active member; an API credential's,
// its own organization when it may read it (as GetOrganization would
// answer), else none.
func (s *Session) ListOrganizations(ctx context.Context, f organization.Filter) (resource.Page[organization.Organization], error) {
	const op = "provisioning.ListOrganizations"
	if err := s.authenticated(op); err != nil {
		return resource.Page[organization.Organization]{}, err
	}
	var page resource.Page[organization.Organization]
	var err error
	switch s.pr.Kind {
	case access.KindUser:
		page, err = s.p.b.Organizations().ListForUser(ctx, s.pr.ID, f)
	case access.KindCredential:
		page, err = s.credentialOrganizations(ctx, op, f)
	default:
		return page, fault.E(op, fault.Forbidden, nil)
	}
	if err != nil {
		return page, fault.Wrap(op, err)
	}
	for i := range page.Items { // at most a page: a few small counts each
		if err := s.countTotals(ctx, &page.Items[i]); err != nil {
			return resource.Page[organization.Organization]{}, fault.Wrap(op, err)
		}
	}
	return page, nil
}

// credentialOrganizations lists the calling credential's organization when
// the credential may read it; none when it may not, is revoked or is gone.
func (s *Session) credentialOrganizations(ctx context.Context, op string, f organization.Filter) (resource.Page[organization.Organization], error) {
	none := resource.Page[organization.Organization]{}
	c, err := s.p.b.Credentials().Get(ctx, s.pr.ID)
	if err == nil {
		_, err = s.authorize(ctx, op, c.OrganizationID, typeOrganizations, role.ActionRead)
	}
	switch {
	case err == nil:
		return s.p.b.Organizations().ListForCredential(ctx, c.ID, f)
	case fault.KindOf(err) == fault.NotFound, fault.KindOf(err) == fault.Forbidden:
		return none, nil
	}
	return none, err
}

// UpdateOrganization changes an organization's settings (admins).
func (s *Session) UpdateOrganization(ctx context.Context, id string, u organization.Update) (*organization.Organization, error) {
	const op = "provisioning.UpdateOrganization"
	var org *organization.Organization
	err := s.tx(ctx, func(ctx context.Context) error {
		o, err := s.lockOrgRow(ctx, op, id)
		if err != nil {
			return err
		}
		if _, err := s.authorize(ctx, op, id, typeOrganizations, role.ActionUpdate); err != nil {
			return err
		}
		if err := u.Validate(); err != nil {
			return err
		}
		ch := u.Apply(o, s.now())
		org = o
		if len(ch) == 0 {
			return nil
		}
		if err := s.p.b.Organizations().Update(ctx, o); err != nil {
			return fault.Wrap(op, err)
		}
		return s.record(ctx, o.ID, typeOrganizations, o.ID, audit.Update, ch)
	})
	if err != nil {
		return nil, err
	}
	return s.p.described(org), nil
}

// TransferOwnership makes the active member with the given email the owner of
// the organization. Only the owner may call it. The new owner gets the admin
// role if they did not hold it; the former owner keeps their membership and role.
func (s *Session) TransferOwnership(ctx context.Context, orgID, newOwnerEmail string) error {
	const op = "provisioning.TransferOwnership"
	return s.tx(ctx, func(ctx context.Context) error {
		org, err := s.lockOrgRow(ctx, op, orgID)
		if err != nil {
			return err
		}
		d, err := s.authorize(ctx, op, orgID, typeOrganizations, role.ActionUpdate)
		switch {
		case err == nil && d.Owner:
		case err == nil || d.Reason == authz.NoGrant || d.Reason == authz.Denied:
			// A member without the right, or with it but not the owner. An
			// owner refused by an attribute rule (address, second factor)
			// keeps that error.
			return fault.E(op, fault.Forbidden, errors.New("only the owner transfers ownership"))
		default:
			return err
		}
		canon, err := email.Canonical("new_owner_email", newOwnerEmail)
		if err != nil {
			return err
		}
		target, err := s.p.b.Memberships().GetByEmail(ctx, orgID, canon)
		if err != nil {
			if fault.KindOf(err) == fault.NotFound {
				return fault.InvalidField(op, "new_owner_email", "not_found", "is not a member of the organization")
			}
			return fault.Wrap(op, err)
		}
		switch {
		case target.ID == org.OwnerMembershipID:
			return fault.InvalidField(op, "new_owner_email", "format", "is already the owner")
		case target.Status != membership.Active:
			return fault.InvalidField(op, "new_owner_email", "format", "must be an active member")
		case target.Guest:
			return fault.InvalidField(op, "new_owner_email", "guest", "is a guest: guests are never owners")
		case !target.ExpiresAt.IsZero():
			return fault.InvalidField(op, "new_owner_email", "expires", "has a membership that expires: the owner's never does")
		}
		if err := s.p.b.Organizations().SetOwner(ctx, orgID, org.OwnerMembershipID, target.ID); err != nil {
			return fault.Wrap(op, err)
		}
		if err := s.record(ctx, orgID, typeOrganizations, orgID, audit.TransferOwnership,
			resource.Changes{"owner_membership_id": {org.OwnerMembershipID, target.ID}}); err != nil {
			return err
		}
		r, err := s.p.b.Roles().GetRole(ctx, target.RoleID)
		if err != nil {
			return fault.Wrap(op, err)
		}
		if r.Kind == role.KindAdmin {
			return nil
		}
		admin, err := s.p.b.Roles().RoleOfKind(ctx, orgID, role.KindAdmin)
		if err != nil {
			return fault.Wrap(op, err)
		}
		ch := membership.Update{RoleID: &admin.ID}.Apply(target, s.now())
		if err := s.p.b.Memberships().Update(ctx, target); err != nil {
			return fault.Wrap(op, err)
		}
		return s.record(ctx, orgID, typeMemberships, target.ID, audit.Update, ch)
	})
}
