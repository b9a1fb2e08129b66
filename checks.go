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
	if err := p.asked(op, subject, act); err != nil {
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
	return p.asked(op, subject, act)
}

// asked checks what a question asks: one of the four actions on a
// registered subject.
func (p *Provisioner) asked(op, subject string, act role.Action) error {
	_, err := p.askedSubject(op, subject, act)
	return err
}

// askedSubject is asked that also returns the subject as the authorizer
// indexes it.
func (p *Provisioner) askedSubject(op, subject string, act role.Action) (authz.Subject, error) {
	if !act.Valid() {
		return authz.Subject{}, fault.InvalidField(op, "action", "enum", "must be create, read, update or destroy")
	}
	obj, ok := p.objects[subject]
	if !ok {
		return authz.Subject{}, fault.InvalidField(op, "subject", "enum", "is not a registered subject")
	}
	return obj, nil
}

// Checker answers many questions of a session's principal in one
// organization at one policy revision, read once, where each Session.Can
// reads it again: for a request that asks many (which of the host's
// resources to show, which actions to offer). Its answers are those
// Session.Can gives at that revision. It sees what was committed before it
// was made, and nothing committed after (a revocation is seen by the next
// Checker): make one per request, never keep one across requests. It is
// safe for concurrent use.
type Checker struct {
	s     *Session
	orgID string
	// rights are the principal's at the revision read; nil for the system
	// principal and for an organization that does not exist.
	rights  *authz.Rights
	missing bool // the organization does not exist: every answer is false
}

// Can reports whether the session's principal may act on subject in orgID:
// the check host applications use for their own resources (register their
// subjects with WithSubjects). A principal without an active membership
// gets false, not an error.
func (s *Session) Can(ctx context.Context, orgID, subject string, act role.Action) (bool, error) {
	const op = "provisioning.Can"
	if err := s.p.asked(op, subject, act); err != nil {
		return false, err
	}
	_, err := s.authorize(ctx, op, orgID, subject, act)
	switch fault.KindOf(err) {
	case fault.NotFound, fault.Forbidden:
		return false, nil
	}
	return err == nil, err
}

// Checker reads orgID's policy revision (and, when it changed, its policy)
// once and returns the Checker that answers from it. An organization that
// does not exist gives a Checker whose answers are all false, as
// Session.Can's are; a blank organization id is invalid.
func (s *Session) Checker(ctx context.Context, orgID string) (*Checker, error) {
	const op = "provisioning.Checker"
	if err := s.authenticated(op); err != nil {
		return nil, err
	}
	c := &Checker{s: s, orgID: orgID}
	var err error
	if s.pr.Kind == access.KindSystem {
		_, err = s.p.b.Access().Revision(ctx, orgID)
	} else {
		c.rights, err = s.p.authz.Rights(ctx, s.p.b.Access(), s.pr, orgID)
	}
	switch {
	case fault.KindOf(err) == fault.NotFound:
		c.missing = true
	case err != nil:
		return nil, fault.Wrap(op, err)
	}
	return c, nil
}

// Can reports whether the principal may act on subject, as Session.Can
// does at the Checker's revision: false, not an error, for a principal
// without an active membership; fault.ErrIPRefused and
// fault.ErrMFARequired when the request's facts refuse it. A refusal is
// recorded as a security event, on ctx.
func (c *Checker) Can(ctx context.Context, subject string, act role.Action) (bool, error) {
	const op = "provisioning.Checker.Can"
	obj, err := c.s.p.askedSubject(op, subject, act)
	if err != nil {
		return false, err
	}
	switch {
	case c.missing && c.s.pr.Kind == access.KindSystem:
		return false, nil
	case c.missing:
		c.s.refused(ctx, op, c.orgID, subject, act, "no_such_organization")
		return false, nil
	case c.rights == nil: // the system principal
		return true, nil
	}
	d := c.rights.DecideSubject(obj, act)
	if d.Allowed {
		return true, nil
	}
	err = refusal(op, d)
	if err != nil {
		c.s.refused(ctx, op, c.orgID, subject, act, d.Reason)
	}
	switch fault.KindOf(err) {
	case fault.NotFound, fault.Forbidden:
		return false, nil
	}
	return err == nil, err
}

// askedAll validates each of asks as asked does.
func (p *Provisioner) askedAll(op string, asks []access.Grant) error {
	for _, g := range asks {
		if err := p.asked(op, g.Subject, role.Action(g.Action)); err != nil {
			return err
		}
	}
	return nil
}

// MembersCan answers, for each of userIDs and each of asks (a subject and
// one of the four actions each), whether the user's active membership in
// orgID allows it by policy: roles, direct permissions, profile, guest
// rules and denials, at one policy revision, as System.MembersWho decides.
// The request facts of the users' own calls are not asked (an allowed
// address, a second factor that a membership requires may still refuse a
// call of theirs). It is what a member's answer shows as the member's
// rights (Rebilly's acl), so it needs the right to read the organization's
// memberships, whose roles and permissions are readable there too. A user
// without an active membership gets false for every ask; an ask of an
// unregistered subject or of another action is invalid.
func (s *Session) MembersCan(ctx context.Context, orgID string, userIDs []string, asks []access.Grant) ([][]bool, error) {
	const op = "provisioning.MembersCan"
	if _, err := s.authorize(ctx, op, orgID, typeMemberships, role.ActionRead); err != nil {
		return nil, err
	}
	if err := s.p.askedAll(op, asks); err != nil {
		return nil, err
	}
	out, err := s.p.authz.MembersAllow(ctx, s.p.b.Access(), orgID, userIDs, asks)
	return out, fault.Wrap(op, err)
}

// RolesCan answers, for each of roleIDs and each of asks (a subject and one
// of the four actions each), whether the role of orgID allows it by its own
// lines: an admin role everything, a read_only role every read, a custom
// role its permissions, at one policy revision (Rebilly's acl of a role).
// What a member holding it may do also depends on the member's other rules
// (see MembersCan). It needs the right to read the organization's roles and
// permissions. A role the organization does not have gets false for every
// ask; an ask of an unregistered subject or of another action is invalid.
func (s *Session) RolesCan(ctx context.Context, orgID string, roleIDs []string, asks []access.Grant) ([][]bool, error) {
	const op = "provisioning.RolesCan"
	for _, subject := range []string{typeRoles, typePermissions} {
		if _, err := s.authorize(ctx, op, orgID, subject, role.ActionRead); err != nil {
			return nil, err
		}
	}
	if err := s.p.askedAll(op, asks); err != nil {
		return nil, err
	}
	out, err := s.p.authz.RolesAllow(ctx, s.p.b.Access(), orgID, roleIDs, asks)
	return out, fault.Wrap(op, err)
}
