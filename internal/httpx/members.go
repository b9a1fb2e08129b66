package httpx

import (
	"context"
	"strings"
	"time"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
)

// The parts of a membership's answer the Rebilly and ECI documents share.

// Organization reads an organization for a response, nil when the caller
// may not read it (the write it follows succeeded all the same).
func Organization(ctx context.Context, s *provisioning.Session, id string) (*organization.Organization, error) {
	org, err := s.GetOrganization(ctx, id)
	if fault.KindOf(err) == fault.Forbidden {
		return nil, nil
	}
	return org, err
}

// FullName is the member's first and last names.
func FullName(m *membership.Membership) string {
	return strings.TrimSpace(m.UserFirstName + " " + m.UserLastName)
}

// RoleIDs returns every role of m, the primary one first.
func RoleIDs(m *membership.Membership) []string {
	if len(m.RoleIDs) == 0 && m.RoleID != "" {
		return []string{m.RoleID}
	}
	return append([]string{}, m.RoleIDs...)
}

// TimeString is a time in RFC 3339, UTC; nil for the zero time.
func TimeString(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}
