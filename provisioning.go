package provisioning

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/appmembership"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/authz"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/idp"
	"github.com/provisionkit/provisioning/internal/revmemo"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/profile"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/token"
	"github.com/provisionkit/provisioning/user"
)

// Backend is the storage a Provisioner works on: every domain Store and a
// transaction runner that carries the transaction in the context.
// *bunstore.Store implements it.
type Backend interface {
	Organizations() organization.Store
	Users() user.Store
	Memberships() membership.Store
	Profiles() profile.Store
	Roles() role.Store
	Versions() audit.Store
	Access() access.Store
	IdentityProviders() idp.Store
	Credentials() credential.Store
	AppMemberships() appmembership.Store
	// SecurityEvents keeps the security events; its Append writes outside
	// any transaction in ctx.
	SecurityEvents() audit.SecurityStore
	// IdempotencyKeys remembers what keyed creations created.
	IdempotencyKeys() resource.KeyStore
	// InTx runs fn in one transaction (joining the one in ctx, if any),
	// retrying it from the start on transient failures.
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// Principal is who makes a call, with the request's facts (client IP, MFA).
type Principal = access.Principal

// User returns the principal of the user with the given id.
func User(id string) Principal { return access.User(id) }

// Clock tells the time. Tests inject a fake one.
type Clock interface{ Now() time.Time }

// IDGenerator makes ids: opaque, lower-case, unique and time-ordered strings.
type IDGenerator interface{ NewID() string }

// Notifier receives invitations after their transaction committed. The host
// sends the email. An error is logged and does not undo the invitation.
type Notifier interface {
	Invited(ctx context.Context, inv Invitation) error
}

// Invitation tells the host to invite (or, for an existing user, to tell)
// someone about a membership.
type Invitation struct {
	MembershipID     string
	OrganizationID   string
	OrganizationName string
	Email            string // the canonical address stored on the membership: send only there
	// Token is the secret the invitee presents to AcceptInvitation. It is
	// empty when the membership is already active (the user existed).
	Token     string
	ExpiresAt time.Time
	Resent    bool
}

// EmailChangeNotifier is the optional interface of a Notifier that mails
// email changes; the Provisioner finds it by type assertion. Without one,
// a user cannot change their own address (Session.UpdateCurrentUser
// refuses it): only the host can, with System.VerifyEmail.
type EmailChangeNotifier interface {
	// EmailChangeRequested receives a change of address after its
	// transaction committed. The host sends Code to NewEmail, the only
	// address that may see it, and tells OldEmail that a change was
	// asked (without the code). An error is logged and does not undo the
	// request.
	EmailChangeRequested(ctx context.Context, c EmailChange) error
}

// EmailChange is a change of a user's address that waits for the new
// address to confirm it: the user presents Code to Session.ConfirmEmail
// before ExpiresAt. Until then the user keeps OldEmail, and nothing meant
// for NewEmail (an invitation) is theirs.
type EmailChange struct {
	UserID    string
	OldEmail  string
	NewEmail  string // canonical: send the code only there
	Code      string // the secret; only its SHA-256 hash is stored
	ExpiresAt time.Time
}

// Provisioner is the facade over the library. It is safe for concurrent use.
// Every call is made through a handle: As(principal) for a caller, or
// System() for trusted bootstrap code.
type Provisioner struct {
	b         Backend
	authz     *authz.Authorizer
	ownsAuthz bool // authz was made by New, and is closed by Close
	clock     Clock
	ids       IDGenerator
	notifier  Notifier
	log       *slog.Logger
	subjects  *role.Subjects
	// objects are the registered subjects as the authorizer indexes them:
	// a Checker's question looks its subject up once, here.
	objects       map[string]authz.Subject
	extraSubjects []string
	invitationTTL time.Duration
	emailCodeTTL  time.Duration
	keys          idp.KeyProvider // seals identity provider secrets; nil: none can be created
	resolver      idp.Resolver    // verifies identity provider domains
	retry         idp.Retry       // the background verification's schedule
	plan          organization.Subscription
	// plans is the host's catalogue by name (WithPlans), nil for the
	// default one; defaultPlan is the plan of an organization whose plan
	// type names none of it.
	plans       map[string]organization.Plan
	defaultPlan organization.Plan
	catalogue   []organization.Plan // as given, to validate in New
	// tokens is the backend's bearer token store, when it has one (see
	// TokenBackend): a deleted credential's tokens go with it.
	tokens token.Store
	// userTokensEnd deletes a user's tokens when their last membership goes.
	userTokensEnd bool

	// lastUse remembers, per credential id, when this instance last wrote
	// the credential's last_used_at, so that most logins write nothing.
	lastUse sync.Map
	// sampler bounds the security events that callers who have not
	// authenticated can cause.
	sampler eventSampler
}

// Option configures a Provisioner.
type Option interface{ apply(*Provisioner) }

type optionFunc func(*Provisioner)

func (f optionFunc) apply(p *Provisioner) { f(p) }

// WithClock sets the clock (the default is the system clock in UTC).
func WithClock(c Clock) Option { return optionFunc(func(p *Provisioner) { p.clock = c }) }

// WithIDGenerator sets the id source (the default, NewIDGenerator, makes
// 26-character time-ordered ids from crypto/rand, strictly increasing
// within one Provisioner; Provisioners, like processes, order their ids
// among themselves by the millisecond only). Give several Provisioners one
// generator to keep one sequence for all of them.
func WithIDGenerator(g IDGenerator) Option { return optionFunc(func(p *Provisioner) { p.ids = g }) }

// WithNotifier sets the receiver of invitations (the default drops them).
func WithNotifier(n Notifier) Option { return optionFunc(func(p *Provisioner) { p.notifier = n }) }

// WithLogger sets the logger (the default discards).
func WithLogger(l *slog.Logger) Option { return optionFunc(func(p *Provisioner) { p.log = l }) }

// WithSubjects registers the host's own permission subjects beside the
// built-in ones (lower-case snake_case).
func WithSubjects(subjects ...string) Option {
	return optionFunc(func(p *Provisioner) { p.extraSubjects = append(p.extraSubjects, subjects...) })
}

// WithInvitationTTL sets how long an invitation token works (default 7 days).
func WithInvitationTTL(d time.Duration) Option {
	return optionFunc(func(p *Provisioner) { p.invitationTTL = d })
}

// WithEmailChangeTTL sets how long the code of an email change works
// (default 24 hours).
func WithEmailChangeTTL(d time.Duration) Option {
	return optionFunc(func(p *Provisioner) { p.emailCodeTTL = d })
}

// WithSubscription sets the plan new organizations get (none by default:
// no limits). Its Organizations limit bounds how many organizations a user
// may own when creating another; System.SetSubscription changes one
// organization's plan.
func WithSubscription(sub organization.Subscription) Option {
	return optionFunc(func(p *Provisioner) { p.plan = sub })
}

// WithPlans sets the catalogue of plans: what each grants (features such
// as organization.CustomRoles) and the limits it sets. An organization is on
// the plan its Subscription.PlanType names, set by the host
// (System.SetPlan, System.SetSubscription); an organization whose plan
// type names no plan of the catalogue (existing organizations: none) is on
// defaultPlan, which must be one of plans. A limit the organization's
// Subscription sets (non-zero) replaces its plan's.
//
// Without WithPlans, every organization is on organization.DefaultPlan:
// every feature and no limit but its Subscription's, and any plan type is
// accepted as a label.
func WithPlans(defaultPlan string, plans ...organization.Plan) Option {
	return optionFunc(func(p *Provisioner) {
		p.plans = make(map[string]organization.Plan, len(plans))
		p.catalogue = make([]organization.Plan, len(plans))
		for i, pl := range plans {
			pl.Features = slices.Clone(pl.Features) // the host's slices stay the host's
			p.plans[pl.Name], p.catalogue[i] = pl, pl
		}
		p.defaultPlan = organization.Plan{Name: defaultPlan}
	})
}

// WithAuthorizer sets the authorizer (the default is authz.New with the
// Provisioner's clock). Give each Provisioner its own, or share one between
// Provisioners over the same database.
func WithAuthorizer(a *authz.Authorizer) Option {
	return optionFunc(func(p *Provisioner) { p.authz = a })
}

// WithKeyProvider sets where the keys that seal identity provider client
// secrets come from (AES-256-GCM). There is no default key: without one,
// creating an identity provider or changing its secret fails with
// idp.ErrNoKeyProvider. idp.StaticKeys serves tests and keys from the
// environment.
func WithKeyProvider(k idp.KeyProvider) Option {
	return optionFunc(func(p *Provisioner) { p.keys = k })
}

// WithResolver sets the DNS resolver that verifies identity provider
// domains (the default is net.DefaultResolver).
func WithResolver(r idp.Resolver) Option { return optionFunc(func(p *Provisioner) { p.resolver = r }) }

// TokenBackend is a Backend that also keeps bearer tokens (package token);
// *bunstore.Store is one. Over it, deleting an API credential deletes its
// tokens in the same transaction, and WithUserTokensEndingWithLastMembership
// works.
type TokenBackend interface {
	Backend
	Tokens() token.Store
}

// WithUserTokensEndingWithLastMembership ends a user's bearer tokens (those
// of package token, in the backend) when the user's last active membership
// is deleted, in the same transaction: a user who no longer belongs to any
// organization must obtain a new token. Without it, a user's tokens work
// until they expire (a user without organization may create one). The
// backend must be a TokenBackend.
func WithUserTokensEndingWithLastMembership() Option {
	return optionFunc(func(p *Provisioner) { p.userTokensEnd = true })
}

// New returns a Provisioner over the backend. The backend's schema must be
// migrated (bunstore.Store.Migrate) before the first call.
func New(b Backend, opts ...Option) (*Provisioner, error) {
	if b == nil {
		return nil, errors.New("provisioning: nil backend")
	}
	p := &Provisioner{b: b, clock: systemClock{}, ids: NewIDGenerator(), log: slog.New(slog.DiscardHandler), invitationTTL: 7 * 24 * time.Hour,
		emailCodeTTL: 24 * time.Hour, retry: idp.DefaultRetry}
	for _, o := range opts {
		o.apply(p)
	}
	if p.resolver == nil {
		p.resolver = net.DefaultResolver
	}
	if tb, ok := b.(TokenBackend); ok {
		p.tokens = tb.Tokens()
	}
	if p.userTokensEnd && p.tokens == nil {
		return nil, errors.New("provisioning: WithUserTokensEndingWithLastMembership needs a backend that keeps tokens (TokenBackend)")
	}
	if p.invitationTTL <= 0 {
		return nil, errors.New("provisioning: invitation TTL must be positive")
	}
	if p.emailCodeTTL <= 0 {
		return nil, errors.New("provisioning: email change TTL must be positive")
	}
	if err := p.retry.Validate(); err != nil {
		return nil, fmt.Errorf("provisioning: WithVerificationRetry: %w", err)
	}
	if err := p.plan.Validate(); err != nil {
		return nil, fmt.Errorf("provisioning: WithSubscription: %w", err)
	}
	if err := p.checkPlans(); err != nil {
		return nil, err
	}
	subjects, err := role.NewSubjects(p.extraSubjects...)
	if err != nil {
		return nil, err
	}
	p.subjects = subjects
	p.objects = make(map[string]authz.Subject, len(subjects.List()))
	for _, name := range subjects.List() {
		if p.objects[name], err = authz.SubjectOf(name); err != nil {
			return nil, fmt.Errorf("provisioning: subject %q: %w", name, err)
		}
	}
	if p.authz == nil {
		p.authz = authz.New(authz.WithClock(p.clock.Now))
		p.ownsAuthz = true
	}
	return p, nil
}

// Close stops the Provisioner's background work (the policy cache's
// background loads of the authorizer it made; one given with
// WithAuthorizer is the host's to close) and returns when it has stopped.
// Calls made after Close still work; Close does not close the backend.
func (p *Provisioner) Close() error {
	if p.ownsAuthz {
		p.authz.Close()
	}
	return nil
}

// Subjects returns the registry of permission subjects.
func (p *Provisioner) Subjects() *role.Subjects { return p.subjects }

// As returns a handle whose calls are made, and authorized, as principal.
func (p *Provisioner) As(principal Principal) *Session {
	return &Session{p: p, pr: principal}
}

// Session is a handle bound to one principal. It is cheap to make, one per request.
type Session struct {
	p  *Provisioner
	pr Principal
}

// Principal returns the session's principal.
func (s *Session) Principal() Principal { return s.pr }

func (s *Session) now() time.Time { return s.p.clock.Now().UTC().Truncate(time.Microsecond) }

// authenticated checks that the session has a usable principal.
func (s *Session) authenticated(op string) error {
	switch {
	case s.pr.Kind == access.KindSystem:
		return nil
	case s.pr.Kind == access.KindUser && resource.ValidID(s.pr.ID):
		return nil
	case s.pr.Kind == access.KindCredential && resource.ValidID(s.pr.ID):
		return nil // its rights are its role's (see Authenticate)
	}
	return fault.E(op, fault.Unauthenticated, nil)
}

// missing turns the failure of a read made before the call's authorization
// into the call's own: what does not exist fails exactly as what another
// organization holds (the check's not found), whatever the read was.
func missing(op string, err error) error {
	if fault.KindOf(err) == fault.NotFound {
		return fault.E(op, fault.NotFound, nil)
	}
	return fault.Wrap(op, err)
}

// authorize decides whether the principal may act on subject in orgID. A
// principal without an active membership there gets ErrNotFound, so that
// another organization's ids look like ids that do not exist.
func (s *Session) authorize(ctx context.Context, op, orgID, subject string, act role.Action) (authz.Decision, error) {
	if err := s.authenticated(op); err != nil {
		return authz.Decision{}, err
	}
	if s.pr.Kind == access.KindSystem {
		if _, err := s.p.b.Access().Revision(ctx, orgID); err != nil {
			return authz.Decision{}, fault.Wrap(op, err)
		}
		return authz.Decision{Allowed: true, Member: true, Owner: true}, nil
	}
	d, err := s.p.authz.Check(ctx, s.p.b.Access(), s.pr, orgID, subject, act)
	switch {
	case err != nil && fault.KindOf(err) == fault.NotFound:
		s.refused(ctx, op, orgID, subject, act, "no_such_organization")
		return d, fault.E(op, fault.NotFound, nil)
	case err != nil && (fault.KindOf(err) == fault.Invalid || fault.KindOf(err) == fault.Unauthenticated):
		return d, fault.Wrap(op, err) // a blank organization, a malformed principal
	case err != nil:
		return d, fault.Wrap(op, err) // Internal, or Busy for a transient failure: the transaction is retried
	}
	if err := refusal(op, d); err != nil {
		s.refused(ctx, op, orgID, subject, act, d.Reason)
		return d, err
	}
	return d, nil
}

// refusal turns a refused decision into its error: those who hold no
// membership (or an expired one) see not found, so that another
// organization's ids look like ids that do not exist; a refused address or a
// missing second factor get their own errors, so that the host can react.
func refusal(op string, d authz.Decision) error {
	switch d.Reason {
	case authz.Granted:
		return nil
	case authz.NotMember, authz.Expired:
		return fault.E(op, fault.NotFound, nil)
	case authz.IPRefused:
		return fault.Wrap(op, fault.ErrIPRefused)
	case authz.MFARequired:
		return fault.Wrap(op, fault.ErrMFARequired)
	}
	return fault.E(op, fault.Forbidden, nil)
}

// lockOrg locks the organization's row, so that changes to one
// organization happen one at a time, and then authorizes act on subject
// there.
func (s *Session) lockOrg(ctx context.Context, op, orgID, subject string, act role.Action) (authz.Decision, error) {
	_, d, err := s.lockedOrg(ctx, op, orgID, subject, act)
	return d, err
}

// lockedOrg is lockOrg that also returns the organization, read under the lock.
func (s *Session) lockedOrg(ctx context.Context, op, orgID, subject string, act role.Action) (*organization.Organization, authz.Decision, error) {
	org, err := s.lockOrgRow(ctx, op, orgID)
	if err != nil {
		return nil, authz.Decision{}, err
	}
	d, err := s.authorize(ctx, op, orgID, subject, act)
	return org, d, err
}

// lockOrgRow locks the organization's row, for a call that authorizes next:
// an unauthenticated caller reads nothing, and an organization that does not
// exist fails as one the caller is no member of.
func (s *Session) lockOrgRow(ctx context.Context, op, orgID string) (*organization.Organization, error) {
	if err := s.authenticated(op); err != nil {
		return nil, err
	}
	org, err := s.p.b.Organizations().Lock(ctx, orgID)
	if err != nil {
		return nil, missing(op, err)
	}
	return org, nil
}

// preRead reads what a call reads before it can authorize (the resource
// that names the organization): an unauthenticated caller reads nothing, and
// a miss fails as the check's not found (missing).
func preRead[T any](ctx context.Context, s *Session, op string, get func(context.Context) (*T, error)) (*T, error) {
	if err := s.authenticated(op); err != nil {
		return nil, err
	}
	v, err := get(ctx)
	if err != nil {
		return nil, missing(op, err)
	}
	return v, nil
}

// readIn loads the resource id with get and returns it when the caller may
// read subject in the organization org names (the Get calls).
// The backend may read the organization's policy revision with the row
// (a revision memo, access.NoteRevision): the check then costs no statement
// of its own.
func readIn[T any](ctx context.Context, s *Session, op, id string, get func(context.Context, string) (*T, error), org func(*T) string, subject string) (*T, error) {
	ctx = revmemo.With(ctx) // for the read and the check after it
	v, err := preRead(ctx, s, op, func(ctx context.Context) (*T, error) { return get(ctx, id) })
	if err != nil {
		return nil, err
	}
	if _, err := s.authorize(ctx, op, org(v), subject, role.ActionRead); err != nil {
		return nil, err
	}
	return v, nil
}

// lockIn loads a resource with get, locks the organization org names,
// authorizes act on subject there and, under the lock, reads the resource
// again (what was read before the lock may have changed since).
func lockIn[T any](ctx context.Context, s *Session, op string, get func(context.Context) (*T, error), org func(*T) string, subject string, act role.Action) (*T, authz.Decision, error) {
	v, err := preRead(ctx, s, op, get)
	if err != nil {
		return nil, authz.Decision{}, err
	}
	d, err := s.lockOrg(ctx, op, org(v), subject, act)
	if err != nil {
		return nil, d, err
	}
	v, err = get(ctx)
	return v, d, fault.Wrap(op, err)
}

type requestIDKey struct{}

// WithRequestID returns a context whose calls record id as the request id of
// their versions.
func WithRequestID(ctx context.Context, id string) context.Context {
	if len(id) > 128 || strings.IndexFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		id = ""
	}
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id of ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now().UTC() }

// NewIDGenerator returns the default id generator: 26 lower-case characters,
// a millisecond timestamp then 80 random bits, in Crockford's base32, so that
// ids sort by creation time (and strictly so within one generator).
func NewIDGenerator() IDGenerator { return &idGen{} }

type idGen struct {
	mu   sync.Mutex
	last [16]byte
}

const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

func (g *idGen) NewID() string {
	var b [16]byte
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	_, _ = rand.Read(b[6:])
	g.mu.Lock()
	if string(b[:6]) <= string(g.last[:6]) {
		// Same (or earlier) millisecond: increment the last id, so ids stay ordered.
		b = g.last
		for i := 15; i >= 0; i-- {
			b[i]++
			if b[i] != 0 {
				break
			}
		}
	}
	g.last = b
	g.mu.Unlock()
	// 128 bits as 26 base32 digits (the first carries 3 bits).
	var out [26]byte
	hi := uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 | uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
	lo := uint64(b[8])<<56 | uint64(b[9])<<48 | uint64(b[10])<<40 | uint64(b[11])<<32 | uint64(b[12])<<24 | uint64(b[13])<<16 | uint64(b[14])<<8 | uint64(b[15])
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}
