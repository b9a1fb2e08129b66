package bunstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"github.com/uptrace/bun/dialect"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/resource"
)

type orgStore struct{ base }

func toOrgRow(o *organization.Organization) *orgRow {
	return &orgRow{ID: o.ID, Name: o.Name, Slug: o.Slug, Domain: o.Domain, SupportPhone: o.SupportPhone,
		SupportEmail: o.SupportEmail, LogoURL: o.LogoURL, FaviconURL: o.FaviconURL, PrimaryColor: o.PrimaryColor,
		ContrastColor: o.ContrastColor, GTMID: o.GTMID, GTMIDTest: o.GTMIDTest, Region: o.Region,
		Config: jsonObject(o.Config), OwnerMembershipID: o.OwnerMembershipID, PlanType: o.Subscription.PlanType,
		LimitMemberships: o.Subscription.Limits.Memberships, LimitOrgs: o.Subscription.Limits.Organizations,
		LimitCredentials: o.Subscription.Limits.APICredentials, LimitRoles: o.Subscription.Limits.Roles,
		MFARequired: o.MFARequired, CanSwitchLive: o.Subscription.CanSwitchLive, Number: o.Number, commonCols: fromCommon(o.Common)}
}

func (r *orgRow) domain() organization.Organization {
	return organization.Organization{ID: r.ID, Name: r.Name, Slug: r.Slug, Domain: r.Domain, SupportPhone: r.SupportPhone,
		SupportEmail: r.SupportEmail, LogoURL: r.LogoURL, FaviconURL: r.FaviconURL, PrimaryColor: r.PrimaryColor,
		ContrastColor: r.ContrastColor, GTMID: r.GTMID, GTMIDTest: r.GTMIDTest, Region: r.Region,
		Config: map[string]any(r.Config), OwnerMembershipID: r.OwnerMembershipID,
		Subscription: organization.Subscription{PlanType: r.PlanType,
			Limits: organization.Limits{Memberships: r.LimitMemberships, Organizations: r.LimitOrgs,
				APICredentials: r.LimitCredentials, Roles: r.LimitRoles},
			CanSwitchLive: r.CanSwitchLive},
		MFARequired: r.MFARequired, Number: r.Number, Common: r.common()}
}

// PolicyChannel is the PostgreSQL notification channel on which every
// change of an organization's policy revision is announced, with the
// organization's id as payload, when its transaction commits.
const PolicyChannel = "provisioning_policy"

// newRevision returns a fresh policy revision token: random, so that the
// token of a rolled-back transaction is never seen again.
func newRevision() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// revise runs write, which gives organization id a new policy revision,
// and on PostgreSQL notifies PolicyChannel with id in the same transaction
// (one is started when ctx carries none): listeners hear of the change when
// it commits, never when it rolls back.
func (b base) revise(ctx context.Context, op, id string, write func(ctx context.Context) error) error {
	if st, ok := ctx.Value(txStateKey{}).(*txState); ok {
		st.touch(id) // before the write: a failed statement ends the transaction anyway
	}
	if b.s.dialect != dialect.PG {
		return write(ctx)
	}
	return b.s.InTx(ctx, func(ctx context.Context) error {
		if err := write(ctx); err != nil {
			return err
		}
		_, err := b.idb(ctx).ExecContext(ctx, "SELECT pg_notify(?, ?)", PolicyChannel, id)
		return b.err(op, err)
	})
}

func (s orgStore) Create(ctx context.Context, o *organization.Organization) error {
	const op = "organization.Create"
	row := toOrgRow(o)
	row.PolicyRevision = newRevision()
	if err := checkJSON(op, row.Metadata, row.Config); err != nil {
		return err
	}
	row.Number = 0 // the database assigns it
	return s.revise(ctx, op, row.ID, func(ctx context.Context) error {
		if _, err := s.idb(ctx).NewInsert().Model(row).Returning("NULL").Exec(ctx); err != nil {
			return s.err(op, err)
		}
		// The number the database assigned: a point read by primary key
		// (cheaper than RETURNING, which MySQL lacks anyway).
		err := s.idb(ctx).NewSelect().Model((*orgRow)(nil)).Column("number").Where("id = ?", row.ID).Scan(ctx, &o.Number)
		return s.err(op, err)
	})
}

func (s orgStore) get(ctx context.Context, op, id string, lock bool) (*organization.Organization, error) {
	if !resource.ValidID(id) {
		return nil, fault.E(op, fault.NotFound, nil)
	}
	var row orgRow
	q := s.idb(ctx).NewSelect().Model(&row).Where("o.id = ?", id)
	if lock {
		q = s.forUpdate(ctx, q)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, s.one(op, err)
	}
	if st, ok := ctx.Value(txStateKey{}).(*txState); ok && lock {
		st.lock(id, row.PolicyRevision)
	}
	o := row.domain()
	return &o, nil
}

func (s orgStore) Get(ctx context.Context, id string) (*organization.Organization, error) {
	return s.get(ctx, "organization.Get", id, false)
}

