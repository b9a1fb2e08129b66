// Package httpx is what the wire formats served over the facade share:
// the error of a request and the one mapping of fault kinds to HTTP
// statuses, the strict JSON decoder of request bodies, RFC 7807 problems
// and the plain JSON endpoints that answer them, and the body limit.
// httpapi (JSON:API), rebillyapi and eciapi build on it; it holds no
// business rule and no route.
package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/provisionkit/provisioning/fault"
)

// Error is one error of a request, as a JSON:API error object (its
// MarshalJSON); a dialect renders it as a problem. It is also the error
// the handlers' own checks (media types, query, body) return before the
// facade is called.
type Error struct {
	Status    int
	Code      string
	Title     string
	Detail    string
	Pointer   string // source.pointer, e.g. /data/attributes/name
	Parameter string // source.parameter, e.g. filter[q][name_cont]
	Meta      map[string]any
	// RetryAt is when a request a rate limit refused may be retried (zero
	// for other errors).
	RetryAt time.Time
}

func (e *Error) Error() string { return e.Code + ": " + e.Detail }

// NewError returns a client error of the request.
func NewError(status int, code, title, detail string) *Error {
	return &Error{Status: status, Code: code, Title: title, Detail: detail}
}

// At names the member of the body at fault.
func (e *Error) At(pointer string) *Error { e.Pointer = pointer; return e }

// Param names the query parameter at fault.
func (e *Error) Param(name string) *Error { e.Parameter = name; return e }

// Errors is several errors of one status, e.g. every bad member of a body.
type Errors []*Error

func (es Errors) Error() string { return es[0].Error() }

// ErrOrNil returns es as an error, nil when it is empty.
func (es Errors) ErrOrNil() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

func (e *Error) MarshalJSON() ([]byte, error) {
	type source struct {
		Pointer   string `json:"pointer,omitempty"`
		Parameter string `json:"parameter,omitempty"`
	}
	out := struct {
		Title  string         `json:"title"`
		Detail string         `json:"detail"`
		Code   string         `json:"code"`
		Source *source        `json:"source,omitempty"`
		Status string         `json:"status"`
		Meta   map[string]any `json:"meta,omitempty"`
	}{Title: e.Title, Detail: e.Detail, Code: e.Code, Status: strconv.Itoa(e.Status), Meta: e.Meta}
	if e.Pointer != "" || e.Parameter != "" {
		out.Source = &source{Pointer: e.Pointer, Parameter: e.Parameter}
	}
	return json.Marshal(out)
}

// Where tells the error mapper how to point at a field the library names:
// a JSON:API body's member, a query parameter, or a dialect's field name.
type Where interface {
	Source(field string) (pointer, parameter string)
}

// Coder is a Where that names the codes of its refused fields: a query,
// whose invalid input is 400 with those codes (the others' is 422
// VALIDATION_ERROR).
type Coder interface {
	Where
	Code(field string) string
}

// named are the statuses and codes of the named cases that do not follow
// their kind's.
var named = []struct {
	err    error
	status int
	code   string
	title  string
}{
	{fault.ErrInUse, http.StatusLocked, "LOCKED", "Resource is locked"},
	{fault.ErrAlreadyExists, http.StatusConflict, "RECORD_NOT_UNIQUE", "Record not unique"},
	{fault.ErrLastOwner, http.StatusConflict, "LAST_OWNER", "Organization must keep its owner"},
	{fault.ErrLimitReached, http.StatusConflict, "LIMIT_REACHED", "Subscription plan limit reached"},
	// Commerce Layer answers a call its token may not make with 401, and
	// keeps custom roles and identity providers to Enterprise plans
	// (https://docs.commercelayer.io/core/handling-errors,
	// https://docs.commercelayer.io/provisioning/api-reference/roles): a
	// plan that lacks the feature is such a refusal, with its own code.
	{fault.ErrPlanRestricted, http.StatusUnauthorized, "PLAN_RESTRICTED", "Not available on the organization's plan"},
	{fault.ErrNotPending, http.StatusConflict, "NOT_PENDING", "Membership is not pending"},
	{fault.ErrMFARequired, http.StatusUnauthorized, "MFA_REQUIRED", "Second factor required"},
	{fault.ErrIPRefused, http.StatusUnauthorized, "IP_NOT_ALLOWED", "Address not allowed"},
	{fault.ErrBadCredentials, http.StatusUnauthorized, "INVALID_TOKEN", "Invalid token"},
	{fault.ErrEmailUnverified, http.StatusUnauthorized, "EMAIL_NOT_VERIFIED", "Email address not verified"},
	{fault.ErrEmailChangeUnavailable, http.StatusUnauthorized, "EMAIL_CHANGE_UNAVAILABLE", "Email change not available"},
	{fault.ErrEmailCodeInvalid, http.StatusUnprocessableEntity, "INVALID_CODE", "Invalid or expired code"},
}

