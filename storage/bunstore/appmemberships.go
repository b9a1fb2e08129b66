package bunstore

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/provisionkit/provisioning/appmembership"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
)

type appMembershipRow struct {
	bun.BaseModel  `bun:"table:provisioning_application_memberships,alias:am"`
	ID             string     `bun:"id,pk"`
	OrganizationID string     `bun:"organization_id,notnull"`
	CredentialID   string     `bun:"api_credential_id,notnull"`
	MembershipID   string     `bun:"membership_id,nullzero"`
	ProfileID      string     `bun:"membership_profile_id,nullzero"`
	RoleID         string     `bun:"role_id,notnull"`
	Filters        jsonObject `bun:"filters,type:text"`
	commonCols
}

func toAppMembershipRow(a *appmembership.AppMembership) *appMembershipRow {
	return &appMembershipRow{ID: a.ID, OrganizationID: a.OrganizationID, CredentialID: a.CredentialID,
		MembershipID: a.MembershipID, ProfileID: a.ProfileID, RoleID: a.RoleID, Filters: jsonObject(a.Filters),
		commonCols: fromCommon(a.Common)}
}

func (r *appMembershipRow) domain() appmembership.AppMembership {
	return appmembership.AppMembership{ID: r.ID, OrganizationID: r.OrganizationID, CredentialID: r.CredentialID,
		MembershipID: r.MembershipID, ProfileID: r.ProfileID, RoleID: r.RoleID, Filters: map[string]any(r.Filters),
		Common: r.common()}
}

type appMembershipStore struct{ base }

var _ appmembership.Store = appMembershipStore{}

func (s appMembershipStore) Create(ctx context.Context, a *appmembership.AppMembership) error {
	const op = "appmembership.Create"
	row := toAppMembershipRow(a)
	if err := checkJSON(op, row.Metadata, row.Filters); err != nil {
		return err
	}
	_, err := s.idb(ctx).NewInsert().Model(row).Returning("NULL").Exec(ctx)
	return s.err(op, err)
}

func (s appMembershipStore) Get(ctx context.Context, id string) (*appmembership.AppMembership, error) {
	if !resource.ValidID(id) {
		return nil, fault.E("appmembership.Get", fault.NotFound, nil)
	}
	var row appMembershipRow
	if err := s.idb(ctx).NewSelect().Model(&row).Where("am.id = ?", id).Scan(ctx); err != nil {
		return nil, s.one("appmembership.Get", err)
	}
	a := row.domain()
	return &a, nil
}

func (s appMembershipStore) Update(ctx context.Context, a *appmembership.AppMembership) error {
	const op = "appmembership.Update"
	row := toAppMembershipRow(a)
	if err := checkJSON(op, row.Metadata, row.Filters); err != nil {
		return err
	}
	res, err := s.idb(ctx).NewUpdate().Model(row).
		ExcludeColumn("id", "organization_id", "api_credential_id", "membership_id", "created_at").
		WherePK().Exec(ctx)
	return s.affected(op, res, err)
}

func (s appMembershipStore) Delete(ctx context.Context, id string) error {
	res, err := s.idb(ctx).NewDelete().Model((*appMembershipRow)(nil)).Where("id = ?", id).Exec(ctx)
	return s.affected("appmembership.Delete", res, err)
}

func (s appMembershipStore) List(ctx context.Context, f appmembership.Filter) (resource.Page[appmembership.AppMembership], error) {
	var rows []appMembershipRow
	q := s.idb(ctx).NewSelect().Model(&rows)
	for _, c := range []struct{ col, v string }{
		{"am.api_credential_id", f.CredentialID}, {"am.membership_id", f.MembershipID},
		{"am.membership_profile_id", f.ProfileID}, {"am.role_id", f.RoleID},
	} {
		if c.v != "" {
			q = q.Where(c.col+" = ?", c.v) // c.col is one of the constants above
		}
	}
	if f.Holder != nil {
		q = q.WhereGroup(" AND ", held(*f.Holder))
	}
	q = appOrganizations(q, f)
	return page(ctx, s.base, "appmembership.List", q, &rows, "am", appMembershipColumns, f.PageRequest, (*appMembershipRow).domain,
		func(a appmembership.AppMembership) string { return a.ID })
}

// held narrows a query to a holder's application memberships: its
// membership's, and its profile's.
func held(h appmembership.Holder) func(q *bun.SelectQuery) *bun.SelectQuery {
	return func(q *bun.SelectQuery) *bun.SelectQuery {
		q = q.Where("am.membership_id = ?", h.MembershipID)
		if h.ProfileID != "" {
			q = q.WhereOr("am.membership_profile_id = ?", h.ProfileID)
		}
		return q
	}
}

// appOrganizations narrows q to the list's organizations (see
// inOrganizations) where, across organizations, those of f.Holders list
// only their holder's application memberships.
func appOrganizations(q *bun.SelectQuery, f appmembership.Filter) *bun.SelectQuery {
	if f.OrganizationID != "" || len(f.Holders) == 0 {
		return inOrganizations(q, "am.organization_id", f.OrganizationID, f.OrganizationIDs)
	}
	var whole, only []string
	for _, org := range f.OrganizationIDs {
		if _, ok := f.Holders[org]; ok {
			only = append(only, org)
		} else {
			whole = append(whole, org)
		}
	}
	if len(only) == 0 {
		return inOrganizations(q, "am.organization_id", "", whole)
	}
	return q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
		if len(whole) > 0 {
			q = q.WhereOr("am.organization_id IN (?)", bun.List(whole))
		}
		for _, org := range only {
			q = q.WhereGroup(" OR ", func(q *bun.SelectQuery) *bun.SelectQuery {
				return q.Where("am.organization_id = ?", org).WhereGroup(" AND ", held(f.Holders[org]))
			})
		}
		return q
	})
}
