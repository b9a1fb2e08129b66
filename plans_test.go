package provisioning_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/idp"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/storage/storagetest"
)

// The catalogue of the plan tests: growth grants no feature, enterprise
// grants both.
var (
	growthPlan     = organization.Plan{Name: "growth", Limits: organization.Limits{Memberships: 50}}
	enterprisePlan = organization.Plan{Name: "enterprise", Features: []organization.Feature{organization.CustomRoles, organization.IdentityProviders}}
)

// planWorld is an idpWorld whose organization, its custom role, permission
// and identity provider made before plans, now runs under a catalogue
// whose default plan is growth: what an existing organization meets when
// its host adopts plans.
func planWorld(t testing.TB, w *idpWorld) (*provisioning.Provisioner, *idp.Provider) {
	t.Helper()
	prov := w.provider(t, "acme-sso")
	p, err := provisioning.New(w.store, provisioning.WithClock(w.clock), provisioning.WithNotifier(w.mail),
		provisioning.WithResolver(w.dns), provisioning.WithKeyProvider(idpKeys(t, "k1")),
		provisioning.WithPlans("growth", growthPlan, enterprisePlan))
	if err != nil {
		t.Fatal(err)
	}
	w.p = p
	return p, prov
}

// TestPlanGatesFeatures: on a plan without custom roles or identity
// providers, every call that would add one, or add a right to a custom
// role, is refused with ErrPlanRestricted, writes nothing and is recorded
// as a refusal; taking rights away and deleting stay allowed; moving the
// organization to a plan with the features lets the same calls through.
func TestPlanGatesFeatures(t *testing.T) {
	ctx := context.Background()
	onIDPBackends(t, func(t *testing.T, w *idpWorld) {
		p, prov := planWorld(t, w)
		own := w.as(w.owner)
		on, off := true, false
		newName := "Renamed"
		tests := []struct {
			name   string
			wantOp string
			call   func() error
		}{
			{"CreateRole", "provisioning.CreateRole", func() error {
				_, err := own.CreateRole(ctx, role.Create{OrganizationID: w.org.ID, Name: "Auditor"})
				return err
			}},
			{"CreatePermission", "provisioning.CreatePermission", func() error {
				_, err := own.CreatePermission(ctx, role.PermissionCreate{RoleID: w.custom.ID, Subject: "customers", CanRead: true})
				return err
			}},
			{"UpdatePermission turning a right on", "provisioning.UpdatePermission", func() error {
				_, err := own.UpdatePermission(ctx, w.permission.ID, role.PermissionUpdate{CanCreate: &on})
				return err
			}},
			{"AddMissingBasePermissions", "provisioning.AddMissingBasePermissions", func() error {
				_, err := own.AddMissingBasePermissions(ctx, w.custom.ID)
				return err
			}},
			{"UpdateRole adding base permissions", "provisioning.UpdateRole", func() error {
				_, err := own.UpdateRole(ctx, w.custom.ID, role.Update{AddMissingBasePermissions: true})
				return err
			}},
			{"CreateIdentityProvider", "provisioning.CreateIdentityProvider", func() error {
				_, err := own.CreateIdentityProvider(ctx, idpCreate(w.org.ID, "acme-sso-2", "two.acme.example"))
				return err
			}},
			{"UpdateIdentityProvider", "provisioning.UpdateIdentityProvider", func() error {
				_, err := own.UpdateIdentityProvider(ctx, prov.ID, idp.Update{Name: &newName})
				return err
			}},
		}
		tables := []string{"provisioning_versions", "provisioning_roles", "provisioning_permissions", "provisioning_identity_providers"}
		rows := func() []int {
			out := make([]int, len(tables))
			for i, tb := range tables {
				out[i] = w.count(t, tb, "1 = 1")
			}
			return out
		}
		for _, tt := range tests {
			before := rows()
			events := w.count(t, "provisioning_security_events", "reason = 'plan' AND organization_id = ? AND operation = ?", w.org.ID, tt.wantOp)
			err := tt.call()
			if !errors.Is(err, fault.ErrPlanRestricted) || !errors.Is(err, fault.ErrForbidden) {
				t.Errorf("%s on growth: %v, want ErrPlanRestricted (forbidden)", tt.name, err)
			}
			if got := rows(); !slices.Equal(got, before) {
				t.Errorf("%s refused: rows of %v went from %v to %v", tt.name, tables, before, got)
			}
			if got := w.count(t, "provisioning_security_events", "reason = 'plan' AND organization_id = ? AND operation = ?", w.org.ID, tt.wantOp); got != events+1 {
				t.Errorf("%s refused: %d plan refusals recorded, want %d", tt.name, got, events+1)
			}
		}

		// The check comes first: a member without the right is refused as
		// ever, not told about the plan.
		if _, err := w.as(w.reader).CreateRole(ctx, role.Create{OrganizationID: w.org.ID, Name: "Nope"}); !errors.Is(err, fault.ErrForbidden) || errors.Is(err, fault.ErrPlanRestricted) {
			t.Errorf("a reader creating a role: %v, want forbidden by the check", err)
		}
		// Taking a right away and deleting a provider need no feature.
		if _, err := own.UpdatePermission(ctx, w.permission.ID, role.PermissionUpdate{CanUpdate: &off}); err != nil {
			t.Errorf("turning a right off on growth: %v", err)
		}
		if err := own.DeleteIdentityProvider(ctx, prov.ID); err != nil {
			t.Errorf("deleting a provider on growth: %v", err)
		}
		// The custom role made before still works for its member.
		if ok, err := w.as(w.customUser).Can(ctx, w.org.ID, "orders", role.ActionRead); err != nil || !ok {
			t.Errorf("the clerk reading orders on growth: %v, %v; want allowed", ok, err)
		}

		// The host upgrades the organization: the same calls go through.
		got, err := p.System().SetPlan(ctx, w.org.ID, "enterprise")
		if err != nil {
			t.Fatal(err)
		}
		if got.Plan.Name != "enterprise" || !got.Plan.Has(organization.CustomRoles) || !got.Plan.Has(organization.IdentityProviders) {
			t.Errorf("after SetPlan: plan %+v, want enterprise with both features", got.Plan)
		}
		if _, err := own.CreateRole(ctx, role.Create{OrganizationID: w.org.ID, Name: "Auditor"}); err != nil {
			t.Errorf("CreateRole on enterprise: %v", err)
		}
		if _, err := own.CreatePermission(ctx, role.PermissionCreate{RoleID: w.custom.ID, Subject: "customers", CanRead: true}); err != nil {
			t.Errorf("CreatePermission on enterprise: %v", err)
		}
		if _, err := own.CreateIdentityProvider(ctx, idpCreate(w.org.ID, "acme-sso-2", "two.acme.example")); err != nil {
			t.Errorf("CreateIdentityProvider on enterprise: %v", err)
		}
	})
}

