package storagetest

import (
	"context"
	"testing"

	"github.com/uptrace/bun"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/appmembership"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/idp"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/profile"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/storage/bunstore"
	"github.com/provisionkit/provisioning/token"
	"github.com/provisionkit/provisioning/user"
)

// Store is the storage contract the suite proves: every domain Store, bearer
// tokens, the transaction runner and the schema's migration. It is the
// facade's backend (provisioning.TokenBackend) with Migrate; an adapter, or a
// decorator over one (caching, tracing, counting), that implements it can
// run the suite.
type Store interface {
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
	// SecurityEvents' Append writes outside any transaction in ctx.
	SecurityEvents() audit.SecurityStore
	IdempotencyKeys() resource.KeyStore
	Tokens() token.Store
	// InTx runs fn in one transaction (joining the one in ctx, if any),
	// retrying it from the start on transient failures.
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// Migrate creates or upgrades the schema. It is idempotent and safe to
	// call from several stores over one database at once.
	Migrate(ctx context.Context) error
}

// Factory returns the store under test over a fresh, empty database (not
// migrated: the suite migrates it), closed at the test's cleanup.
//
// The store may have optional capabilities, found by type assertion on what
// the factory returns (a decorator forwards those of the store it wraps):
//   - Sharer: more stores over the same database, for concurrent Migrate.
//     Without it, the subtest Migrate/Concurrent skips.
//   - TxReporter: whether a context carries the store's transaction.
//     Without it, the InTx subtests prove transactions by their effects
//     only.
//   - BunDB: the bun database the rows live in, so that rows are counted and
//     deleted behind the store's back (a revoked credential keeps its row;
//     a credential's secrets go with its row, by the database's foreign key;
//     each migration recorded once and no migration lock left). Without it,
//     those checks are left out (each subtest that leaves one out logs it).
//
// Bun returns the factory of bunstore stores, which have all three.
type Factory func(t testing.TB) Store

// Sharer is the optional capability of a Store that opens another store over
// the same database, as another process sharing it would have.
type Sharer interface {
	Share() (Store, error)
}

// TxReporter is the optional capability of a Store that tells whether ctx
// carries one of its transactions (InTx opened it and has not ended).
type TxReporter interface {
	InTransaction(ctx context.Context) bool
}

// BunDB is the optional capability of a Store kept in a bun database: DB
// returns it. *bunstore.Store has it.
type BunDB interface {
	DB() *bun.DB
}

var (
	_ Store      = (*bunstore.Store)(nil)
	_ Sharer     = bunStore{}
	_ TxReporter = bunStore{}
	_ BunDB      = bunStore{}
)

// Bun returns the factory of bunstore stores (built with opts) over the
// databases open opens: the three backends run the suite with
// Run(t, Bun(SQLite)), Run(t, Bun(Postgres)) and Run(t, Bun(MySQL)).
func Bun(open Opener, opts ...bunstore.Option) Factory {
	return func(t testing.TB) Store {
		t.Helper()
		s, err := newBunStore(open(t), opts)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

// bunStore is a *bunstore.Store with the suite's optional capabilities.
type bunStore struct {
	*bunstore.Store
	opts []bunstore.Option
}

func newBunStore(db *bun.DB, opts []bunstore.Option) (bunStore, error) {
	s, err := bunstore.New(db, opts...)
	return bunStore{s, opts}, err
}

// Share returns another bunstore over the same *bun.DB.
func (s bunStore) Share() (Store, error) { return newBunStore(s.DB(), s.opts) }

// InTransaction is bunstore.InTransaction.
func (bunStore) InTransaction(ctx context.Context) bool { return bunstore.InTransaction(ctx) }