// ErrorObjects maps an error to its status and errors: the one place where
// fault kinds become HTTP statuses. internal reports an error whose
// details must not reach the caller (the handler logs it once).
func ErrorObjects(err error, w Where) (status int, objs []*Error, internal bool) {
	var one *Error
	var many Errors
	var ve *fault.ValidationError
	switch {
	case errors.As(err, &one):
		return one.Status, []*Error{one}, false
	case errors.As(err, &many):
		return many[0].Status, many, false
	case errors.As(err, &ve):
		return validationObjects(ve, w)
	}
	for _, n := range named {
		if errors.Is(err, n.err) {
			e := NewError(n.status, n.code, n.title, n.err.Error())
			var fe *fault.Error
			if errors.As(err, &fe) && fe.Field != "" {
				e.Pointer, e.Parameter = w.Source(fe.Field)
			}
			if fe != nil && fe.Err != nil && fe.Err != n.err && errors.Is(fe.Err, n.err) {
				e.Detail = fe.Err.Error() // the case's words and what it adds (the feature a plan lacks)
			}
			return n.status, []*Error{e}, false
		}
	}
	kind := fault.KindOf(err)
	if kind == fault.Internal && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		// The request's context ended the call in code that did not say so
		// with fault.Busy (a host's Authenticator, say): as temporary.
		kind = fault.Busy
	}
	switch kind {
	case fault.Invalid:
		return http.StatusUnprocessableEntity, []*Error{NewError(http.StatusUnprocessableEntity, "VALIDATION_ERROR", "Invalid input", err.Error())}, false
	case fault.NotFound:
		return http.StatusNotFound, []*Error{NewError(http.StatusNotFound, "RECORD_NOT_FOUND", "Record not found",
			"The requested resource was not found. Please double-check the resource id.")}, false
	case fault.Forbidden:
		// Commerce Layer answers 401 to a missing, expired or insufficient token.
		return http.StatusUnauthorized, []*Error{NewError(http.StatusUnauthorized, "FORBIDDEN", "Forbidden",
			"You are not authorized to perform this action.")}, false
	case fault.Unauthenticated:
		return http.StatusUnauthorized, []*Error{ErrInvalidToken}, false
	case fault.Conflict:
		return http.StatusConflict, []*Error{NewError(http.StatusConflict, "CONFLICT", "Conflict", err.Error())}, false
	case fault.Busy:
		return http.StatusServiceUnavailable, []*Error{NewError(http.StatusServiceUnavailable, "BUSY", "Service busy",
			"The database is busy; retry the request.")}, false
	case fault.Unknown:
		return http.StatusInternalServerError, []*Error{NewError(http.StatusInternalServerError, "OUTCOME_UNKNOWN", "Outcome unknown",
			"The change may or may not have been applied; read the resource before retrying.")}, true
	}
	return http.StatusInternalServerError, []*Error{ErrInternal}, true
}

var (
	// ErrInvalidToken is a bearer token missing, unknown or expired.
	ErrInvalidToken = NewError(http.StatusUnauthorized, "INVALID_TOKEN", "Invalid token",
		"The access token is missing, invalid or expired.")
	// ErrInternal is the answer to an internal error, logged, and to a
	// panic.
	ErrInternal = NewError(http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "Internal server error",
		"Something went wrong; the error was logged.")
)

func validationObjects(ve *fault.ValidationError, w Where) (int, []*Error, bool) {
	status, code := http.StatusUnprocessableEntity, func(string) string { return "VALIDATION_ERROR" }
	if q, ok := w.(Coder); ok {
		status, code = http.StatusBadRequest, q.Code
	}
	objs := make([]*Error, 0, len(ve.Fields))
	for _, f := range ve.Fields {
		e := NewError(status, code(f.Field), f.Message, f.Field+" - "+f.Message)
		e.Pointer, e.Parameter = w.Source(f.Field)
		if e.Parameter != "" {
			e.Detail = e.Parameter + " - " + f.Message
		}
		e.Meta = map[string]any{"error": f.Code}
		objs = append(objs, e)
	}
	if len(objs) == 0 {
		objs = append(objs, NewError(status, code(""), "Invalid input", ve.Error()))
	}
	return status, objs, false
}
