package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/provisionkit/provisioning/fault"
)

// apiError is one JSON:API error object. It is also the error the handler's
// own checks (media types, query, body) return before the facade is called.
type apiError struct {
	Status    int
	Code      string
	Title     string
	Detail    string
	Pointer   string // source.pointer, e.g. /data/attributes/name
	Parameter string // source.parameter, e.g. filter[q][name_cont]
	Meta      map[string]any
}

func (e *apiError) Error() string { return e.Code + ": " + e.Detail }

// problem returns a client error of the request.
func problem(status int, code, title, detail string) *apiError {
	return &apiError{Status: status, Code: code, Title: title, Detail: detail}
}

// at names the member of the body at fault.
func (e *apiError) at(pointer string) *apiError { e.Pointer = pointer; return e }

// param names the query parameter at fault.
func (e *apiError) param(name string) *apiError { e.Parameter = name; return e }

// apiErrors is several error objects of one status, e.g. every bad member
// of a body.
type apiErrors []*apiError

func (es apiErrors) Error() string { return es[0].Error() }

// errOrNil returns es as an error, nil when it is empty.
func (es apiErrors) errOrNil() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

func (e *apiError) MarshalJSON() ([]byte, error) {
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

// where tells the error mapper how to point at a field the library names:
// into the body (create, update) or at the query (lists).
type where interface {
	source(field string) (pointer, parameter string)
}

// inBody points at /data/attributes/<field> or, for the fields that are
// relationships, /data/relationships/<name>.
type inBody struct{ rels map[string]string }

func (b inBody) source(field string) (string, string) {
	if rel, ok := b.rels[field]; ok {
		return "/data/relationships/" + rel, ""
	}
	return "/data/attributes/" + field, ""
}

// inQuery points at the query parameter of a field a list request's
// refusal names: the library names the i-th condition filter[i] and the
// i-th sort key sort[i]; filters[i] is the parameter condition i came from
// ("" for a relationship's own condition).
type inQuery struct{ filters []string }

func (q inQuery) source(field string) (string, string) {
	if i, ok := indexed(field, "filter"); ok {
		if i >= 0 && i < len(q.filters) && q.filters[i] != "" {
			return "", q.filters[i]
		}
		return "", "filter"
	}
	switch {
	case field == "filter":
		return "", "filter"
	case field == "sort" || strings.HasPrefix(field, "sort["):
		return "", "sort"
	case field == "page":
		return "", "page[number]"
	}
	return "", "filter[" + field + "]"
}

// code is the error code of a refused field of a list request.
func (inQuery) code(field string) string {
	switch {
	case field == "filter" || strings.HasPrefix(field, "filter["):
		return "FILTER_NOT_ALLOWED"
	case field == "sort" || strings.HasPrefix(field, "sort["):
		return "INVALID_SORT_CRITERIA"
	case field == "page":
		return "INVALID_PAGE_VALUE"
	}
	return "INVALID_FILTER_VALUE"
}

// indexed reads field as name[i].
func indexed(field, name string) (int, bool) {
	rest, ok := strings.CutPrefix(field, name+"[")
	if !ok {
		return 0, false
	}
	rest, ok = strings.CutSuffix(rest, "]")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(rest)
	return i, err == nil
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
	{fault.ErrNotPending, http.StatusConflict, "NOT_PENDING", "Membership is not pending"},
	{fault.ErrMFARequired, http.StatusUnauthorized, "MFA_REQUIRED", "Second factor required"},
	{fault.ErrIPRefused, http.StatusUnauthorized, "IP_NOT_ALLOWED", "Address not allowed"},
	{fault.ErrBadCredentials, http.StatusUnauthorized, "INVALID_TOKEN", "Invalid token"},
	{fault.ErrEmailUnverified, http.StatusUnauthorized, "EMAIL_NOT_VERIFIED", "Email address not verified"},
	{fault.ErrEmailChangeUnavailable, http.StatusUnauthorized, "EMAIL_CHANGE_UNAVAILABLE", "Email change not available"},
	{fault.ErrEmailCodeInvalid, http.StatusUnprocessableEntity, "INVALID_CODE", "Invalid or expired code"},
}

// errorObjects maps an error to its status and error objects: the one place
// where fault kinds become HTTP statuses. internal reports an error whose
// details must not reach the caller (the handler logs it once).
func errorObjects(err error, w where) (status int, objs []*apiError, internal bool) {
	var one *apiError
	var many apiErrors
	var ve *fault.ValidationError
	switch {
	case errors.As(err, &one):
		return one.Status, []*apiError{one}, false
	case errors.As(err, &many):
		return many[0].Status, many, false
	case errors.As(err, &ve):
		return validationObjects(ve, w)
	}
	for _, n := range named {
		if errors.Is(err, n.err) {
			e := problem(n.status, n.code, n.title, n.err.Error())
			var fe *fault.Error
			if errors.As(err, &fe) && fe.Field != "" {
				e.Pointer, e.Parameter = w.source(fe.Field)
			}
			return n.status, []*apiError{e}, false
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
		return http.StatusUnprocessableEntity, []*apiError{problem(http.StatusUnprocessableEntity, "VALIDATION_ERROR", "Invalid input", err.Error())}, false
	case fault.NotFound:
		return http.StatusNotFound, []*apiError{problem(http.StatusNotFound, "RECORD_NOT_FOUND", "Record not found",
			"The requested resource was not found. Please double-check the resource id.")}, false
	case fault.Forbidden:
		// SPEC C: 401 covers a missing, expired or insufficient token.
		return http.StatusUnauthorized, []*apiError{problem(http.StatusUnauthorized, "FORBIDDEN", "Forbidden",
			"You are not authorized to perform this action.")}, false
	case fault.Unauthenticated:
		return http.StatusUnauthorized, []*apiError{errInvalidToken}, false
	case fault.Conflict:
		return http.StatusConflict, []*apiError{problem(http.StatusConflict, "CONFLICT", "Conflict", err.Error())}, false
	case fault.Busy:
		return http.StatusServiceUnavailable, []*apiError{problem(http.StatusServiceUnavailable, "BUSY", "Service busy",
			"The database is busy; retry the request.")}, false
	case fault.Unknown:
		return http.StatusInternalServerError, []*apiError{problem(http.StatusInternalServerError, "OUTCOME_UNKNOWN", "Outcome unknown",
			"The change may or may not have been applied; read the resource before retrying.")}, true
	}
	return http.StatusInternalServerError, []*apiError{errInternal}, true
}

var (
	errInvalidToken = problem(http.StatusUnauthorized, "INVALID_TOKEN", "Invalid token",
		"The access token is missing, invalid or expired.")
	errInternal = problem(http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "Internal server error",
		"Something went wrong; the error was logged.")
)

func validationObjects(ve *fault.ValidationError, w where) (int, []*apiError, bool) {
	status, code := http.StatusUnprocessableEntity, func(string) string { return "VALIDATION_ERROR" }
	if q, ok := w.(inQuery); ok {
		status, code = http.StatusBadRequest, q.code
	}
	objs := make([]*apiError, 0, len(ve.Fields))
	for _, f := range ve.Fields {
		e := problem(status, code(f.Field), f.Message, f.Field+" - "+f.Message)
		e.Pointer, e.Parameter = w.source(f.Field)
		if e.Parameter != "" {
			e.Detail = e.Parameter + " - " + f.Message
		}
		e.Meta = map[string]any{"error": f.Code}
		objs = append(objs, e)
	}
	if len(objs) == 0 {
		objs = append(objs, problem(status, code(""), "Invalid input", ve.Error()))
	}
	return status, objs, false
}
