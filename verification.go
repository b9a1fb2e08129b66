package provisioning

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/idp"
	"github.com/provisionkit/provisioning/internal/worker"
	"github.com/provisionkit/provisioning/resource"
)

// MaxVerifyBatch bounds the providers one pass of
// VerifyPendingIdentityProviders claims.
const MaxVerifyBatch = 1000

// WithVerificationRetry sets how the background verification of identity
// providers retries a pending one and when it gives up (the default is
// idp.DefaultRetry). New refuses a policy that idp.Retry.Validate refuses.
func WithVerificationRetry(r idp.Retry) Option {
	return optionFunc(func(p *Provisioner) { p.retry = r })
}

// VerifyPendingIdentityProviders is one pass of the background verification
// of identity providers: it claims at most limit (1 to MaxVerifyBatch)
// pending providers whose next attempt is due, soonest first, looks up their
// domains (as VerifyIdentityProvider does) and records the outcome of each,
// as the system: verified ends its schedule; otherwise the attempt is
// counted and the next one waits longer (WithVerificationRetry), until the
// attempts are spent or the answer is definitive (idp.ErrNoSuchDomain), when
// the status becomes error. A change of status writes a version; a provider
// that stays pending writes none. It returns how many providers it claimed.
//
// Instances sharing a database may run it at once: a provider is claimed by
// one of them only, until its claim lapses (idp.Retry.Lease), so it is
// looked up once per attempt. A failure on one provider does not stop the
// others: the pass returns the failures joined, with the count. Run it on a
// schedule with a Verifier, or from the host's own job runner.
func (y *System) VerifyPendingIdentityProviders(ctx context.Context, limit int) (int, error) {
	const op = "provisioning.VerifyPendingIdentityProviders"
	if limit < 1 || limit > MaxVerifyBatch {
		return 0, fault.InvalidField(op, "limit", "range", fmt.Sprintf("must be between 1 and %d", MaxVerifyBatch))
	}
	s := y.s
	now := s.now()
	ids, err := s.p.b.IdentityProviders().ClaimDue(ctx, now, now.Add(s.p.retry.Lease), limit)
	if err != nil {
		return 0, fault.Wrap(op, err)
	}
	settle := func(p *idp.Provider, ch resource.Changes, status idp.Status, checks []idp.DomainCheck, now time.Time) {
		s.p.retry.Settle(p, ch, status, checks, now, rand.Float64())
	}
	var errs []error
	for _, id := range ids {
		if ctx.Err() != nil {
			errs = append(errs, fault.Wrap(op, ctx.Err()))
			break
		}
		_, _, err := s.verifyIdentityProvider(ctx, op, id, true, settle)
		if err != nil && fault.KindOf(err) != fault.NotFound { // a provider deleted since it was claimed
			errs = append(errs, fmt.Errorf("identity provider %s: %w", id, err))
		}
	}
	return len(ids), errors.Join(errs...)
}

// Verifier runs the background verification of identity providers: every
// Interval it calls VerifyPendingIdentityProviders with Batch, at once again
// while a pass claims a full batch. Several instances may run one each over
// the same database (see VerifyPendingIdentityProviders). Run it with Run
// until its context ends, or Start it and Stop it (provisioningfx does, from
// the host's lifecycle). A pass's failures are logged (WithLogger), and the
// next pass runs as planned.
type Verifier struct {
	p        *Provisioner
	interval time.Duration
	batch    int
	h        worker.Handle
}

// VerifierConfig configures a Verifier; zero fields take their defaults.
type VerifierConfig struct {
	Interval time.Duration // between passes (default 30 seconds)
	Batch    int           // providers claimed per pass (default 10, at most MaxVerifyBatch)
}

// NewVerifier returns a Verifier over p; it runs nothing until Run or Start.
func NewVerifier(p *Provisioner, cfg VerifierConfig) (*Verifier, error) {
	if cfg.Interval == 0 {
		cfg.Interval = 30 * time.Second
	}
	if cfg.Batch == 0 {
		cfg.Batch = 10
	}
	switch {
	case p == nil:
		return nil, errors.New("provisioning: NewVerifier: nil Provisioner")
	case cfg.Interval < 0:
		return nil, errors.New("provisioning: NewVerifier: negative interval")
	case cfg.Batch < 1 || cfg.Batch > MaxVerifyBatch:
		return nil, fmt.Errorf("provisioning: NewVerifier: batch must be between 1 and %d", MaxVerifyBatch)
	}
	return &Verifier{p: p, interval: cfg.Interval, batch: cfg.Batch}, nil
}

// Run verifies on schedule until ctx ends, and returns ctx's error.
func (v *Verifier) Run(ctx context.Context) error {
	sys := v.p.System()
	return worker.Every(ctx, v.interval, func(ctx context.Context) bool {
		n, err := sys.VerifyPendingIdentityProviders(ctx, v.batch)
		if err != nil && ctx.Err() == nil {
			v.p.log.ErrorContext(ctx, "provisioning: verifying identity providers failed", "claimed", n, "error", err)
		}
		return err == nil && n == v.batch
	})
}

// Start runs Run in a goroutine until Stop; ctx gives it its values, not
// its end. Starting a running Verifier fails.
func (v *Verifier) Start(ctx context.Context) error {
	return v.h.Start(ctx, func(ctx context.Context) { _ = v.Run(ctx) })
}

// Stop ends what Start started and waits for it, or for ctx to end.
func (v *Verifier) Stop(ctx context.Context) error { return v.h.Stop(ctx) }
