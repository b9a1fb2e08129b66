package authz

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

// DefaultMaxOrganizations is the number of organizations whose policy an
// Authorizer keeps in memory unless WithMaxOrganizations says otherwise.
const DefaultMaxOrganizations = 10_000

// Decision is the outcome of a check.
type Decision struct {
	// Allowed reports that the principal may do the action on the subject.
	Allowed bool
	// Member reports that the principal is a user with an active membership
	// in the organization.
	Member bool
	// Owner reports that the principal is the organization's owner.
	Owner bool
	// Revision is the policy revision the decision was made with.
	Revision string
}

// Option configures an Authorizer.
type Option interface{ apply(*Authorizer) }

type optionFunc func(*Authorizer)

func (f optionFunc) apply(a *Authorizer) { f(a) }

// WithMaxOrganizations bounds the number of organizations whose policy is
// kept in memory; when full, an arbitrary one is dropped to make room. A
// value below 1 means DefaultMaxOrganizations.
func WithMaxOrganizations(n int) Option {
	return optionFunc(func(a *Authorizer) {
		if n < 1 {
			n = DefaultMaxOrganizations
		}
		a.max = n
	})
}

// Authorizer decides whether a principal may do an action on a subject
// inside an organization. It keeps one shard per organization, built from the
// organization's snapshot through a Casbin enforcer and reused while the
// organization's revision stays the same. It is safe for concurrent use.
type Authorizer struct {
	max    int
	mu     sync.RWMutex
	shards map[string]*shard
}

// New returns an Authorizer with an empty cache.
func New(opts ...Option) *Authorizer {
	a := &Authorizer{max: DefaultMaxOrganizations, shards: make(map[string]*shard)}
	for _, o := range opts {
		o.apply(a)
	}
	return a
}

// Check decides whether principal p may do act on subject inside the
// organization orgID, with the policy src holds. It reads the organization's
// revision from src at every call and reads a new snapshot when the revision
// is not the cached one, so a committed change is seen by the next call.
//
// Any error denies: the Decision is then the zero Decision. A missing
// organization gives an error matching fault.ErrNotFound (so does a malformed
// organization id); an empty organization, a malformed subject or an unknown
// action gives fault.ErrInvalid; a principal without a well-formed id gives
// fault.ErrUnauthenticated; a system principal, whose calls are not decided
// here, gives fault.ErrInternal, as does a snapshot that fails Lines.
func (a *Authorizer) Check(ctx context.Context, src access.Store, p access.Principal, orgID, subject string, act role.Action) (Decision, error) {
	const op = "authz.Check"
	if err := checkRequest(p, orgID, subject, act); err != nil {
		return Decision{}, fault.Wrap(op, err)
	}
	sh, err := a.shard(ctx, src, orgID)
	if err != nil {
		return Decision{}, fault.Wrap(op, err)
	}
	r := Rights{p: p, sh: sh}
	return Decision{Allowed: r.Allows(subject, act), Member: r.Member(), Owner: r.Owner(), Revision: sh.revision}, nil
}

// Rights are one principal's rights in one organization at one policy
// revision: many questions answered with a single read of the revision, as
// rules that compare rights (no escalation) need.
type Rights struct {
	p  access.Principal
	sh *shard
}

// Rights returns the rights of principal p in orgID, reading the revision
// (and, when it changed, the snapshot) from src once. Errors are those of
// Check.
func (a *Authorizer) Rights(ctx context.Context, src access.Store, p access.Principal, orgID string) (*Rights, error) {
	const op = "authz.Rights"
	if err := checkPrincipal(p, orgID); err != nil {
		return nil, fault.Wrap(op, err)
	}
	sh, err := a.shard(ctx, src, orgID)
	if err != nil {
		return nil, fault.Wrap(op, err)
	}
	return &Rights{p: p, sh: sh}, nil
}

