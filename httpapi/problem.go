package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/provisionkit/provisioning/fault"
)

// ProblemMediaType is the media type of the errors of the Rebilly and ECI
// endpoints: RFC 7807 problem details.
const ProblemMediaType = "application/problem+json"

// dialect is how one of the two other membership APIs (SPEC D) speaks on
// top of the JSON:API mapping of errorObjects: RFC 7807 problems, its own
// field names, and the status of invalid input. It is also the where of
// its calls: a field the library names is pointed at by its wire name.
type dialect struct {
	// invalid is the status of invalid input: 422 for Rebilly, 400 for ECI.
	invalid int
	// rename maps a library field (before any [index]) to its wire name;
	// the others are camelCased ("allowed_ips[2]" → "allowedIps.2").
	rename map[string]string
}

var (
	rebilly = &dialect{invalid: http.StatusUnprocessableEntity, rename: map[string]string{"role": "roleIds"}}
	eci     = &dialect{invalid: http.StatusBadRequest, rename: map[string]string{"user": "userId", "mfa_required": "isMfaRequired"}}
)

// source names a field in the dialect's dot notation.
func (d *dialect) source(field string) (string, string) { return d.field(field), "" }

func (d *dialect) field(field string) string {
	base, rest, _ := strings.Cut(field, "[")
	name, ok := d.rename[base]
	if !ok {
		name = camel(base)
	}
	if rest != "" {
		name += "." + strings.ReplaceAll(strings.ReplaceAll(rest, "]", ""), "[", ".")
	}
	return name
}

// camel turns snake_case into camelCase.
func camel(s string) string {
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// problemDoc is an RFC 7807 problem, with Rebilly's extensions: the
// deprecated error (the title again) and, on invalid input,
// invalidFields. code is this API's stable error code; pointer names the
// member at fault of a malformed body.
type problemDoc struct {
	Type          string         `json:"type"`
	Title         string         `json:"title"`
	Status        int            `json:"status"`
	Detail        string         `json:"detail"`
	Instance      string         `json:"instance"`
	Code          string         `json:"code"`
	Error         string         `json:"error"`
	InvalidFields []invalidField `json:"invalidFields,omitempty"`
	// Pointer is the JSON Pointer of a member of the body given more than
	// once (code DUPLICATE_KEY).
	Pointer string `json:"pointer,omitempty"`
}

type invalidField struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// problemOf maps err to its problem. The kinds map to statuses in
// errorObjects, as for JSON:API; the dialect differs in three places only,
// all here:
//   - a refusal (Forbidden, ErrIPRefused, ErrMFARequired,
//     ErrEmailUnverified, ErrEmailChangeUnavailable) is 403, as both
//     APIs document, where SPEC C has 401 FORBIDDEN;
//   - a user or organization that does not exist is 404 even when the
//     library reports it as the invalid field "user" (it is named by the
//     path, or by ECI's userId, which SPEC D.2 answers with 404);
//   - invalid input is the dialect's status (ECI: 400), with invalidFields.
func (d *dialect) problemOf(err error) (problemDoc, bool) {
	if missingTarget(err) {
		err = fault.E("httpapi", fault.NotFound, nil) // not the cause: it is a ValidationError
	}
	status, objs, internal := errorObjects(err, d)
	switch objs[0].Code {
	case "FORBIDDEN", "MFA_REQUIRED", "IP_NOT_ALLOWED", "EMAIL_NOT_VERIFIED", "EMAIL_CHANGE_UNAVAILABLE":
		status = http.StatusForbidden
	}
	p := problemDoc{Type: "about:blank", Status: status, Code: objs[0].Code, Detail: objs[0].Detail}
	if objs[0].Code == "DUPLICATE_KEY" { // the body's syntax, not a field's value
		p.Pointer = objs[0].Pointer
	} else if status == http.StatusUnprocessableEntity || status == d.invalid && objs[0].Pointer != "" {
		p.Status = d.invalid
		p.Detail = strconv.Itoa(len(objs)) + " invalid field(s)."
		for _, o := range objs {
			p.InvalidFields = append(p.InvalidFields, invalidField{Field: o.Pointer, Message: o.Title})
		}
		if len(objs) == 1 {
			p.Detail = objs[0].Pointer + ": " + objs[0].Title
		}
	} else if objs[0].Pointer != "" {
		p.Detail = objs[0].Pointer + ": " + p.Detail
	}
	p.Title = http.StatusText(p.Status)
	p.Error = p.Title
	return p, internal
}

// missingTarget reports a validation error that names a user or an
// organization that does not exist.
func missingTarget(err error) bool {
	var ve *fault.ValidationError
	if !errors.As(err, &ve) {
		return false
	}
	for _, f := range ve.Fields {
		if (f.Field == "user" || f.Field == "organization") && f.Code == "not_found" {
			return true
		}
	}
	return false
}

// failProblem writes the problem of err; an internal error is logged here,
// once, and its details never reach the caller.
func (h *Handler) failProblem(w http.ResponseWriter, r *http.Request, d *dialect, err error) {
	p, internal := d.problemOf(err)
	if internal {
		h.log.ErrorContext(r.Context(), "httpapi: request failed", "error", err, "request_id", w.Header().Get("X-Request-Id"))
	}
	writeProblem(w, r, p)
}

func writeProblem(w http.ResponseWriter, r *http.Request, p problemDoc) {
	p.Instance = r.URL.Path
	switch p.Status {
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
	case http.StatusTooManyRequests:
		w.Header().Set("X-Ratelimit-Retry-After", w.Header().Get("Retry-After"))
	}
	writeAs(w, ProblemMediaType, p.Status, p)
}
