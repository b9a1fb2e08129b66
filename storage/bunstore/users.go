package bunstore

import (
	"context"
	"encoding/hex"
	"time"

	"github.com/uptrace/bun"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/user"
)

type userStore struct{ base }

func toUserRow(u *user.User) *userRow {
	return &userRow{ID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		TimeZone: u.TimeZone, OTPRequired: u.OTPRequiredForLogin, MFADisabled: u.MFADisabled, DefaultOrgID: u.DefaultOrganizationID,
		EmailVerifiedAt: utcOrZero(u.EmailVerifiedAt), PendingEmail: u.PendingEmail,
		PendingEmailExpiresAt: utcOrZero(u.PendingEmailExpiresAt), commonCols: fromCommon(u.Common)}
}

func (r *userRow) domain() *user.User {
	return &user.User{ID: r.ID, Email: r.Email, FirstName: r.FirstName, LastName: r.LastName,
		TimeZone: r.TimeZone, OTPRequiredForLogin: r.OTPRequired, MFADisabled: r.MFADisabled, DefaultOrganizationID: r.DefaultOrgID,
		EmailVerifiedAt: utcOrZero(r.EmailVerifiedAt), PendingEmail: r.PendingEmail,
		PendingEmailExpiresAt: utcOrZero(r.PendingEmailExpiresAt), Common: r.common()}
}

// userOwnColumns are the columns Update writes: not the address, its
// verification or a pending change (SetEmail, SetPendingEmail), nor the
// default organization.
var userOwnColumns = []string{"first_name", "last_name", "time_zone", "otp_required_for_login",
	"reference", "reference_origin", "metadata", "updated_at"}

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
	res, err := s.idb(ctx).NewUpdate().Model(toUserRow(u)).Column(userOwnColumns...).WherePK().Exec(ctx)
	return s.affected("user.Update", res, err)
}

func (s userStore) SetEmail(ctx context.Context, userID, address string, verifiedAt time.Time) error {
	res, err := s.idb(ctx).NewUpdate().Model((*userRow)(nil)).
		Set("email = ?", address).
		Set("email_verified_at = ?", verifiedAt.UTC()).
		Set("pending_email = NULL").
		Set("pending_email_code_hash = NULL").
		Set("pending_email_expires_at = NULL").
		Where("id = ?", userID).Exec(ctx)
	return s.affected("user.SetEmail", res, err)
}

func (s userStore) SetMFADisabled(ctx context.Context, userID string, disabled bool, at time.Time) error {
	res, err := s.idb(ctx).NewUpdate().Model((*userRow)(nil)).
		Set("mfa_disabled = ?", disabled).Set("updated_at = ?", at.UTC()).Where("id = ?", userID).Exec(ctx)
	return s.affected("user.SetMFADisabled", res, err)
}

func (s userStore) SetPendingEmail(ctx context.Context, userID, address string, codeHash []byte, expiresAt time.Time) error {
	q := s.idb(ctx).NewUpdate().Model((*userRow)(nil)).Where("id = ?", userID)
	if address == "" {
		q = q.Set("pending_email = NULL").Set("pending_email_code_hash = NULL").Set("pending_email_expires_at = NULL")
	} else {
		q = q.Set("pending_email = ?", address).
			Set("pending_email_code_hash = ?", hex.EncodeToString(codeHash)).
			Set("pending_email_expires_at = ?", expiresAt.UTC())
	}
	res, err := q.Exec(ctx)
	return s.affected("user.SetPendingEmail", res, err)
}

func (s userStore) PendingEmailCodeHash(ctx context.Context, userID string) ([]byte, error) {
	const op = "user.PendingEmailCodeHash"
	if !resource.ValidID(userID) {
		return nil, fault.E(op, fault.NotFound, nil)
	}
	var row userRow
	if err := s.idb(ctx).NewSelect().Model(&row).Column("pending_email_code_hash").Where("u.id = ?", userID).Scan(ctx); err != nil {
		return nil, s.one(op, err)
	}
	if row.PendingEmailCodeHash == "" {
		return nil, nil
	}
	h, err := hex.DecodeString(row.PendingEmailCodeHash)
	if err != nil {
		return nil, fault.E(op, fault.Internal, err)
	}
	return h, nil
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
