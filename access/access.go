// Package access holds the vocabulary of authorization shared by the domain,
// storage and authz packages: access scopes, principals, and the snapshot of
// one organization's policy that storage reads and authz turns into Casbin
// policy lines.
package access

import (
	"context"
	"net/netip"

	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

// Scope is the access scope of a membership or profile: which mode (live,
// test) of the organization's data a member works with.
type Scope string

// The scopes. The zero Scope means "not set" (null on the wire).
const (
	LiveAccess Scope = "live_access"
	TestAccess Scope = "test_access"
	AllAccess  Scope = "all_access"
)

// Valid reports whether s is one of the three scopes.
func (s Scope) Valid() bool { return s == LiveAccess || s == TestAccess || s == AllAccess }

// TestEnabled reports whether the scope reaches test data.
func (s Scope) TestEnabled() bool { return s == TestAccess || s == AllAccess }

// Effective returns the scope that applies: the profile's when the member has
// a profile (it wins), else the member's own, else LiveAccess.
func Effective(own, profile Scope) Scope {
	switch {
	case profile != "":
		return profile
	case own != "":
		return own
	}
	return LiveAccess
}

// PrincipalKind tells what a principal is.
type PrincipalKind string

// The kinds of principal.
const (
	KindUser       PrincipalKind = "user"
	KindCredential PrincipalKind = "credential"
	KindSystem     PrincipalKind = "system"
)

// Principal is who makes a call, with the facts of the request that rules use.
type Principal struct {
	Kind PrincipalKind
	ID   string
	// IP is the client address of the request, when known.
	IP netip.Addr
	// MFA reports that the principal authenticated with a second factor.
	MFA bool
}

// User returns the principal of a user.
func User(id string) Principal { return Principal{Kind: KindUser, ID: id} }

// Subject returns the Casbin subject of the principal: a typed, namespaced
// id; "" when the id is not of the shape of an id.
func (p Principal) Subject() string {
	switch {
	case !resource.ValidID(p.ID):
		return ""
	case p.Kind == KindUser:
		return "user:" + p.ID
	case p.Kind == KindCredential:
		return "cred:" + p.ID
	}
	return ""
}

// Snapshot is the part of one organization's data that decides who may do
// what there. Storage reads it in one transaction; its Revision changes (to a
// fresh random token) in the same transaction as any change to it.
type Snapshot struct {
	OrganizationID string
	Revision       string
	OwnerUserID    string
	Roles          []RoleGrant
	Permissions    []role.Permission
	Members        []Member
}

// RoleGrant is a role as the policy sees it.
type RoleGrant struct {
	ID   string
	Kind role.Kind
}

// Member is an active membership as the policy sees it.
type Member struct {
	UserID string
	RoleID string
}

// Store reads policy snapshots. It is implemented by storage and consumed by authz.
type Store interface {
	// Revision returns the organization's current policy revision, or
	// fault.ErrNotFound when the organization does not exist.
	Revision(ctx context.Context, orgID string) (string, error)
	// Snapshot returns the organization's policy, with its revision.
	Snapshot(ctx context.Context, orgID string) (*Snapshot, error)
}
