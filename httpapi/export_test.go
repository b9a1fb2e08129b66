package httpapi

import (
	"maps"
	"slices"

	"github.com/provisionkit/provisioning/internal/httpx"
	"github.com/provisionkit/provisioning/resource"
)

// Exported for the tests of httpapi_test.
var (
	ParseQuery    = parseQuery
	DecodeRequest = decodeRequest
)

// Conditions parses a raw query string and returns the library conditions
// of its filters, in the order of the list request.
func Conditions(raw string) ([]resource.Condition, error) {
	q, err := parseQuery(raw)
	if err != nil {
		return nil, err
	}
	out := make([]resource.Condition, len(q.filters))
	for i, p := range q.filters {
		out[i] = p.condition()
	}
	return out, nil
}

// ErrorObject is an error object as the tests read it.
type ErrorObject struct {
	Status          int
	Code, Parameter string
}

// ErrorDocument returns the error objects the handler would answer err with.
func ErrorDocument(err error) []ErrorObject {
	_, objs, _ := httpx.ErrorObjects(err, inQuery{})
	out := make([]ErrorObject, len(objs))
	for i, o := range objs {
		out[i] = ErrorObject{Status: o.Status, Code: o.Code, Parameter: o.Parameter}
	}
	return out
}

// CreateTypes returns the types that have a create route.
func CreateTypes() []string {
	var out []string
	for typ, k := range kinds() {
		if k.create != nil {
			out = append(out, typ)
		}
	}
	return out
}

// ResourceTypes returns the resource types the handler describes (sorted)
// and those it serves, in the order it registers them.
func ResourceTypes() (described, served []string) {
	return slices.Sorted(maps.Keys(kinds())), slices.Clone(kindOrder)
}
