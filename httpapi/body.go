package httpapi

import "github.com/provisionkit/provisioning/internal/httpx"

// DuplicateKeyError is a JSON text with an object that names a member more
// than once. Decoders differ on which of the two they keep (encoding/json
// keeps the last, others the first), so a proxy or a log that reads the
// body could see another request than the one the handler serves. Its
// Pointer is the JSON Pointer (RFC 6901) of the member's second
// occurrence, e.g. /data/attributes/user_email.
type DuplicateKeyError = httpx.DuplicateKeyError

// DecodeJSON is the strict decoder of every request body the handler reads
// (and the Rebilly and ECI endpoints it serves). It decodes the JSON text
// b into v as json.Unmarshal does, except that it refuses:
//   - an object that names a member twice, at any depth: a
//     *DuplicateKeyError naming the second occurrence;
//   - when v points to a struct, members that differ only in case, as
//     encoding/json matches struct fields so ({"token":"a","Token":"b"}
//     would set the field twice), and the members no field names.
//
// Other failures are the errors of json.Unmarshal, and b is checked whole
// before v is touched.
func DecodeJSON(b []byte, v any) error { return httpx.DecodeJSON(b, v) }
