package bunstore

import (
	"context"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

type policyStore struct{ base }

func (s policyStore) Revision(ctx context.Context, orgID string) (string, error) {
	if !resource.ValidID(orgID) {
		return "", fault.E("access.Revision", fault.NotFound, nil)
	}
	var rev string
	err := s.idb(ctx).NewSelect().Model((*orgRow)(nil)).Column("policy_revision").Where("id = ?", orgID).Scan(ctx, &rev)
	return rev, s.one("access.Revision", err)
}

// Snapshot reads the organization's policy. Outside a transaction the reads
// run in a read-only one, so that the revision and the rows agree.
func (s policyStore) Snapshot(ctx context.Context, orgID string) (*access.Snapshot, error) {
	if !resource.ValidID(orgID) {
		return nil, fault.E("access.Snapshot", fault.NotFound, nil)
	}
	var snap *access.Snapshot
	err := s.s.InTx(ctx, func(ctx context.Context) error {
		var err error
		snap, err = s.snapshot(ctx, orgID)
		return err
	})
	return snap, err
}

func (s policyStore) snapshot(ctx context.Context, orgID string) (*access.Snapshot, error) {
	const op = "access.Snapshot"
	var org orgRow
	if err := s.idb(ctx).NewSelect().Model(&org).Column("id", "policy_revision", "owner_membership_id").Where("o.id = ?", orgID).Scan(ctx); err != nil {
		return nil, s.one(op, err)
	}
	snap := &access.Snapshot{OrganizationID: orgID, Revision: org.PolicyRevision}
	var roles []roleRow
	if err := s.idb(ctx).NewSelect().Model(&roles).Column("id", "kind").Where("r.organization_id = ?", orgID).Scan(ctx); err != nil {
		return nil, s.err(op, err)
	}
	for _, r := range roles {
		snap.Roles = append(snap.Roles, access.RoleGrant{ID: r.ID, Kind: role.Kind(r.Kind)})
	}
	var perms []permissionRow
	if err := s.idb(ctx).NewSelect().Model(&perms).Where("p.organization_id = ?", orgID).Scan(ctx); err != nil {
		return nil, s.err(op, err)
	}
	for i := range perms {
		snap.Permissions = append(snap.Permissions, perms[i].domain())
	}
	var members []membershipRow
	if err := s.idb(ctx).NewSelect().Model(&members).Column("id", "user_id", "role_id").
		Where("m.organization_id = ? AND m.status = 'active' AND m.user_id IS NOT NULL", orgID).Scan(ctx); err != nil {
		return nil, s.err(op, err)
	}
	for _, m := range members {
		snap.Members = append(snap.Members, access.Member{UserID: m.UserID, RoleID: m.RoleID})
		if m.ID == org.OwnerMembershipID {
			snap.OwnerUserID = m.UserID
		}
	}
	return snap, nil
}
