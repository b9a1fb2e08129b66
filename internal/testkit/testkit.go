// Package testkit holds the small helpers the test packages share.
package testkit

import (
	"errors"
	"testing"

	"github.com/provisionkit/provisioning/fault"
)

// Ptr returns a pointer to v: update structs take pointers for "set".
func Ptr[T any](v T) *T { return &v }

// BadFields returns the fields named by a *fault.ValidationError, nil for a
// nil error, and fails the test for any other error.
func BadFields(tb testing.TB, err error) []string {
	tb.Helper()
	var out []string
	for _, f := range fieldErrors(tb, err) {
		out = append(out, f.Field)
	}
	return out
}

// Problems returns "field:code" for each field of a *fault.ValidationError,
// nil for a nil error, and fails the test for any other error.
func Problems(tb testing.TB, err error) []string {
	tb.Helper()
	var out []string
	for _, f := range fieldErrors(tb, err) {
		out = append(out, f.Field+":"+f.Code)
	}
	return out
}

func fieldErrors(tb testing.TB, err error) []fault.FieldError {
	tb.Helper()
	if err == nil {
		return nil
	}
	var ve *fault.ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, fault.ErrInvalid) {
		tb.Fatalf("error %v (%T) is not a *fault.ValidationError", err, err)
	}
	return ve.Fields
}
