package authz

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

// Members lists, a page at a time in ascending id order, the users with an
// active membership in orgID who may do act on subject by policy. The
// request facts of each user's future calls are unknown here: a member whose
// rights need an allowed address or a second factor is listed (a call of
// theirs may still be refused for those), an expired one is not. The cursor
// is the page's Next.
func (a *Authorizer) Members(ctx context.Context, src access.Store, orgID, subject string, act role.Action, page resource.PageRequest) (resource.Page[string], error) {
	const op = "authz.Members"
	if err := errors.Join(checkOrg(orgID), checkAsk(subject, act)); err != nil {
		return resource.Page[string]{}, fault.Wrap(op, err)
	}
	after, err := page.AfterID()
	if err != nil {
		return resource.Page[string]{}, fault.Wrap(op, err)
	}
	sh, err := a.shard(ctx, src, orgID)
	if err != nil {
		return resource.Page[string]{}, fault.Wrap(op, err)
	}
	users := sh.users()
	start, _ := slices.BinarySearchFunc(users, after, func(r row, id string) int { return strings.Compare(r.id(), id) })
	if start < len(users) && users[start].id() == after {
		start++
	}
	size, bit := page.Size(), bitOf(string(act))
	o, known := objectOf(subject)
	var out []string
	for _, r := range users[start:] {
		if len(out) > size {
			break
		}
		if !r.has(rowMember) || sh.principal(keyUser, r.id()).expired(a.now) {
			continue
		}
		if r.verdict(o, known, bit) == Granted {
			out = append(out, r.id())
		}
	}
	return resource.NewPage(out, size, func(id string) string { return id }), nil
}

// MembersAllow answers, for each of userIDs and each of asks, whether the
// user's active membership in orgID allows it by policy, as Members decides
// (roles, direct permissions, profile, guest rules, denials; an expired
// membership allows nothing), all at one policy revision. The request facts
// of the users' future calls are unknown here: an allowed address or a
// second factor that a membership requires is not asked. A user without an
// active membership, a malformed id and an ask of a malformed subject or an
// unknown action get false.
func (a *Authorizer) MembersAllow(ctx context.Context, src access.Store, orgID string, userIDs []string, asks []access.Grant) ([][]bool, error) {
	return a.allow(ctx, src, "authz.MembersAllow", orgID, userIDs, asks, func(sh *shard, id string) func(uint32, bool, mask) Reason {
		pr := sh.principal(keyUser, id)
		if pr.row == "" || !pr.row.has(rowMember) || pr.expired(a.now) {
			return nil
		}
		return pr.row.verdict
	})
}

// RolesAllow answers, for each of roleIDs and each of asks, whether the
// role of orgID allows it by its own lines (an admin role everything, a
// read_only role every read, a custom role its permissions), at one policy
// revision: what the role gives whoever holds it, before the rules of the
// holder (the reads every member has, a guest's denials). A role the
// organization does not have, and an ask of a malformed subject or an
// unknown action, get false.
func (a *Authorizer) RolesAllow(ctx context.Context, src access.Store, orgID string, roleIDs []string, asks []access.Grant) ([][]bool, error) {
	return a.allow(ctx, src, "authz.RolesAllow", orgID, roleIDs, asks, func(sh *shard, id string) func(uint32, bool, mask) Reason {
		if g := sh.role(id); g != nil {
			return g.verdict
		}
		return nil
	})
}

// allow answers asks for each of ids of orgID's policy, with the verdict
// of each id that lines returns (nil: every answer false).
func (a *Authorizer) allow(ctx context.Context, src access.Store, op, orgID string, ids []string, asks []access.Grant,
	lines func(sh *shard, id string) func(obj uint32, known bool, bit mask) Reason) ([][]bool, error) {
	if err := checkOrg(orgID); err != nil {
		return nil, fault.Wrap(op, err)
	}
	sh, err := a.shard(ctx, src, orgID)
	if err != nil {
		return nil, fault.Wrap(op, err)
	}
	type question struct {
		o     uint32
		known bool
		bit   mask
		ok    bool
	}
	qs := make([]question, len(asks))
	for i, g := range asks {
		o, known := objectOf(g.Subject)
		bit := bitOf(g.Action)
		qs[i] = question{o, known, bit, role.ValidSubject(g.Subject) && bit != 0 && bit != anyAction}
	}
	out := make([][]bool, len(ids))
	for i, id := range ids {
		out[i] = make([]bool, len(asks))
		verdict := lines(sh, id)
		if verdict == nil {
			continue
		}
		for j, q := range qs {
			out[i][j] = q.ok && verdict(q.o, q.known, q.bit) == Granted
		}
	}
	return out, nil
}

// Organizations lists, a page at a time in ascending id order, the
// organizations where principal p may do act on subject, each decided as
// Check decides it (with p's request facts). The cursor is the page's Next.
func (a *Authorizer) Organizations(ctx context.Context, src access.Store, p access.Principal, subject string, act role.Action, page resource.PageRequest) (resource.Page[string], error) {
	const op = "authz.Organizations"
	if err := errors.Join(checkWho(p), checkAsk(subject, act)); err != nil {
		return resource.Page[string]{}, fault.Wrap(op, err)
	}
	after, err := page.AfterID()
	if err != nil {
		return resource.Page[string]{}, fault.Wrap(op, err)
	}
	size := page.Size()
	var out []string
	for len(out) <= size {
		ids, err := src.Organizations(ctx, p, after, resource.MaxPageLimit)
		if err != nil {
			return resource.Page[string]{}, fault.Wrap(op, err)
		}
		for _, id := range ids {
			sh, err := a.shard(ctx, src, id)
			if fault.KindOf(err) == fault.NotFound {
				continue
			}
			if err != nil {
				return resource.Page[string]{}, fault.Wrap(op, err)
			}
			if sh.decide(p, subject, bitOf(string(act)), a.now).Allowed {
				out = append(out, id)
				if len(out) > size {
					break
				}
			}
		}
		if len(ids) < resource.MaxPageLimit {
			break
		}
		after = ids[len(ids)-1]
	}
	return resource.NewPage(out, size, func(id string) string { return id }), nil
}
