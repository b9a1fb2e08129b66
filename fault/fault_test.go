package fault_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/provisionkit/provisioning/fault"
)

// kindSentinels maps every Kind to its sentinel.
var kindSentinels = map[fault.Kind]*fault.Sentinel{
	fault.Internal:        fault.ErrInternal,
	fault.Invalid:         fault.ErrInvalid,
	fault.NotFound:        fault.ErrNotFound,
	fault.Conflict:        fault.ErrConflict,
	fault.Forbidden:       fault.ErrForbidden,
	fault.Unauthenticated: fault.ErrUnauthenticated,
	fault.Busy:            fault.ErrBusy,
	fault.Unknown:         fault.ErrCommitUnknown,
}

var namedSentinels = []*fault.Sentinel{
	fault.ErrAlreadyExists, fault.ErrLastOwner, fault.ErrInUse, fault.ErrNotPending, fault.ErrInvitationInvalid,
	fault.ErrMFARequired, fault.ErrIPRefused, fault.ErrSecretCorrupt, fault.ErrLimitReached,
	fault.ErrBadCredentials, fault.ErrEmailUnverified, fault.ErrEmailCodeInvalid,
	fault.ErrEmailChangeUnavailable,
}

// allSentinels lists the kind sentinels, then the named ones.
func allSentinels() []*fault.Sentinel {
	out := []*fault.Sentinel{
		fault.ErrInternal, fault.ErrInvalid, fault.ErrNotFound, fault.ErrConflict, fault.ErrForbidden,
		fault.ErrUnauthenticated, fault.ErrBusy, fault.ErrCommitUnknown,
	}
	return append(out, namedSentinels...)
}

func TestKindString(t *testing.T) {
	tests := []struct {
		give fault.Kind
		want string
	}{
		{fault.Internal, "internal"},
		{fault.Invalid, "invalid"},
		{fault.NotFound, "not found"},
		{fault.Conflict, "conflict"},
		{fault.Forbidden, "forbidden"},
		{fault.Unauthenticated, "unauthenticated"},
		{fault.Busy, "busy"},
		{fault.Unknown, "outcome unknown"},
		{fault.Kind(200), "kind(200)"},
	}
	for _, tt := range tests {
		if got := tt.give.String(); got != tt.want {
			t.Errorf("Kind(%d).String() = %q, want %q", uint8(tt.give), got, tt.want)
		}
	}
}

func TestSentinelKind(t *testing.T) {
	tests := []struct {
		give *fault.Sentinel
		want fault.Kind
	}{
		{fault.ErrInternal, fault.Internal},
		{fault.ErrInvalid, fault.Invalid},
		{fault.ErrNotFound, fault.NotFound},
		{fault.ErrConflict, fault.Conflict},
		{fault.ErrForbidden, fault.Forbidden},
		{fault.ErrUnauthenticated, fault.Unauthenticated},
		{fault.ErrBusy, fault.Busy},
		{fault.ErrCommitUnknown, fault.Unknown},
		{fault.ErrAlreadyExists, fault.Conflict},
		{fault.ErrLastOwner, fault.Conflict},
		{fault.ErrInUse, fault.Conflict},
		{fault.ErrNotPending, fault.Conflict},
		{fault.ErrInvitationInvalid, fault.NotFound},
		{fault.ErrMFARequired, fault.Forbidden},
		{fault.ErrIPRefused, fault.Forbidden},
		{fault.ErrSecretCorrupt, fault.Internal},
		{fault.ErrLimitReached, fault.Conflict},
		{fault.ErrBadCredentials, fault.Unauthenticated},
		{fault.ErrEmailUnverified, fault.Forbidden},
		{fault.ErrEmailCodeInvalid, fault.NotFound},
		{fault.ErrEmailChangeUnavailable, fault.Forbidden},
	}
	for _, tt := range tests {
		if got := tt.give.Kind(); got != tt.want {
			t.Errorf("%q.Kind() = %v, want %v", tt.give, got, tt.want)
		}
	}
}

