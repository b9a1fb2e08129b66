// Package bunstore implements every domain Store of provisioning with bun, on
// SQLite, PostgreSQL and MySQL (MariaDB), and is the provisioning.Backend.
//
// Quick start:
//
//	db, err := sqlite.Open(ctx, "app.db") // or postgres.Open, mysql.Open: the host owns db
//	store, err := bunstore.New(db)
//	err = store.Migrate(ctx)               // explicit; safe from several processes at once
//	p, err := provisioning.New(store)
//
// Tables are prefixed provisioning_ so they live beside the host's own; the
// embedded migrations (one directory per dialect) record themselves in
// provisioning_migrations.
//
// The transaction travels in the context: InTx starts one (or joins the one
// already in ctx) and every Store method runs on it; transient failures
// (serialization failures, deadlocks, SQLite busy) retry the whole function
// a bounded number of times. The end of ctx (its deadline, its
// cancellation) ends the transaction whatever it waits for, SQLite's write
// lock included, with fault.ErrBusy matching ctx's error on every backend:
// nothing of it is committed. Driver errors are translated here, by code, into
// the kinds of package fault: a unique violation is fault.ErrAlreadyExists
// with the field, a foreign-key violation fault.ErrInUse, a lost connection
// on COMMIT fault.ErrCommitUnknown.
//
// Invariants the database holds rather than Go code: one membership per
// (organization, email) and per (organization, user); the organization's
// owner is a foreign key to the owner's membership, so that membership cannot
// be deleted; a profile in use cannot be deleted. Membership and ownership
// changes of one organization lock its row (FOR UPDATE on PostgreSQL and
// MySQL; SQLite write transactions begin IMMEDIATE).
//
// Every write of an organization's policy revision (Create, SetOwner,
// BumpPolicy) also runs pg_notify on PolicyChannel in its transaction on
// PostgreSQL, so listeners hear of it on commit only. There, through bun's
// pgdriver, Access() is an access.Watcher that listens; on SQLite and MySQL
// it is not one, and callers poll the revision.
//
// On SQLite and PostgreSQL the statements every invitation runs (the read
// of its organization under the lock, the inserts of a membership and of a
// version) are prepared once per connection, with placeholders, the first
// time a write transaction begins; bun's query hooks do not see them, as
// bun runs its hooks only for the statements it writes itself. Everything
// else, and every statement on MySQL, goes through bun.
package bunstore
