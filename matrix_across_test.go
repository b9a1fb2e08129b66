package provisioning_test

import (
	"errors"
	"fmt"
	"slices"

	"github.com/provisionkit/provisioning/appmembership"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/idp"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/profile"
	"github.com/provisionkit/provisioning/role"
)

// acrossRules are the rows of the lists across organizations: each list
// is called without an organization, over the target's organization alone
// (OrganizationIDs), and must answer what that organization's own list
// answers the same caller: the same items; none, and no error, where the
// caller may not read there (another organization, an id of nothing, no
// right, no standing); the refusal of its request rules (a foreign
// address, a missing second factor), which fail the whole list.
func acrossRules() []matrixRule {
	row := func(op, subject string, list func(c *matrixCall, one string, set []string) ([]string, error)) matrixRule {
		return matrixRule{op: op + "/across_organizations", scope: across, need: need(subject, rRead), call: func(c *matrixCall) error {
			return acrossAsOwnList(c, list)
		}}
	}
	return []matrixRule{
		row("Session.ListMemberships", "memberships", func(c *matrixCall, one string, set []string) ([]string, error) {
			p, err := c.s.ListMemberships(c.ctx, membership.Filter{OrganizationID: one, OrganizationIDs: set})
			return idList(p.Items, func(m membership.Membership) string { return m.ID }), err
		}),
		row("Session.ListProfiles", "membership_profiles", func(c *matrixCall, one string, set []string) ([]string, error) {
			p, err := c.s.ListProfiles(c.ctx, profile.Filter{OrganizationID: one, OrganizationIDs: set})
			return idList(p.Items, func(p profile.Profile) string { return p.ID }), err
		}),
		row("Session.ListRoles", "roles", func(c *matrixCall, one string, set []string) ([]string, error) {
			p, err := c.s.ListRoles(c.ctx, role.Filter{OrganizationID: one, OrganizationIDs: set})
			return idList(p.Items, func(r role.Role) string { return r.ID }), err
		}),
		row("Session.ListPermissions", "permissions", func(c *matrixCall, one string, set []string) ([]string, error) {
			p, err := c.s.ListPermissions(c.ctx, role.PermissionFilter{OrganizationID: one, OrganizationIDs: set})
			return idList(p.Items, func(p role.Permission) string { return p.ID }), err
		}),
		row("Session.ListCredentials", "api_credentials", func(c *matrixCall, one string, set []string) ([]string, error) {
			p, err := c.s.ListCredentials(c.ctx, credential.Filter{OrganizationID: one, OrganizationIDs: set})
			return idList(p.Items, func(c credential.Credential) string { return c.ID }), err
		}),
		row("Session.ListAppMemberships", "application_memberships", func(c *matrixCall, one string, set []string) ([]string, error) {
			p, err := c.s.ListAppMemberships(c.ctx, appmembership.Filter{OrganizationID: one, OrganizationIDs: set})
			return idList(p.Items, func(a appmembership.AppMembership) string { return a.ID }), err
		}),
		row("Session.ListIdentityProviders", "identity_providers", func(c *matrixCall, one string, set []string) ([]string, error) {
			p, err := c.s.ListIdentityProviders(c.ctx, idp.Filter{OrganizationID: one, OrganizationIDs: set})
			return idList(p.Items, func(p idp.Provider) string { return p.ID }), err
		}),
		row("Session.ListVersions", "versions", func(c *matrixCall, one string, set []string) ([]string, error) {
			p, err := c.s.ListVersions(c.ctx, audit.Filter{OrganizationID: one, OrganizationIDs: set})
			return idList(p.Items, func(v audit.Version) string { return v.ID }), err
		}),
	}
}

// acrossAsOwnList lists across the target's organization alone and holds
// the answer to that organization's own list (see acrossRules): it returns
// the list's error, or an internal one when the two answers differ.
func acrossAsOwnList(c *matrixCall, list func(c *matrixCall, one string, set []string) ([]string, error)) error {
	got, err := list(c, "", []string{c.org()})
	if err != nil {
		return err
	}
	want, err := list(c, c.org(), nil)
	switch {
	case errors.Is(err, fault.ErrIPRefused), errors.Is(err, fault.ErrMFARequired):
		return fault.E("matrix", fault.Internal, fmt.Errorf("across organizations answered where the organization's own list is refused: %w", err))
	case fault.KindOf(err) == fault.NotFound, fault.KindOf(err) == fault.Forbidden:
		want = []string{} // nothing to read there
	case err != nil:
		return err
	}
	if !slices.Equal(got, want) {
		return fault.E("matrix", fault.Internal, fmt.Errorf("across organizations %v, the organization's own list %v", got, want))
	}
	return nil
}

func idList[T any](items []T, id func(T) string) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, id(it))
	}
	return out
}
