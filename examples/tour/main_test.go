package main

import "testing"

// TestTour runs the README's tour: every call succeeds and does what the
// tour's comments say.
func TestTour(t *testing.T) {
	if err := run(t.Context()); err != nil {
		t.Fatal(err)
	}
}
