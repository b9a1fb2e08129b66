package bunstore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/resource"
)

type memberStore struct{ base }

// insertChunk bounds the rows of one multi-row INSERT, and insertBytes the
// estimated size of its values: bun writes the values into the statement,
// and a statement must stay well under the servers' packet limits (MySQL's
// max_allowed_packet, 16 MiB by default). The count alone is not enough: a
// valid membership row reaches some 60 KiB once MySQL has escaped it
// (16 KiB of metadata, 100 allowlist entries, 64 permissions), and 500 of
// them are past 16 MiB. PostgreSQL gets shorter statements: there a row
// costs half as much in statements of 100 rows as in statements of 500
// (BenchmarkInviteMany), where SQLite does best with 500.
const (
	insertChunk   = 500
	insertChunkPG = 100
	insertBytes   = 4 << 20
)

// chunkRows is the number of rows of one multi-row INSERT on b's database.
func (b base) chunkRows() int {
	if b.s.dialect == dialect.PG {
		return insertChunkPG
	}
	return insertChunk
}

// chunked calls insert with consecutive runs of rows, each of at most
// limit rows and, beyond its first row, insertBytes as size estimates
// them.
func chunked[R any](rows []R, limit int, size func(R) int, insert func([]R) error) error {
	for len(rows) > 0 {
		n, total := 1, 0   // the first row goes whatever its size
		if len(rows) > 1 { // a row alone needs no estimate
			total = size(rows[0])
		}
		for n < len(rows) && n < limit {
			sz := size(rows[n])
			if total+sz > insertBytes {
				break
			}
			total += sz
			n++
		}
		if err := insert(rows[:n]); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// sqlSize estimates the bytes that values take in a statement: each twice
// (the worst escaping, a backslash or quote per byte), plus room for the
// columns that are not listed (ids, times, flags).
func sqlSize(values ...any) int {
	n := 512
	for _, v := range values {
		switch v := v.(type) {
		case string:
			n += 2 * len(v)
		default:
			b, _ := json.Marshal(v)
			n += 2 * len(b)
		}
	}
	return n
}

// size estimates the bytes of the row in an INSERT.
func (r *membershipRow) size() int {
	return sqlSize(r.ID, r.OrganizationID, r.UserID, r.UserEmail, r.RoleID, r.ProfileID, r.InvitationTokenHash,
		[]string(r.ExtraRoleIDs), []string(r.Permissions), []string(r.AllowedIPs),
		r.Reference, r.ReferenceOrigin, map[string]any(r.Metadata))
}

func toMembershipRow(m *membership.Membership) *membershipRow {
	// The primary role has its column (and foreign key); the others follow
	// it in order, the primary one never twice.
	var extra jsonList
	for _, id := range m.RoleIDs {
		if id != m.RoleID {
			extra = append(extra, id)
		}
	}
	return &membershipRow{ID: m.ID, OrganizationID: m.OrganizationID, UserID: m.UserID, UserEmail: m.UserEmail,
		Status: string(m.Status), RoleID: m.RoleID, ProfileID: m.ProfileID, AccessScope: string(m.AccessScope),
		InvitationExpiresAt: m.InvitationExpiresAt.UTC(), ExtraRoleIDs: extra, Permissions: nilIfEmpty(m.Permissions),
		AllowedIPs: listOf(m.AllowedIPs), Guest: m.Guest, ExpiresAt: m.ExpiresAt.UTC(), MFARequired: m.MFARequired,
		commonCols: fromCommon(m.Common)}
}

// nilIfEmpty stores an empty list as NULL (for lists where the two mean the same).
func nilIfEmpty(v []string) jsonList {
	if len(v) == 0 {
		return nil
	}
	return jsonList(v)
}

// roleIDs returns every role of the membership, the primary one first.
func (r *membershipRow) roleIDs() []string {
	return append([]string{r.RoleID}, r.ExtraRoleIDs...)
}

func (v *membershipView) domain() membership.Membership {
	return membership.Membership{ID: v.ID, OrganizationID: v.OrganizationID, UserID: v.UserID, UserEmail: v.UserEmail,
		UserFirstName: v.UserFirstName, UserLastName: v.UserLastName, Status: membership.Status(v.Status),
		Owner: v.Owner, RoleID: v.RoleID, RoleIDs: v.roleIDs(), ProfileID: v.ProfileID, AccessScope: access.Scope(v.AccessScope),
		ProfileAccessScope: access.Scope(v.ProfileAccessScope), InvitationExpiresAt: v.InvitationExpiresAt.UTC(),
		Permissions: nilIfEmpty(v.Permissions), AllowedIPs: v.AllowedIPs.prefixes(), Guest: v.Guest,
		ExpiresAt: utcOrZero(v.ExpiresAt), MFARequired: v.MFARequired, UserMFADisabled: v.UserMFADisabled, Default: v.Default, Common: v.common()}
}

// view selects memberships with the user's names, the profile's scope and the owner flag.
func (s memberStore) view(ctx context.Context, dst any) *bun.SelectQuery {
	return s.idb(ctx).NewSelect().Model(dst).
		ColumnExpr("m.*").
		ColumnExpr("COALESCE(u.first_name, '') AS user_first_name").
		ColumnExpr("COALESCE(u.last_name, '') AS user_last_name").
		ColumnExpr("COALESCE(mp.access_scope, '') AS profile_access_scope").
		ColumnExpr("CASE WHEN o.owner_membership_id = m.id THEN 1 ELSE 0 END AS owner").
		ColumnExpr("CASE WHEN u.default_organization_id = m.organization_id THEN 1 ELSE 0 END AS is_default").
		ColumnExpr("CASE WHEN u.mfa_disabled THEN 1 ELSE 0 END AS user_mfa_disabled").
		ColumnExpr("o.policy_revision AS org_policy_revision").
		Join("JOIN provisioning_organizations AS o ON o.id = m.organization_id").
		Join("LEFT JOIN provisioning_users AS u ON u.id = m.user_id").
		Join("LEFT JOIN provisioning_membership_profiles AS mp ON mp.id = m.membership_profile_id")
}

func (s memberStore) getWhere(ctx context.Context, op string, where string, args ...any) (*membership.Membership, error) {
	var v membershipView
	if err := s.view(ctx, &v).Where(where, args...).Scan(ctx); err != nil {
		return nil, s.one(op, err)
	}
	if !InTransaction(ctx) { // in a transaction, the transaction may change it
		access.NoteRevision(ctx, v.OrganizationID, v.OrgRevision)
	}
	m := v.domain()
	return &m, nil
}

// newRow returns the row of a new membership with its token's hash.
func newRow(op string, m *membership.Membership, tokenHash []byte) (*membershipRow, error) {
	row := toMembershipRow(m)
	if err := checkJSON(op, row.Metadata); err != nil {
		return nil, err
	}
	if tokenHash != nil {
		row.InvitationTokenHash = hex.EncodeToString(tokenHash)
	}
	return row, nil
}

func (s memberStore) Create(ctx context.Context, m *membership.Membership, tokenHash []byte) error {
	const op = "membership.Create"
	row, err := newRow(op, m, tokenHash)
	if err != nil {
		return err
	}
	if h, tx := s.hotTx(ctx); h != nil {
		return s.err(op, h.insertMembership.exec(ctx, tx, row))
	}
	_, err = s.idb(ctx).NewInsert().Model(row).Returning("NULL").Exec(ctx)
	return s.err(op, err)
}

func (s memberStore) CreateRecorded(ctx context.Context, m *membership.Membership, tokenHash []byte, v *audit.Version) error {
	const op = "membership.Create"
	h, tx := s.hotTx(ctx)
	if h == nil || h.recordMembership == nil {
		return s.s.InTx(ctx, func(ctx context.Context) error { // joins ctx's transaction, if any
			if err := s.Create(ctx, m, tokenHash); err != nil {
				return err
			}
			return s.s.versions.Append(ctx, v)
		})
	}
	row, err := newRow(op, m, tokenHash)
	if err != nil {
		return err
	}
	vrow, err := toVersionRow(op, v)
	if err != nil {
		return err
	}
	args, err := h.insertMembership.args(row, nil)
	if err == nil {
		args, err = h.insertVersion.args(vrow, args)
	}
	if err != nil {
		return fault.E(op, fault.Internal, err)
	}
	st := tx.StmtContext(ctx, h.recordMembership)
	defer st.Close()
	_, err = st.ExecContext(ctx, args...)
	return s.err(op, err)
}

// targetRow is an organization read with a role and a user (LockTarget):
// the role's and user's columns are NULL when there is none.
type targetRow struct {
	orgRow `bun:",extend"`
	Role   roleRow `bun:"embed:r_"`
	User   userRow `bun:"embed:u_"`
}

// lockTargetQuery is the statement of LockTarget: the organization's row
// (locked until the transaction ends, where the dialect has row locks),
// its role of an id and the user of an address; its arguments are the
// role's id, the address and the organization's id.
func (s *Store) lockTargetQuery() string {
	var cols []string
	for _, t := range []struct {
		model        any
		alias, embed string
	}{{(*orgRow)(nil), "o", ""}, {(*roleRow)(nil), "r", "r_"}, {(*userRow)(nil), "u", "u_"}} {
		for _, f := range s.db.Table(reflect.TypeOf(t.model).Elem()).Fields {
			c := t.alias + "." + f.Name
			if t.embed != "" {
				c += " AS " + t.embed + f.Name
			}
			cols = append(cols, c)
		}
	}
	q := "SELECT " + strings.Join(cols, ", ") + " FROM provisioning_organizations AS o" +
		" LEFT JOIN provisioning_roles AS r ON r.id = " + s.placeholder(1) + " AND r.organization_id = o.id" +
		" LEFT JOIN provisioning_users AS u ON u.email = " + s.placeholder(2) +
		" WHERE o.id = " + s.placeholder(3)
	if s.dialect == dialect.PG {
		q += " FOR UPDATE OF o"
	}
	return q
}

func (s memberStore) LockTarget(ctx context.Context, orgID, roleID, canonicalEmail string) (membership.Target, error) {
	const op = "membership.LockTarget"
	if !resource.ValidID(orgID) {
		return membership.Target{}, fault.E(op, fault.NotFound, nil)
	}
	h, tx := s.hotTx(ctx)
	if h == nil {
		return s.lockTargetApart(ctx, orgID, roleID, canonicalEmail)
	}
	st := tx.StmtContext(ctx, h.lockTarget)
	defer st.Close()
	rows, err := st.QueryContext(ctx, roleID, canonicalEmail, orgID)
	if err != nil {
		return membership.Target{}, s.err(op, err)
	}
	var row targetRow
	if err := s.s.db.ScanRows(ctx, rows, &row); err != nil {
		return membership.Target{}, s.err(op, err)
	}
	if row.ID == "" { // no row: ScanRows leaves the struct as it was
		return membership.Target{}, fault.E(op, fault.NotFound, nil)
	}
	if ts, ok := ctx.Value(txStateKey{}).(*txState); ok {
		ts.lock(orgID, row.PolicyRevision)
	}
	o := row.orgRow.domain()
	t := membership.Target{Organization: &o}
	if row.Role.ID != "" {
		r := row.Role.domain()
		t.Role = &r
	}
	if row.User.ID != "" {
		t.User = row.User.domain()
	}
	return t, nil
}

// lockTargetApart is LockTarget in three statements: MySQL, whose FOR
// UPDATE would lock the role's and the user's rows too, or a call outside
// a transaction.
func (s memberStore) lockTargetApart(ctx context.Context, orgID, roleID, canonicalEmail string) (membership.Target, error) {
	o, err := s.s.orgs.Lock(ctx, orgID)
	if err != nil {
		return membership.Target{}, err
	}
	t := membership.Target{Organization: o}
	if roleID != "" {
		switch r, err := s.s.roles.GetRole(ctx, roleID); {
		case err == nil && r.OrganizationID == orgID:
			t.Role = r
		case err != nil && fault.KindOf(err) != fault.NotFound:
			return membership.Target{}, err
		}
	}
	if canonicalEmail != "" {
		switch u, err := s.s.users.GetByEmail(ctx, canonicalEmail); {
		case err == nil:
			t.User = u
		case fault.KindOf(err) != fault.NotFound:
			return membership.Target{}, err
		}
	}
	return t, nil
}

func (s memberStore) CreateMany(ctx context.Context, ms []*membership.Membership, tokenHashes [][]byte) error {
	const op = "membership.CreateMany"
	if len(ms) != len(tokenHashes) {
		return fault.E(op, fault.Internal, fmt.Errorf("%d memberships, %d token hashes", len(ms), len(tokenHashes)))
	}
	rows := make([]*membershipRow, len(ms))
	for i, m := range ms {
		rows[i] = toMembershipRow(m)
		if err := checkJSON(op, rows[i].Metadata); err != nil {
			return err
		}
		if tokenHashes[i] != nil {
			rows[i].InvitationTokenHash = hex.EncodeToString(tokenHashes[i])
		}
	}
	if h, tx := s.hotTx(ctx); h != nil && s.s.dialect == dialect.SQLite {
		// SQLite runs a prepared single-row INSERT in a few microseconds,
		// and parses a multi-row one with every value inlined for much
		// longer than it takes to run it.
		return s.err(op, h.insertMembership.exec(ctx, tx, anys(rows)...))
	}
	return chunked(rows, s.chunkRows(), (*membershipRow).size, func(chunk []*membershipRow) error {
		_, err := s.idb(ctx).NewInsert().Model(&chunk).Returning("NULL").Exec(ctx)
		return s.err(op, err)
	})
}

// anys returns the elements of rows as a []any.
func anys[R any](rows []R) []any {
	out := make([]any, len(rows))
	for i, r := range rows {
		out[i] = r
	}
	return out
}

func (s memberStore) TakenEmails(ctx context.Context, orgID string, canonicalEmails []string) ([]string, error) {
	if len(canonicalEmails) == 0 {
		return nil, nil
	}
	var out []string
	err := s.idb(ctx).NewSelect().Model((*membershipRow)(nil)).Column("user_email").
		Where("organization_id = ? AND user_email IN (?)", orgID, bun.List(canonicalEmails)).Scan(ctx, &out)
	return out, s.err("membership.TakenEmails", err)
}

func (s memberStore) Get(ctx context.Context, id string) (*membership.Membership, error) {
	if !resource.ValidID(id) {
		return nil, fault.E("membership.Get", fault.NotFound, nil)
	}
	return s.getWhere(ctx, "membership.Get", "m.id = ?", id)
}

func (s memberStore) GetByEmail(ctx context.Context, orgID, canonicalEmail string) (*membership.Membership, error) {
	if !resource.ValidID(orgID) {
		return nil, fault.E("membership.GetByEmail", fault.NotFound, nil)
	}
	return s.getWhere(ctx, "membership.GetByEmail", "m.organization_id = ? AND m.user_email = ?", orgID, canonicalEmail)
}

func (s memberStore) GetByUser(ctx context.Context, orgID, userID string) (*membership.Membership, error) {
	if !resource.ValidID(orgID) || !resource.ValidID(userID) {
		return nil, fault.E("membership.GetByUser", fault.NotFound, nil)
	}
	return s.getWhere(ctx, "membership.GetByUser", "m.organization_id = ? AND m.user_id = ?", orgID, userID)
}

func (s memberStore) GetByInvitation(ctx context.Context, hash []byte) (*membership.Membership, error) {
	return s.getWhere(ctx, "membership.GetByInvitation", "m.invitation_token_hash = ? AND m.status = 'pending'", hex.EncodeToString(hash))
}

func (s memberStore) Update(ctx context.Context, m *membership.Membership) error {
	row := toMembershipRow(m)
	if err := checkJSON("membership.Update", row.Metadata); err != nil {
		return err
	}
	res, err := s.idb(ctx).NewUpdate().Model(row).
		Column("role_id", "extra_role_ids", "membership_profile_id", "access_scope", "permissions", "allowed_ips",
			"guest", "expires_at", "mfa_required", "reference", "reference_origin", "metadata", "updated_at").
		WherePK().Exec(ctx)
	return s.affected("membership.Update", res, err)
}

func (s memberStore) SetInvitation(ctx context.Context, id string, hash []byte, expiresAt, now time.Time) error {
	res, err := s.idb(ctx).NewUpdate().Model((*membershipRow)(nil)).
		Set("invitation_token_hash = ?", hex.EncodeToString(hash)).
		Set("invitation_expires_at = ?", expiresAt.UTC()).
		Set("updated_at = ?", now.UTC()).
		Where("id = ? AND status = 'pending'", id).Exec(ctx)
	if err := s.affected("membership.SetInvitation", res, err); err != nil {
		if fault.KindOf(err) == fault.NotFound {
			return fault.E("membership.SetInvitation", fault.Conflict, fault.ErrNotPending)
		}
		return err
	}
	return nil
}

func (s memberStore) Activate(ctx context.Context, id, userID string, now time.Time) error {
	res, err := s.idb(ctx).NewUpdate().Model((*membershipRow)(nil)).
		Set("status = 'active'").
		Set("user_id = ?", userID).
		Set("invitation_token_hash = NULL").
		Set("invitation_expires_at = NULL").
		Set("updated_at = ?", now.UTC()).
		Where("id = ? AND status = 'pending'", id).Exec(ctx)
	if err := s.affected("membership.Activate", res, err); err != nil {
		if fault.KindOf(err) == fault.NotFound {
			return fault.E("membership.Activate", fault.Conflict, fault.ErrNotPending)
		}
		return err
	}
	return nil
}

func (s memberStore) Delete(ctx context.Context, id string) error {
	const op = "membership.Delete"
	// The owner's membership is referenced by its organization: the foreign
	// key refuses the delete even if a caller skipped the facade's check.
	res, err := s.idb(ctx).NewDelete().Model((*membershipRow)(nil)).Where("id = ?", id).Exec(ctx)
	if err != nil && classify(err) == classForeignKey {
		return fault.E(op, fault.Conflict, fault.ErrLastOwner)
	}
	return s.affected(op, res, err)
}

func (s memberStore) List(ctx context.Context, f membership.Filter) (resource.Page[membership.Membership], error) {
	var views []membershipView
	q := s.view(ctx, &views)
	if f.Status != "" {
		q = q.Where("m.status = ?", string(f.Status))
	}
	if f.RoleID != "" {
		q = q.Where("m.role_id = ?", f.RoleID)
	}
	if f.ProfileID != "" {
		q = q.Where("m.membership_profile_id = ?", f.ProfileID)
	}
	if f.UserID != "" {
		q = q.Where("m.user_id = ?", f.UserID)
	}
	if f.UserEmail != "" {
		q = q.Where("m.user_email = ?", f.UserEmail)
	}
	q = inOrganizations(q, "m.organization_id", f.OrganizationID, f.OrganizationIDs)
	return page(ctx, s.base, "membership.List", q, &views, "m", membershipColumns, f.PageRequest, (*membershipView).domain,
		func(m membership.Membership) string { return m.ID })
}

func (s memberStore) PendingForEmail(ctx context.Context, canonicalEmail string) ([]membership.Membership, error) {
	var views []membershipView
	err := s.view(ctx, &views).Where("m.user_email = ? AND m.status = 'pending'", canonicalEmail).
		OrderExpr("m.id ASC").Limit(1000).Scan(ctx)
	if err != nil {
		return nil, s.err("membership.PendingForEmail", err)
	}
	out := make([]membership.Membership, len(views))
	for i := range views {
		out[i] = views[i].domain()
	}
	return out, nil
}

func (s memberStore) OldestActiveOrganization(ctx context.Context, userID string) (string, error) {
	// A locking read: it sees the latest committed rows even where the
	// transaction reads an older snapshot (MySQL's repeatable read).
	var ids []string
	err := s.forUpdate(ctx, s.idb(ctx).NewSelect().Model((*membershipRow)(nil)).Column("organization_id").
		Where("m.user_id = ? AND m.status = 'active'", userID).
		OrderExpr("m.created_at ASC, m.id ASC").Limit(1)).Scan(ctx, &ids)
	if err != nil || len(ids) == 0 {
		return "", s.err("membership.OldestActiveOrganization", err)
	}
	return ids[0], nil
}

func (s memberStore) Count(ctx context.Context, orgID string) (int, error) {
	n, err := s.idb(ctx).NewSelect().Model((*membershipRow)(nil)).Where("organization_id = ?", orgID).Count(ctx)
	return int(n), s.err("membership.Count", err)
}
