package provisioning

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

// Plans: the host's catalogue (WithPlans) says what each plan grants and
// limits; an organization's Subscription names its plan. The gates are
// here, in the facade, so that every protocol over it (JSON:API, Rebilly,
// ECI) refuses alike.

// checkPlans validates the catalogue of WithPlans and the plan type of
// WithSubscription against it.
func (p *Provisioner) checkPlans() error {
	if p.plans == nil {
		p.defaultPlan = organization.DefaultPlan()
		return nil
	}
	if len(p.catalogue) == 0 {
		return errors.New("provisioning: WithPlans: the catalogue has no plan")
	}
	if len(p.plans) != len(p.catalogue) {
		return errors.New("provisioning: WithPlans: two plans have the same name")
	}
	for _, pl := range p.catalogue {
		if err := pl.Validate(); err != nil {
			return fmt.Errorf("provisioning: WithPlans: plan %q: %w", pl.Name, err)
		}
	}
	def, ok := p.plans[p.defaultPlan.Name]
	if !ok {
		return fmt.Errorf("provisioning: WithPlans: the default plan %q is not in the catalogue", p.defaultPlan.Name)
	}
	p.defaultPlan = def
	if err := p.knownPlan("", "plan_type", p.plan.PlanType); err != nil {
		return fmt.Errorf("provisioning: WithSubscription: %w", err)
	}
	return nil
}

// knownPlan refuses a plan type that names no plan of the host's catalogue;
// "" (the default plan) is always known, and without a catalogue any plan
// type is a label.
func (p *Provisioner) knownPlan(op, field, name string) error {
	if name == "" || p.plans == nil {
		return nil
	}
	if _, ok := p.plans[name]; !ok {
		return fault.InvalidField(op, field, "enum", "must name a plan of the catalogue")
	}
	return nil
}

// planOf returns the plan in force for a subscription: the catalogue's plan
// it names, else the default plan, with the subscription's own limits in
// place of the plan's. Its Features are the catalogue's, read only here
// (described hands out a copy): the gates and limits on every write read
// the plan without copying it.
func (p *Provisioner) planOf(sub organization.Subscription) organization.Plan {
	pl, ok := p.plans[sub.PlanType]
	if !ok {
		pl = p.defaultPlan
		if p.plans == nil {
			pl.Name = sub.PlanType // a label: every organization is on the default plan
		}
	}
	pl.Limits = pl.Limits.Over(sub.Limits)
	return pl
}

// described returns o with its plan in force.
func (p *Provisioner) described(o *organization.Organization) *organization.Organization {
	if o != nil {
		o.Plan = p.planOf(o.Subscription)
		o.Plan.Features = slices.Clone(o.Plan.Features) // the catalogue's stays the catalogue's
	}
	return o
}

// requireFeature refuses a call that needs a feature the organization's
// plan does not grant, with fault.ErrPlanRestricted, and records the
// refusal as a security event (the call writes nothing). The caller holds
// the organization's row lock, so the plan cannot change before it commits.
func (s *Session) requireFeature(ctx context.Context, op string, org *organization.Organization, subject string, f organization.Feature) error {
	pl := s.p.planOf(org.Subscription)
	if pl.Has(f) {
		return nil
	}
	s.securityEvent(ctx, audit.SecurityEvent{Kind: audit.AuthorizationRefused, OrganizationID: org.ID, Operation: op,
		Subject: subject, Reason: "plan", Detail: string(f) + " is not granted by the plan " + strconv.Quote(pl.Name)})
	return &fault.Error{Op: op, Kind: fault.Forbidden, Err: fmt.Errorf("%w: %s", fault.ErrPlanRestricted, f)}
}

// withinLimit refuses one more of field (ErrLimitReached) when the
// organization already holds limit of them (0: no limit); count counts
// them under the organization's row lock, which the caller holds, so that
// concurrent calls count one at a time.
func withinLimit(ctx context.Context, op, field string, limit int, count func(context.Context) (int, error)) error {
	if limit <= 0 {
		return nil
	}
	n, err := count(ctx)
	if err != nil {
		return fault.Wrap(op, err)
	}
	if n >= limit {
		return &fault.Error{Op: op, Kind: fault.Conflict, Field: field, Err: fault.ErrLimitReached}
	}
	return nil
}

// countOnly is the page request of a count.
var countOnly = resource.PageRequest{Limit: 1, Count: true}

// withinRoleLimit refuses a custom role past the plan's roles limit.
func (s *Session) withinRoleLimit(ctx context.Context, op string, org *organization.Organization) error {
	return withinLimit(ctx, op, "roles", s.p.planOf(org.Subscription).Limits.Roles, func(ctx context.Context) (int, error) {
		page, err := s.p.b.Roles().ListRoles(ctx, role.Filter{OrganizationID: org.ID, Kind: role.KindCustom, PageRequest: countOnly})
		return page.Total, err
	})
}

// withinCredentialLimit refuses an API credential past the plan's
// api_credentials limit.
func (s *Session) withinCredentialLimit(ctx context.Context, op string, org *organization.Organization) error {
	return withinLimit(ctx, op, "api_credentials", s.p.planOf(org.Subscription).Limits.APICredentials, func(ctx context.Context) (int, error) {
		page, err := s.p.b.Credentials().List(ctx, credential.Filter{OrganizationID: org.ID, PageRequest: countOnly})
		return page.Total, err
	})
}

// SetPlan moves an organization to another plan of the host's catalogue
// (WithPlans), by name; "" puts it on the default plan. The limits its
// Subscription sets stay (System.SetSubscription changes them). Only the
// host does this: members read the plan (Organization.Plan) and never set
// it. What the organization already holds past the new plan stays; the
// plan refuses only what would add more or use a feature it lacks.
func (y *System) SetPlan(ctx context.Context, orgID, name string) (*organization.Organization, error) {
	const op = "provisioning.SetPlan"
	if name != "" {
		if err := (organization.Subscription{PlanType: name}).Validate(); err != nil {
			return nil, err
		}
	}
	if err := y.s.p.knownPlan(op, "plan_type", name); err != nil {
		return nil, err
	}
	return y.changeSubscription(ctx, op, orgID, func(o *organization.Subscription, ch resource.Changes) {
		resource.SetField(ch, "subscription_info.plan_type", &o.PlanType, &name)
	})
}

// changeSubscription changes an organization's subscription with set (which
// records in ch what it changes) under the organization's row lock: a
// change writes the organization and its version, none writes nothing. It
// returns the organization with its totals and plan.
func (y *System) changeSubscription(ctx context.Context, op, orgID string, set func(*organization.Subscription, resource.Changes)) (*organization.Organization, error) {
	var out *organization.Organization
	err := y.s.tx(ctx, func(ctx context.Context) error {
		o, err := y.s.p.b.Organizations().Lock(ctx, orgID)
		if err != nil {
			return fault.Wrap(op, err)
		}
		out = o
		ch := resource.Changes{}
		set(&o.Subscription, ch)
		if len(ch) == 0 {
			return nil
		}
		o.UpdatedAt = y.s.now()
		if err := y.s.p.b.Organizations().Update(ctx, o); err != nil {
			return fault.Wrap(op, err)
		}
		return y.s.record(ctx, o.ID, typeOrganizations, o.ID, audit.Update, ch)
	})
	if err != nil {
		return nil, err
	}
	return out, fault.Wrap(op, y.s.countTotals(ctx, out))
}
