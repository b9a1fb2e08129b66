package rebillyapi

import (
	"context"
	"errors"
	"testing"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/internal/httpx"
)

// TestMemberOfNeedsAnOrganization: a blank organization is refused before
// any list, which would otherwise run across the caller's organizations
// and find the user's membership in another one.
func TestMemberOfNeedsAnOrganization(t *testing.T) {
	_, err := memberOf(context.Background(), &httpx.Call{}, "", "someone")
	if !errors.Is(err, fault.ErrInvalid) {
		t.Errorf("memberOf without an organization: %v; want fault.ErrInvalid", err)
	}
}
