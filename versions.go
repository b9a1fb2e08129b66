package provisioning

import (
	"context"

	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

// ListVersions lists an organization's audit trail, by id (time order), for
// those allowed to read versions (admin and read_only roles, or a custom
// role with read on "versions").
// With OrganizationID empty, it lists across the caller's organizations
// (see Lists in the package documentation).
func (s *Session) ListVersions(ctx context.Context, f audit.Filter) (resource.Page[audit.Version], error) {
	const op = "provisioning.ListVersions"
	if err := s.scopeList(ctx, op, typeVersions, f.OrganizationID, &f.OrganizationIDs); err != nil {
		return resource.Page[audit.Version]{}, err
	}
	if err := f.Validate(); err != nil {
		return resource.Page[audit.Version]{}, err
	}
	page, err := s.p.b.Versions().List(ctx, f)
	return page, fault.Wrap(op, err)
}

// GetVersion returns one version of an organization's audit trail.
func (s *Session) GetVersion(ctx context.Context, id string) (*audit.Version, error) {
	const op = "provisioning.GetVersion"
	v, err := preRead(ctx, s, op, func(ctx context.Context) (*audit.Version, error) { return s.p.b.Versions().Get(ctx, id) })
	if err != nil {
		return nil, err
	}
	if v.OrganizationID == "" {
		return nil, fault.E(op, fault.NotFound, nil)
	}
	if _, err := s.authorize(ctx, op, v.OrganizationID, typeVersions, role.ActionRead); err != nil {
		return nil, err
	}
	return v, nil
}
