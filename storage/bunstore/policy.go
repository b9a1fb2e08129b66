package bunstore

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

type policyStore struct{ base }

func (s policyStore) Revision(ctx context.Context, orgID string) (string, error) {
	if !resource.ValidID(orgID) {
		return "", fault.E("access.Revision", fault.NotFound, nil)
	}
	if st, ok := ctx.Value(txStateKey{}).(*txState); ok {
		if rev, ok := st.lockedRevision(orgID); ok {
			return rev, nil
		}
	} else if rev, ok := access.NotedRevision(ctx, orgID); ok { // a memo holds only what was read outside transactions
		return rev, nil
	}
	var rev string
	err := s.idb(ctx).NewSelect().Model((*orgRow)(nil)).Column("policy_revision").Where("id = ?", orgID).Scan(ctx, &rev)
	return rev, s.one("access.Revision", err)
}

// Snapshot reads the organization's policy. Outside a transaction the reads
// run in a read-only one that sees one snapshot of the database, so that the
// revision and the rows agree (inReadTx).
func (s policyStore) Snapshot(ctx context.Context, orgID string) (*access.Snapshot, error) {
	if !resource.ValidID(orgID) {
		return nil, fault.E("access.Snapshot", fault.NotFound, nil)
	}
	var snap *access.Snapshot
	err := s.s.inReadTx(ctx, func(ctx context.Context) error {
		var err error
		snap, err = s.snapshot(ctx, orgID, nil)
		return err
	})
	return snap, err
}

// SnapshotFor reads the part of the organization's policy that decides for
// p (access.SliceStore), in one transaction as Snapshot does.
func (s policyStore) SnapshotFor(ctx context.Context, orgID string, p access.Principal) (*access.Snapshot, error) {
	switch {
	case !resource.ValidID(orgID):
		return nil, fault.E("access.SnapshotFor", fault.NotFound, nil)
	case p.Kind != access.KindUser && p.Kind != access.KindCredential || !resource.ValidID(p.ID):
		return nil, fault.InvalidField("access.SnapshotFor", "principal", "format", "must be a user or an API credential with an id")
	}
	var snap *access.Snapshot
	err := s.s.inReadTx(ctx, func(ctx context.Context) error {
		var err error
		snap, err = s.snapshot(ctx, orgID, &p)
		return err
	})
	return snap, err
}

// ActiveMembers counts the organization's active memberships, from the
// index of its lists.
func (s policyStore) ActiveMembers(ctx context.Context, orgID string) (int, error) {
	n, err := s.idb(ctx).NewSelect().Model((*membershipRow)(nil)).
		Where("m.organization_id = ? AND m.status = 'active'", orgID).Count(ctx)
	return int(n), s.err("access.ActiveMembers", err)
}

// snapshot reads the organization's policy; with only, just what decides
// for that principal (SnapshotFor).
func (s policyStore) snapshot(ctx context.Context, orgID string, only *access.Principal) (*access.Snapshot, error) {
	const op = "access.Snapshot"
	var org orgRow
	if err := s.idb(ctx).NewSelect().Model(&org).Column("id", "policy_revision", "owner_membership_id", "mfa_required").Where("o.id = ?", orgID).Scan(ctx); err != nil {
		return nil, s.one(op, err)
	}
	snap := &access.Snapshot{OrganizationID: orgID, Revision: org.PolicyRevision, MFARequired: org.MFARequired}
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
	var members []struct {
		membershipRow   `bun:",extend"`
		UserMFADisabled bool `bun:"user_mfa_disabled,scanonly"`
	}
	if only == nil || only.Kind == access.KindUser { // a credential has no membership
		q := s.idb(ctx).NewSelect().Model(&members).
			Column("id", "user_id", "role_id", "extra_role_ids", "membership_profile_id", "permissions", "allowed_ips",
				"guest", "expires_at", "mfa_required").
			ColumnExpr("CASE WHEN EXISTS (SELECT 1 FROM provisioning_users AS u WHERE u.id = m.user_id AND u.mfa_disabled) THEN 1 ELSE 0 END AS user_mfa_disabled").
			Where("m.organization_id = ? AND m.status = 'active' AND m.user_id IS NOT NULL", orgID)
		if only != nil {
			q = q.Where("m.user_id = ?", only.ID)
		}
		if err := q.Scan(ctx); err != nil {
			return nil, s.err(op, err)
		}
	}
	for _, m := range members {
		snap.Members = append(snap.Members, access.Member{MembershipID: m.ID, UserID: m.UserID,
			RoleIDs: m.roleIDs(), ProfileID: m.ProfileID, Grants: membership.Grants(m.Permissions), Guest: m.Guest,
			ExpiresAt: utcOrZero(m.ExpiresAt), MFARequired: m.MFARequired, MFADisabled: m.UserMFADisabled, AllowedIPs: m.AllowedIPs.prefixes()})
		if m.ID == org.OwnerMembershipID {
			snap.OwnerUserID = m.UserID
		}
	}
	creds, err := credentialStore(s).snapshotCredentials(ctx, orgID)
	if err != nil {
		return nil, err
	}
	snap.Credentials = creds
	if only != nil && only.Kind != access.KindUser {
		return snap, nil // application memberships are users'
	}
	if snap.AppMemberships, err = s.snapshotAppMemberships(ctx, orgID, only); err != nil {
		return nil, err
	}
	return snap, nil
}