// Every *Error Is the sentinel of its kind and no other kind sentinel,
// whatever its cause.
func TestErrorIsItsKindSentinelOnly(t *testing.T) {
	causes := []error{nil, errors.New("boom"), fmt.Errorf("driver: %w", errors.New("bad connection"))}
	for kind, wantSentinel := range kindSentinels {
		for _, cause := range causes {
			err := fault.E("op", kind, cause)
			for _, target := range allSentinels() {
				if got, want := errors.Is(err, target), target == wantSentinel; got != want {
					t.Errorf("errors.Is(E(%v, %v), %q) = %v, want %v", kind, cause, target, got, want)
				}
			}
		}
	}
}

// A *ValidationError Is ErrInvalid and nothing else, bare or wrapped.
func TestValidationErrorIsErrInvalidOnly(t *testing.T) {
	ve := fault.InvalidField("op", "name", "required", "can't be blank")
	tests := []struct {
		name string
		give error
	}{
		{"bare", ve},
		{"fmt wrapped", fmt.Errorf("create: %w", ve)},
		{"fault.Wrap", fault.Wrap("svc.Create", ve)},
		{"no fields", &fault.ValidationError{Op: "op"}},
	}
	for _, tt := range tests {
		for _, target := range allSentinels() {
			if got, want := errors.Is(tt.give, target), target == fault.ErrInvalid; got != want {
				t.Errorf("%s: errors.Is(%v, %q) = %v, want %v", tt.name, tt.give, target, got, want)
			}
		}
	}
}

// Each sentinel matches itself and, for a named case, its kind's sentinel;
// never another kind nor another named case.
func TestSentinelMatches(t *testing.T) {
	tests := []struct {
		give   *fault.Sentinel
		wantIs []*fault.Sentinel
	}{
		{fault.ErrAlreadyExists, []*fault.Sentinel{fault.ErrAlreadyExists, fault.ErrConflict}},
		{fault.ErrLastOwner, []*fault.Sentinel{fault.ErrLastOwner, fault.ErrConflict}},
		{fault.ErrInUse, []*fault.Sentinel{fault.ErrInUse, fault.ErrConflict}},
		{fault.ErrNotPending, []*fault.Sentinel{fault.ErrNotPending, fault.ErrConflict}},
		{fault.ErrInvitationInvalid, []*fault.Sentinel{fault.ErrInvitationInvalid, fault.ErrNotFound}},
		{fault.ErrMFARequired, []*fault.Sentinel{fault.ErrMFARequired, fault.ErrForbidden}},
		{fault.ErrIPRefused, []*fault.Sentinel{fault.ErrIPRefused, fault.ErrForbidden}},
		{fault.ErrSecretCorrupt, []*fault.Sentinel{fault.ErrSecretCorrupt, fault.ErrInternal}},
		{fault.ErrLimitReached, []*fault.Sentinel{fault.ErrLimitReached, fault.ErrConflict}},
		{fault.ErrBadCredentials, []*fault.Sentinel{fault.ErrBadCredentials, fault.ErrUnauthenticated}},
		{fault.ErrEmailUnverified, []*fault.Sentinel{fault.ErrEmailUnverified, fault.ErrForbidden}},
		{fault.ErrEmailCodeInvalid, []*fault.Sentinel{fault.ErrEmailCodeInvalid, fault.ErrNotFound}},
		{fault.ErrEmailChangeUnavailable, []*fault.Sentinel{fault.ErrEmailChangeUnavailable, fault.ErrForbidden}},
		{fault.ErrConflict, []*fault.Sentinel{fault.ErrConflict}},
		{fault.ErrNotFound, []*fault.Sentinel{fault.ErrNotFound}},
		{fault.ErrInternal, []*fault.Sentinel{fault.ErrInternal}},
		{fault.ErrInvalid, []*fault.Sentinel{fault.ErrInvalid}},
		{fault.ErrForbidden, []*fault.Sentinel{fault.ErrForbidden}},
		{fault.ErrUnauthenticated, []*fault.Sentinel{fault.ErrUnauthenticated}},
		{fault.ErrBusy, []*fault.Sentinel{fault.ErrBusy}},
		{fault.ErrCommitUnknown, []*fault.Sentinel{fault.ErrCommitUnknown}},
	}
	for _, tt := range tests {
		for _, target := range allSentinels() {
			if got, want := errors.Is(tt.give, target), slices.Contains(tt.wantIs, target); got != want {
				t.Errorf("errors.Is(%q, %q) = %v, want %v", tt.give, target, got, want)
			}
		}
	}
}

