// Package fault is the error vocabulary every layer of provisioning shares.
//
// Errors carry a Kind. Callers match kinds with errors.Is against the
// sentinels (ErrNotFound, ErrForbidden, ...) and read details with errors.As
// (*Error, *ValidationError). Nothing in the library or its HTTP wrapper
// inspects error strings.
package fault

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error. The zero Kind is Internal.
type Kind uint8

// The kinds of error.
const (
	Internal        Kind = iota // anything unexpected; its details are not for end users
	Invalid                     // bad input; a *ValidationError names the fields
	NotFound                    // no such resource, or one the caller may not see
	Conflict                    // the request clashes with the current state
	Forbidden                   // the caller may not do this
	Unauthenticated             // no valid principal
	// Busy is transient contention, or the end of the call's context (its
	// deadline, its cancellation) before anything changed, when errors.Is
	// also matches the context's error: the call may be made again as is,
	// with a live context.
	Busy
	Unknown // the outcome is unknown: the commit may have happened
)

var kindNames = [...]string{"internal", "invalid", "not found", "conflict", "forbidden", "unauthenticated", "busy", "outcome unknown"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Sentinel is an error value that stands for a Kind (or a named case of one).
// Every *Error and *ValidationError of the matching kind Is its sentinel.
type Sentinel struct {
	kind Kind
	msg  string
}

func (s *Sentinel) Error() string { return s.msg }

// Kind reports the sentinel's kind.
func (s *Sentinel) Kind() Kind { return s.kind }

// Is makes a named sentinel (ErrLastOwner) match its kind's sentinel (ErrConflict).
func (s *Sentinel) Is(target error) bool {
	t, ok := target.(*Sentinel)
	return ok && t.msg == kindSentinel(s.kind).msg && t.kind == s.kind
}

// The kind sentinels.
var (
	ErrInternal        = &Sentinel{Internal, "internal error"}
	ErrInvalid         = &Sentinel{Invalid, "invalid input"}
	ErrNotFound        = &Sentinel{NotFound, "not found"}
	ErrConflict        = &Sentinel{Conflict, "conflict"}
	ErrForbidden       = &Sentinel{Forbidden, "forbidden"}
	ErrUnauthenticated = &Sentinel{Unauthenticated, "unauthenticated"}
	ErrBusy            = &Sentinel{Busy, "busy, try again"}
	ErrCommitUnknown   = &Sentinel{Unknown, "outcome unknown: the commit may have succeeded"}
)

// Named cases. Each also matches its kind's sentinel.
var (
	// ErrAlreadyExists: a unique key (organization and email, slug, role and subject) is taken.
	ErrAlreadyExists = &Sentinel{Conflict, "already exists"}
	// ErrLastOwner: the change would leave an organization without its owner.
	ErrLastOwner = &Sentinel{Conflict, "organization must keep its owner"}
	// ErrInUse: the resource is still referenced (a profile with members).
	ErrInUse = &Sentinel{Conflict, "still in use"}
	// ErrDangling: the change refers to a resource that no longer exists.
	ErrDangling = &Sentinel{Conflict, "refers to a resource that does not exist"}
	// ErrNotPending: the invitation is not pending any more.
	ErrNotPending = &Sentinel{Conflict, "membership is not pending"}
	// ErrInvitationInvalid: an invitation token that is unknown, used, expired or meant for another email.
	ErrInvitationInvalid = &Sentinel{NotFound, "invitation is invalid or expired"}
	// ErrEmailUnverified: the user's address is not verified, so nothing
	// meant for it is granted (an invitation accepted, a membership made
	// active); the host verifies it (System.VerifyEmail) or the user
	// confirms a change of address, then the call can be retried.
	ErrEmailUnverified = &Sentinel{Forbidden, "the email address is not verified"}
	// ErrEmailChangeUnavailable: a user asked to change their own address
	// and the host has no way to send the new address its code (no
	// EmailChangeNotifier); the host changes it (System.VerifyEmail).
	ErrEmailChangeUnavailable = &Sentinel{Forbidden, "email changes are not available: no confirmation code can be sent"}
	// ErrEmailCodeInvalid: an email change code that is wrong, used,
	// expired or replaced by a later change, or no change is pending.
	ErrEmailCodeInvalid = &Sentinel{NotFound, "email change code is invalid or expired"}
	// ErrLimitReached: the organization's plan (subscription_info.limits)
	// allows no more of what was asked (memberships, organizations, API
	// credentials, custom roles).
	ErrLimitReached = &Sentinel{Conflict, "subscription plan limit reached"}
	// ErrPlanRestricted: the organization's plan does not grant the
	// feature the call needs (custom roles, identity providers): the host
	// moves the organization to a plan that does.
	ErrPlanRestricted = &Sentinel{Forbidden, "not available on the organization's plan"}
	// ErrMFARequired: the organization or the membership requires a second
	// factor and the call was not made with one; ask for it and retry.
	ErrMFARequired = &Sentinel{Forbidden, "a second authentication factor is required"}
	// ErrIPRefused: the call comes from an address outside the allowlist.
	ErrIPRefused = &Sentinel{Forbidden, "calls from this address are not allowed"}
	// ErrBadCredentials: an API credential's client id and secret do not
	// authenticate: whether the id is unknown, the secret wrong or expired,
	// or the credential revoked or expired, the error is this one.
	ErrBadCredentials = &Sentinel{Unauthenticated, "invalid client credentials"}
	// ErrSecretCorrupt: a stored secret does not decrypt: it was altered, or
	// copied from another organization, resource or field. Callers fail closed.
	ErrSecretCorrupt = &Sentinel{Internal, "stored secret cannot be decrypted"}
)

func kindSentinel(k Kind) *Sentinel {
	switch k {
	case Invalid:
		return ErrInvalid
	case NotFound:
		return ErrNotFound
	case Conflict:
		return ErrConflict
	case Forbidden:
		return ErrForbidden
	case Unauthenticated:
		return ErrUnauthenticated
	case Busy:
		return ErrBusy
	case Unknown:
		return ErrCommitUnknown
	}
	return ErrInternal
}

// Error is an error with an operation, a kind and a cause.
type Error struct {
	Op    string // the operation, e.g. "membership.Invite"
	Kind  Kind
	Field string // the field at fault, when one is (a taken unique key)
	Err   error  // the cause; may be a *Sentinel naming the case
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString(e.Kind.String())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinel of the error's kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Sentinel)
	return ok && t == kindSentinel(e.Kind)
}

// E builds an *Error. A nil cause is replaced by the kind's sentinel.
func E(op string, kind Kind, cause error) error {
	if int(kind) >= len(kindNames) {
		kind = Internal
	}
	if cause == nil {
		cause = kindSentinel(kind)
	}
	return &Error{Op: op, Kind: kind, Err: cause}
}

// Taken returns a Conflict error for a unique field whose value is taken; it
// matches ErrAlreadyExists and ErrConflict.
func Taken(op, field string) error {
	return &Error{Op: op, Kind: Conflict, Field: field, Err: ErrAlreadyExists}
}

// Wrap gives err an operation name, keeping its kind and, when it has one,
// the field at fault. A nil err stays nil.
func Wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	w := &Error{Op: op, Kind: KindOf(err), Err: err}
	var inner *Error
	if errors.As(err, &inner) {
		w.Field = inner.Field
	}
	return w
}

