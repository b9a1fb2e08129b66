package audit_test

import (
	"slices"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/internal/testkit"
	"github.com/provisionkit/provisioning/resource"
)

func TestFilterValidate(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		give       audit.Filter
		wantFields []string
	}{
		{"zero", audit.Filter{}, nil},
		{"everything set", audit.Filter{OrganizationID: "org1", ResourceType: "memberships", ResourceID: "m1", Event: audit.Update,
			Since: t0, Until: t0.Add(time.Hour), PageRequest: resource.PageRequest{After: resource.Cursor("v1"), Limit: 10}}, nil},
		{"since only", audit.Filter{Since: t0}, nil},
		{"until only", audit.Filter{Until: t0}, nil},
		{"same instant", audit.Filter{Since: t0, Until: t0}, nil},
		{"same instant, other zone", audit.Filter{Since: t0, Until: t0.In(time.FixedZone("X", 3600))}, nil},
		{"until before since", audit.Filter{Since: t0, Until: t0.Add(-time.Nanosecond)}, []string{"until"}},
		{"bad cursor", audit.Filter{PageRequest: resource.PageRequest{After: "%%%"}}, []string{"page"}},
		{"cursor with capitals", audit.Filter{PageRequest: resource.PageRequest{After: resource.Cursor("V1")}}, []string{"page"}},
		{"both", audit.Filter{Since: t0, Until: t0.Add(-time.Hour), PageRequest: resource.PageRequest{After: "x"}}, []string{"page", "until"}},
	}
	for _, tt := range tests {
		if got := testkit.BadFields(t, tt.give.Validate()); !slices.Equal(got, tt.wantFields) {
			t.Errorf("%s: Validate() fields = %q, want %q", tt.name, got, tt.wantFields)
		}
	}
}
