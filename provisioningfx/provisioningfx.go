package provisioningfx

import (
	"context"
	"log/slog"

	"github.com/uptrace/bun"
	"go.uber.org/fx"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/internal/worker"
	"github.com/provisionkit/provisioning/storage/bunstore"
)

// OptionsGroup is the name of the value group of provisioning.Option values
// that NewProvisioner applies.
const OptionsGroup = "provisioning_options"

// Module provides *bunstore.Store, *provisioning.Provisioner and
// *provisioning.Verifier from the host's *bun.DB, migrates the schema on
// start, and runs the background verification of identity providers from
// start to stop. See the package documentation for its optional
// dependencies.
var Module = fx.Module("provisioning",
	fx.Provide(
		NewStore,
		NewProvisioner,
		NewVerifier,
	),
	// Build the store and the verifier even when nothing asks for them, so
	// that the migration and the verification run.
	fx.Invoke(func(*bunstore.Store, *provisioning.Verifier) {}),
)

// Retention provides *provisioning.Retention and runs it from start to
// stop: versions older than the retention age are purged on schedule. Add
// it beside Module; the host may provide a provisioning.RetentionConfig
// (the defaults otherwise: a year, every hour).
var Retention = fx.Module("provisioning_retention",
	fx.Provide(NewRetention),
	fx.Invoke(func(*provisioning.Retention) {}),
)

// Options adds opts to the value group the Provisioner is built with.
func Options(opts ...provisioning.Option) fx.Option {
	return fx.Provide(fx.Annotate(
		func() []provisioning.Option { return opts },
		fx.ResultTags(`group:"`+OptionsGroup+`,flatten"`),
	))
}

// StoreParams are the dependencies of NewStore.
type StoreParams struct {
	fx.In

	Lifecycle fx.Lifecycle
	DB        *bun.DB
}

// NewStore returns a bunstore.Store over the host's database and appends the
// OnStart hook that migrates it. Outside fx, use bunstore.New.
func NewStore(p StoreParams) (*bunstore.Store, error) {
	st, err := bunstore.New(p.DB)
	if err != nil {
		return nil, err
	}
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(ctx context.Context) error { return st.Migrate(ctx) },
	})
	return st, nil
}

// ProvisionerParams are the dependencies of NewProvisioner: a store and,
// optionally, what the host provides of the rest.
type ProvisionerParams struct {
	fx.In

	Lifecycle fx.Lifecycle
	Store     *bunstore.Store
	Notifier  provisioning.Notifier `optional:"true"`
	Logger    *slog.Logger          `optional:"true"`
	Clock     provisioning.Clock    `optional:"true"`
	Options   []provisioning.Option `group:"provisioning_options"`
}

// NewProvisioner builds the Provisioner and runs its policy watcher
// (Provisioner.WatchPolicy: LISTEN/NOTIFY on PostgreSQL, polling elsewhere)
// from start to stop, so that policy caches refresh early after another
// process's change, and closes it (Provisioner.Close) at stop. Options from the group come last. Outside fx, use
// provisioning.New (and run WatchPolicy in a goroutine if you want it).
func NewProvisioner(p ProvisionerParams) (*provisioning.Provisioner, error) {
	opts := make([]provisioning.Option, 0, 3+len(p.Options))
	if p.Notifier != nil {
		opts = append(opts, provisioning.WithNotifier(p.Notifier))
	}
	if p.Logger != nil {
		opts = append(opts, provisioning.WithLogger(p.Logger))
	}
	if p.Clock != nil {
		opts = append(opts, provisioning.WithClock(p.Clock))
	}
	opts = append(opts, p.Options...)
	prov, err := provisioning.New(p.Store, opts...)
	if err != nil {
		return nil, err
	}
	if p.Lifecycle == nil { // built by hand, without a lifecycle: no watcher
		return prov, nil
	}
	var watcher worker.Handle
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			return watcher.Start(ctx, func(ctx context.Context) { prov.WatchPolicy(ctx, 0) })
		},
		OnStop: func(ctx context.Context) error {
			if err := watcher.Stop(ctx); err != nil {
				return err
			}
			return prov.Close()
		},
	})
	return prov, nil
}

// starter is a background job of the library.
type starter interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// VerifierParams are the dependencies of NewVerifier.
type VerifierParams struct {
	fx.In

	Lifecycle   fx.Lifecycle
	Provisioner *provisioning.Provisioner
	Config      provisioning.VerifierConfig `optional:"true"`
}

// NewVerifier builds the background verification of identity providers
// (provisioning.NewVerifier, with the host's VerifierConfig if it provides
// one) and runs it from start to stop. Outside fx, call
// provisioning.NewVerifier and Start and Stop it yourself.
func NewVerifier(p VerifierParams) (*provisioning.Verifier, error) {
	return runJob(p.Lifecycle, provisioning.NewVerifier, p.Provisioner, p.Config)
}

// RetentionParams are the dependencies of NewRetention.
type RetentionParams struct {
	fx.In

	Lifecycle   fx.Lifecycle
	Provisioner *provisioning.Provisioner
	Config      provisioning.RetentionConfig `optional:"true"`
}

// NewRetention builds the purge of old versions (provisioning.NewRetention,
// with the host's RetentionConfig if it provides one) and runs it from
// start to stop.
func NewRetention(p RetentionParams) (*provisioning.Retention, error) {
	return runJob(p.Lifecycle, provisioning.NewRetention, p.Provisioner, p.Config)
}

// runJob builds a background job with build and appends the hooks that
// start it on start and stop it on stop (none without a lifecycle: built
// by hand, the host runs it).
func runJob[C any, J starter](lc fx.Lifecycle, build func(*provisioning.Provisioner, C) (J, error), p *provisioning.Provisioner, cfg C) (J, error) {
	job, err := build(p, cfg)
	if err != nil || lc == nil {
		return job, err
	}
	lc.Append(fx.Hook{OnStart: job.Start, OnStop: job.Stop})
	return job, nil
}