// snapshotAppMemberships reads the application memberships that can grant
// something: of a credential that is not revoked, held by an active
// membership (named by its user) or by a profile.
func (s policyStore) snapshotAppMemberships(ctx context.Context, orgID string, only *access.Principal) ([]access.AppMembership, error) {
	var rows []struct {
		ID           string `bun:"id"`
		CredentialID string `bun:"api_credential_id"`
		RoleID       string `bun:"role_id"`
		UserID       string `bun:"user_id"`
		ProfileID    string `bun:"membership_profile_id"`
	}
	q := s.idb(ctx).NewSelect().TableExpr("provisioning_application_memberships AS am").
		ColumnExpr("am.id, am.api_credential_id, am.role_id, m.user_id, am.membership_profile_id").
		Join("JOIN provisioning_api_credentials AS c ON c.id = am.api_credential_id AND c.revoked_at IS NULL").
		Join("LEFT JOIN provisioning_memberships AS m ON m.id = am.membership_id").
		Where("am.organization_id = ?", orgID)
	if only != nil { // the principal's own, and the profiles' (it may hold one)
		q = q.Where("am.membership_profile_id IS NOT NULL OR (m.status = 'active' AND m.user_id = ?)", only.ID)
	} else {
		q = q.Where("am.membership_profile_id IS NOT NULL OR (m.status = 'active' AND m.user_id IS NOT NULL)")
	}
	err := q.OrderExpr("am.id").Scan(ctx, &rows)
	if err != nil {
		return nil, s.err("access.Snapshot", err)
	}
	var out []access.AppMembership
	for _, r := range rows {
		out = append(out, access.AppMembership{ID: r.ID, CredentialID: r.CredentialID, RoleID: r.RoleID,
			UserID: r.UserID, ProfileID: r.ProfileID})
	}
	return out, nil
}

// Organizations lists, in ascending id order, the organizations where p may
// hold rights: for a user, those where it has an active membership; for an
// API credential, its organization while it is not revoked. An after
// that is not the shape of an id matches nothing; a limit below 1 or above
// resource.MaxPageLimit means resource.MaxPageLimit. A principal of another
// kind, or whose id is not the shape of an id, is fault.Invalid.
func (s policyStore) Organizations(ctx context.Context, p access.Principal, after string, limit int) ([]string, error) {
	const op = "access.Organizations"
	switch {
	case p.Kind != access.KindUser && p.Kind != access.KindCredential:
		return nil, fault.InvalidField(op, "principal", "enum", "must be a user or an API credential")
	case !resource.ValidID(p.ID):
		return nil, fault.InvalidField(op, "principal", "format", "must have an id")
	case after != "" && !resource.ValidID(after):
		return nil, nil
	case p.Kind == access.KindCredential:
		return credentialStore(s).credentialOrganization(ctx, p.ID, after)
	}
	if limit < 1 || limit > resource.MaxPageLimit {
		limit = resource.MaxPageLimit
	}
	q := s.idb(ctx).NewSelect().Model((*membershipRow)(nil)).Column("organization_id").
		Where("m.user_id = ? AND m.status = 'active'", p.ID)
	if after != "" {
		q = q.Where("m.organization_id > ?", after)
	}
	var ids []string
	err := q.OrderExpr("m.organization_id ASC").Limit(int64(limit)).Scan(ctx, &ids)
	return ids, s.err(op, err)
}

// watchingPolicyStore is the policy store on PostgreSQL through bun's
// pgdriver, where it can also watch policy changes.
type watchingPolicyStore struct{ policyStore }

var _ access.Watcher = watchingPolicyStore{}

// WatchPolicy listens on PolicyChannel on a connection of its own and calls
// changed, from the calling goroutine, with each id the channel carries
// (payloads that are not the shape of an id are dropped). It returns nil
// when ctx ends, and the error when the connection fails. Notifications are
// per database, not per schema: stores in other schemas of the same
// database notify it too, which costs a needless refresh, never a stale one.
func (s watchingPolicyStore) WatchPolicy(ctx context.Context, changed func(orgID string)) error {
	ln := pgdriver.NewListener(s.s.db)
	// The listener's reads ignore cancellation: closing it ends them.
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { _ = ln.Close(); close(closed) })
	defer func() {
		if stop() {
			_ = ln.Close()
		} else {
			<-closed
		}
	}()
	err := ln.Listen(ctx, PolicyChannel)
	for err == nil {
		var channel, payload string
		channel, payload, err = ln.Receive(context.WithoutCancel(ctx))
		if err == nil && channel == PolicyChannel && resource.ValidID(payload) {
			changed(payload)
		}
	}
	if ended(ctx) {
		return nil
	}
	return fmt.Errorf("bunstore: watch policy: %w", err)
}

// ended reports whether ctx has ended or is ending: its deadline can fail
// a read an instant before ctx.Err reports it.
func ended(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ctx.Err() != nil || ok && !time.Now().Before(d)
}

// InTransaction reports whether ctx carries a transaction of this package:
// the authorizer then reads the policy in it rather than wait for another
// caller's read, which may wait for the transaction's locks.
func (s policyStore) InTransaction(ctx context.Context) bool { return InTransaction(ctx) }

// Uncommitted reports whether ctx's transaction changed the organization's
// policy revision and has not committed yet (access.TxStore).
func (s policyStore) Uncommitted(ctx context.Context, orgID string) bool {
	st, ok := ctx.Value(txStateKey{}).(*txState)
	return ok && st.touched(orgID)
}