// shard returns the organization's policy at its current revision.
func (a *Authorizer) shard(ctx context.Context, src access.Store, orgID string) (*shard, error) {
	rev, err := src.Revision(ctx, orgID)
	if err != nil {
		return nil, err
	}
	if rev == "" {
		return nil, fault.E("", fault.Internal, fmt.Errorf("organization %s: empty revision", orgID))
	}
	if sh := a.cached(orgID, rev); sh != nil {
		return sh, nil
	}
	return a.load(ctx, src, orgID)
}

// Allows reports whether the principal may do act on subject; a malformed
// subject or action is never allowed.
func (r *Rights) Allows(subject string, act role.Action) bool {
	return role.ValidSubject(subject) && act.Valid() && r.sh.allowsPrincipal(r.p, subject, string(act))
}

// Member reports whether the principal is a user with an active membership.
func (r *Rights) Member() bool { return r.p.Kind == access.KindUser && r.sh.members[r.p.ID] }

// Owner reports whether the principal is the organization's owner.
func (r *Rights) Owner() bool {
	return r.p.Kind == access.KindUser && r.sh.owner != "" && r.p.ID == r.sh.owner
}

// Invalidate drops the cached policy of the organization; the next check
// reads a fresh snapshot.
func (a *Authorizer) Invalidate(orgID string) {
	a.mu.Lock()
	delete(a.shards, orgID)
	a.mu.Unlock()
}

func checkRequest(p access.Principal, orgID, subject string, act role.Action) error {
	if err := checkPrincipal(p, orgID); err != nil {
		return err
	}
	switch {
	case !role.ValidSubject(subject):
		return fault.InvalidField("", "subject", "format", "must be lower-case snake_case")
	case !act.Valid():
		return fault.InvalidField("", "action", "enum", "must be create, read, update or destroy")
	}
	return nil
}

// checkPrincipal checks who asks and in which organization.
func checkPrincipal(p access.Principal, orgID string) error {
	switch {
	case p.Kind == access.KindSystem:
		return fault.E("", fault.Internal, errors.New("system principals are not decided by authz"))
	case p.Kind != access.KindUser && p.Kind != access.KindCredential, !resource.ValidID(p.ID):
		return fault.E("", fault.Unauthenticated, nil)
	case orgID == "":
		return fault.InvalidField("", "organization", "required", "can't be blank")
	case !resource.ValidID(orgID):
		return fault.E("", fault.NotFound, nil)
	}
	return nil
}

// cached returns the organization's shard when it has revision rev.
func (a *Authorizer) cached(orgID, rev string) *shard {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if sh := a.shards[orgID]; sh != nil && sh.revision == rev {
		return sh
	}
	return nil
}

