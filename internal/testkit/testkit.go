// Package testkit holds the small helpers the test packages share.
package testkit

import (
	"errors"
	"sync"
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

// Recorder keeps, safe for concurrent use, what a test double was given:
// a notifier's invitations or email changes, say.
type Recorder[T any] struct {
	mu    sync.Mutex
	items []T
}

// Add records v.
func (r *Recorder[T]) Add(v T) {
	r.mu.Lock()
	r.items = append(r.items, v)
	r.mu.Unlock()
}

// Last returns what was recorded last, and fails the test when nothing was.
func (r *Recorder[T]) Last(tb testing.TB) T {
	tb.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.items) == 0 {
		var zero T
		tb.Fatalf("no %T was recorded", zero)
	}
	return r.items[len(r.items)-1]
}

// All returns a copy of what was recorded, oldest first.
func (r *Recorder[T]) All() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]T(nil), r.items...)
}

// Len is how many items were recorded.
func (r *Recorder[T]) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.items)
}