// TestPlanLimits: a plan's limits on API credentials and custom roles
// refuse one more with ErrLimitReached naming the limit, and write nothing;
// a limit the organization's subscription sets replaces the plan's.
func TestPlanLimits(t *testing.T) {
	ctx := context.Background()
	limited := organization.Plan{Name: "team", Features: organization.Features(),
		Limits: organization.Limits{APICredentials: 3, Roles: 1, Memberships: 2, Organizations: 1}}
	for name, open := range storagetest.Backends() {
		t.Run(name, func(t *testing.T) {
			e := newEnvOn(t, open(t), provisioning.WithPlans("team", limited))
			owner := e.user(t, "owner@example.com")
			org, _, ro := e.org(t, owner, "Small")
			own := e.as(owner)
			if got, err := own.GetOrganization(ctx, org.ID); err != nil || got.Plan.Name != "team" || got.Plan.Limits != limited.Limits {
				t.Fatalf("a new organization's plan: %+v, %v; want team", got.Plan, err)
			}
			cred := func(n string) error {
				_, err := own.CreateCredential(ctx, credential.Create{OrganizationID: org.ID, Name: n, Kind: credential.Integration, Mode: credential.Test, RoleID: ro.ID})
				return err
			}
			customRole := func(n string) error {
				_, err := own.CreateRole(ctx, role.Create{OrganizationID: org.ID, Name: n})
				return err
			}
			invite := func(address string) error {
				_, err := own.Invite(ctx, membership.Invite{OrganizationID: org.ID, UserEmail: address, RoleID: ro.ID})
				return err
			}
			// The two built-in admin credentials count: one more fits; the
			// owner's membership counts: one more fits.
			if err := cred("third"); err != nil {
				t.Fatal(err)
			}
			if err := invite("a@example.com"); err != nil {
				t.Fatal(err)
			}
			if err := customRole("first"); err != nil {
				t.Fatal(err)
			}
			for _, tt := range []struct {
				name, field, table string
				call               func() error
			}{
				{"a fourth credential", "api_credentials", "provisioning_api_credentials", func() error { return cred("fourth") }},
				{"a second custom role", "roles", "provisioning_roles", func() error { return customRole("second") }},
				{"a third membership", "memberships", "provisioning_memberships", func() error { return invite("b@example.com") }},
				{"a second organization", "organizations", "provisioning_organizations", func() error {
					_, err := own.CreateOrganization(ctx, organization.Create{Name: "Second"})
					return err
				}},
			} {
				rows, versions := e.count(t, tt.table, "1 = 1"), e.count(t, "provisioning_versions", "1 = 1")
				err := tt.call()
				var fe *fault.Error
				if !errors.Is(err, fault.ErrLimitReached) || !errors.As(err, &fe) || fe.Field != tt.field {
					t.Errorf("%s: %v, want ErrLimitReached on %s", tt.name, err, tt.field)
				}
				if e.count(t, tt.table, "1 = 1") != rows || e.count(t, "provisioning_versions", "1 = 1") != versions {
					t.Errorf("%s refused wrote rows or versions", tt.name)
				}
			}
			// The organization's own limit replaces the plan's.
			if _, err := e.p.System().SetSubscription(ctx, org.ID, organization.Subscription{Limits: organization.Limits{Roles: 2}}); err != nil {
				t.Fatal(err)
			}
			if err := customRole("second"); err != nil {
				t.Errorf("a second custom role under the organization's own limit: %v", err)
			}
			if err := cred("fourth"); !errors.Is(err, fault.ErrLimitReached) {
				t.Errorf("a fourth credential: %v, want the plan's limit still", err)
			}
		})
	}
}

