package httpx

import (
	"cmp"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/provisionkit/provisioning/fault"
)

// ProblemMediaType is the media type of RFC 7807 problem details: that of
// the errors of a plain JSON endpoint whose Dialect names none (ECI's).
const ProblemMediaType = "application/problem+json"

// Dialect is how a plain JSON membership API (Rebilly's, ECI's) speaks on
// top of the mapping of ErrorObjects: RFC 7807 problems, its own field
// names, and the status of invalid input. It is also the Where of its
// calls: a field the library names is pointed at by its wire name.
type Dialect struct {
	// Invalid is the status of invalid input: 422 for Rebilly, 400 for ECI.
	Invalid int
	// Rename maps a library field (before any [index]) to its wire name;
	// the others are camelCased ("allowed_ips[2]" → "allowedIps.2").
	Rename map[string]string
	// MediaType is the media type of its problems; "" is
	// ProblemMediaType. Rebilly's definitions declare application/json.
	MediaType string
	// RetryAtTime makes the X-RateLimit-Retry-After of a 429 the Unix time
	// (UTC, seconds) after which the request may be retried, as Rebilly's
	// definitions declare it; otherwise it is the seconds to wait, as
	// Retry-After.
	RetryAtTime bool
}

// Source names a field in the dialect's dot notation.
func (d *Dialect) Source(field string) (string, string) { return d.field(field), "" }

func (d *Dialect) field(field string) string {
	base, rest, _ := strings.Cut(field, "[")
	name, ok := d.Rename[base]
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

// InvalidField is a problem of the body an endpoint finds itself, before
// any facade call: a member of the wrong type, or missing.
func (d *Dialect) InvalidField(field, message string) *Error {
	return NewError(d.Invalid, "VALIDATION_ERROR", message, field+" - "+message).At(field)
}

// Problem is an RFC 7807 problem, with Rebilly's extensions: the
// deprecated error (the title again) and, on invalid input,
// invalidFields. code is this API's stable error code; pointer names the
// member at fault of a malformed body.
type Problem struct {
	Type          string         `json:"type"`
	Title         string         `json:"title"`
	Status        int            `json:"status"`
	Detail        string         `json:"detail"`
	Instance      string         `json:"instance"`
	Code          string         `json:"code"`
	Error         string         `json:"error"`
	InvalidFields []InvalidField `json:"invalidFields,omitempty"`
	// Pointer is the JSON Pointer of a member of the body given more than
	// once (code DUPLICATE_KEY).
	Pointer string `json:"pointer,omitempty"`

	retryAt time.Time // of a rate limit's 429: Error.RetryAt
}

// InvalidField is a member of a problem's invalidFields.
type InvalidField struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ProblemOf maps err to its problem. The kinds map to statuses in
// ErrorObjects, as for JSON:API; the dialect differs in three places only,
// all here:
//   - a refusal (Forbidden, ErrIPRefused, ErrMFARequired,
//     ErrEmailUnverified, ErrEmailChangeUnavailable, ErrPlanRestricted)
//     is 403, as both APIs document, where Commerce Layer's API has 401;
//   - a user or organization that does not exist is 404 even when the
//     library reports it as the invalid field "user" (it is named by the
//     path, or by ECI's userId, which ECI answers with 404);
//   - invalid input is the dialect's status (ECI: 400), with invalidFields.
func (d *Dialect) ProblemOf(err error) (Problem, bool) {
	if missingTarget(err) {
		err = fault.E("httpx", fault.NotFound, nil) // not the cause: it is a ValidationError
	}
	status, objs, internal := ErrorObjects(err, d)
	switch objs[0].Code {
	case "FORBIDDEN", "MFA_REQUIRED", "IP_NOT_ALLOWED", "EMAIL_NOT_VERIFIED", "EMAIL_CHANGE_UNAVAILABLE", "PLAN_RESTRICTED":
		status = http.StatusForbidden
	}
	p := Problem{Type: "about:blank", Status: status, Code: objs[0].Code, Detail: objs[0].Detail}
	if e := (*Error)(nil); errors.As(err, &e) {
		p.retryAt = e.RetryAt
	}
	if objs[0].Code == "DUPLICATE_KEY" { // the body's syntax, not a field's value
		p.Pointer = objs[0].Pointer
	} else if status == http.StatusUnprocessableEntity || status == d.Invalid && objs[0].Pointer != "" {
		p.Status = d.Invalid
		p.Detail = strconv.Itoa(len(objs)) + " invalid field(s)."
		for _, o := range objs {
			p.InvalidFields = append(p.InvalidFields, InvalidField{Field: o.Pointer, Message: o.Title})
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

// WriteProblem writes problem p of request r, as the dialect's media type.
func (d *Dialect) WriteProblem(w http.ResponseWriter, r *http.Request, p Problem) {
	p.Instance = r.URL.Path
	switch h := w.Header(); {
	case p.Status == http.StatusServiceUnavailable:
		h.Set("Retry-After", "1")
	case p.Status == http.StatusTooManyRequests && d.RetryAtTime && !p.retryAt.IsZero():
		h.Set("X-Ratelimit-Retry-After", strconv.FormatInt(p.retryAt.Add(time.Second-time.Nanosecond).Unix(), 10))
	case p.Status == http.StatusTooManyRequests:
		h.Set("X-Ratelimit-Retry-After", h.Get("Retry-After"))
	}
	WriteAs(w, cmp.Or(d.MediaType, ProblemMediaType), p.Status, p)
}

// CheckJSONMediaTypes answers 406 to an Accept that allows neither JSON nor
// problems, and 415 to a body that is not application/json.
func CheckJSONMediaTypes(r *http.Request) error {
	if accept := r.Header.Get("Accept"); accept != "" && !acceptableJSON(accept) {
		return NewError(http.StatusNotAcceptable, "NOT_ACCEPTABLE", "Not acceptable", "The Accept header must allow application/json.")
	}
	if r.Method == http.MethodGet || r.Method == http.MethodDelete || r.ContentLength == 0 {
		return nil
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	delete(params, "charset")
	if err != nil || mt != "application/json" || len(params) > 0 {
		return NewError(http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "Unsupported media type", "The body must be application/json.")
	}
	return nil
}

func acceptableJSON(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		switch {
		case err != nil:
		case mt == "*/*" || mt == "application/*" || mt == "application/json" || mt == ProblemMediaType:
			return true
		}
	}
	return false
}
