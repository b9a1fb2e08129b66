package organization_test

import (
	"testing"

	"github.com/provisionkit/provisioning/organization"
)

func TestCoreSettingsDefaults(t *testing.T) {
	tests := []struct {
		giveKey string
		want    any
	}{
		{"api_auth_redirect", true},
		{"api_rules_engine_max_conditions_size", 150},
		{"orders_min_refresh_lapse", 0.0},
		{"imports_trigger_webhooks", 0},
		{"external_prices_errors", true},
		{"tags_max_name_length", 25},
	}
	got := organization.CoreSettings()
	if len(got) != 45 {
		t.Errorf("%d settings, want the 45 Commerce Layer documents", len(got))
	}
	for _, tt := range tests {
		if got[tt.giveKey] != tt.want {
			t.Errorf("%s = %v (%T), want %v (%T)", tt.giveKey, got[tt.giveKey], got[tt.giveKey], tt.want, tt.want)
		}
	}
	got["api_auth_redirect"] = false
	if organization.CoreSettings()["api_auth_redirect"] != true {
		t.Error("CoreSettings returns a shared map: a caller's change leaked")
	}
}