// load reads the organization's snapshot, builds its shard and caches it.
// The shard is built apart and swapped in whole: nothing in use is mutated.
func (a *Authorizer) load(ctx context.Context, src access.Store, orgID string) (*shard, error) {
	snap, err := src.Snapshot(ctx, orgID)
	switch {
	case err != nil:
		return nil, err
	case snap == nil:
		return nil, fault.E("", fault.Internal, fmt.Errorf("organization %s: nil snapshot", orgID))
	case snap.OrganizationID != orgID:
		return nil, fault.E("", fault.Internal, fmt.Errorf("organization %s: snapshot of %q", orgID, snap.OrganizationID))
	case snap.Revision == "":
		return nil, fault.E("", fault.Internal, fmt.Errorf("organization %s: empty revision", orgID))
	}
	sh, err := newShard(snap)
	if err != nil {
		return nil, err
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.shards[orgID]; !ok && len(a.shards) >= a.max {
		for k := range a.shards { // evict an arbitrary organization
			delete(a.shards, k)
			break
		}
	}
	a.shards[orgID] = sh
	return sh, nil
}

// shard is one organization's policy at one revision, precomputed from a
// Casbin enforcer loaded with its lines. It is never mutated after it is
// built; a new revision gets a new shard.
type shard struct {
	revision string
	owner    string
	members  map[string]bool
	grants   map[string]grants // subject or role → its p lines in the domain
	// principals holds, for each user and credential of the domain, its own
	// grants and roles, keyed so that a check builds no "user:<id>" string.
	principals map[principalKey]principalRights
}

type principalKey struct {
	kind access.PrincipalKind
	id   string
}

type principalRights struct {
	direct grants
	roles  []string
}

// allowsPrincipal answers as the model's matcher does: some p line of the
// domain whose subject is p's subject or one of its roles (g(r.sub, p.sub,
// r.dom)) grants obj and act.
func (s *shard) allowsPrincipal(p access.Principal, obj, act string) bool {
	pr, ok := s.principals[principalKey{p.Kind, p.ID}]
	if !ok {
		return false
	}
	if pr.direct.allows(obj, act) {
		return true
	}
	for _, r := range pr.roles {
		if s.grants[r].allows(obj, act) {
			return true
		}
	}
	return false
}

// grants holds (obj, act) pairs of p lines, "*" standing for any.
type grants map[[2]string]bool

// allows applies (p.obj == "*" || r.obj == p.obj) && (p.act == "*" || r.act == p.act).
func (g grants) allows(obj, act string) bool {
	return g[[2]string{obj, act}] || g[[2]string{"*", act}] || g[[2]string{obj, "*"}] || g[[2]string{"*", "*"}]
}

// newShard derives the snapshot's lines, loads them into a fresh enforcer and
// reads back, for each subject of the domain, its roles (resolved by Casbin's
// role manager) and the grants of its p lines. The enforcer is used by this
// goroutine only, then dropped.
func newShard(snap *access.Snapshot) (*shard, error) {
	p, g, err := Lines(snap)
	if err != nil {
		return nil, err
	}
	internal := func(err error) error { return fault.E("authz.newShard", fault.Internal, err) }
	e, err := newEnforcer(p, g)
	if err != nil {
		return nil, internal(err)
	}
	dom := domain(snap.OrganizationID)
	sh := &shard{
		revision: snap.Revision,
		owner:    snap.OwnerUserID,
		members:  make(map[string]bool, len(snap.Members)),
		grants:   make(map[string]grants),
	}
	for _, m := range snap.Members {
		sh.members[m.UserID] = true
	}

	policy, err := e.GetPolicy()
	if err != nil {
		return nil, internal(err)
	}
	for _, line := range policy { // sub, dom, obj, act
		if line[1] != dom {
			continue
		}
		if sh.grants[line[0]] == nil {
			sh.grants[line[0]] = grants{}
		}
		sh.grants[line[0]][[2]string{line[2], line[3]}] = true
	}

	links, err := e.GetGroupingPolicy()
	if err != nil {
		return nil, internal(err)
	}
	roles := map[string][]string{} // subject → the roles it holds in the domain
	for _, line := range links {   // user, role, dom
		if _, done := roles[line[0]]; done || line[2] != dom {
			continue
		}
		if roles[line[0]], err = e.GetImplicitRolesForUser(line[0], dom); err != nil {
			return nil, internal(err)
		}
	}

	// Index each principal's own grants and roles by (kind, id).
	sh.principals = make(map[principalKey]principalRights, len(roles))
	index := func(sub string) {
		if k, ok := principalOf(sub); ok {
			sh.principals[k] = principalRights{direct: sh.grants[sub], roles: roles[sub]}
		}
	}
	for sub := range roles {
		index(sub)
	}
	for sub := range sh.grants {
		index(sub)
	}
	return sh, nil
}

// principalOf reads the principal of a "user:<id>" or "cred:<id>" subject.
func principalOf(sub string) (principalKey, bool) {
	if id, ok := strings.CutPrefix(sub, "user:"); ok {
		return principalKey{access.KindUser, id}, true
	}
	if id, ok := strings.CutPrefix(sub, "cred:"); ok {
		return principalKey{access.KindCredential, id}, true
	}
	return principalKey{}, false
}
