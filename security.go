package provisioning

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/authz"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

// Security events: refusals recorded durably, even though the refused call
// changed nothing (its transaction rolled back). A refusal inside a
// transaction is kept in the call's buffer and written once the
// transaction has ended, outside it (SQLite has one writer: a write from
// another connection while the transaction holds the lock would wait for
// itself); a refusal outside any transaction is written at once. Writing
// one never changes the call's outcome: a failure is logged.

// eventBuffer holds the security events of one call's transaction.
type eventBuffer struct {
	mu     sync.Mutex
	events []audit.SecurityEvent
}

type eventBufferKey struct{}

// withEvents runs fn with a buffer for security events in ctx (reusing the
// one ctx has, if any), and writes them after fn returns, outside fn's
// transaction. reset is called at the start of each attempt of a retried
// transaction, so that a retry does not repeat its events.
func (s *Session) withEvents(ctx context.Context, fn func(ctx context.Context, reset func()) error) error {
	if _, ok := ctx.Value(eventBufferKey{}).(*eventBuffer); ok {
		return fn(ctx, func() {})
	}
	buf := &eventBuffer{}
	err := fn(context.WithValue(ctx, eventBufferKey{}, buf), func() {
		buf.mu.Lock()
		buf.events = buf.events[:0]
		buf.mu.Unlock()
	})
	buf.mu.Lock()
	events := buf.events
	buf.mu.Unlock()
	if errors.Is(err, fault.ErrForbidden) && !slices.ContainsFunc(events, func(e audit.SecurityEvent) bool {
		return e.Kind == audit.AuthorizationRefused
	}) {
		// Refused by a rule after the check allowed the call: an escalation,
		// an owner-only change.
		events = append(events, s.stamped(ruleRefusal("", err)))
	}
	for i := range events {
		s.p.appendSecurityEvent(ctx, &events[i])
	}
	return err
}

// ruleRefusal is the security event of a call (or of one item of a bulk
// call) that a rule refused after the check allowed it.
func ruleRefusal(orgID string, err error) audit.SecurityEvent {
	return audit.SecurityEvent{Kind: audit.AuthorizationRefused, OrganizationID: orgID, Operation: opOf(err),
		Reason: "rule", Detail: ruleOf(err)}
}

// opOf returns the operation a fault error names, "" when none.
func opOf(err error) string {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe.Op
	}
	return ""
}

// ruleOf returns what a refusal says of the rule that refused it.
func ruleOf(err error) string {
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Err != nil {
		return fe.Err.Error()
	}
	return ""
}

// lastOwner records and returns the refusal of a change that would leave
// m's organization without its owner.
func (s *Session) lastOwner(ctx context.Context, op string, m *membership.Membership) error {
	s.securityEvent(ctx, audit.SecurityEvent{Kind: audit.LastOwnerRefused, OrganizationID: m.OrganizationID,
		Operation: op, Subject: typeMemberships, Reason: "last_owner", Detail: "membership " + m.ID})
	return fault.E(op, fault.Conflict, fault.ErrLastOwner)
}

// securityEvent records e as the session's principal: buffered when ctx
// carries a call's buffer, written at once otherwise.
func (s *Session) securityEvent(ctx context.Context, e audit.SecurityEvent) {
	e = s.stamped(e)
	if buf, ok := ctx.Value(eventBufferKey{}).(*eventBuffer); ok {
		buf.mu.Lock()
		buf.events = append(buf.events, e)
		buf.mu.Unlock()
		return
	}
	s.p.appendSecurityEvent(ctx, &e)
}

// stamped returns e with the session's principal and client address.
func (s *Session) stamped(e audit.SecurityEvent) audit.SecurityEvent {
	e.Who = audit.Who{Type: string(s.pr.Kind), ID: s.pr.ID}
	if s.pr.IP.IsValid() {
		e.IP = s.pr.IP.String()
	}
	return e
}

