package httpapi_test

import (
	"context"
	"slices"
	"testing"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/organization"
)

// TestPlan: an organization shows its plan (read-only: a PATCH carrying it
// is refused as other read-only attributes are), and a call its plan does
// not allow is 401 PLAN_RESTRICTED, as Commerce Layer answers a call its
// token may not make.
func TestPlan(t *testing.T) {
	ctx := context.Background()
	growth := organization.Plan{Name: "growth", Limits: organization.Limits{Memberships: 5, Roles: 2}}
	enterprise := organization.Plan{Name: "enterprise", Features: organization.Features()}
	s := newServerWith(t, []provisioning.Option{provisioning.WithPlans("growth", growth, enterprise)})
	self := "/api/organizations/" + s.org.ID
	orgLink := `{"organization":` + link("organizations", s.org.ID) + `}`

	r := s.call(t, "GET", self, s.ownerToken, "").want(t, 200, "")
	if r.get("data.attributes.plan") != "growth" || r.get("data.attributes.subscription_info.plan_type") != "growth" ||
		r.count("data.attributes.subscription_info.features") != 0 ||
		r.get("data.attributes.subscription_info.limits.memberships") != 5.0 || r.get("data.attributes.subscription_info.limits.roles") != 2.0 ||
		r.get("data.attributes.subscription_info.limits.api_credentials") != nil {
		t.Errorf("the plan of a growth organization: plan %v, subscription_info %v", r.get("data.attributes.plan"), r.get("data.attributes.subscription_info"))
	}
	// A member never sets the plan.
	r = s.call(t, "PATCH", self, s.ownerToken, body("organizations", s.org.ID, `{"plan":"enterprise"}`, "")).want(t, 400, "PARAM_NOT_ALLOWED")
	if r.str("errors.0.source.pointer") != "/data/attributes/plan" || r.str("errors.0.detail") != "plan is read-only." {
		t.Errorf("PATCH with a plan: %s", r.raw)
	}
	if r := s.call(t, "GET", self, s.ownerToken, ""); r.get("data.attributes.plan") != "growth" {
		t.Errorf("after a refused PATCH: plan %v", r.get("data.attributes.plan"))
	}

	r = s.call(t, "POST", "/api/roles", s.ownerToken, body("roles", "", `{"name":"Support"}`, orgLink)).want(t, 401, "PLAN_RESTRICTED")
	if d := r.str("errors.0.detail"); d != "not available on the organization's plan: custom_roles" {
		t.Errorf("detail %q; want the feature named", d)
	}

	// The host upgrades the organization.
	if _, err := s.p.System().SetPlan(ctx, s.org.ID, "enterprise"); err != nil {
		t.Fatal(err)
	}
	r = s.call(t, "GET", self, s.ownerToken, "").want(t, 200, "")
	feats, _ := r.get("data.attributes.subscription_info.features").([]any)
	if r.get("data.attributes.plan") != "enterprise" || !slices.Equal(feats, []any{"custom_roles", "identity_providers"}) {
		t.Errorf("after the upgrade: plan %v, features %v", r.get("data.attributes.plan"), feats)
	}
	s.call(t, "POST", "/api/roles", s.ownerToken, body("roles", "", `{"name":"Support"}`, orgLink)).want(t, 201, "")
}
