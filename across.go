package provisioning

import (
	"context"
	"errors"
	"slices"
	"strconv"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/authz"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

// readableOrg is an organization of a list across organizations and the
// caller's rights there (nil for the system principal).
type readableOrg struct {
	id     string
	rights *authz.Rights
}

// scopeList authorizes a list of subject: in organization one as any read
// there; across organizations when one is "", setting *set to the
// organizations where the caller may read subject (see readableIn).
func (s *Session) scopeList(ctx context.Context, op, subject, one string, set *[]string) error {
	if one != "" {
		if _, err := s.authorize(ctx, op, one, subject, role.ActionRead); err != nil {
			return err
		}
		if len(*set) > 0 {
			return errBothScopes(op)
		}
		return nil
	}
	orgs, err := s.readableIn(ctx, op, subject, *set)
	if err != nil {
		return err
	}
	ids := make([]string, len(orgs))
	for i, o := range orgs {
		ids[i] = o.id
	}
	*set = ids
	return nil
}

// errBothScopes refuses a list filter that names its organization and a
// set of organizations.
func errBothScopes(op string) error {
	return fault.InvalidField(op, "organization_ids", "exclusive", "must be empty when organization_id is set")
}

// maxListedOrganizations bounds the organizations a list may name, so that
// its query's IN (...) stays within every backend's limit of parameters.
const maxListedOrganizations = 1000

// readableIn returns, in id order, the organizations of a list of subject
// across organizations: the caller's, narrowed to asked when it names any,
// where the caller may read subject. The system principal gets asked.
func (s *Session) readableIn(ctx context.Context, op, subject string, asked []string) ([]readableOrg, error) {
	if err := s.authenticated(op); err != nil {
		return nil, err
	}
	if len(asked) > maxListedOrganizations {
		return nil, fault.InvalidField(op, "organization_ids", "too_many",
			"names at most "+strconv.Itoa(maxListedOrganizations)+" organizations")
	}
	var p fault.Problems
	for _, id := range asked {
		resource.CheckID(&p, "organization_ids", id)
	}
	if err := p.Err(op); err != nil {
		return nil, err
	}
	asked = slices.Compact(slices.Sorted(slices.Values(asked)))
	if s.pr.Kind == access.KindSystem {
		if len(asked) == 0 {
			return nil, fault.E(op, fault.Forbidden, errors.New("the system belongs to no organization: name the organizations"))
		}
		out := make([]readableOrg, len(asked))
		for i, id := range asked {
			out[i] = readableOrg{id: id}
		}
		return out, nil
	}
	mine, err := s.ownOrganizations(ctx, op)
	if err != nil {
		return nil, err
	}
	var out []readableOrg
	for _, id := range mine {
		if len(asked) > 0 {
			if _, found := slices.BinarySearch(asked, id); !found {
				continue
			}
		}
		rights, err := s.p.authz.Rights(ctx, s.p.b.Access(), s.pr, id)
		switch {
		case fault.KindOf(err) == fault.NotFound:
			continue
		case err != nil:
			return nil, fault.Wrap(op, err)
		}
		switch d := rights.Decide(subject, role.ActionRead); d.Reason {
		case authz.Granted:
			out = append(out, readableOrg{id: id, rights: rights})
		case authz.IPRefused, authz.MFARequired: // the organization's rules refuse the request
			s.refused(ctx, op, id, subject, role.ActionRead, d.Reason)
			return nil, refusal(op, d)
		}
		// Otherwise nothing to read there: the list has none of it.
	}
	return out, nil
}

// ownOrganizations returns, in id order, every organization of the caller
// (see OrganizationIDs).
func (s *Session) ownOrganizations(ctx context.Context, op string) ([]string, error) {
	var ids []string
	after := ""
	for {
		page, err := s.p.b.Access().Organizations(ctx, s.pr, after, resource.MaxPageLimit)
		if err != nil {
			return nil, fault.Wrap(op, err)
		}
		ids = append(ids, page...)
		if len(page) < resource.MaxPageLimit {
			return ids, nil
		}
		after = page[len(page)-1]
	}
}