// TestSetPlan: the host moves an organization between the catalogue's
// plans; each move is one version, a move to the same plan none, and a
// plan the catalogue lacks is refused, as by SetSubscription.
func TestSetPlan(t *testing.T) {
	ctx := context.Background()
	for name, open := range storagetest.Backends() {
		t.Run(name, func(t *testing.T) {
			e := newEnvOn(t, open(t), provisioning.WithPlans("growth", growthPlan, enterprisePlan))
			owner := e.user(t, "owner@example.com")
			org, _, _ := e.org(t, owner, "Moving")
			if org.Plan.Name != "growth" || len(org.Plan.Features) != 0 || org.Plan.Limits.Memberships != 50 {
				t.Errorf("a new organization's plan: %+v, want the default, growth", org.Plan)
			}
			versions := func() int {
				return e.count(t, "provisioning_versions", "resource_type = 'organizations' AND event = ?", string(audit.Update))
			}
			for _, tt := range []struct {
				give         string
				wantPlan     string
				wantVersions int
			}{{"enterprise", "enterprise", 1}, {"enterprise", "enterprise", 0}, {"", "growth", 1}, {"growth", "growth", 1}} {
				before := versions()
				got, err := e.p.System().SetPlan(ctx, org.ID, tt.give)
				if err != nil {
					t.Fatalf("SetPlan(%q): %v", tt.give, err)
				}
				if got.Plan.Name != tt.wantPlan || got.Subscription.PlanType != tt.give {
					t.Errorf("SetPlan(%q): plan %q, plan type %q; want %q, %q", tt.give, got.Plan.Name, got.Subscription.PlanType, tt.wantPlan, tt.give)
				}
				if n := versions() - before; n != tt.wantVersions {
					t.Errorf("SetPlan(%q) wrote %d versions, want %d", tt.give, n, tt.wantVersions)
				}
			}
			page, err := e.as(owner).ListVersions(ctx, audit.Filter{OrganizationID: org.ID, ResourceType: "organizations", Event: audit.Update})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Items) == 0 || page.Items[0].Changes["subscription_info.plan_type"] != [2]any{nil, "enterprise"} {
				t.Errorf("the first move's version: %+v", page.Items)
			}
			before := versions()
			for _, call := range []func() error{
				func() error { _, err := e.p.System().SetPlan(ctx, org.ID, "platinum"); return err },
				func() error {
					_, err := e.p.System().SetSubscription(ctx, org.ID, organization.Subscription{PlanType: "platinum"})
					return err
				},
			} {
				var ve *fault.ValidationError
				if err := call(); !errors.As(err, &ve) || ve.Fields[0].Field != "plan_type" {
					t.Errorf("a plan outside the catalogue: %v, want invalid plan_type", err)
				}
			}
			if _, err := e.p.System().SetPlan(ctx, "nosuchorg", "enterprise"); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("SetPlan of an unknown organization: %v, want not found", err)
			}
			if versions() != before {
				t.Errorf("refused moves wrote versions")
			}
		})
	}
}

