package provisioning

import (
	"context"
	"crypto/subtle"
	"errors"
	"time"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/email"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/user"
)

// CreateUser creates a user. The email is stored in canonical form and must
// be unique. Pending invitations of the email stay pending until the user
// accepts them, which takes a verified address: set in.EmailVerified only
// when the host has proven that the user owns it (a link or code sent there
// at sign-up); otherwise verify it later with VerifyEmail.
func (y *System) CreateUser(ctx context.Context, in user.Create) (*user.User, error) {
	const op = "provisioning.CreateUser"
	in, err := in.Validate()
	if err != nil {
		return nil, err
	}
	u := in.New(y.s.p.ids.NewID(), y.s.now())
	err = y.s.tx(ctx, func(ctx context.Context) error {
		if err := y.s.p.b.Users().Create(ctx, u); err != nil {
			return fault.Wrap(op, err)
		}
		ch := created("email", u.Email, "first_name", u.FirstName, "last_name", u.LastName, "time_zone", u.TimeZone,
			"email_verified_at", resource.TimeValue(u.EmailVerifiedAt))
		if u.MFADisabled {
			ch.Record("mfa_disabled", nil, true)
		}
		return y.s.record(ctx, "", typeUsers, u.ID, audit.Create, ch)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// VerifyEmail records that the host has proven that the user owns address
// (a link or code it sent there, or an identity provider that vouches for
// it): address becomes the user's email, verified now, and any pending
// change of address is dropped. Call it at sign-up when CreateUser was not
// told, before AcceptPendingInvitations, and to change a user's address
// through the host's own confirmation. An address that is another user's
// is fault.ErrAlreadyExists on field "email"; an unknown user is not found.
func (y *System) VerifyEmail(ctx context.Context, userID, address string) (*user.User, error) {
	const op = "provisioning.VerifyEmail"
	canon, err := email.Canonical("email", address)
	if err != nil {
		return nil, fault.Wrap(op, err)
	}
	var out *user.User
	err = y.s.tx(ctx, func(ctx context.Context) error {
		u, err := y.s.p.b.Users().Lock(ctx, userID)
		if err != nil {
			return fault.Wrap(op, err)
		}
		out = u
		if u.Email == canon && u.EmailVerified() && u.PendingEmail == "" {
			return nil
		}
		return y.s.setEmail(ctx, op, u, canon)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// setEmail makes address u's verified email, now, dropping any pending
// change, and records it; u is updated to match.
func (s *Session) setEmail(ctx context.Context, op string, u *user.User, address string) error {
	now := s.now()
	if err := s.p.b.Users().SetEmail(ctx, u.ID, address, now); err != nil {
		return fault.Wrap(op, err) // a taken address: ErrAlreadyExists on field "email"
	}
	ch := resource.Changes{"email_verified_at": {resource.TimeValue(u.EmailVerifiedAt), resource.TimeValue(now)}}
	if u.Email != address {
		ch.Record("email", u.Email, address)
	}
	if u.PendingEmail != "" {
		ch.Record("pending_email", u.PendingEmail, nil)
	}
	u.Email, u.EmailVerifiedAt, u.PendingEmail, u.PendingEmailExpiresAt = address, now, "", time.Time{}
	return s.record(ctx, "", typeUsers, u.ID, audit.Update, ch)
}

// nullableText is how optional text appears in a version: null when empty.
func nullableText(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// UserByEmail finds a user by email (compared in canonical form).
func (y *System) UserByEmail(ctx context.Context, address string) (*user.User, error) {
	const op = "provisioning.UserByEmail"
	canon, err := email.Canonical("email", address)
	if err != nil {
		return nil, err
	}
	u, err := y.s.p.b.Users().GetByEmail(ctx, canon)
	return u, fault.Wrap(op, err)
}

// CurrentUser returns the calling user's own record.
func (s *Session) CurrentUser(ctx context.Context) (*user.User, error) {
	const op = "provisioning.CurrentUser"
	if err := s.userOnly(op); err != nil {
		return nil, err
	}
	return s.currentUser(ctx, op)
}

// GetUser returns a user: the caller's own record, or a user who is an
// active member of an organization where the caller may read memberships
// (such as the creator of an identity provider), without their default
// organization (which may be one the caller does not belong to). Any
// other user is not found, like a user that does not exist.
func (s *Session) GetUser(ctx context.Context, id string) (*user.User, error) {
	const op = "provisioning.GetUser"
	if err := s.authenticated(op); err != nil {
		return nil, err
	}
	if s.pr.Kind == access.KindUser && s.pr.ID == id {
		return s.currentUser(ctx, op)
	}
	notFound := fault.E(op, fault.NotFound, nil)
	u, err := s.p.b.Users().Get(ctx, id)
	if fault.KindOf(err) == fault.NotFound {
		return nil, notFound
	} else if err != nil {
		return nil, fault.Wrap(op, err)
	}
	if s.pr.Kind == access.KindSystem {
		return u, nil
	}
	// The organizations of the user, a page at a time, until one lets the
	// caller read its memberships. The check is asked, not enforced: a
	// "no" here is not a refused call.
	for after := ""; ; {
		orgs, err := s.p.b.Access().Organizations(ctx, access.User(id), after, resource.MaxPageLimit)
		if err != nil {
			return nil, fault.Wrap(op, err)
		}
		for _, orgID := range orgs {
			d, err := s.p.authz.Check(ctx, s.p.b.Access(), s.pr, orgID, typeMemberships, role.ActionRead)
			if err != nil && fault.KindOf(err) != fault.NotFound {
				return nil, fault.Wrap(op, err)
			}
			if err == nil && d.Allowed {
				// Where else the user belongs, and an address the user has
				// not confirmed, are not the caller's business.
				u.DefaultOrganizationID = ""
				u.PendingEmail, u.PendingEmailExpiresAt = "", time.Time{}
				return u, nil
			}
		}
		if len(orgs) < resource.MaxPageLimit {
			return nil, notFound
		}
		after = orgs[len(orgs)-1]
	}
}

// UpdateCurrentUser changes the calling user's own record. A new email
// is not set at once: it waits in PendingEmail (replacing an earlier
// pending one), and the Notifier, which must be an EmailChangeNotifier,
// receives a code for the new address; the user becomes its owner with
// ConfirmEmail. Until then the user keeps the current address, and nothing
// meant for the new one (an invitation) is theirs. Without an
// EmailChangeNotifier a new email is fault.ErrEmailChangeUnavailable (the
// host changes it with System.VerifyEmail). The current email given again drops a pending
// change. An address that is another user's is fault.ErrAlreadyExists on
// field "email".
func (s *Session) UpdateCurrentUser(ctx context.Context, up user.Update) (*user.User, error) {
	const op = "provisioning.UpdateCurrentUser"
	if err := s.userOnly(op); err != nil {
		return nil, err
	}
	up, err := up.Validate()
	if err != nil {
		return nil, err
	}
	mailer, _ := s.p.notifier.(EmailChangeNotifier)
	var out *user.User
	var change *EmailChange
	err = s.tx(ctx, func(ctx context.Context) error {
		change = nil
		u, err := s.lockedSelf(ctx, op)
		if err != nil {
			return err
		}
		out = u
		if up.Email != nil && *up.Email != u.Email {
			if mailer == nil {
				return &fault.Error{Op: op, Kind: fault.Forbidden, Field: "email", Err: fault.ErrEmailChangeUnavailable}
			}
			if change, err = s.requestEmailChange(ctx, op, u, *up.Email); err != nil {
				return err
			}
		} else if up.Email != nil && u.PendingEmail != "" {
			if err := s.dropEmailChange(ctx, op, u); err != nil {
				return err
			}
		}
		ch := up.Apply(u, s.now())
		if len(ch) == 0 {
			return nil
		}
		if err := s.p.b.Users().Update(ctx, u); err != nil {
			return fault.Wrap(op, err)
		}
		return s.record(ctx, "", typeUsers, u.ID, audit.Update, ch)
	})
	if err != nil {
		return nil, err
	}
	if change != nil {
		if err := mailer.EmailChangeRequested(ctx, *change); err != nil {
			s.p.log.ErrorContext(ctx, "provisioning: notifier failed", "user_id", change.UserID, "error", err)
		}
	}
	return out, nil
}

// maxEmailCode bounds the length of an email change code we bother hashing.
const maxEmailCode = 128

// requestEmailChange records a change of u's address to address, waiting
// for a new code (256 bits from crypto/rand, of which only the SHA-256
// hash is stored: too many to guess, so attempts need no counting), and
// returns the change to send. The code never enters a version or a log.
func (s *Session) requestEmailChange(ctx context.Context, op string, u *user.User, address string) (*EmailChange, error) {
	switch _, err := s.p.b.Users().GetByEmail(ctx, address); {
	case err == nil:
		return nil, &fault.Error{Op: op, Kind: fault.Conflict, Field: "email", Err: fault.ErrAlreadyExists}
	case fault.KindOf(err) != fault.NotFound:
		return nil, fault.Wrap(op, err)
	}
	code, hash := newInvitationToken()
	expires := s.now().Add(s.p.emailCodeTTL)
	if err := s.p.b.Users().SetPendingEmail(ctx, u.ID, address, hash, expires); err != nil {
		return nil, fault.Wrap(op, err)
	}
	ch := resource.Changes{}
	ch.Record("pending_email", nullableText(u.PendingEmail), address)
	u.PendingEmail, u.PendingEmailExpiresAt = address, expires
	if err := s.record(ctx, "", typeUsers, u.ID, audit.Update, ch); err != nil {
		return nil, err
	}
	return &EmailChange{UserID: u.ID, OldEmail: u.Email, NewEmail: address, Code: code, ExpiresAt: expires}, nil
}

// dropEmailChange clears u's pending change of address, and records it.
func (s *Session) dropEmailChange(ctx context.Context, op string, u *user.User) error {
	if err := s.p.b.Users().SetPendingEmail(ctx, u.ID, "", nil, time.Time{}); err != nil {
		return fault.Wrap(op, err)
	}
	ch := resource.Changes{"pending_email": {u.PendingEmail, nil}}
	u.PendingEmail, u.PendingEmailExpiresAt = "", time.Time{}
	return s.record(ctx, "", typeUsers, u.ID, audit.Update, ch)
}

// ConfirmEmail completes the calling user's pending change of address with
// the code the new address received (UpdateCurrentUser): the new address
// becomes the user's email, verified now, and the code stops working. A
// wrong, used, expired or replaced code, and none pending, all give
// fault.ErrEmailCodeInvalid, and nothing changes; an address that another
// user took meanwhile is fault.ErrAlreadyExists on field "email".
func (s *Session) ConfirmEmail(ctx context.Context, code string) (*user.User, error) {
	const op = "provisioning.ConfirmEmail"
	if err := s.userOnly(op); err != nil {
		return nil, err
	}
	invalid := &fault.Error{Op: op, Kind: fault.NotFound, Field: "code", Err: fault.ErrEmailCodeInvalid}
	if code == "" || len(code) > maxEmailCode {
		return nil, invalid
	}
	var out *user.User
	err := s.tx(ctx, func(ctx context.Context) error {
		u, err := s.lockedSelf(ctx, op)
		if err != nil {
			return err
		}
		if u.PendingEmail == "" || !s.now().Before(u.PendingEmailExpiresAt) {
			return invalid
		}
		hash, err := s.p.b.Users().PendingEmailCodeHash(ctx, u.ID)
		if err != nil {
			return fault.Wrap(op, err)
		}
		if len(hash) == 0 || subtle.ConstantTimeCompare(hash, hashToken(code)) != 1 {
			return invalid
		}
		out = u
		return s.setEmail(ctx, op, u, u.PendingEmail)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// currentUser reads the calling user's record; a user that does not exist
// (any more) is not authenticated.
func (s *Session) currentUser(ctx context.Context, op string) (*user.User, error) {
	u, err := s.p.b.Users().Get(ctx, s.pr.ID)
	if fault.KindOf(err) == fault.NotFound {
		return nil, fault.E(op, fault.Unauthenticated, nil)
	}
	return u, fault.Wrap(op, err)
}

// lockedSelf locks the calling user's row, in the transaction of ctx; a
// user that is gone is unauthenticated.
func (s *Session) lockedSelf(ctx context.Context, op string) (*user.User, error) {
	u, err := s.p.b.Users().Lock(ctx, s.pr.ID)
	if fault.KindOf(err) == fault.NotFound {
		return nil, fault.E(op, fault.Unauthenticated, errors.New("the calling user does not exist"))
	}
	return u, fault.Wrap(op, err)
}

func (s *Session) userOnly(op string) error {
	if err := s.authenticated(op); err != nil {
		return err // no principal at all is unauthenticated, not forbidden
	}
	if s.pr.Kind != access.KindUser {
		return fault.E(op, fault.Forbidden, errors.New("only a user has a user record"))
	}
	return nil
}

// SetUserMFADisabled turns a user's second factor off (disabled true) or
// back on: a user whose second factor is off is exempt from every
// requirement of one, the organizations' and the memberships' alike
// (access.EffectiveMFA), in every organization the user belongs to, whose
// policies change in the same transaction. It is the host's decision
// (its own authentication knows whether the user can use a second factor),
// so it is made on the system handle only. An unknown user is not found;
// the same value again changes nothing and records nothing.
func (y *System) SetUserMFADisabled(ctx context.Context, userID string, disabled bool) (*user.User, error) {
	const op = "provisioning.SetUserMFADisabled"
	var out *user.User
	err := y.s.tx(ctx, func(ctx context.Context) error {
		u, err := y.s.p.b.Users().Lock(ctx, userID)
		if err != nil {
			return fault.Wrap(op, err)
		}
		out = u
		if u.MFADisabled == disabled {
			return nil
		}
		var orgs []string
		for after := ""; ; {
			page, err := y.s.p.b.Access().Organizations(ctx, access.User(u.ID), after, resource.MaxPageLimit)
			if err != nil {
				return fault.Wrap(op, err)
			}
			orgs = append(orgs, page...)
			if len(page) < resource.MaxPageLimit {
				break
			}
			after = page[len(page)-1]
		}
		u.MFADisabled, u.UpdatedAt = disabled, y.s.now()
		if err := y.s.p.b.Users().SetMFADisabled(ctx, u.ID, disabled, u.UpdatedAt); err != nil {
			return fault.Wrap(op, err)
		}
		return y.s.apply(ctx, change{typ: typeUsers, id: u.ID, ev: audit.Update,
			ch: resource.Changes{"mfa_disabled": {!disabled, disabled}}, in: orgs})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
