package provisioning_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/role"
)

// The host's catalogue: custom roles and identity providers on enterprise
// only, as Commerce Layer sells them; new and existing organizations start
// on growth. The host moves an organization with System.SetPlan; its
// members only read the plan.
func ExampleWithPlans() {
	ctx := context.Background()
	e := newExample(provisioning.WithPlans("growth",
		organization.Plan{Name: "growth", Limits: organization.Limits{Memberships: 10, APICredentials: 5}},
		organization.Plan{Name: "enterprise", Features: []organization.Feature{organization.CustomRoles, organization.IdentityProviders},
			Limits: organization.Limits{Roles: 50}}))
	defer e.Close()

	fmt.Println(e.org.Plan.Name, e.org.Plan.Features, e.org.Plan.Limits.Memberships)
	_, err := e.owner.CreateRole(ctx, role.Create{OrganizationID: e.org.ID, Name: "Auditor"})
	fmt.Println(errors.Is(err, fault.ErrPlanRestricted), errors.Is(err, fault.ErrForbidden))

	org, err := e.p.System().SetPlan(ctx, e.org.ID, "enterprise")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(org.Plan.Name, org.Plan.Has(organization.CustomRoles))
	r, err := e.owner.CreateRole(ctx, role.Create{OrganizationID: e.org.ID, Name: "Auditor"})
	fmt.Println(r.Kind, err)
	// Output:
	// growth [] 10
	// true true
	// enterprise true
	// custom <nil>
}
