package provisioning

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

// CreateRole creates a custom role (admins), when the organization's plan
// grants organization.CustomRoles (else fault.ErrPlanRestricted) and its
// roles limit leaves room (else fault.ErrLimitReached). Roles are never
// deleted.
func (s *Session) CreateRole(ctx context.Context, in role.Create) (*role.Role, error) {
	const op = "provisioning.CreateRole"
	var out *role.Role
	err := s.tx(ctx, func(ctx context.Context) error {
		org, _, err := s.lockedOrg(ctx, op, in.OrganizationID, typeRoles, role.ActionCreate)
		if err != nil {
			return err
		}
		if id, err := s.replayed(ctx, op, in.OrganizationID); err != nil || id != "" {
			out, err = replay(ctx, op, id, err, s.p.b.Roles().GetRole)
			return err
		}
		if err := s.requireFeature(ctx, op, org, typeRoles, organization.CustomRoles); err != nil {
			return err
		}
		if err := in.Validate(); err != nil {
			return err
		}
		if err := s.withinRoleLimit(ctx, op, org); err != nil {
			return err
		}
		now := s.now()
		out = &role.Role{ID: s.p.ids.NewID(), OrganizationID: in.OrganizationID, Name: in.Name, Kind: role.KindCustom, Common: in.CommonInput.New(now)}
		if err := s.p.b.Roles().CreateRole(ctx, out); err != nil {
			return fault.Wrap(op, err)
		}
		if err := s.record(ctx, out.OrganizationID, typeRoles, out.ID, audit.Create,
			created("name", out.Name, "kind", string(out.Kind), "reference", out.Reference, "reference_origin", out.ReferenceOrigin)); err != nil {
			return err
		}
		return s.remember(ctx, op, out.OrganizationID, out.ID)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetRole returns a role of an organization the caller belongs to.
func (s *Session) GetRole(ctx context.Context, id string) (*role.Role, error) {
	return readIn(ctx, s, "provisioning.GetRole", id, s.p.b.Roles().GetRole, func(r *role.Role) string { return r.OrganizationID }, typeRoles)
}

// ListRoles lists the roles of an organization, by id.
// With OrganizationID empty, it lists across the caller's organizations
// (see Lists in the package documentation).
func (s *Session) ListRoles(ctx context.Context, f role.Filter) (resource.Page[role.Role], error) {
	const op = "provisioning.ListRoles"
	if err := s.scopeList(ctx, op, typeRoles, f.OrganizationID, &f.OrganizationIDs); err != nil {
		return resource.Page[role.Role]{}, err
	}
	if f.Kind != "" && !f.Kind.Valid() {
		return resource.Page[role.Role]{}, fault.InvalidField(op, "kind", "enum", "must be admin, read_only or custom")
	}
	page, err := s.p.b.Roles().ListRoles(ctx, f)
	return page, fault.Wrap(op, err)
}

// lockRole loads a role, locks its organization and authorizes act on
// subject; it returns the organization too, read under the lock.
func (s *Session) lockRole(ctx context.Context, op, id, subject string, act role.Action) (*role.Role, *organization.Organization, error) {
	r, err := preRead(ctx, s, op, func(ctx context.Context) (*role.Role, error) { return s.p.b.Roles().GetRole(ctx, id) })
	if err != nil {
		return nil, nil, err
	}
	org, _, err := s.lockedOrg(ctx, op, r.OrganizationID, subject, act)
	if err != nil {
		return nil, nil, err
	}
	return r, org, nil
}

// UpdateRole renames a role or changes its common attributes (admins);
// with AddMissingBasePermissions it also adds the role's missing base
// permissions, in the same transaction (which needs the right to create
// permissions too).
func (s *Session) UpdateRole(ctx context.Context, id string, u role.Update) (*role.Role, error) {
	const op = "provisioning.UpdateRole"
	var out *role.Role
	err := s.tx(ctx, func(ctx context.Context) error {
		r, org, err := s.lockRole(ctx, op, id, typeRoles, role.ActionUpdate)
		if err != nil {
			return err
		}
		if err := u.Validate(); err != nil {
			return err
		}
		out = r
		if u.AddMissingBasePermissions {
			if _, err := s.authorize(ctx, op, r.OrganizationID, typePermissions, role.ActionCreate); err != nil {
				return err
			}
			if err := s.addMissingBase(ctx, op, org, r); err != nil {
				return err
			}
		}
		ch := u.Apply(r, s.now())
		if len(ch) == 0 {
			return nil
		}
		if err := s.p.b.Roles().UpdateRole(ctx, r); err != nil {
			return fault.Wrap(op, err)
		}
		return s.record(ctx, r.OrganizationID, typeRoles, r.ID, audit.Update, ch)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AddMissingBasePermissions gives a custom role a permission row, with all
// four flags false, for every registered subject it has none for, so that the
// role lists every subject and can be edited subject by subject. It grants
// nothing. Admin and read_only roles have built-in rights and no rows.
func (s *Session) AddMissingBasePermissions(ctx context.Context, roleID string) (*role.Role, error) {
	const op = "provisioning.AddMissingBasePermissions"
	var out *role.Role
	err := s.tx(ctx, func(ctx context.Context) error {
		r, org, err := s.lockRole(ctx, op, roleID, typePermissions, role.ActionCreate)
		if err != nil {
			return err
		}
		out = r
		return s.addMissingBase(ctx, op, org, r)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// addMissingBase adds, in the caller's transaction, the base permissions a
// custom role lacks, each with its version; permissions of custom roles
// need a plan that grants organization.CustomRoles.
func (s *Session) addMissingBase(ctx context.Context, op string, org *organization.Organization, r *role.Role) error {
	if r.Kind != role.KindCustom {
		return nil
	}
	if err := s.requireFeature(ctx, op, org, typePermissions, organization.CustomRoles); err != nil {
		return err
	}
	have, err := s.p.b.Roles().PermissionSubjects(ctx, r.ID)
	if err != nil {
		return fault.Wrap(op, err)
	}
	covered := make(map[string]bool, len(have))
	for _, subj := range have {
		covered[subj] = true
	}
	now := s.now()
	for _, subj := range s.p.subjects.List() {
		if covered[subj] {
			continue
		}
		p := &role.Permission{ID: s.p.ids.NewID(), OrganizationID: r.OrganizationID, RoleID: r.ID, Subject: subj,
			Common: resource.Common{CreatedAt: now, UpdatedAt: now}}
		if err := s.p.b.Roles().CreatePermission(ctx, p); err != nil {
			return fault.Wrap(op, err)
		}
		if err := s.record(ctx, r.OrganizationID, typePermissions, p.ID, audit.Create, permissionCreated(p)); err != nil {
			return err
		}
	}
	return nil
}

func permissionCreated(p *role.Permission) resource.Changes {
	return created("role_id", p.RoleID, "subject", p.Subject, "can_create", p.CanCreate, "can_read", p.CanRead,
		"can_update", p.CanUpdate, "can_destroy", p.CanDestroy, "reference", p.Reference, "reference_origin", p.ReferenceOrigin)
}

// mayGrantFlags refuses flags that give a right the caller does not hold.
func (s *Session) mayGrantFlags(ctx context.Context, op, orgID, subject string, grant map[role.Action]bool) error {
	if s.pr.Kind == access.KindSystem {
		return nil
	}
	rights, err := s.p.authz.Rights(ctx, s.p.b.Access(), s.pr, orgID)
	if err != nil {
		return fault.Wrap(op, err)
	}
	for _, a := range role.Actions {
		if grant[a] && !rights.Allows(subject, a) {
			return fault.E(op, fault.Forbidden, errors.New("cannot grant a right the caller does not hold"))
		}
	}
	return nil
}

// CreatePermission gives a custom role the CRUD flags on one subject
// (admins), when the organization's plan grants organization.CustomRoles.
// (role, subject) is unique; nobody grants a right they lack.
func (s *Session) CreatePermission(ctx context.Context, in role.PermissionCreate) (*role.Permission, error) {
	const op = "provisioning.CreatePermission"
	var out *role.Permission
	err := s.tx(ctx, func(ctx context.Context) error {
		r, org, err := s.lockRole(ctx, op, in.RoleID, typePermissions, role.ActionCreate)
		if err != nil {
			// An unknown role and one of an organization the caller is not in look alike.
			if fault.KindOf(err) == fault.NotFound {
				return fault.InvalidField(op, "role", "not_found", "does not exist")
			}
			return err
		}
		if err := in.Validate(s.p.subjects); err != nil {
			return err
		}
		if r.Kind != role.KindCustom {
			return fault.InvalidField(op, "role", "format", "must be a custom role: admin and read_only rights are built in")
		}
		if err := s.requireFeature(ctx, op, org, typePermissions, organization.CustomRoles); err != nil {
			return err
		}
		if err := s.mayGrantFlags(ctx, op, r.OrganizationID, in.Subject, map[role.Action]bool{
			role.ActionCreate: in.CanCreate, role.ActionRead: in.CanRead, role.ActionUpdate: in.CanUpdate, role.ActionDestroy: in.CanDestroy,
		}); err != nil {
			return err
		}
		out = &role.Permission{ID: s.p.ids.NewID(), OrganizationID: r.OrganizationID, RoleID: r.ID, Subject: in.Subject,
			CanCreate: in.CanCreate, CanRead: in.CanRead, CanUpdate: in.CanUpdate, CanDestroy: in.CanDestroy,
			Common: in.CommonInput.New(s.now())}
		if err := s.p.b.Roles().CreatePermission(ctx, out); err != nil {
			return fault.Wrap(op, err) // a taken (role, subject) names subject
		}
		return s.record(ctx, r.OrganizationID, typePermissions, out.ID, audit.Create, permissionCreated(out))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetPermission returns a permission of an organization the caller belongs to.
func (s *Session) GetPermission(ctx context.Context, id string) (*role.Permission, error) {
	return readIn(ctx, s, "provisioning.GetPermission", id, s.p.b.Roles().GetPermission, func(p *role.Permission) string { return p.OrganizationID }, typePermissions)
}

// ListPermissions lists the permissions of an organization, by id.
// With OrganizationID empty, it lists across the caller's organizations
// (see Lists in the package documentation).
func (s *Session) ListPermissions(ctx context.Context, f role.PermissionFilter) (resource.Page[role.Permission], error) {
	const op = "provisioning.ListPermissions"
	if err := s.scopeList(ctx, op, typePermissions, f.OrganizationID, &f.OrganizationIDs); err != nil {
		return resource.Page[role.Permission]{}, err
	}
	page, err := s.p.b.Roles().ListPermissions(ctx, f)
	return page, fault.Wrap(op, err)
}

// UpdatePermission changes the flags of a permission (admins); nobody turns
// on a right they lack, nor any right when the organization's plan does not
// grant organization.CustomRoles. Subject and role never change.
func (s *Session) UpdatePermission(ctx context.Context, id string, u role.PermissionUpdate) (*role.Permission, error) {
	const op = "provisioning.UpdatePermission"
	var out *role.Permission
	err := s.tx(ctx, func(ctx context.Context) error {
		p, err := preRead(ctx, s, op, func(ctx context.Context) (*role.Permission, error) { return s.p.b.Roles().GetPermission(ctx, id) })
		if err != nil {
			return err
		}
		org, _, err := s.lockedOrg(ctx, op, p.OrganizationID, typePermissions, role.ActionUpdate)
		if err != nil {
			return err
		}
		if err := u.Validate(); err != nil {
			return err
		}
		on := func(v *bool) bool { return v != nil && *v }
		turnedOn := map[role.Action]bool{
			role.ActionCreate: on(u.CanCreate) && !p.CanCreate, role.ActionRead: on(u.CanRead) && !p.CanRead,
			role.ActionUpdate: on(u.CanUpdate) && !p.CanUpdate, role.ActionDestroy: on(u.CanDestroy) && !p.CanDestroy,
		}
		if slices.Contains(slices.Collect(maps.Values(turnedOn)), true) {
			// Turning a right off is always allowed: a plan without custom
			// roles lets an organization take rights away, never add them.
			if err := s.requireFeature(ctx, op, org, typePermissions, organization.CustomRoles); err != nil {
				return err
			}
		}
		if err := s.mayGrantFlags(ctx, op, p.OrganizationID, p.Subject, turnedOn); err != nil {
			return err
		}
		out = p
		ch := u.Apply(p, s.now())
		if len(ch) == 0 {
			return nil
		}
		if err := s.p.b.Roles().UpdatePermission(ctx, p); err != nil {
			return fault.Wrap(op, err)
		}
		return s.record(ctx, p.OrganizationID, typePermissions, p.ID, audit.Update, ch)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
