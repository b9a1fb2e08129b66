package bunstore

import (
	"context"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

type roleStore struct{ base }

func toRoleRow(r *role.Role) *roleRow {
	return &roleRow{ID: r.ID, OrganizationID: r.OrganizationID, Name: r.Name, Kind: string(r.Kind), commonCols: fromCommon(r.Common)}
}

func (r *roleRow) domain() role.Role {
	return role.Role{ID: r.ID, OrganizationID: r.OrganizationID, Name: r.Name, Kind: role.Kind(r.Kind), Common: r.common()}
}

func toPermissionRow(p *role.Permission) *permissionRow {
	return &permissionRow{ID: p.ID, OrganizationID: p.OrganizationID, RoleID: p.RoleID, Subject: p.Subject,
		CanCreate: p.CanCreate, CanRead: p.CanRead, CanUpdate: p.CanUpdate, CanDestroy: p.CanDestroy,
		Restrictions: jsonObject(p.Restrictions), commonCols: fromCommon(p.Common)}
}

func (r *permissionRow) domain() role.Permission {
	return role.Permission{ID: r.ID, OrganizationID: r.OrganizationID, RoleID: r.RoleID, Subject: r.Subject,
		CanCreate: r.CanCreate, CanRead: r.CanRead, CanUpdate: r.CanUpdate, CanDestroy: r.CanDestroy,
		Restrictions: map[string]any(r.Restrictions), Common: r.common()}
}

func (s roleStore) CreateRole(ctx context.Context, r *role.Role) error {
	if err := checkJSON("role.Create", jsonObject(r.Metadata)); err != nil {
		return err
	}
	_, err := s.idb(ctx).NewInsert().Model(toRoleRow(r)).Returning("NULL").Exec(ctx)
	return s.err("role.Create", err)
}

func (s roleStore) GetRole(ctx context.Context, id string) (*role.Role, error) {
	if !resource.ValidID(id) {
		return nil, fault.E("role.Get", fault.NotFound, nil)
	}
	var row roleRow
	if err := s.idb(ctx).NewSelect().Model(&row).Where("r.id = ?", id).Scan(ctx); err != nil {
		return nil, s.one("role.Get", err)
	}
	r := row.domain()
	return &r, nil
}

func (s roleStore) RoleOfKind(ctx context.Context, orgID string, k role.Kind) (*role.Role, error) {
	if !resource.ValidID(orgID) {
		return nil, fault.E("role.RoleOfKind", fault.NotFound, nil)
	}
	var row roleRow
	err := s.idb(ctx).NewSelect().Model(&row).Where("r.organization_id = ? AND r.kind = ?", orgID, string(k)).
		OrderExpr("r.id ASC").Limit(1).Scan(ctx)
	if err != nil {
		return nil, s.one("role.RoleOfKind", err)
	}
	r := row.domain()
	return &r, nil
}

func (s roleStore) UpdateRole(ctx context.Context, r *role.Role) error {
	if err := checkJSON("role.Update", jsonObject(r.Metadata)); err != nil {
		return err
	}
	res, err := s.idb(ctx).NewUpdate().Model(toRoleRow(r)).ExcludeColumn("id", "organization_id", "kind", "created_at").WherePK().Exec(ctx)
	return s.affected("role.Update", res, err)
}

func (s roleStore) ListRoles(ctx context.Context, f role.Filter) (resource.Page[role.Role], error) {
	var rows []roleRow
	q := s.idb(ctx).NewSelect().Model(&rows)
	if f.Kind != "" {
		q = q.Where("r.kind = ?", string(f.Kind))
	}
	if f.Name != "" {
		q = q.Where("r.name = ?", f.Name)
	}
	q = inOrganizations(q, "r.organization_id", f.OrganizationID, f.OrganizationIDs)
	return page(ctx, s.base, "role.List", q, &rows, "r", roleColumns, f.PageRequest, (*roleRow).domain,
		func(r role.Role) string { return r.ID })
}

func (s roleStore) CreatePermission(ctx context.Context, p *role.Permission) error {
	if err := checkJSON("permission.Create", jsonObject(p.Metadata), jsonObject(p.Restrictions)); err != nil {
		return err
	}
	_, err := s.idb(ctx).NewInsert().Model(toPermissionRow(p)).Returning("NULL").Exec(ctx)
	return s.err("permission.Create", err)
}

func (s roleStore) GetPermission(ctx context.Context, id string) (*role.Permission, error) {
	if !resource.ValidID(id) {
		return nil, fault.E("permission.Get", fault.NotFound, nil)
	}
	var row permissionRow
	if err := s.idb(ctx).NewSelect().Model(&row).Where("p.id = ?", id).Scan(ctx); err != nil {
		return nil, s.one("permission.Get", err)
	}
	p := row.domain()
	return &p, nil
}

func (s roleStore) UpdatePermission(ctx context.Context, p *role.Permission) error {
	if err := checkJSON("permission.Update", jsonObject(p.Metadata)); err != nil {
		return err
	}
	res, err := s.idb(ctx).NewUpdate().Model(toPermissionRow(p)).
		Column("can_create", "can_read", "can_update", "can_destroy", "reference", "reference_origin", "metadata", "updated_at").
		WherePK().Exec(ctx)
	return s.affected("permission.Update", res, err)
}

func (s roleStore) ListPermissions(ctx context.Context, f role.PermissionFilter) (resource.Page[role.Permission], error) {
	var rows []permissionRow
	q := s.idb(ctx).NewSelect().Model(&rows)
	if f.RoleID != "" {
		q = q.Where("p.role_id = ?", f.RoleID)
	}
	if f.Subject != "" {
		q = q.Where("p.subject = ?", f.Subject)
	}
	q = inOrganizations(q, "p.organization_id", f.OrganizationID, f.OrganizationIDs)
	return page(ctx, s.base, "permission.List", q, &rows, "p", permissionColumns, f.PageRequest, (*permissionRow).domain,
		func(p role.Permission) string { return p.ID })
}

func (s roleStore) PermissionSubjects(ctx context.Context, roleID string) ([]string, error) {
	var subjects []string
	err := s.idb(ctx).NewSelect().Model((*permissionRow)(nil)).Column("subject").Where("role_id = ?", roleID).Scan(ctx, &subjects)
	return subjects, s.err("permission.Subjects", err)
}