// KindOf reports the kind of err: the kind of the first *Error, *ValidationError
// or *Sentinel in its chain, Internal otherwise.
// Of errors joined with errors.Join (or several %w), the first kind that is
// not Internal wins.
func KindOf(err error) Kind {
	for err != nil {
		switch e := err.(type) {
		case *Error:
			return e.Kind
		case *ValidationError:
			return Invalid
		case *Sentinel:
			return e.kind
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				if k := KindOf(inner); k != Internal {
					return k
				}
			}
			return Internal
		}
		err = errors.Unwrap(err)
	}
	return Internal
}

// FieldError names one bad field.
type FieldError struct {
	Field   string // the wire name of the field, e.g. "user_email" or "role"
	Code    string // a stable machine code: "required", "too_long", "format", "enum", "not_found", "read_only", "taken"
	Message string // a human sentence, safe to show to the caller
}

// ValidationError is bad input. It names every bad field and matches ErrInvalid.
type ValidationError struct {
	Op     string
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString("invalid input")
	for i, f := range e.Fields {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Field)
		b.WriteString(" ")
		b.WriteString(f.Message)
	}
	return b.String()
}

// Is matches ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Has reports whether field is among the bad fields.
func (e *ValidationError) Has(field string) bool {
	for _, f := range e.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}

// Problems collects field errors; Err returns nil when there are none.
type Problems struct{ fields []FieldError }

// Add records a bad field.
func (p *Problems) Add(field, code, message string) {
	p.fields = append(p.fields, FieldError{Field: field, Code: code, Message: message})
}

// Merge adds the fields of err when it is a *ValidationError, and reports
// whether it was one.
func (p *Problems) Merge(err error) bool {
	var ve *ValidationError
	if errors.As(err, &ve) {
		p.fields = append(p.fields, ve.Fields...)
		return true
	}
	return false
}

// Err returns a *ValidationError with every recorded field, or nil.
func (p *Problems) Err(op string) error {
	if len(p.fields) == 0 {
		return nil
	}
	return &ValidationError{Op: op, Fields: p.fields}
}

// Invalid returns a *ValidationError for a single field.
func InvalidField(op, field, code, message string) error {
	return &ValidationError{Op: op, Fields: []FieldError{{Field: field, Code: code, Message: message}}}
}
