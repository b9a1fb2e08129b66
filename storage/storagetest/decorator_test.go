package storagetest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/uptrace/bun"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/appmembership"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/idp"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/profile"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/storage/storagetest"
	"github.com/provisionkit/provisioning/token"
	"github.com/provisionkit/provisioning/user"
)

// counting is a decorator over a Store: it counts the calls of every method
// of the contract and forwards them, with the optional capabilities of the
// store it wraps. calls is shared by the stores it shares its database with.
type counting struct {
	inner storagetest.Store
	calls *calls
	// users, when set, replaces the inner store's Users (a broken decorator).
	users func(user.Store) user.Store
}

var (
	_ storagetest.Store      = (*counting)(nil)
	_ storagetest.Sharer     = (*counting)(nil)
	_ storagetest.TxReporter = (*counting)(nil)
	_ storagetest.BunDB      = (*counting)(nil)
)

type calls struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *calls) add(method string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[method]++
}

// decorated returns the factory of counting stores over those of f.
func decorated(f storagetest.Factory, c *calls, users func(user.Store) user.Store) storagetest.Factory {
	return func(t testing.TB) storagetest.Store { return &counting{inner: f(t), calls: c, users: users} }
}

func (s *counting) Organizations() organization.Store {
	s.calls.add("Organizations")
	return s.inner.Organizations()
}

func (s *counting) Users() user.Store {
	s.calls.add("Users")
	if s.users != nil {
		return s.users(s.inner.Users())
	}
	return s.inner.Users()
}

func (s *counting) Memberships() membership.Store {
	s.calls.add("Memberships")
	return s.inner.Memberships()
}

func (s *counting) Profiles() profile.Store {
	s.calls.add("Profiles")
	return s.inner.Profiles()
}

func (s *counting) Roles() role.Store {
	s.calls.add("Roles")
	return s.inner.Roles()
}

func (s *counting) Versions() audit.Store {
	s.calls.add("Versions")
	return s.inner.Versions()
}

func (s *counting) Access() access.Store {
	s.calls.add("Access")
	return s.inner.Access()
}

func (s *counting) IdentityProviders() idp.Store {
	s.calls.add("IdentityProviders")
	return s.inner.IdentityProviders()
}

func (s *counting) Credentials() credential.Store {
	s.calls.add("Credentials")
	return s.inner.Credentials()
}

func (s *counting) AppMemberships() appmembership.Store {
	s.calls.add("AppMemberships")
	return s.inner.AppMemberships()
}

func (s *counting) SecurityEvents() audit.SecurityStore {
	s.calls.add("SecurityEvents")
	return s.inner.SecurityEvents()
}

func (s *counting) IdempotencyKeys() resource.KeyStore {
	s.calls.add("IdempotencyKeys")
	return s.inner.IdempotencyKeys()
}

func (s *counting) Tokens() token.Store {
	s.calls.add("Tokens")
	return s.inner.Tokens()
}

func (s *counting) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	s.calls.add("InTx")
	return s.inner.InTx(ctx, fn)
}

func (s *counting) Migrate(ctx context.Context) error {
	s.calls.add("Migrate")
	return s.inner.Migrate(ctx)
}

// Share decorates the inner store's share.
func (s *counting) Share() (storagetest.Store, error) {
	s.calls.add("Share")
	inner, err := s.inner.(storagetest.Sharer).Share()
	return &counting{inner: inner, calls: s.calls, users: s.users}, err
}

func (s *counting) InTransaction(ctx context.Context) bool {
	s.calls.add("InTransaction")
	return s.inner.(storagetest.TxReporter).InTransaction(ctx)
}

func (s *counting) DB() *bun.DB {
	s.calls.add("DB")
	return s.inner.(storagetest.BunDB).DB()
}

// TestDecoratorConformance: a decorator over bunstore passes the whole
// suite through the same entry point as the adapters, and the suite went
// through every method of the decorator.
func TestDecoratorConformance(t *testing.T) {
	c := &calls{n: map[string]int{}}
	storagetest.Run(t, decorated(storagetest.Bun(storagetest.SQLite), c, nil))
	for _, m := range []string{"Organizations", "Users", "Memberships", "Profiles", "Roles", "Versions", "Access",
		"IdentityProviders", "Credentials", "AppMemberships", "SecurityEvents", "IdempotencyKeys", "Tokens", "InTx",
		"Migrate", "Share", "InTransaction", "DB"} {
		if c.n[m] == 0 {
			t.Errorf("the suite never called the decorator's %s", m)
		}
	}
}

// lenientUsers is a broken decorator's user store: it drops the unique
// email check, reporting a taken address's Create as done.
type lenientUsers struct{ user.Store }

func (u lenientUsers) Create(ctx context.Context, x *user.User) error {
	if err := u.Store.Create(ctx, x); !errors.Is(err, fault.ErrAlreadyExists) {
		return err
	}
	return nil
}

// brokenEnv makes TestSuiteCatchesBrokenDecorator, in the process it
// starts, run the suite on the broken decorator.
const brokenEnv = "STORAGETEST_BROKEN_DECORATOR"

// TestSuiteCatchesBrokenDecorator: the suite fails a decorator that drops
// the unique email check of users, in the subtest Users/EmailTaken. The
// test runs that subtest on the broken decorator in a child process (this
// test binary) and reads its verdict.
func TestSuiteCatchesBrokenDecorator(t *testing.T) {
	if os.Getenv(brokenEnv) == "1" {
		broken := func(u user.Store) user.Store { return lenientUsers{u} }
		storagetest.Run(t, decorated(storagetest.Bun(storagetest.SQLite), &calls{n: map[string]int{}}, broken))
		return
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestSuiteCatchesBrokenDecorator$/^Users$/^EmailTaken$", "-test.v")
	cmd.Env = append(os.Environ(), brokenEnv+"=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("the suite on a broken decorator: error %v, want a failing exit; output:\n%s", err, out)
	}
	for _, want := range []string{
		"--- FAIL: TestSuiteCatchesBrokenDecorator/Users/EmailTaken",
		"Create with a taken email: error = <nil>, want fault.ErrAlreadyExists",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the suite's output on a broken decorator lacks %q:\n%s", want, out)
		}
	}
}
