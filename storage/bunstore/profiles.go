package bunstore

import (
	"context"
	"errors"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/profile"
	"github.com/provisionkit/provisioning/resource"
)

type profileStore struct{ base }

func toProfileRow(p *profile.Profile) *profileRow {
	return &profileRow{ID: p.ID, OrganizationID: p.OrganizationID, Name: p.Name,
		AccessScope: string(p.AccessScope), commonCols: fromCommon(p.Common)}
}

func (r *profileRow) domain() profile.Profile {
	return profile.Profile{ID: r.ID, OrganizationID: r.OrganizationID, Name: r.Name,
		AccessScope: access.Scope(r.AccessScope), Common: r.common()}
}

func (s profileStore) Create(ctx context.Context, p *profile.Profile) error {
	if err := checkJSON("profile.Create", jsonObject(p.Metadata)); err != nil {
		return err
	}
	_, err := s.idb(ctx).NewInsert().Model(toProfileRow(p)).Returning("NULL").Exec(ctx)
	return s.err("profile.Create", err)
}

func (s profileStore) Get(ctx context.Context, id string) (*profile.Profile, error) {
	if !resource.ValidID(id) {
		return nil, fault.E("profile.Get", fault.NotFound, nil)
	}
	var row profileRow
	if err := s.idb(ctx).NewSelect().Model(&row).Where("mp.id = ?", id).Scan(ctx); err != nil {
		return nil, s.one("profile.Get", err)
	}
	p := row.domain()
	return &p, nil
}

func (s profileStore) Update(ctx context.Context, p *profile.Profile) error {
	if err := checkJSON("profile.Update", jsonObject(p.Metadata)); err != nil {
		return err
	}
	res, err := s.idb(ctx).NewUpdate().Model(toProfileRow(p)).ExcludeColumn("id", "organization_id", "created_at").WherePK().Exec(ctx)
	return s.affected("profile.Update", res, err)
}

func (s profileStore) Delete(ctx context.Context, id string) error {
	res, err := s.idb(ctx).NewDelete().Model((*profileRow)(nil)).Where("id = ?", id).Exec(ctx)
	if err != nil && classify(err) == classForeignKey {
		return &fault.Error{Op: "profile.Delete", Kind: fault.Conflict, Err: errors.Join(fault.ErrInUse, err)}
	}
	return s.affected("profile.Delete", res, err)
}

func (s profileStore) List(ctx context.Context, f profile.Filter) (resource.Page[profile.Profile], error) {
	var rows []profileRow
	q := s.idb(ctx).NewSelect().Model(&rows)
	if f.Name != "" {
		q = q.Where("mp.name = ?", f.Name)
	}
	q = inOrganizations(q, "mp.organization_id", f.OrganizationID, f.OrganizationIDs)
	return page(ctx, s.base, "profile.List", q, &rows, "mp", profileColumns, f.PageRequest, (*profileRow).domain,
		func(p profile.Profile) string { return p.ID })
}
