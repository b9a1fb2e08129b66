package organization_test

import (
	"errors"
	"testing"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/organization"
)

func TestLimitsOver(t *testing.T) {
	plan := organization.Limits{Memberships: 10, Organizations: 2, APICredentials: 5}
	tests := []struct {
		name string
		give organization.Limits
		want organization.Limits
	}{
		{"none of its own", organization.Limits{}, plan},
		{"its own replace the plan's", organization.Limits{Memberships: 50, Roles: 3},
			organization.Limits{Memberships: 50, Organizations: 2, APICredentials: 5, Roles: 3}},
		{"a lower one too", organization.Limits{APICredentials: 2}, organization.Limits{Memberships: 10, Organizations: 2, APICredentials: 2}},
	}
	for _, tt := range tests {
		if got := plan.Over(tt.give); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestPlanValidate(t *testing.T) {
	tests := []struct {
		name      string
		give      organization.Plan
		wantField string // "" for valid
	}{
		{"valid", organization.Plan{Name: "enterprise", Features: organization.Features(), Limits: organization.Limits{Roles: 5}}, ""},
		{"no name", organization.Plan{}, "name"},
		{"upper case", organization.Plan{Name: "Growth"}, "name"},
		{"unknown feature", organization.Plan{Name: "x", Features: []organization.Feature{"sso"}}, "features"},
		{"feature twice", organization.Plan{Name: "x", Features: []organization.Feature{organization.IdentityProviders, organization.IdentityProviders}}, "features"},
		{"negative roles", organization.Plan{Name: "x", Limits: organization.Limits{Roles: -1}}, "limits.roles"},
		{"absurd credentials", organization.Plan{Name: "x", Limits: organization.Limits{APICredentials: organization.MaxLimit + 1}}, "limits.api_credentials"},
	}
	for _, tt := range tests {
		if got := invalidField(tt.give.Validate()); got != tt.wantField {
			t.Errorf("%s: invalid field %q, want %q", tt.name, got, tt.wantField)
		}
	}
	if p := organization.DefaultPlan(); p.Name != "" || !p.Has(organization.CustomRoles) || !p.Has(organization.IdentityProviders) || p.Limits != (organization.Limits{}) {
		t.Errorf("DefaultPlan() = %+v, want every feature and no limit", p)
	}
}

// invalidField names the first field of a validation error, "" for no
// error, and "not a validation error" for any other.
func invalidField(err error) string {
	var ve *fault.ValidationError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ve) && len(ve.Fields) > 0:
		return ve.Fields[0].Field
	}
	return "not a validation error"
}
