package bunstore

import (
	"context"
	"encoding/json"
	"time"

	"github.com/uptrace/bun"

	"github.com/uptrace/bun/dialect"

	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
)

type versionStore struct{ base }

var (
	_ audit.Store  = versionStore{}
	_ audit.Purger = versionStore{}
)

func (r *versionRow) domain() audit.Version {
	changes := resource.Changes{}
	for k, v := range r.Changes {
		if pair, ok := v.([]any); ok && len(pair) == 2 {
			changes[k] = [2]any{pair[0], pair[1]}
		}
	}
	return audit.Version{ID: r.ID, OrganizationID: r.OrganizationID, ResourceType: r.ResourceType, ResourceID: r.ResourceID,
		Event: audit.Event(r.Event), Changes: changes, Who: audit.Who{Type: r.WhoType, ID: r.WhoID}, RequestID: r.RequestID,
		Common: r.common()}
}

// toVersionRow returns the row of v.
func toVersionRow(op string, v *audit.Version) (*versionRow, error) {
	changes := jsonObject{}
	for k, pair := range v.Changes {
		changes[k] = []any{pair[0], pair[1]}
	}
	if err := checkJSON(op, changes, jsonObject(v.Metadata)); err != nil {
		return nil, err
	}
	return &versionRow{ID: v.ID, OrganizationID: v.OrganizationID, ResourceType: v.ResourceType, ResourceID: v.ResourceID,
		Event: string(v.Event), Changes: changes, WhoType: v.Who.Type, WhoID: v.Who.ID, RequestID: v.RequestID,
		commonCols: fromCommon(v.Common)}, nil
}

func (s versionStore) Append(ctx context.Context, v *audit.Version) error {
	return s.AppendMany(ctx, []*audit.Version{v})
}

func (s versionStore) AppendMany(ctx context.Context, vs []*audit.Version) error {
	const op = "version.Append"
	rows := make([]*versionRow, len(vs))
	for i, v := range vs {
		var err error
		if rows[i], err = toVersionRow(op, v); err != nil {
			return err
		}
	}
	if h, tx := s.hotTx(ctx); h != nil && (len(rows) == 1 || s.s.dialect == dialect.SQLite) {
		return s.err(op, h.insertVersion.exec(ctx, tx, anys(rows)...))
	}
	// bun writes a Valuer's error into the statement: the changes are
	// encoded first, which also sizes the statements.
	changed := make(map[*versionRow]int, len(vs)) // the bytes of each row's changes, as JSON
	for _, r := range rows {
		b, err := json.Marshal(r.Changes)
		if err != nil {
			return fault.E(op, fault.Internal, err)
		}
		changed[r] = len(b)
	}
	size := func(r *versionRow) int {
		return 2*changed[r] + sqlSize(r.ID, r.OrganizationID, r.ResourceType, r.ResourceID, r.Event, r.WhoType, r.WhoID,
			r.RequestID, r.Reference, r.ReferenceOrigin, map[string]any(r.Metadata))
	}
	return chunked(rows, s.chunkRows(), size, func(chunk []*versionRow) error {
		_, err := s.idb(ctx).NewInsert().Model(&chunk).Returning("NULL").Exec(ctx)
		return s.err(op, err)
	})
}

func (s versionStore) Get(ctx context.Context, id string) (*audit.Version, error) {
	if !resource.ValidID(id) {
		return nil, fault.E("version.Get", fault.NotFound, nil)
	}
	var row versionRow
	if err := s.idb(ctx).NewSelect().Model(&row).Where("v.id = ?", id).Scan(ctx); err != nil {
		return nil, s.one("version.Get", err)
	}
	v := row.domain()
	return &v, nil
}

func (s versionStore) List(ctx context.Context, f audit.Filter) (resource.Page[audit.Version], error) {
	var rows []versionRow
	q := s.idb(ctx).NewSelect().Model(&rows)
	if f.ResourceType != "" {
		q = q.Where("v.resource_type = ?", f.ResourceType)
	}
	if f.ResourceID != "" {
		q = q.Where("v.resource_id = ?", f.ResourceID)
	}
	if f.Event != "" {
		q = q.Where("v.event = ?", string(f.Event))
	}
	if !f.Since.IsZero() {
		q = q.Where("v.created_at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		q = q.Where("v.created_at < ?", f.Until.UTC())
	}
	q = inOrganizations(q, "v.organization_id", f.OrganizationID, f.OrganizationIDs)
	return page(ctx, s.base, "version.List", q, &rows, "v", versionColumns, f.PageRequest, (*versionRow).domain,
		func(v audit.Version) string { return v.ID })
}

// Purge selects the oldest versions before cutoff and deletes them by id in
// one transaction; on PostgreSQL and MySQL the selection locks them and
// skips those a concurrent purge holds (FOR UPDATE SKIP LOCKED), so that two
// purges take disjoint versions and never wait for each other; SQLite has
// one writer. One more version than limit is selected, to tell whether any
// remain.
func (s versionStore) Purge(ctx context.Context, cutoff time.Time, limit int) (int, bool, error) {
	const op = "version.Purge"
	limit = max(limit, 1)
	var (
		n    int
		more bool
	)
	err := s.s.InTx(ctx, func(ctx context.Context) error {
		n, more = 0, false
		var ids []string
		q := s.idb(ctx).NewSelect().Model((*versionRow)(nil)).Column("v.id").Where("v.created_at < ?", cutoff.UTC()).
			OrderExpr("v.created_at ASC, v.id ASC").Limit(int64(limit + 1))
		if err := s.skipLocked(ctx, q).Scan(ctx, &ids); err != nil {
			return s.err(op, err)
		}
		if more = len(ids) > limit; more {
			ids = ids[:limit]
		}
		if len(ids) == 0 {
			return nil
		}
		res, err := s.idb(ctx).NewDelete().Model((*versionRow)(nil)).Where("id IN (?)", bun.List(ids)).Exec(ctx)
		if err != nil {
			return s.err(op, err)
		}
		deleted, err := res.RowsAffected()
		n = int(deleted)
		return s.err(op, err)
	})
	if err != nil {
		return 0, false, err
	}
	return n, more, nil
}
