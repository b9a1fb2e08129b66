package idp

import (
	"errors"
	"fmt"
	"time"

	"github.com/provisionkit/provisioning/resource"
)

// ErrNoSuchDomain is the definitive answer that a domain does not exist. A
// Resolver that can tell a name that does not exist (NXDOMAIN) from one
// without TXT records returns an error wrapping it: the background
// verification then gives up on the provider at once, with status error. Go's
// resolver does not tell the two apart (both are a *net.DNSError with
// IsNotFound), and a domain without TXT records is what every domain is
// until its owner publishes the record, so its answers are retried.
var ErrNoSuchDomain = errors.New("idp: no such domain")

// Retry is how the background verification retries a pending provider: after
// each attempt that does not verify it, the next one waits First, then twice
// as long each time up to Max, with jitter (a random wait between half the
// delay and the delay, so that providers created together spread out); after
// Attempts attempts that did not verify it, or a definitive answer
// (ErrNoSuchDomain), its status becomes error and it is no longer tried (its
// owner may still verify it on demand, or change its domains, which makes it
// pending again). An instance that claims a due provider has Lease to look it
// up and record the outcome before another instance may claim it again.
type Retry struct {
	First    time.Duration
	Max      time.Duration
	Attempts int
	Lease    time.Duration
}

// DefaultRetry waits 1 minute after the first attempt, doubling up to 6
// hours, and gives up after 12 attempts (about 35 hours after creation); a
// claim lasts 2 minutes.
var DefaultRetry = Retry{First: time.Minute, Max: 6 * time.Hour, Attempts: 12, Lease: 2 * time.Minute}

// Validate checks the policy: positive durations, First not above Max, at
// least one attempt, and a Lease longer than the lookups it covers
// (LookupTimeout).
func (r Retry) Validate() error {
	switch {
	case r.First <= 0 || r.Max < r.First:
		return fmt.Errorf("idp: retry: want 0 < First <= Max, got First %v, Max %v", r.First, r.Max)
	case r.Attempts < 1:
		return fmt.Errorf("idp: retry: want at least 1 attempt, got %d", r.Attempts)
	case r.Lease <= LookupTimeout:
		return fmt.Errorf("idp: retry: Lease %v must exceed the lookup timeout %v", r.Lease, LookupTimeout)
	}
	return nil
}

// Delay returns the wait after the attempt-th attempt (from 1) that did not
// verify a provider: First·2^(attempt-1), capped at Max, scaled by jitter
// into [delay/2, delay] (jitter in [0, 1): a random number).
func (r Retry) Delay(attempt int, jitter float64) time.Duration {
	d := r.First
	for i := 1; i < attempt && d < r.Max; i++ {
		if d > r.Max/2 {
			d = r.Max
			break
		}
		d *= 2
	}
	d = min(d, r.Max)
	jitter = min(max(jitter, 0), 1)
	return d/2 + time.Duration(float64(d/2)*jitter)
}

// Settle records on p, a pending provider, the outcome of one background
// attempt at now: status and checks as Verify returned them. Verified ends
// the schedule; otherwise the attempt is counted, and p is scheduled again
// after Delay, unless the answer was definitive or the attempts are spent:
// then its status becomes error. A change of status is recorded in ch.
func (r Retry) Settle(p *Provider, ch resource.Changes, status Status, checks []DomainCheck, now time.Time, jitter float64) {
	if status == Verified {
		p.SetStatus(ch, Verified, now)
		return
	}
	p.VerifyAttempts++
	if p.VerifyAttempts >= r.Attempts || definitive(checks) {
		p.SetStatus(ch, Failed, now)
		return
	}
	p.NextVerifyAt = now.Add(r.Delay(p.VerifyAttempts, jitter))
}

// definitive reports whether a domain's lookup answered that it does not exist.
func definitive(checks []DomainCheck) bool {
	for _, c := range checks {
		if c.Status == Failed && errors.Is(c.Err, ErrNoSuchDomain) {
			return true
		}
	}
	return false
}

// SetStatus sets p's status to st, recording a change in ch, and its
// verification schedule: a provider that leaves Pending is no longer
// scheduled; one that becomes Pending is due at now, with no attempt
// counted; one that stays Pending keeps its schedule.
func (p *Provider) SetStatus(ch resource.Changes, st Status, now time.Time) {
	was := p.Status
	resource.SetField(ch, "status", &p.Status, &st)
	switch {
	case st != Pending:
		p.NextVerifyAt = time.Time{}
	case was != Pending:
		p.VerifyAttempts, p.NextVerifyAt = 0, now
	}
}
