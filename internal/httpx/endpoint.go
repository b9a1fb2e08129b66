package httpx

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/provisionkit/provisioning"
)

// JSONAPIMediaType is the JSON:API media type (httpapi.MediaType).
const JSONAPIMediaType = "application/vnd.api+json"

// MaxBodyBytes bounds a request body.
const MaxBodyBytes = 1 << 20

// Route is an endpoint of a plain JSON API (Rebilly's, ECI's): its
// dialect, method and path pattern, and Serve, which answers a status and
// a value to encode as application/json (nil: no body), or an error that
// the handler serving the route answers as a problem of the dialect.
type Route struct {
	Dialect *Dialect
	Method  string
	Path    string
	Serve   func(ctx context.Context, c *Call) (int, any, error)
}

// Call is one authenticated request of a Route.
type Call struct {
	W http.ResponseWriter
	R *http.Request
	// S is the facade as Principal, the bearer token's.
	S         *provisioning.Session
	Principal provisioning.Principal
	// Base is the scheme and host of links.
	Base string

	wrote    bool
	wroteOrg string
}

// Touch records that the call wrote through the facade, in organization
// org ("" for unknown).
func (c *Call) Touch(org string) { c.wrote, c.wroteOrg = true, org }

// Wrote reports whether the call wrote, and in which organization.
func (c *Call) Wrote() (org string, ok bool) { return c.wroteOrg, c.wrote }

// ReadBody reads the request's body, at most MaxBodyBytes.
func ReadBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	if err != nil {
		return nil, NewError(http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE", "Body too large", "The body exceeds "+strconv.Itoa(MaxBodyBytes)+" bytes.")
	}
	return b, nil
}

// errNotObject is a body that is not a JSON object.
var errNotObject = NewError(http.StatusBadRequest, "BAD_REQUEST", "Malformed body", "The body is not a JSON object.")

// BodyObject reads a plain JSON body that must be an object, with the
// strict decoder (a member given twice is 400 DUPLICATE_KEY); unknown
// members are left to its readers, which ignore them.
func BodyObject(b []byte) (map[string]json.RawMessage, error) {
	return DecodeObject(b, errNotObject)
}

// IsNull reports a member that is absent or null.
func IsNull(v json.RawMessage) bool { return v == nil || string(v) == "null" }

// WriteAs writes v as JSON of media type mt.
func WriteAs(w http.ResponseWriter, mt string, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // only a value the library made unencodable
		b, status = []byte(`{"errors":[{"title":"Internal server error","detail":"The response could not be encoded.","code":"INTERNAL_SERVER_ERROR","status":"500"}]}`), http.StatusInternalServerError
		if mt != JSONAPIMediaType {
			mt, b = ProblemMediaType, []byte(`{"type":"about:blank","title":"Internal Server Error","status":500,"detail":"The response could not be encoded.","code":"INTERNAL_SERVER_ERROR"}`)
		}
	}
	w.Header().Set("Content-Type", mt)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