// TestDefaultCatalogue: without WithPlans every organization keeps what it
// could do before plans: every feature, no limit but its subscription's,
// and any plan type as its plan's name.
func TestDefaultCatalogue(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	owner := e.user(t, "owner@example.com")
	org, _, _ := e.org(t, owner, "Free")
	if org.Plan.Name != "" || !slices.Equal(org.Plan.Features, organization.Features()) || org.Plan.Limits != (organization.Limits{}) {
		t.Errorf("plan without a catalogue: %+v, want every feature and no limit", org.Plan)
	}
	got, err := e.p.System().SetPlan(ctx, org.ID, "whatever")
	if err != nil {
		t.Fatal(err)
	}
	if got.Plan.Name != "whatever" || !got.Plan.Has(organization.CustomRoles) {
		t.Errorf("a labelled plan: %+v, want the label and every feature", got.Plan)
	}
	if _, err := e.as(owner).CreateRole(ctx, role.Create{OrganizationID: org.ID, Name: "Custom"}); err != nil {
		t.Errorf("CreateRole without a catalogue: %v", err)
	}
	var ve *fault.ValidationError
	if _, err := e.p.System().SetPlan(ctx, org.ID, "Not A Name"); !errors.As(err, &ve) {
		t.Errorf("SetPlan with a malformed name: %v, want invalid", err)
	}
}

// TestPlanCatalogueValidation: New refuses a catalogue it could not
// follow.
func TestPlanCatalogueValidation(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		name string
		give []provisioning.Option
	}{
		{"no plan", []provisioning.Option{provisioning.WithPlans("growth")}},
		{"default not in the catalogue", []provisioning.Option{provisioning.WithPlans("free", growthPlan)}},
		{"two plans of one name", []provisioning.Option{provisioning.WithPlans("growth", growthPlan, growthPlan)}},
		{"unnamed plan", []provisioning.Option{provisioning.WithPlans("", organization.Plan{})}},
		{"unknown feature", []provisioning.Option{provisioning.WithPlans("x", organization.Plan{Name: "x", Features: []organization.Feature{"teleport"}})}},
		{"feature twice", []provisioning.Option{provisioning.WithPlans("x", organization.Plan{Name: "x",
			Features: []organization.Feature{organization.CustomRoles, organization.CustomRoles}})}},
		{"negative limit", []provisioning.Option{provisioning.WithPlans("x", organization.Plan{Name: "x", Limits: organization.Limits{Roles: -1}})}},
		{"subscription outside the catalogue", []provisioning.Option{provisioning.WithPlans("growth", growthPlan),
			provisioning.WithSubscription(organization.Subscription{PlanType: "enterprise"})}},
	} {
		if _, err := provisioning.New(e.store, tt.give...); err == nil {
			t.Errorf("%s: New accepted it", tt.name)
		}
	}
	if _, err := provisioning.New(e.store, provisioning.WithPlans("growth", growthPlan, enterprisePlan),
		provisioning.WithSubscription(organization.Subscription{PlanType: "enterprise"})); err != nil {
		t.Errorf("a valid catalogue: %v", err)
	}
}

// TestOnlyTheHostSetsPlans: no call a member makes can set a plan or a
// subscription: the session has no such method and an organization's
// update has no such field, so the plan is for the System handle alone.
func TestOnlyTheHostSetsPlans(t *testing.T) {
	for _, tt := range []struct {
		name string
		typ  reflect.Type
		list func(reflect.Type) []string
	}{
		{"Session method", reflect.TypeOf(&provisioning.Session{}), func(tp reflect.Type) []string {
			var out []string
			for i := range tp.NumMethod() {
				out = append(out, tp.Method(i).Name)
			}
			return out
		}},
		{"organization.Update field", reflect.TypeOf(organization.Update{}), func(tp reflect.Type) []string {
			var out []string
			for i := range tp.NumField() {
				out = append(out, tp.Field(i).Name)
			}
			return out
		}},
	} {
		for _, name := range tt.list(tt.typ) {
			if strings.Contains(name, "Plan") || strings.Contains(name, "Subscription") || strings.Contains(name, "Limit") {
				t.Errorf("%s %s would let a member set the plan", tt.name, name)
			}
		}
	}
	sys := reflect.TypeOf(&provisioning.System{})
	for _, name := range []string{"SetPlan", "SetSubscription"} {
		if _, ok := sys.MethodByName(name); !ok {
			t.Errorf("System.%s is missing", name)
		}
	}
}

// TestPlanFeaturesAreCopies: an organization's Plan is a copy: changing its
// features changes neither the catalogue nor another organization's plan.
func TestPlanFeaturesAreCopies(t *testing.T) {
	ctx := context.Background()
	e := newEnvOn(t, storagetest.SQLite(t), provisioning.WithPlans("enterprise", growthPlan, enterprisePlan))
	owner := e.user(t, "owner@example.com")
	org, _, _ := e.org(t, owner, "Copies")
	if len(org.Plan.Features) != 2 {
		t.Fatalf("features %v, want enterprise's two", org.Plan.Features)
	}
	org.Plan.Features[0] = "teleport"
	again, err := e.as(owner).GetOrganization(ctx, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	if again.Plan.Features[0] != organization.CustomRoles {
		t.Errorf("features %v after a caller changed its copy, want the catalogue's", again.Plan.Features)
	}
}
