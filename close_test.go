package provisioning_test

import (
	"context"
	"testing"
)

// TestCloseLeavesCallsWorking: Close stops the Provisioner's background
// work only; calls made after it still answer, and a second Close is
// harmless.
func TestCloseLeavesCallsWorking(t *testing.T) {
	ctx := context.Background()
	w := newHostWorld(t)
	if err := w.p.Close(); err != nil {
		t.Fatal(err)
	}
	if ok, err := w.p.As(w.owner).Can(ctx, w.org.ID, "memberships", "create"); err != nil || !ok {
		t.Fatalf("Can after Close = %v, %v; want true", ok, err)
	}
	if err := w.p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
