package bunstore

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/user"
)

type userStore struct{ base }

func toUserRow(u *user.User) *userRow {
	return &userRow{ID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		TimeZone: u.TimeZone, OTPRequired: u.OTPRequiredForLogin, DefaultOrgID: u.DefaultOrganizationID,
		commonCols: fromCommon(u.Common)}
}

func (r *userRow) domain() *user.User {
	return &user.User{ID: r.ID, Email: r.Email, FirstName: r.FirstName, LastName: r.LastName,
		TimeZone: r.TimeZone, OTPRequiredForLogin: r.OTPRequired, DefaultOrganizationID: r.DefaultOrgID,
		Common: r.common()}
}

func (s userStore) Create(ctx context.Context, u *user.User) error {
	if err := checkJSON("user.Create", jsonObject(u.Metadata)); err != nil {
		return err
	}
	_, err := s.idb(ctx).NewInsert().Model(toUserRow(u)).Returning("NULL").Exec(ctx)
	return s.err("user.Create", err)
}

func (s userStore) Get(ctx context.Context, id string) (*user.User, error) {
	if !resource.ValidID(id) {
		return nil, fault.E("user.Get", fault.NotFound, nil)
	}
	var row userRow
	if err := s.idb(ctx).NewSelect().Model(&row).Where("u.id = ?", id).Scan(ctx); err != nil {
		return nil, s.one("user.Get", err)
	}
	return row.domain(), nil
}

func (s userStore) Lock(ctx context.Context, id string) (*user.User, error) {
	if !resource.ValidID(id) {
		return nil, fault.E("user.Lock", fault.NotFound, nil)
	}
	var row userRow
	if err := s.forUpdate(ctx, s.idb(ctx).NewSelect().Model(&row).Where("u.id = ?", id)).Scan(ctx); err != nil {
		return nil, s.one("user.Lock", err)
	}
	return row.domain(), nil
}

func (s userStore) ListByEmails(ctx context.Context, canonicalEmails []string) ([]user.User, error) {
	if len(canonicalEmails) == 0 {
		return nil, nil
	}
	var rows []userRow
	if err := s.idb(ctx).NewSelect().Model(&rows).Where("u.email IN (?)", bun.List(canonicalEmails)).Scan(ctx); err != nil {
		return nil, s.err("user.ListByEmails", err)
	}
	out := make([]user.User, len(rows))
	for i := range rows {
		out[i] = *rows[i].domain()
	}
	return out, nil
}

func (s userStore) GetByEmail(ctx context.Context, canonicalEmail string) (*user.User, error) {
	var row userRow
	if err := s.idb(ctx).NewSelect().Model(&row).Where("u.email = ?", canonicalEmail).Scan(ctx); err != nil {
		return nil, s.one("user.GetByEmail", err)
	}
	return row.domain(), nil
}

func (s userStore) Update(ctx context.Context, u *user.User) error {
	if err := checkJSON("user.Update", jsonObject(u.Metadata)); err != nil {
		return err
	}
	res, err := s.idb(ctx).NewUpdate().Model(toUserRow(u)).ExcludeColumn("id", "default_organization_id", "created_at").WherePK().Exec(ctx)
	return s.affected("user.Update", res, err)
}

func (s userStore) SetDefaultOrganization(ctx context.Context, userID, orgID string) error {
	q := s.idb(ctx).NewUpdate().Model((*userRow)(nil)).Where("id = ?", userID)
	if orgID == "" {
		q = q.Set("default_organization_id = NULL")
	} else {
		q = q.Set("default_organization_id = ?", orgID)
	}
	res, err := q.Exec(ctx)
	return s.affected("user.SetDefaultOrganization", res, err)
}