// A named case carried as the cause of an *Error, and wrapped again with %w,
// still matches itself and its kind and nothing else.
func TestNamedSentinelThroughError(t *testing.T) {
	for _, named := range namedSentinels {
		wantIs := []*fault.Sentinel{named, kindSentinels[named.Kind()]}
		gives := []error{
			fault.E("membership.Delete", named.Kind(), named),
			fmt.Errorf("remove %q: %w", "m1", fault.E("membership.Delete", named.Kind(), named)),
			fault.Wrap("svc", fmt.Errorf("store: %w", named)),
		}
		for _, give := range gives {
			for _, target := range allSentinels() {
				if got, want := errors.Is(give, target), slices.Contains(wantIs, target); got != want {
					t.Errorf("errors.Is(%v, %q) = %v, want %v", give, target, got, want)
				}
			}
			if got := fault.KindOf(give); got != named.Kind() {
				t.Errorf("KindOf(%v) = %v, want %v", give, got, named.Kind())
			}
		}
	}
}

func TestKindOf(t *testing.T) {
	ve := fault.InvalidField("op", "f", "format", "is bad")
	tests := []struct {
		name string
		give error
		want fault.Kind
	}{
		{"nil", nil, fault.Internal},
		{"plain error", errors.New("boom"), fault.Internal},
		{"fmt plain", fmt.Errorf("x: %w", errors.New("boom")), fault.Internal},
		{"E not found", fault.E("op", fault.NotFound, nil), fault.NotFound},
		{"E busy with cause", fault.E("op", fault.Busy, errors.New("database is locked")), fault.Busy},
		{"wrapped E", fmt.Errorf("get %q: %w", "x", fault.E("op", fault.Forbidden, nil)), fault.Forbidden},
		{"twice wrapped E", fmt.Errorf("a: %w", fmt.Errorf("b: %w", fault.E("op", fault.Unknown, nil))), fault.Unknown},
		{"validation", ve, fault.Invalid},
		{"wrapped validation", fmt.Errorf("a: %w", ve), fault.Invalid},
		{"sentinel", fault.ErrUnauthenticated, fault.Unauthenticated},
		{"wrapped sentinel", fmt.Errorf("a: %w", fault.ErrConflict), fault.Conflict},
		{"wrapped named", fmt.Errorf("a: %w", fault.ErrInvitationInvalid), fault.NotFound},
		{"outermost *Error wins", fault.E("op", fault.Forbidden, fault.ErrNotFound), fault.Forbidden},
		{"Wrap of sentinel", fault.Wrap("op", fault.ErrBusy), fault.Busy},
	}
	for _, tt := range tests {
		if got := fault.KindOf(tt.give); got != tt.want {
			t.Errorf("%s: KindOf(%v) = %v, want %v", tt.name, tt.give, got, tt.want)
		}
	}
}

