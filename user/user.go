// Package user holds users: people who belong to organizations through memberships.
package user

import (
	"context"
	"regexp"
	"time"
	_ "time/tzdata" // time zones are checked the same way on every host

	"github.com/provisionkit/provisioning/email"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
)

const maxPersonName = 100

// User is a person. Email is canonical (see package email) and unique.
type User struct {
	ID                  string
	Email               string
	FirstName           string
	LastName            string
	TimeZone            string
	OTPRequiredForLogin bool // read-only: set by the host's authentication
	// MFADisabled exempts the user from every requirement of a second
	// factor, the organizations' and the memberships' alike
	// (access.EffectiveMFA). Read-only here: only the host sets it
	// (System.SetUserMFADisabled, or Create.MFADisabled).
	MFADisabled bool
	// DefaultOrganizationID is the user's default organization: the first
	// one the user became an active member of, moved to the oldest
	// remaining one when that membership is removed, or to the one the user
	// picks (Session.SetDefaultOrganization). "" when the user belongs to
	// none. Read-only here.
	DefaultOrganizationID string
	// EmailVerifiedAt is when Email was proven the user's: confirmed with
	// the code of an email change (Session.ConfirmEmail), or asserted by
	// the host (Create.EmailVerified, System.VerifyEmail). Zero: not
	// verified; such a user accepts no invitation and is made an active
	// member of no organization. Read-only here.
	EmailVerifiedAt time.Time
	// PendingEmail is the address of an email change waiting for its
	// confirmation code, "" when there is none. Nothing is granted to it,
	// and Email stays the user's address, until it is confirmed. Read-only
	// here.
	PendingEmail string
	// PendingEmailExpiresAt is when the pending change's code stops
	// working (zero when there is none).
	PendingEmailExpiresAt time.Time
	resource.Common
}

// EmailVerified reports whether the user's current address is verified.
func (u *User) EmailVerified() bool { return !u.EmailVerifiedAt.IsZero() }

// Create is the input of a new user.
type Create struct {
	Email     string
	FirstName string
	LastName  string
	TimeZone  string // an IANA name such as "Europe/Rome"; "" means null
	// OTPRequiredForLogin mirrors the host's 2FA setting for the user.
	OTPRequiredForLogin bool
	// EmailVerified asserts that the host has proven the user owns Email
	// (a link or code sent there at sign-up, or an identity provider that
	// vouches for it). Leave it false otherwise: the user then accepts no
	// invitation until the address is verified (System.VerifyEmail).
	EmailVerified bool
	// MFADisabled exempts the user from every second-factor requirement
	// (User.MFADisabled).
	MFADisabled bool
	resource.CommonInput
}

// Validate checks the input and returns it with the email canonical.
func (c Create) Validate() (Create, error) {
	var p fault.Problems
	canon, err := email.Canonical("email", c.Email)
	if !p.Merge(err) {
		c.Email = canon
	}
	resource.CheckOptionalText(&p, "first_name", c.FirstName, maxPersonName)
	resource.CheckOptionalText(&p, "last_name", c.LastName, maxPersonName)
	checkTimeZone(&p, c.TimeZone)
	c.CommonInput.Validate(&p)
	return c, p.Err("user.Create")
}

// New builds the user for valid input.
func (c Create) New(id string, now time.Time) *User {
	u := &User{ID: id, Email: c.Email, FirstName: c.FirstName, LastName: c.LastName,
		TimeZone: c.TimeZone, OTPRequiredForLogin: c.OTPRequiredForLogin, MFADisabled: c.MFADisabled, Common: c.CommonInput.New(now)}
	if c.EmailVerified {
		u.EmailVerifiedAt = u.CreatedAt
	}
	return u
}

// Update changes a user. Nil fields are left as they are.
type Update struct {
	// Email asks to change the address: the change waits, in
	// User.PendingEmail, until the new address confirms it
	// (Session.UpdateCurrentUser). Apply never sets it.
	Email     *string
	FirstName *string
	LastName  *string
	TimeZone  *string
	resource.CommonUpdate
}

