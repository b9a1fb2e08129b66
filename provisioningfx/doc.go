// Package provisioningfx wires provisioning into a go.uber.org/fx
// application. It is the only package of the module that imports fx.
//
// Module takes the host's *bun.DB (the host owns it, opens it and closes it;
// the module never provides it) and provides a *bunstore.Store and a
// *provisioning.Provisioner. Its OnStart hook migrates the schema
// (bunstore.Store.Migrate) within the start context, so every hook that
// depends on the Provisioner, and therefore runs after it, sees the tables.
//
// Quick start:
//
//	app := fx.New(
//		fx.Provide(openDB),   // func(fx.Lifecycle) (*bun.DB, error): the host's database
//		fx.Supply(logger),    // optional *slog.Logger
//		fx.Provide(fx.Annotate(newMailer, fx.As(new(provisioning.Notifier)))), // optional
//		provisioningfx.Module,
//		provisioningfx.Options(provisioning.WithSubjects("projects")),
//		fx.Invoke(func(p *provisioning.Provisioner) { /* use it */ }),
//	)
//	app.Run()
//
// # Optional dependencies
//
// The Provisioner is built from whatever the application provides of:
//
//   - provisioning.Notifier: receives invitations (provisioning.WithNotifier)
//   - *slog.Logger: the library's logger (provisioning.WithLogger)
//   - provisioning.Clock: the time source (provisioning.WithClock)
//   - provisioning.Option values in the value group "provisioning_options"
//
// Options from the group are applied after those three, so they win over
// them; the order inside the group is not defined, so do not provide two
// options that set the same thing. Options is the short way to add to the
// group; by hand, one option or a slice of them:
//
//	fx.Provide(fx.Annotate(
//		func() provisioning.Option { return provisioning.WithSubjects("projects") },
//		fx.ResultTags(`group:"provisioning_options"`),
//	))
//	fx.Provide(fx.Annotate(
//		func() []provisioning.Option { return []provisioning.Option{provisioning.WithInvitationTTL(48 * time.Hour)} },
//		fx.ResultTags(`group:"provisioning_options,flatten"`),
//	))
//
// # Background jobs
//
// Module also runs the background verification of identity providers
// (provisioning.Verifier) from start to stop; provide a
// provisioning.VerifierConfig to set its interval and batch. Retention, an
// option of its own, purges versions past their retention on schedule
// (provisioning.Retention); provide a provisioning.RetentionConfig to set
// the age, the interval and the batch. Both stop on the app's stop, and run
// safely in several processes over one database.
//
// # Migration
//
// The schema is migrated in an OnStart hook that the Store's constructor
// appends, so it runs before the OnStart hooks of every component built on
// the Store or the Provisioner, whatever the order of modules. The migration
// respects the start context (fx.StartTimeout) and is safe when several
// processes start at once. Without fx, call bunstore.New and
// Store.Migrate yourself.
package provisioningfx
