package provisioning

import (
	"context"
	"time"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/authz"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

// The host-side questions below are asked by the host application about a
// principal, not by the principal: they are not authorized themselves, and
// their answers (who may do what) are for the host's own decisions, not to
// be shown to anybody unfiltered.

// Check decides whether principal may do act on subject in orgID, as every
// facade call decides it: the organization's policy revision is read at
// each call, so a change committed by any process is seen. subject must be
// registered (built-in subjects, and the host's own through WithSubjects).
// A refusal is a Decision, not an error; its Reason tells why (not a member,
// expired, address refused, second factor required, denied, no grant). An
// organization that does not exist is refused as not_member.
func (p *Provisioner) Check(ctx context.Context, principal Principal, orgID, subject string, act role.Action) (authz.Decision, error) {
	const op = "provisioning.Check"
	if err := p.question(op, principal, subject, act); err != nil {
		return authz.Decision{}, err
	}
	d, err := p.authz.Check(ctx, p.b.Access(), principal, orgID, subject, act)
	if fault.KindOf(err) == fault.NotFound {
		return authz.Decision{Reason: authz.NotMember}, nil
	}
	return d, fault.Wrap(op, err)
}

// Can reports whether principal may do act on subject in orgID (see Check):
// the check for the host's own resources.
func (p *Provisioner) Can(ctx context.Context, principal Principal, orgID, subject string, act role.Action) (bool, error) {
	d, err := p.Check(ctx, principal, orgID, subject, act)
	return d.Allowed, err
}

// Explain answers as Check and says why: the membership, profile,
// application membership, role, permission and Casbin policy line that gave
// or refused the answer. It builds a Casbin enforcer for the organization:
// for audits and support, not for every request.
func (p *Provisioner) Explain(ctx context.Context, principal Principal, orgID, subject string, act role.Action) (authz.Explanation, error) {
	const op = "provisioning.Explain"
	if err := p.question(op, principal, subject, act); err != nil {
		return authz.Explanation{}, err
	}
	ex, err := p.authz.Explain(ctx, p.b.Access(), principal, orgID, subject, act)
	if fault.KindOf(err) == fault.NotFound { // as Check: refused as not_member
		return authz.Explanation{Decision: authz.Decision{Reason: authz.NotMember}}, nil
	}
	return ex, fault.Wrap(op, err)
}

// OrganizationsWhere lists, a page at a time in id order, the ids of the
// organizations where principal may do act on subject, each decided as Check
// decides it (with the principal's request facts).
func (p *Provisioner) OrganizationsWhere(ctx context.Context, principal Principal, subject string, act role.Action, page resource.PageRequest) (resource.Page[string], error) {
	const op = "provisioning.OrganizationsWhere"
	if err := p.question(op, principal, subject, act); err != nil {
		return resource.Page[string]{}, err
	}
	out, err := p.authz.Organizations(ctx, p.b.Access(), principal, subject, act, page)
	return out, fault.Wrap(op, err)
}

// MembersWho lists, a page at a time in id order, the ids of the users with
// an active membership in orgID who may do act on subject by policy (an
// allowlist or a second factor may still refuse a given call of theirs;
// expired members are left out).
// It answers for the whole organization, whoever asks: a trusted call.
func (y *System) MembersWho(ctx context.Context, orgID, subject string, act role.Action, page resource.PageRequest) (resource.Page[string], error) {
	const op = "provisioning.MembersWho"
	p := y.s.p
	if err := p.askable(op, subject, act); err != nil {
		return resource.Page[string]{}, err
	}
	out, err := p.authz.Members(ctx, p.b.Access(), orgID, subject, act, page)
	return out, fault.Wrap(op, err)
}

// WatchPolicy keeps this Provisioner's policy cache fresh early, until ctx
// ends: on PostgreSQL it listens for the notifications every policy change
// sends on commit; elsewhere it polls the revisions of the cached
// organizations every interval (zero means authz.DefaultPollInterval).
// Correctness never depends on it (each call compares the revision); it only
// saves the first call after another process's change the cost of the
// rebuild. provisioningfx runs it for the application's lifetime.
func (p *Provisioner) WatchPolicy(ctx context.Context, interval time.Duration) {
	p.authz.Watch(ctx, p.b.Access(), interval)
}

// question checks what a host-side question asks.
func (p *Provisioner) question(op string, principal Principal, subject string, act role.Action) error {
	switch {
	case principal.Kind == access.KindSystem:
		return fault.InvalidField(op, "principal", "format", "the system principal holds no membership")
	case principal.Kind != access.KindUser && principal.Kind != access.KindCredential, !resource.ValidID(principal.ID):
		return fault.E(op, fault.Unauthenticated, nil)
	}
	return p.askable(op, subject, act)
}

// askable checks that a question names a known action on a registered
// subject.
func (p *Provisioner) askable(op, subject string, act role.Action) error {
	switch {
	case !act.Valid():
		return fault.InvalidField(op, "action", "enum", "must be create, read, update or destroy")
	case !p.subjects.Has(subject):
		return fault.InvalidField(op, "subject", "enum", "is not a registered subject")
	}
	return nil
}