func TestWrapKeepsKindAndCause(t *testing.T) {
	ve := fault.InvalidField("user.Create", "email", "format", "is not an email address")
	plain := errors.New("boom")
	tests := []struct {
		give     error
		wantKind fault.Kind
		wantIs   error
		wantMsg  string
	}{
		{fault.E("store.Get", fault.NotFound, nil), fault.NotFound, fault.ErrNotFound, "svc.Get: store.Get: not found"},
		{fault.ErrLastOwner, fault.Conflict, fault.ErrLastOwner, "svc.Get: organization must keep its owner"},
		{ve, fault.Invalid, fault.ErrInvalid, "svc.Get: user.Create: invalid input: email is not an email address"},
		{plain, fault.Internal, plain, "svc.Get: boom"},
		{fmt.Errorf("tx: %w", fault.ErrBusy), fault.Busy, fault.ErrBusy, "svc.Get: tx: busy, try again"},
	}
	for _, tt := range tests {
		got := fault.Wrap("svc.Get", tt.give)
		if k := fault.KindOf(got); k != tt.wantKind {
			t.Errorf("KindOf(Wrap(%v)) = %v, want %v", tt.give, k, tt.wantKind)
		}
		if !errors.Is(got, tt.wantIs) || !errors.Is(got, tt.give) {
			t.Errorf("Wrap(%v) lost its cause: errors.Is(_, %v) = false", tt.give, tt.wantIs)
		}
		if msg := got.Error(); msg != tt.wantMsg {
			t.Errorf("Wrap(%v).Error() = %q, want %q", tt.give, msg, tt.wantMsg)
		}
	}
}

func TestWrapNil(t *testing.T) {
	if err := fault.Wrap("op", nil); err != nil {
		t.Fatalf("Wrap(op, nil) = %v, want nil", err)
	}
}

func TestWrapKeepsValidationDetails(t *testing.T) {
	err := fmt.Errorf("invite: %w", fault.Wrap("svc.Invite", fault.InvalidField("membership.Invite", "role", "required", "can't be blank")))
	var ve *fault.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("errors.As(%v, *ValidationError) = false", err)
	}
	if !ve.Has("role") || ve.Fields[0].Code != "required" {
		t.Errorf("ValidationError = %+v, want field role with code required", ve)
	}
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Op != "svc.Invite" || fe.Kind != fault.Invalid {
		t.Errorf("errors.As(*Error) = %+v, want Op svc.Invite, Kind invalid", fe)
	}
}

func TestEBuildsError(t *testing.T) {
	cause := errors.New("database is locked")
	tests := []struct {
		giveOp    string
		giveKind  fault.Kind
		giveCause error
		wantErr   error
		wantMsg   string
	}{
		{"store.Get", fault.NotFound, nil, fault.ErrNotFound, "store.Get: not found"},
		{"", fault.Forbidden, nil, fault.ErrForbidden, "forbidden"},
		{"tx", fault.Busy, cause, cause, "tx: database is locked"},
		{"tx", fault.Unknown, nil, fault.ErrCommitUnknown, "tx: outcome unknown: the commit may have succeeded"},
	}
	for _, tt := range tests {
		err := fault.E(tt.giveOp, tt.giveKind, tt.giveCause)
		var fe *fault.Error
		if !errors.As(err, &fe) || fe.Op != tt.giveOp || fe.Kind != tt.giveKind || fe.Err != tt.wantErr {
			t.Errorf("E(%q, %v, %v) = %#v, want Op %q Kind %v Err %v", tt.giveOp, tt.giveKind, tt.giveCause, err, tt.giveOp, tt.giveKind, tt.wantErr)
		}
		if got := err.Error(); got != tt.wantMsg {
			t.Errorf("E(%q, %v, %v).Error() = %q, want %q", tt.giveOp, tt.giveKind, tt.giveCause, got, tt.wantMsg)
		}
	}
}

func TestErrorMessageWithoutCause(t *testing.T) {
	tests := []struct {
		give *fault.Error
		want string
	}{
		{&fault.Error{Op: "x", Kind: fault.Busy}, "x: busy"},
		{&fault.Error{Kind: fault.Conflict}, "conflict"},
		{&fault.Error{}, "internal"},
	}
	for _, tt := range tests {
		if got := tt.give.Error(); got != tt.want {
			t.Errorf("%#v.Error() = %q, want %q", tt.give, got, tt.want)
		}
	}
}

