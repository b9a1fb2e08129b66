// Package httpxtest holds what the tests of the plain-JSON dialects share:
// a problem as a test reads it, and library errors to map.
package httpxtest

import (
	"regexp"
	"testing"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/internal/httpx"
)

// Problem is a problem as the tests read it: its status, detail, and the
// fields and messages of its invalidFields.
type Problem struct {
	Status   int
	Detail   string
	Fields   []string
	Messages []string
}

// ProblemOf returns the problem d answers err with.
func ProblemOf(d *httpx.Dialect, err error) Problem {
	p, _ := d.ProblemOf(err)
	out := Problem{Status: p.Status, Detail: p.Detail}
	for _, f := range p.InvalidFields {
		out.Fields = append(out.Fields, f.Field)
		out.Messages = append(out.Messages, f.Message)
	}
	return out
}

// CheckRefusal checks a decoder's refusal p of err: a 400 without fields,
// or the dialect's invalid status with fields that all match field.
func CheckRefusal(t testing.TB, p Problem, err error, invalid int, field *regexp.Regexp) {
	t.Helper()
	if p.Status == 400 && len(p.Fields) == 0 {
		return
	}
	if p.Status != invalid || len(p.Fields) == 0 {
		t.Fatalf("problem %+v for %v; want 400, or %d with fields", p, err, invalid)
	}
	for _, name := range p.Fields {
		if !field.MatchString(name) {
			t.Fatalf("problem names field %q", name)
		}
	}
}

// Validation is a validation error of the library naming fields, each with
// the code "format".
func Validation(fields ...string) error {
	var p fault.Problems
	for _, f := range fields {
		p.Add(f, "format", "is wrong")
	}
	return p.Err("test")
}

// ValidationCode is a validation error of the library naming field with code.
func ValidationCode(field, code string) error {
	var p fault.Problems
	p.Add(field, code, "is wrong")
	return p.Err("test")
}