// Validate checks the set fields and returns the update with the email canonical.
func (u Update) Validate() (Update, error) {
	var p fault.Problems
	if u.Email != nil {
		canon, err := email.Canonical("email", *u.Email)
		if !p.Merge(err) {
			u.Email = &canon
		}
	}
	if u.FirstName != nil {
		resource.CheckOptionalText(&p, "first_name", *u.FirstName, maxPersonName)
	}
	if u.LastName != nil {
		resource.CheckOptionalText(&p, "last_name", *u.LastName, maxPersonName)
	}
	if u.TimeZone != nil {
		checkTimeZone(&p, *u.TimeZone)
	}
	u.CommonUpdate.Validate(&p)
	return u, p.Err("user.Update")
}

// Apply sets the fields of u on usr, all but Email (which only a
// confirmed change sets), and returns what changed.
func (u Update) Apply(usr *User, now time.Time) resource.Changes {
	ch := resource.Changes{}
	resource.SetField(ch, "first_name", &usr.FirstName, u.FirstName)
	resource.SetField(ch, "last_name", &usr.LastName, u.LastName)
	resource.SetField(ch, "time_zone", &usr.TimeZone, u.TimeZone)
	u.CommonUpdate.Apply(&usr.Common, ch)
	if len(ch) > 0 {
		usr.UpdatedAt = now
	}
	return ch
}

var tzRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$`)

func checkTimeZone(p *fault.Problems, tz string) {
	if tz == "" {
		return
	}
	switch {
	case len(tz) > 64 || !tzRE.MatchString(tz):
	case tz == "Local" || tz == "localtime" || tz == "posixrules" || tz == "Factory":
	default:
		if _, err := time.LoadLocation(tz); err == nil {
			return
		}
	}
	p.Add("time_zone", "format", "must be an IANA time zone name")
}

// Store is the storage contract for users.
type Store interface {
	// Create fails with fault.ErrAlreadyExists (field "email") when the email is taken.
	Create(ctx context.Context, u *User) error
	Get(ctx context.Context, id string) (*User, error)
	GetByEmail(ctx context.Context, canonicalEmail string) (*User, error)
	// ListByEmails returns the users of those of the canonical emails that
	// have one, in no particular order.
	ListByEmails(ctx context.Context, canonicalEmails []string) ([]User, error)
	// Lock reads the user and locks its row until the transaction ends, so
	// that what is counted per user (organizations owned) is counted once.
	Lock(ctx context.Context, id string) (*User, error)
	// Update writes the user's own fields; it never changes the default
	// organization, the address, its verification or a pending change.
	Update(ctx context.Context, u *User) error
	// SetEmail makes address the user's, verified at verifiedAt, and
	// clears any pending change. It fails with fault.ErrAlreadyExists
	// (field "email") when the address is another user's.
	SetEmail(ctx context.Context, userID, address string, verifiedAt time.Time) error
	// SetPendingEmail records a change of address waiting for its code:
	// the new address, the SHA-256 hash of the code and when the code
	// expires; it replaces any earlier one. An empty address clears it.
	SetPendingEmail(ctx context.Context, userID, address string, codeHash []byte, expiresAt time.Time) error
	// PendingEmailCodeHash returns the hash of the pending change's code,
	// nil when there is none.
	PendingEmailCodeHash(ctx context.Context, userID string) ([]byte, error)
	// SetDefaultOrganization sets (orgID "" clears) the user's default
	// organization. Callers hold the user's row lock (Lock).
	SetDefaultOrganization(ctx context.Context, userID, orgID string) error
	// SetMFADisabled sets the user's MFADisabled, updated at at.
	SetMFADisabled(ctx context.Context, userID string, disabled bool, at time.Time) error
}