// refused records the check's refusal of act on subject in orgID.
func (s *Session) refused(ctx context.Context, op, orgID, subject string, act role.Action, reason authz.Reason) {
	s.securityEvent(ctx, audit.SecurityEvent{Kind: audit.AuthorizationRefused, OrganizationID: orgID, Operation: op,
		Subject: subject, Action: string(act), Reason: string(reason)})
}

// appendSecurityEvent stamps e and writes it; a failure is logged. Events
// that anyone can cause without authenticating (bad credentials, bad
// tokens) are sampled: see eventSampler.
func (p *Provisioner) appendSecurityEvent(ctx context.Context, e *audit.SecurityEvent) {
	if e.CreatedAt.IsZero() {
		e.CreatedAt = p.clock.Now().UTC().Truncate(time.Microsecond)
	}
	if e.Kind == audit.BadCredentials || e.Kind == audit.BadToken {
		ok, skipped := p.sampler.admit(string(e.Kind)+"|"+e.IP+"|"+e.Detail, e.CreatedAt)
		if !ok {
			return
		}
		if skipped > 0 {
			e.Detail += " (" + strconv.Itoa(skipped) + " more not recorded)"
		}
	}
	if e.ID == "" {
		e.ID = p.ids.NewID()
	}
	if e.RequestID == "" {
		e.RequestID = RequestID(ctx)
	}
	if err := p.b.SecurityEvents().Append(ctx, e); err != nil {
		p.log.ErrorContext(ctx, "provisioning: recording a security event failed", "kind", string(e.Kind), "error", err)
	}
}

// RecordSecurityEvent records a security event the host observed, such as
// a bearer token that did not authenticate (audit.BadToken). The ID, time
// and request id are filled when empty; text fields are escaped. Never put
// a secret in it: record a token's first characters, not the token.
func (y *System) RecordSecurityEvent(ctx context.Context, e audit.SecurityEvent) error {
	if !e.Kind.Valid() {
		return fault.InvalidField("provisioning.RecordSecurityEvent", "kind", "enum", "must be a known kind of security event")
	}
	y.s.p.appendSecurityEvent(ctx, &e)
	return nil
}

// ListSecurityEvents lists security events, oldest first: refused
// authorizations, last-owner refusals, bad credentials, bad tokens. It is
// for the host's own audit (the System handle), not for end users.
func (y *System) ListSecurityEvents(ctx context.Context, f audit.SecurityFilter) (resource.Page[audit.SecurityEvent], error) {
	const op = "provisioning.ListSecurityEvents"
	if err := f.Validate(); err != nil {
		return resource.Page[audit.SecurityEvent]{}, err
	}
	page, err := y.s.p.b.SecurityEvents().List(ctx, f)
	return page, fault.Wrap(op, err)
}

// Sampling of the security events unauthenticated callers cause: at most
// sampleBurst a minute for one (kind, address, detail), so that a flood of
// bad logins cannot grow the table without bound; the first one written
// after a pause says how many were left out. At most sampleKeys keys are
// remembered; past that the memory starts over (a flood from many
// addresses then writes sampleBurst per address and minute at worst).
const (
	sampleBurst  = 10
	sampleWindow = time.Minute
	sampleKeys   = 10_000
)

type eventSampler struct {
	mu      sync.Mutex
	windows map[string]*sampleWindowState
}

type sampleWindowState struct {
	start   time.Time
	written int
	skipped int
}

// admit reports whether an event of key may be written at now, and how
// many of key's events were left out before it.
func (s *eventSampler) admit(key string, now time.Time) (ok bool, skipped int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.windows == nil || len(s.windows) >= sampleKeys {
		s.windows = make(map[string]*sampleWindowState)
	}
	w := s.windows[key]
	if w == nil || now.Sub(w.start) >= sampleWindow {
		prev := 0
		if w != nil {
			prev = w.skipped
		}
		w = &sampleWindowState{start: now, skipped: prev}
		s.windows[key] = w
	}
	if w.written >= sampleBurst {
		w.skipped++
		return false, 0
	}
	w.written++
	skipped, w.skipped = w.skipped, 0
	return true, skipped
}
