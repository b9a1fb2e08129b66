package authz

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

// DefaultMaxOrganizations is the number of organizations whose policy an
// Authorizer keeps in memory unless WithMaxOrganizations says otherwise.
const DefaultMaxOrganizations = 10_000

// Reason tells why a decision came out as it did.
type Reason string

// The reasons, in the order the check looks at them.
const (
	// NotMember: the principal has no active membership (a user) or is not
	// a credential of the organization.
	NotMember Reason = "not_member"
	// Expired: the membership or credential has expired.
	Expired Reason = "expired"
	// IPRefused: the request's client address is outside the allowlist.
	IPRefused Reason = "ip_refused"
	// MFARequired: the organization or the member requires a second factor
	// and the request was not made with one.
	MFARequired Reason = "mfa_required"
	// Denied: a deny line matched (a guest managing the organization).
	Denied Reason = "denied"
	// NoGrant: no line grants the action.
	NoGrant Reason = "no_grant"
	// Granted: a line grants the action and none denies it.
	Granted Reason = "granted"
)

// Decision is the outcome of a check.
type Decision struct {
	// Allowed reports that the principal may do the action on the subject.
	Allowed bool
	// Member reports that the principal is a user with an active, unexpired
	// membership in the organization.
	Member bool
	// Owner reports that the principal is the organization's owner.
	Owner bool
	// Reason tells why: Granted when allowed.
	Reason Reason
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

// DefaultSliceAbove is the number of active memberships above which an
// organization that is not in memory is first answered from the asking
// principal's slice of its policy (see WithSliceAbove).
const DefaultSliceAbove = 10_000

// maxBackgroundLoads bounds the loads of whole organizations that checks
// answered from a slice start in the background.
const maxBackgroundLoads = 4

// WithSliceAbove sets the size, in active memberships, above which a check
// in an organization whose policy is not in memory reads only the asking
// principal's slice of it (its membership, the roles, the permissions, the
// credentials; access.SliceStore) and answers at once, while the whole
// organization loads in the background for the checks that follow: the
// first check after a cold start costs milliseconds, not the seconds a
// policy of 100,000 members takes to read and resolve. Below 1, never; the
// default is DefaultSliceAbove. Stores that are not SliceStores always load
// the whole organization.
func WithSliceAbove(n int) Option {
	return optionFunc(func(a *Authorizer) { a.sliceAbove = n })
}

// WithClock sets the clock that expiries are compared with (time.Now by
// default).
func WithClock(now func() time.Time) Option {
	return optionFunc(func(a *Authorizer) {
		if now != nil {
			a.now = now
		}
	})
}

// Authorizer decides whether a principal may do an action on a subject
// inside an organization. It keeps one shard per organization, built from the
// organization's snapshot with Casbin's role manager and reused while the
// organization's revision stays the same. Checks take no lock. It is safe for
// concurrent use.
type Authorizer struct {
	max        int
	sliceAbove int
	now        func() time.Time
	shards     *shardCache

	mu         sync.Mutex // guards loading, background and closed
	loading    map[string]*load
	background int // loads started by loadBehind, running
	closed     bool

	life context.Context    // the background loads' context, ended by Close
	stop context.CancelFunc // ends life
	runs sync.WaitGroup     // the background loads
}

// load is one in-flight snapshot read and build, shared by the checks that
// miss the cache together.
type load struct {
	done chan struct{}
	sh   *shard
	err  error
}

// New returns an Authorizer with an empty cache.
func New(opts ...Option) *Authorizer {
	a := &Authorizer{max: DefaultMaxOrganizations, sliceAbove: DefaultSliceAbove, now: time.Now, shards: newShardCache(),
		loading: make(map[string]*load)}
	a.life, a.stop = context.WithCancel(context.Background())
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
	sh, err := a.shardFor(ctx, src, orgID, p)
	if err != nil {
		return Decision{}, fault.Wrap(op, err)
	}
	return sh.decide(p, subject, bitOf(string(act)), a.now), nil
}

// Decide answers from memory alone, for the policy revision rev of orgID
// (read by the caller, in its own transaction): ok is false when that
// revision is not in memory, and Check must load it. Malformed requests are
// refused (Allowed false, Reason NoGrant or NotMember). Decide takes no lock
// and allocates nothing.
func (a *Authorizer) Decide(p access.Principal, orgID, rev, subject string, act role.Action) (d Decision, ok bool) {
	pr, ok := a.shards.find(orgID, rev, kindOf(p.Kind), p.ID)
	if !ok {
		return Decision{}, false
	}
	bit := bitOf(string(act))
	if bit == 0 || bit == anyAction || p.Kind == access.KindSystem {
		return Decision{Reason: NoGrant, Revision: rev}, true
	}
	return decide(pr, p, rev, subject, bit, a.now), true
}

// Rights are one principal's rights in one organization at one policy
// revision: many questions answered with a single read of the revision, as
// rules that compare rights (no escalation) need. The principal's row is
// found, and the attribute rules that the request facts decide (address,
// second factor, application) applied, once, when the Rights are made; only
// an expiry is compared with the clock at each question, as Check does.
type Rights struct {
	p   access.Principal
	sh  *shard
	pr  principal // p's row in sh; the zero principal when p has none
	now func() time.Time
	// admitted is the decision of the attribute rules other than the
	// expiry; ok reports that none refused, and app is then the lines p
	// reaches in its application's domain, when it acts for one.
	admitted Decision
	app      *grant
	ok       bool
}

// Rights returns the rights of principal p in orgID, reading the revision
// (and, when it changed, the snapshot) from src once. Errors are those of
// Check.
func (a *Authorizer) Rights(ctx context.Context, src access.Store, p access.Principal, orgID string) (*Rights, error) {
	const op = "authz.Rights"
	if err := checkPrincipal(p, orgID); err != nil {
		return nil, fault.Wrap(op, err)
	}
	sh, err := a.shardFor(ctx, src, orgID, p)
	if err != nil {
		return nil, fault.Wrap(op, err)
	}
	r := &Rights{p: p, sh: sh, pr: sh.principal(kindOf(p.Kind), p.ID), now: a.now}
	r.admitted, r.app, r.ok = admit(r.pr, p, sh.revision, nil)
	return r, nil
}

// decide answers as decide does for an object (known: interned) with the
// attribute rules applied when r was made.
func (r *Rights) decide(o uint32, known bool, bit mask) Decision {
	if r.pr.expired(r.now) {
		return Decision{Reason: Expired, Revision: r.sh.revision}
	}
	if !r.ok {
		return r.admitted
	}
	d := r.admitted
	d.Reason = reason(r.pr.row, r.app, o, known, bit)
	d.Allowed = d.Reason == Granted
	return d
}

// Allows reports whether the principal may do act on subject; a malformed
// subject or action is never allowed.
func (r *Rights) Allows(subject string, act role.Action) bool {
	return r.Decide(subject, act).Allowed
}

// Decide answers as Check would at the revision of r.
func (r *Rights) Decide(subject string, act role.Action) Decision {
	if !role.ValidSubject(subject) || !act.Valid() {
		return Decision{Reason: NoGrant, Revision: r.sh.revision}
	}
	o, known := objectOf(subject)
	return r.decide(o, known, bitOf(string(act)))
}

// Subject is a permission subject as the policy indexes it, found once by
// SubjectOf so that a question about it needs no lookup by name.
type Subject struct {
	name string
	obj  uint32
}

// SubjectOf returns the Subject of a well-formed subject name (lower-case
// snake_case), adding it to the process's table of subjects if needed (the
// table that every organization's policy shares, bounded at 2^24 subjects).
// Find the subjects a host asks about once, when it starts.
func SubjectOf(name string) (Subject, error) {
	const op = "authz.SubjectOf"
	if !role.ValidSubject(name) {
		return Subject{}, fault.InvalidField(op, "subject", "format", "must be lower-case snake_case")
	}
	n, err := intern(name)
	if err != nil {
		return Subject{}, fault.E(op, fault.Internal, err)
	}
	return Subject{name: name, obj: n}, nil
}

// Name returns the subject's name.
func (s Subject) Name() string { return s.name }

// DecideSubject answers as Decide(s.Name(), act) does, without looking the
// subject up; the zero Subject is never allowed.
func (r *Rights) DecideSubject(s Subject, act role.Action) Decision {
	if s.name == "" || !act.Valid() {
		return Decision{Reason: NoGrant, Revision: r.sh.revision}
	}
	return r.decide(s.obj, true, bitOf(string(act)))
}

// Member reports whether the principal is a user with an active, unexpired
// membership.
func (r *Rights) Member() bool {
	return r.p.Kind == access.KindUser && decide(r.pr, r.p, r.sh.revision, "", 0, r.now).Member
}

// Owner reports whether the principal is the organization's owner.
func (r *Rights) Owner() bool {
	return r.p.Kind == access.KindUser && r.sh.owner != "" && r.p.ID == r.sh.owner
}

// Revision is the policy revision the rights were read at.
func (r *Rights) Revision() string { return r.sh.revision }

// Invalidate drops the cached policy of the organization; the next check
// reads a fresh snapshot.
func (a *Authorizer) Invalidate(orgID string) { a.shards.remove(orgID) }

// Cached reports whether the organization's policy is in memory, and at
// which revision.
func (a *Authorizer) Cached(orgID string) (rev string, ok bool) {
	sh := a.shards.get(orgID)
	if sh == nil {
		return "", false
	}
	return sh.revision, true
}

// Refresh brings the organization's policy in memory up to date with src
// when it is cached (or when load is true), so that the next check does not
// pay for the rebuild. Watchers call it when told of a change.
func (a *Authorizer) Refresh(ctx context.Context, src access.Store, orgID string, load bool) error {
	rev, cached := a.Cached(orgID)
	if !cached && !load {
		return nil
	}
	cur, err := src.Revision(ctx, orgID)
	switch {
	case fault.KindOf(err) == fault.NotFound:
		a.Invalidate(orgID)
		return nil
	case err != nil:
		return err
	case cached && cur == rev:
		return nil
	}
	_, err = a.load(ctx, src, orgID)
	return err
}

// checkRequest checks a whole question: who asks, where, and what.
func checkRequest(p access.Principal, orgID, subject string, act role.Action) error {
	if err := checkPrincipal(p, orgID); err != nil {
		return err
	}
	return checkAsk(subject, act)
}

// checkAsk checks what is asked.
func checkAsk(subject string, act role.Action) error {
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
	if err := checkWho(p); err != nil {
		return err
	}
	return checkOrg(orgID)
}

// checkWho checks the principal: a user or a credential with a well-formed
// id; an application only for a user.
func checkWho(p access.Principal) error {
	switch {
	case p.Kind == access.KindSystem:
		return fault.E("", fault.Internal, errors.New("system principals are not decided by authz"))
	case p.Kind != access.KindUser && p.Kind != access.KindCredential, !resource.ValidID(p.ID):
		return fault.E("", fault.Unauthenticated, nil)
	case p.App != "" && (p.Kind != access.KindUser || !resource.ValidID(p.App)):
		return fault.E("", fault.Unauthenticated, errors.New("an application acts for a user"))
	}
	return nil
}

// checkOrg checks an organization id: blank is invalid, malformed is not found.
func checkOrg(orgID string) error {
	switch {
	case orgID == "":
		return fault.InvalidField("", "organization", "required", "can't be blank")
	case !resource.ValidID(orgID):
		return fault.E("", fault.NotFound, nil)
	}
	return nil
}

// shard returns the organization's policy at its current revision.
func (a *Authorizer) shard(ctx context.Context, src access.Store, orgID string) (*shard, error) {
	return a.shardFor(ctx, src, orgID, access.Principal{})
}

// shardFor returns the organization's policy at its current revision, or,
// for a principal p in a large organization that is not in memory, p's
// slice of it (see WithSliceAbove), which only answers for p and is never
// cached.
func (a *Authorizer) shardFor(ctx context.Context, src access.Store, orgID string, p access.Principal) (*shard, error) {
	rev, err := src.Revision(ctx, orgID)
	if err != nil {
		return nil, err
	}
	if rev == "" {
		return nil, fault.E("", fault.Internal, fmt.Errorf("organization %s: empty revision", orgID))
	}
	stale := a.shards.get(orgID)
	if stale != nil && stale.revision == rev {
		return stale, nil
	}
	if ss, ok := src.(access.SliceStore); ok && a.sliceAbove > 0 && p.Kind != "" {
		var n int
		if stale != nil { // its size, a revision ago, is near enough
			n = len(stale.users())
		} else if n, err = ss.ActiveMembers(ctx, orgID); err != nil {
			return nil, err
		}
		if n > a.sliceAbove {
			sh, err := a.slice(ctx, ss, orgID, rev, p)
			// Then the whole: not before, where on SQLite its transaction
			// would hold the database while the slice waits.
			a.loadBehind(src, orgID)
			return sh, err
		}
	}
	sh, err := a.load(ctx, src, orgID)
	if err == nil && sh.revision != rev {
		// A load shared with another check read an older snapshot than the
		// revision this caller saw (or a newer one it must not trust inside
		// its transaction): read the caller's own.
		return a.build(ctx, src, orgID)
	}
	return sh, err
}

// slice builds p's slice of the organization's policy at revision rev (or
// the one after it, when a change committed in between).
func (a *Authorizer) slice(ctx context.Context, ss access.SliceStore, orgID, rev string, p access.Principal) (*shard, error) {
	for attempt := 0; ; attempt++ {
		snap, err := ss.SnapshotFor(ctx, orgID, p)
		switch {
		case err != nil:
			return nil, err
		case snap == nil || snap.OrganizationID != orgID || snap.Revision == "":
			return nil, fault.E("", fault.Internal, fmt.Errorf("organization %s: malformed slice", orgID))
		case snap.Revision != rev && attempt == 0:
			continue // read again: the caller's revision, or a newer one
		}
		return newShard(snap)
	}
}

// loadBehind loads the whole organization in the background, on the
// Authorizer's own context (none of the caller's transaction, ended by
// Close), unless it is already loading, too many such loads run, or the
// Authorizer is closed.
func (a *Authorizer) loadBehind(src access.Store, orgID string) {
	a.mu.Lock()
	if _, ok := a.loading[orgID]; ok || a.background >= maxBackgroundLoads || a.closed {
		a.mu.Unlock()
		return
	}
	a.background++
	a.runs.Add(1)
	a.mu.Unlock()
	go func() {
		defer func() {
			a.mu.Lock()
			a.background--
			a.mu.Unlock()
			a.runs.Done()
		}()
		_, _ = a.load(a.life, src, orgID) // a failure leaves the next check to load it
	}()
}

// Close ends the Authorizer's background work: the loads of whole
// organizations it starts behind a sliced check are cancelled, and Close
// returns once they have stopped. Checks still work after Close (they load
// what they need themselves); no background load starts again. Close is
// idempotent and safe to call concurrently with checks.
func (a *Authorizer) Close() {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.stop()
	a.runs.Wait()
}

// load reads the organization's snapshot, builds its shard and caches it.
// Checks that miss together share one load. The shard is built apart and
// swapped in whole: nothing in use is mutated.
func (a *Authorizer) load(ctx context.Context, src access.Store, orgID string) (*shard, error) {
	if uncommitted(ctx, src, orgID) {
		return a.build(ctx, src, orgID) // private to the transaction
	}
	if inTransaction(ctx, src) {
		// The caller may hold locks that another caller's load waits for
		// (on SQLite, whose transactions begin IMMEDIATE, the database's
		// write lock): waiting for that load would deadlock both until the
		// busy timeout. It reads its own, in its transaction.
		return a.build(ctx, src, orgID)
	}
	a.mu.Lock()
	if l, ok := a.loading[orgID]; ok {
		a.mu.Unlock()
		select {
		case <-l.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if l.err == nil {
			return l.sh, nil
		}
		// The shared load failed (perhaps for its own context): try ours.
		return a.build(ctx, src, orgID)
	}
	l := &load{done: make(chan struct{})}
	a.loading[orgID] = l
	a.mu.Unlock()

	l.sh, l.err = a.build(ctx, src, orgID)

	a.mu.Lock()
	delete(a.loading, orgID)
	a.mu.Unlock()
	close(l.done)
	return l.sh, l.err
}

// build reads the snapshot, builds the shard and stores it.
func (a *Authorizer) build(ctx context.Context, src access.Store, orgID string) (*shard, error) {
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
	if !uncommitted(ctx, src, orgID) {
		a.store(orgID, sh)
	}
	return sh, nil
}

// uncommitted reports whether ctx's transaction changed the organization's
// policy and has not committed: such a policy is never cached.
func uncommitted(ctx context.Context, src access.Store, orgID string) bool {
	tx, ok := src.(access.TxStore)
	return ok && tx.Uncommitted(ctx, orgID)
}

// inTransaction reports whether ctx carries a transaction of src (a store
// that says so).
func inTransaction(ctx context.Context, src access.Store) bool {
	tx, ok := src.(interface{ InTransaction(context.Context) bool })
	return ok && tx.InTransaction(ctx)
}

// store caches the shard, evicting an arbitrary organization when full.
func (a *Authorizer) store(orgID string, sh *shard) { a.shards.put(orgID, sh, a.max) }
