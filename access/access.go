// Package access holds the vocabulary of authorization shared by the domain,
// storage and authz packages: access scopes, principals, and the snapshot of
// one organization's policy that storage reads and authz turns into Casbin
// policy lines.
package access

import (
	"context"
	"net/netip"
	"time"

	"github.com/provisionkit/provisioning/internal/revmemo"
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
	// App is, for a user working through an application (an API credential
	// of the organization, such as a Dashboard app), the credential's id:
	// the user's rights are then those of their application memberships for
	// that application, not those of their membership's roles.
	App string
	// IP is the client address of the request, when known.
	IP netip.Addr
	// MFA reports that the principal authenticated with a second factor.
	MFA bool
	// SecretID is, for an API credential that authenticated with its client
	// secret, the id of that secret: a bearer token issued for the principal
	// remembers it and ends when the secret does (a rotation's overlap).
	// Rules do not read it; "" when the principal did not come from a login.
	SecretID string
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
	// MFARequired requires every member to authenticate with a second factor.
	MFARequired    bool
	Roles          []RoleGrant
	Permissions    []role.Permission
	Members        []Member
	Credentials    []Credential
	AppMemberships []AppMembership
}

// RoleGrant is a role as the policy sees it.
type RoleGrant struct {
	ID   string
	Kind role.Kind
}

// Member is an active membership as the policy sees it.
type Member struct {
	// MembershipID names the membership (for explanations); may be empty.
	MembershipID string
	UserID       string
	// RoleIDs are the membership's roles, the primary one first; its rights
	// are their union.
	RoleIDs []string
	// ProfileID is the membership profile, whose application memberships
	// the member inherits; empty for none.
	ProfileID string
	// Grants are direct permissions on top of the roles; "*" as subject or
	// action means any.
	Grants []Grant
	// Guest members never manage the organization (see role.GuestDeniedSubjects).
	Guest bool
	// ExpiresAt, when not zero, ends the membership's rights.
	ExpiresAt time.Time
	// MFARequired requires this member to authenticate with a second factor.
	MFARequired bool
	// MFADisabled: the host turned the user's second factor off, which
	// exempts the member from the organization's requirement and its own.
	MFADisabled bool
	// AllowedIPs, when not nil, lists the only networks calls may come from.
	AllowedIPs []netip.Prefix
}

// EffectiveMFA is the second-factor rule: a member must authenticate with
// a second factor when the organization or the membership requires it,
// unless the host turned the user's second factor off.
func EffectiveMFA(orgRequired, memberRequired, userDisabled bool) bool {
	return (orgRequired || memberRequired) && !userDisabled
}

// Grant is one direct permission: an action on a subject, "*" meaning any.
type Grant struct {
	Subject string
	Action  string
}

// Credential is an API credential as the policy sees it: a machine principal
// with at most one role, and an application users may be given access to.
type Credential struct {
	ID string
	// RoleID is the credential's own role; empty for kinds without one.
	RoleID string
	// ExpiresAt, when not zero, ends the credential's rights.
	ExpiresAt time.Time
	// AllowedIPs, when not nil, lists the only networks calls may come from.
	AllowedIPs []netip.Prefix
}

// AppMembership gives a member, or every member of a profile, a role inside
// one application (credential). Exactly one of UserID and ProfileID is set.
type AppMembership struct {
	ID           string
	CredentialID string
	RoleID       string
	UserID       string
	ProfileID    string
}

// Store reads policy snapshots. It is implemented by storage and consumed by authz.
type Store interface {
	// Revision returns the organization's current policy revision, or
	// fault.ErrNotFound when the organization does not exist.
	Revision(ctx context.Context, orgID string) (string, error)
	// Snapshot returns the organization's policy, with its revision.
	Snapshot(ctx context.Context, orgID string) (*Snapshot, error)
	// Organizations lists, in ascending id order, the ids greater than after
	// (all when after is empty) of at most limit organizations where the
	// principal may hold rights: those of a user's active memberships, the
	// organization of a credential.
	Organizations(ctx context.Context, p Principal, after string, limit int) ([]string, error)
}

// SliceStore is a Store that can also read the part of a snapshot that
// decides for one principal, so that the first check in a large
// organization need not read every membership (authz.WithSliceAbove).
type SliceStore interface {
	// ActiveMembers counts the organization's active memberships.
	ActiveMembers(ctx context.Context, orgID string) (int, error)
	// SnapshotFor returns the organization's snapshot at its revision with
	// every role, permission and credential but, of the members and
	// application memberships, only those that give p rights: p's own
	// membership and application memberships, and those of profiles.
	// Its OwnerUserID is set only when p is the owner.
	SnapshotFor(ctx context.Context, orgID string, p Principal) (*Snapshot, error)
}

// TxStore is a Store that knows whether the caller's transaction (carried
// by ctx) has changed an organization's policy without committing it yet. A
// policy read in such a transaction serves that transaction's own checks
// and is never cached for others: were the transaction rolled back, no
// cache would keep a trace of it.
type TxStore interface {
	Uncommitted(ctx context.Context, orgID string) bool
}

// Watcher is a Store that can tell early when a policy changes, so that
// caches refresh before the next check asks (PostgreSQL LISTEN/NOTIFY).
// Freshness never depends on it: every check compares the revision.
type Watcher interface {
	// WatchPolicy calls changed with the id of each organization whose
	// policy revision changes after it is called, until ctx ends or the
	// connection fails; it returns the reason it stopped.
	WatchPolicy(ctx context.Context, changed func(orgID string)) error
}

// The revision memo lets a check skip reading the policy revision when the
// backend has just read it in the same statement as the row the call is
// about (a membership and its organization's revision, in one query). Such a
// revision is as fresh as one read a moment later: the statement started
// after the call did, so it sees every change committed before the call.
// The memo lives for one call; only the facade makes one (internal/revmemo),
// the backend fills it and answers Revision from it. A backend that never
// fills it costs nothing; a context without a memo notes nothing.

// NoteRevision remembers that orgID's policy revision was rev, read with the
// call's rows; it does nothing when ctx carries no memo.
func NoteRevision(ctx context.Context, orgID, rev string) {
	if m, ok := ctx.Value(revmemo.Key{}).(*revmemo.Memo); ok && orgID != "" && rev != "" {
		m.Org, m.Rev = orgID, rev
	}
}

// NotedRevision returns the revision noted for orgID in ctx's memo.
func NotedRevision(ctx context.Context, orgID string) (string, bool) {
	if m, ok := ctx.Value(revmemo.Key{}).(*revmemo.Memo); ok && m.Org == orgID && m.Rev != "" {
		return m.Rev, true
	}
	return "", false
}