func (s orgStore) GetByNumber(ctx context.Context, number int32) (*organization.Organization, error) {
	const op = "organization.GetByNumber"
	if number <= 0 {
		return nil, fault.E(op, fault.NotFound, nil)
	}
	var row orgRow
	if err := s.idb(ctx).NewSelect().Model(&row).Where("o.number = ?", number).Scan(ctx); err != nil {
		return nil, s.one(op, err)
	}
	o := row.domain()
	return &o, nil
}

func (s orgStore) Lock(ctx context.Context, id string) (*organization.Organization, error) {
	return s.get(ctx, "organization.Lock", id, true)
}

func (s orgStore) Update(ctx context.Context, o *organization.Organization) error {
	row := toOrgRow(o)
	if err := checkJSON("organization.Update", row.Metadata, row.Config); err != nil {
		return err
	}
	res, err := s.idb(ctx).NewUpdate().Model(row).
		ExcludeColumn("id", "slug", "domain", "region", "owner_membership_id", "policy_revision", "number", "created_at").
		WherePK().Exec(ctx)
	return s.affected("organization.Update", res, err)
}

func (s orgStore) SetOwner(ctx context.Context, id, from, membershipID string) error {
	return s.revise(ctx, "organization.SetOwner", id, func(ctx context.Context) error {
		return s.setOwner(ctx, id, from, membershipID)
	})
}

func (s orgStore) setOwner(ctx context.Context, id, from, membershipID string) error {
	q := s.idb(ctx).NewUpdate().Model((*orgRow)(nil)).
		Set("owner_membership_id = ?", membershipID).
		Set("policy_revision = ?", newRevision()).
		Where("id = ?", id)
	if from == "" {
		q = q.Where("owner_membership_id IS NULL")
	} else {
		q = q.Where("owner_membership_id = ?", from)
	}
	res, err := q.Exec(ctx)
	if err := s.affected("organization.SetOwner", res, err); err != nil {
		if fault.KindOf(err) == fault.NotFound {
			return fault.E("organization.SetOwner", fault.Conflict, fault.ErrLastOwner)
		}
		return err
	}
	return nil
}

func (s orgStore) BumpPolicy(ctx context.Context, id string) error {
	const op = "organization.BumpPolicy"
	return s.revise(ctx, op, id, func(ctx context.Context) error {
		res, err := s.idb(ctx).NewUpdate().Model((*orgRow)(nil)).
			Set("policy_revision = ?", newRevision()).Where("id = ?", id).Exec(ctx)
		return s.affected(op, res, err)
	})
}

func (s orgStore) ListForUser(ctx context.Context, userID string, f organization.Filter) (resource.Page[organization.Organization], error) {
	return s.listWhere(ctx, "EXISTS (SELECT 1 FROM provisioning_memberships AS m WHERE m.organization_id = o.id AND m.user_id = ? AND m.status = 'active')", userID, f)
}

func (s orgStore) ListForCredential(ctx context.Context, credentialID string, f organization.Filter) (resource.Page[organization.Organization], error) {
	return s.listWhere(ctx, "EXISTS (SELECT 1 FROM provisioning_api_credentials AS ac WHERE ac.organization_id = o.id AND ac.id = ? AND ac.revoked_at IS NULL)", credentialID, f)
}

// listWhere lists the organizations that the condition exists, whose one
// placeholder is the principal's id, holds for, filtered by f. An id that
// cannot be one lists none.
func (s orgStore) listWhere(ctx context.Context, exists, id string, f organization.Filter) (resource.Page[organization.Organization], error) {
	if !resource.ValidID(id) {
		return resource.Page[organization.Organization]{}, nil
	}
	var rows []orgRow
	q := s.idb(ctx).NewSelect().Model(&rows).Where(exists, id)
	if f.Name != "" {
		q = q.Where("o.name = ?", f.Name)
	}
	if f.Slug != "" {
		q = q.Where("o.slug = ?", f.Slug)
	}
	return page(ctx, s.base, "organization.List", q, &rows, "o", organizationColumns, f.PageRequest, (*orgRow).domain,
		func(o organization.Organization) string { return o.ID })
}

func (s orgStore) SlugsWithPrefix(ctx context.Context, prefix string) ([]string, error) {
	// Slugs hold only [a-z0-9-]: a prefix with any other character (a LIKE
	// wildcard, an escape, a capital) matches nothing, and is not sent.
	for i := 0; i < len(prefix); i++ {
		if c := prefix[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return nil, nil
		}
	}
	var slugs []string
	err := s.idb(ctx).NewSelect().Model((*orgRow)(nil)).Column("slug").
		Where("slug LIKE ?", prefix+"%").
		Scan(ctx, &slugs)
	return slugs, s.err("organization.SlugsWithPrefix", err)
}

func (s orgStore) CountOwned(ctx context.Context, userID string) (int, error) {
	n, err := s.idb(ctx).NewSelect().Model((*orgRow)(nil)).
		Join("JOIN provisioning_memberships AS om ON om.id = o.owner_membership_id").
		Where("om.user_id = ?", userID).Count(ctx)
	return int(n), s.err("organization.CountOwned", err)
}
