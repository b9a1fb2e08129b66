package provisioning

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/internal/worker"
)

// Versions retention. Commerce Layer keeps the versions of a resource for
// one year (https://docs.commercelayer.io/provisioning/api-reference/versions):
// DefaultVersionRetention. Older ones are purged by a job the host runs
// (System.PurgeVersions) or schedules (Retention).
const (
	DefaultVersionRetention = 365 * 24 * time.Hour
	// MinVersionRetention is the shortest age PurgeVersions accepts: a
	// guard against a retention given in the wrong unit.
	MinVersionRetention = 24 * time.Hour
	// MaxPurgeBatch bounds the versions one PurgeVersions call deletes.
	MaxPurgeBatch = 10000
)

// PurgeVersions deletes at most limit (1 to MaxPurgeBatch) versions, of
// every organization, created more than olderThan (at least
// MinVersionRetention) before now, oldest first, in one transaction, and
// returns how many it deleted and whether older versions remain (call it
// again until none do). Instances sharing a database may purge at once:
// each deletes versions no other one takes, so their counts add up to what
// was deleted, and none waits for another.
//
// A purge that deletes versions is itself recorded, once it committed, as a
// security event of kind audit.VersionsPurged (System.ListSecurityEvents),
// whose detail tells how many versions were purged and the cutoff, and as a
// log line at level Info (WithLogger). The backend's version store must be
// an audit.Purger (bunstore's is).
func (y *System) PurgeVersions(ctx context.Context, olderThan time.Duration, limit int) (int, bool, error) {
	const op = "provisioning.PurgeVersions"
	var p fault.Problems
	if olderThan < MinVersionRetention {
		p.Add("older_than", "range", "must be at least "+MinVersionRetention.String())
	}
	if limit < 1 || limit > MaxPurgeBatch {
		p.Add("limit", "range", fmt.Sprintf("must be between 1 and %d", MaxPurgeBatch))
	}
	if err := p.Err(op); err != nil {
		return 0, false, err
	}
	purger, ok := y.s.p.b.Versions().(audit.Purger)
	if !ok {
		return 0, false, fault.E(op, fault.Internal, errors.New("the backend's versions cannot be purged"))
	}
	cutoff := y.s.now().Add(-olderThan)
	n, more, err := purger.Purge(ctx, cutoff, limit)
	if err != nil {
		return 0, false, fault.Wrap(op, err)
	}
	if n > 0 {
		detail := strconv.Itoa(n) + " versions created before " + cutoff.Format(time.RFC3339)
		y.s.securityEvent(ctx, audit.SecurityEvent{Kind: audit.VersionsPurged, Operation: op, Subject: typeVersions,
			Reason: "retention", Detail: detail})
		y.s.p.log.InfoContext(ctx, "provisioning: purged versions", "purged", n, "cutoff", cutoff, "more", more)
	}
	return n, more, nil
}

// Retention purges versions on schedule: every Interval it calls
// PurgeVersions with Age and Batch, at once again while older versions
// remain. Several instances may run one each over the same database. Run it
// with Run until its context ends, or Start it and Stop it. A failure is
// logged (WithLogger), and the next round runs as planned.
type Retention struct {
	p        *Provisioner
	age      time.Duration
	interval time.Duration
	batch    int
	h        worker.Handle
}

// RetentionConfig configures a Retention; zero fields take their defaults.
type RetentionConfig struct {
	Age      time.Duration // versions older than this are purged (default DefaultVersionRetention, at least MinVersionRetention)
	Interval time.Duration // between rounds (default 1 hour)
	Batch    int           // versions per PurgeVersions call (default 1000, at most MaxPurgeBatch)
}

// NewRetention returns a Retention over p; it purges nothing until Run or Start.
func NewRetention(p *Provisioner, cfg RetentionConfig) (*Retention, error) {
	if cfg.Age == 0 {
		cfg.Age = DefaultVersionRetention
	}
	if cfg.Interval == 0 {
		cfg.Interval = time.Hour
	}
	if cfg.Batch == 0 {
		cfg.Batch = 1000
	}
	switch {
	case p == nil:
		return nil, errors.New("provisioning: NewRetention: nil Provisioner")
	case cfg.Age < MinVersionRetention:
		return nil, fmt.Errorf("provisioning: NewRetention: age must be at least %v", MinVersionRetention)
	case cfg.Interval < 0:
		return nil, errors.New("provisioning: NewRetention: negative interval")
	case cfg.Batch < 1 || cfg.Batch > MaxPurgeBatch:
		return nil, fmt.Errorf("provisioning: NewRetention: batch must be between 1 and %d", MaxPurgeBatch)
	}
	return &Retention{p: p, age: cfg.Age, interval: cfg.Interval, batch: cfg.Batch}, nil
}

// Run purges on schedule until ctx ends, and returns ctx's error.
func (r *Retention) Run(ctx context.Context) error {
	sys := r.p.System()
	return worker.Every(ctx, r.interval, func(ctx context.Context) bool {
		_, more, err := sys.PurgeVersions(ctx, r.age, r.batch)
		if err != nil && ctx.Err() == nil {
			r.p.log.ErrorContext(ctx, "provisioning: purging versions failed", "error", err)
		}
		return err == nil && more
	})
}

// Start runs Run in a goroutine until Stop; ctx gives it its values, not
// its end. Starting a running Retention fails.
func (r *Retention) Start(ctx context.Context) error {
	return r.h.Start(ctx, func(ctx context.Context) { _ = r.Run(ctx) })
}

// Stop ends what Start started and waits for it, or for ctx to end.
func (r *Retention) Stop(ctx context.Context) error { return r.h.Stop(ctx) }
