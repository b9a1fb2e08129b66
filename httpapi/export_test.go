package httpapi

import "context"

// Exported for the tests of httpapi_test.
var (
	ParseQuery    = parseQuery
	DecodeRequest = decodeRequest
)

// Take returns the window (page number, size, order) of a list of the n
// items 0..n-1, and the total take counted.
func Take(n, number, size int, desc bool) ([]int, int, error) {
	next := 0
	s := func(context.Context) (object, bool, error) {
		if next == n {
			return nil, false, nil
		}
		next++
		return next - 1, true, nil
	}
	items, total, err := take(context.Background(), s, window{number: number, size: size, desc: desc})
	out := make([]int, len(items))
	for i, v := range items {
		out[i] = v.(int)
	}
	return out, total, err
}

// ErrorObject is an error object as the tests read it.
type ErrorObject struct {
	Status          int
	Code, Parameter string
}

// ErrorDocument returns the error objects the handler would answer err with.
func ErrorDocument(err error) []ErrorObject {
	_, objs, _ := errorObjects(err, inQuery{})
	out := make([]ErrorObject, len(objs))
	for i, o := range objs {
		out[i] = ErrorObject{Status: o.Status, Code: o.Code, Parameter: o.Parameter}
	}
	return out
}

// The body decoders of the Rebilly and ECI endpoints.
type (
	UpsertBody = upsertBody
	AddBody    = addBody
)

var (
	DecodeUpsert    = decodeUpsert
	DecodeAddMember = decodeAddMember
)

// Problem is a problem as the tests read it: its status and the fields of
// its invalidFields.
type Problem struct {
	Status int
	Fields []string
}

// ProblemOf returns the problem the Rebilly (or, with eciAPI, the ECI)
// endpoints would answer err with.
func ProblemOf(err error, eciAPI bool) Problem {
	d := rebilly
	if eciAPI {
		d = eci
	}
	p, _ := d.problemOf(err)
	out := Problem{Status: p.Status}
	for _, f := range p.InvalidFields {
		out.Fields = append(out.Fields, f.Field)
	}
	return out
}