func TestValidationErrorMessage(t *testing.T) {
	tests := []struct {
		give *fault.ValidationError
		want string
	}{
		{&fault.ValidationError{}, "invalid input"},
		{&fault.ValidationError{Op: "role.Create"}, "role.Create: invalid input"},
		{
			&fault.ValidationError{Op: "role.Create", Fields: []fault.FieldError{{Field: "name", Code: "required", Message: "can't be blank"}}},
			"role.Create: invalid input: name can't be blank",
		},
		{
			&fault.ValidationError{Fields: []fault.FieldError{
				{Field: "name", Code: "required", Message: "can't be blank"},
				{Field: "metadata", Code: "too_long", Message: "is too large"},
			}},
			"invalid input: name can't be blank; metadata is too large",
		},
	}
	for _, tt := range tests {
		if got := tt.give.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestValidationErrorHas(t *testing.T) {
	ve := &fault.ValidationError{Fields: []fault.FieldError{{Field: "user_email"}, {Field: "role"}}}
	tests := []struct {
		give string
		want bool
	}{
		{"user_email", true},
		{"role", true},
		{"Role", false},
		{"email", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := ve.Has(tt.give); got != tt.want {
			t.Errorf("Has(%q) = %v, want %v", tt.give, got, tt.want)
		}
	}
}

func TestProblemsErrNilWhenEmpty(t *testing.T) {
	var p fault.Problems
	if err := p.Err("op"); err != nil {
		t.Fatalf("empty Problems.Err = %v, want nil", err)
	}
	if p.Merge(nil) || p.Merge(errors.New("boom")) || p.Merge(fault.ErrInvalid) {
		t.Fatal("Merge of a non-validation error reported true")
	}
	if err := p.Err("op"); err != nil {
		t.Fatalf("Problems.Err after merging non-validation errors = %v, want nil", err)
	}
}

func TestProblemsCollectsInOrder(t *testing.T) {
	var p fault.Problems
	p.Add("name", "required", "can't be blank")
	merged := p.Merge(fmt.Errorf("wrapped: %w", fault.InvalidField("email", "user_email", "format", "is not an email address")))
	p.Add("role", "not_found", "does not exist")
	err := p.Err("membership.Invite")

	want := &fault.ValidationError{Op: "membership.Invite", Fields: []fault.FieldError{
		{Field: "name", Code: "required", Message: "can't be blank"},
		{Field: "user_email", Code: "format", Message: "is not an email address"},
		{Field: "role", Code: "not_found", Message: "does not exist"},
	}}
	var ve *fault.ValidationError
	if !merged || !errors.As(err, &ve) || ve.Op != want.Op || !slices.Equal(ve.Fields, want.Fields) {
		t.Fatalf("Problems.Err = %#v (merged %v), want %#v", err, merged, want)
	}
	if !errors.Is(err, fault.ErrInvalid) || fault.KindOf(err) != fault.Invalid {
		t.Errorf("Problems.Err = %v is not of kind invalid", err)
	}
}

func TestInvalidField(t *testing.T) {
	err := fault.InvalidField("list", "page", "format", "cursor is malformed")
	want := fault.FieldError{Field: "page", Code: "format", Message: "cursor is malformed"}
	var ve *fault.ValidationError
	if !errors.As(err, &ve) || ve.Op != "list" || len(ve.Fields) != 1 || ve.Fields[0] != want {
		t.Fatalf("InvalidField = %#v, want one field %+v", err, want)
	}
	if got := err.Error(); got != "list: invalid input: page cursor is malformed" {
		t.Errorf("Error() = %q", got)
	}
}

// KindOf should agree with errors.Is for multi-errors (errors.Join,
// fmt.Errorf with several %w): today it stops at them and says Internal.
func TestKindOfJoinedErrors(t *testing.T) {
	tests := []struct {
		give error
		want fault.Kind
	}{
		{errors.Join(fault.E("op", fault.NotFound, nil)), fault.NotFound},
		{errors.Join(errors.New("rollback failed"), fault.ErrBusy), fault.Busy},
		{fmt.Errorf("%w; %w", fault.ErrLastOwner, errors.New("x")), fault.Conflict},
	}
	for _, tt := range tests {
		if got := fault.KindOf(tt.give); got != tt.want {
			t.Errorf("KindOf(%v) = %v, want %v (errors.Is(_, %v) = %v)", tt.give, got, tt.want, kindSentinels[tt.want], errors.Is(tt.give, kindSentinels[tt.want]))
		}
	}
}
