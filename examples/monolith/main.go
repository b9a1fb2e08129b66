// Command monolith is an fx application that embeds provisioning beside a
// service of its own (projects). The host provides the *bun.DB and the
// *slog.Logger, registers its "projects" permission subject through the
// provisioning options group, and guards its own operations with
// Session.Can. A short scripted scenario runs after start, then the app
// shuts itself down.
//
//	go run ./examples/monolith
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/uptrace/bun"
	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/examples/monolith/projects"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/provisioningfx"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/storage/sqlite"
	"github.com/provisionkit/provisioning/user"
)

func main() {
	fx.New(
		// What the host owns: its database and its logger.
		fx.Provide(openDB, newLogger),
		fx.WithLogger(func(log *slog.Logger) fxevent.Logger {
			l := &fxevent.SlogLogger{Logger: log}
			l.UseLogLevel(slog.LevelDebug) // fx's own events only when debugging
			return l
		}),
		// The host's mailer, used by provisioning for invitations.
		fx.Provide(fx.Annotate(newMailer, fx.As(new(provisioning.Notifier)))),

		provisioningfx.Module,
		provisioningfx.Options(provisioning.WithSubjects(projects.Subject)),

		projectsModule,
		fx.Invoke(registerScenario),
	).Run() // exits non-zero when start fails or the scenario shuts down with a code
}

// projectsModule is the host's own module, built on the Provisioner.
var projectsModule = fx.Module("projects",
	fx.Provide(projects.New),
	fx.Invoke(func(lc fx.Lifecycle, s *projects.Service) {
		// Appended after provisioning's migration hook, since the service
		// depends on the Provisioner.
		lc.Append(fx.Hook{OnStart: s.Migrate})
	}),
)

// openDB opens an SQLite file in a temporary directory, closed and removed on stop.
func openDB(lc fx.Lifecycle) (*bun.DB, error) {
	dir, err := os.MkdirTemp("", "provisioning-monolith-")
	if err != nil {
		return nil, err
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "app.db"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	lc.Append(fx.Hook{OnStop: func(context.Context) error {
		return errors.Join(db.Close(), os.RemoveAll(dir))
	}})
	return db, nil
}

func newLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// mailer is the host's Notifier: a real one would send an email with a link
// carrying the token.
type mailer struct{}

func newMailer() *mailer { return &mailer{} }

func (*mailer) Invited(_ context.Context, inv provisioning.Invitation) error {
	if inv.Token == "" {
		fmt.Printf("  [mail] to %s: you now belong to %q\n", inv.Email, inv.OrganizationName)
	} else {
		fmt.Printf("  [mail] to %s: accept your invitation to %q\n", inv.Email, inv.OrganizationName)
	}
	return nil
}

// registerScenario runs the scenario after start, in its own goroutine (a
// hook must not block), then shuts the app down with the scenario's outcome.
func registerScenario(lc fx.Lifecycle, sd fx.Shutdowner, p *provisioning.Provisioner, svc *projects.Service, log *slog.Logger) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			go func() {
				defer close(done)
				code := 0
				if err := scenario(ctx, p, svc); err != nil {
					log.Error("monolith: scenario failed", "error", err)
					code = 1
				}
				_ = sd.Shutdown(fx.ExitCode(code))
			}()
			return nil
		},
		OnStop: func(stop context.Context) error {
			cancel()
			select {
			case <-done:
				return nil
			case <-stop.Done():
				return stop.Err()
			}
		},
	})
}

func scenario(ctx context.Context, p *provisioning.Provisioner, svc *projects.Service) error {
	fmt.Println("monolith: provisioning and the projects service share one SQLite database")

	// Sign-up is trusted host code; it has verified each address.
	users := map[string]*user.User{}
	for _, email := range []string{"alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"} {
		u, err := p.System().CreateUser(ctx, user.Create{Email: email, EmailVerified: true})
		if err != nil {
			return err
		}
		users[email] = u
	}
	alice, bob, carol, dave := users["alice@example.com"], users["bob@example.com"], users["carol@example.com"], users["dave@example.com"]
	fmt.Println("signed up alice, bob, carol and dave")

	asAlice := p.As(provisioning.User(alice.ID))
	org, err := asAlice.CreateOrganization(ctx, organization.Create{Name: "Acme"})
	if err != nil {
		return err
	}
	fmt.Printf("alice created organization %q and owns it\n", org.Name)

	// A custom role that grants the host's subject.
	dev, err := asAlice.CreateRole(ctx, role.Create{OrganizationID: org.ID, Name: "Developer"})
	if err != nil {
		return err
	}
	perm, err := asAlice.CreatePermission(ctx, role.PermissionCreate{RoleID: dev.ID, Subject: projects.Subject, CanCreate: true, CanRead: true})
	if err != nil {
		return err
	}
	fmt.Println("alice created role \"Developer\" with create+read on projects")

	readOnly, err := asAlice.ListRoles(ctx, role.Filter{OrganizationID: org.ID, Kind: role.KindReadOnly})
	if err != nil {
		return err
	}
	for _, in := range []membership.Invite{
		{OrganizationID: org.ID, UserEmail: bob.Email, RoleID: dev.ID},
		{OrganizationID: org.ID, UserEmail: carol.Email, RoleID: readOnly.Items[0].ID},
	} {
		m, err := asAlice.Invite(ctx, in)
		if err != nil {
			return err
		}
		fmt.Printf("alice invited %s: membership %s\n", m.UserEmail, m.Status)
	}

	// The host's operations, guarded by Session.Can.
	try := func(who *user.User, name string) error {
		pr, err := svc.Create(ctx, provisioning.User(who.ID), org.ID, name)
		switch {
		case errors.Is(err, fault.ErrForbidden):
			fmt.Printf("%s creates project %q: refused (forbidden)\n", who.Email, name)
			return nil
		case err != nil:
			return err
		}
		fmt.Printf("%s creates project %q: ok\n", who.Email, pr.Name)
		return nil
	}
	list := func(who *user.User) error {
		ps, err := svc.List(ctx, provisioning.User(who.ID), org.ID)
		switch {
		case errors.Is(err, fault.ErrForbidden):
			fmt.Printf("%s lists projects: refused (forbidden)\n", who.Email)
			return nil
		case err != nil:
			return err
		}
		names := make([]string, len(ps))
		for i, pr := range ps {
			names[i] = pr.Name
		}
		fmt.Printf("%s lists projects: %q\n", who.Email, names)
		return nil
	}
	steps := []func() error{
		func() error { return try(bob, "Website") },   // Developer: may create
		func() error { return try(alice, "Billing") }, // admin: may do everything
		func() error { return try(carol, "Sneaky") },  // read_only: may not create
		func() error { return list(carol) },           // ...but may read
		func() error { return try(dave, "Intruder") }, // not a member
		func() error { return list(dave) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}

	// A revoked grant is refused on the very next call.
	off := false
	if _, err := asAlice.UpdatePermission(ctx, perm.ID, role.PermissionUpdate{CanCreate: &off}); err != nil {
		return err
	}
	fmt.Println("alice turned off create on projects for Developer")
	if err := try(bob, "Mobile app"); err != nil {
		return err
	}
	if err := list(bob); err != nil {
		return err
	}
	fmt.Println("monolith: scenario done, shutting down")
	return nil
}
