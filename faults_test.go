package provisioning_test

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/sqliteshim"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/appmembership"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/internal/faultdb"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/profile"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/storage/bunstore"
	"github.com/provisionkit/provisioning/storage/sqlite"
	"github.com/provisionkit/provisioning/user"
)

// The fault sweep: every mutating call below is run
// once to count its driver steps (internal/faultdb), then, each time on a
// fresh copy of the same SQLite database with a fresh Provisioner (a cold
// cache, which the faulted attempt fills):
//
//   - each step i fails (a plain driver failure, SQLITE_IOERR): the call
//     fails as internal; every provisioning_* table is exactly as before
//     (full rows, not counts; provisioning_security_events is written
//     outside the transaction on purpose and is left out); the Provisioner
//     that saw the failed attempt answers a fixed set of authorization
//     questions as before; and the same call without a fault then succeeds
//     with its versions, the same Provisioner answering as a fresh one did
//     after the call;
//   - each step i finds the call's context cancelled just before it: the
//     same, except at the commit, which database/sql lets through (the
//     call then succeeds, whole);
//   - the commit succeeds and its reply is lost: the call fails with
//     fault.ErrCommitUnknown, its change is in the database, the
//     Provisioner's answers agree with the rows, and a retry of the same
//     call does what the table says: nothing, a refusal (a conflict on a
//     natural key, not found for what was deleted), or a duplicate (the
//     creations without an idempotency key; with one, nothing);
//   - (TestFaultTransientRetried) each step i fails as transient
//     (SQLITE_BUSY): the transaction is retried and the call succeeds
//     exactly once (its versions, no more).
//
// TestFaultSweepDetectsSabotage shows that these checks fail when the
// properties they check are broken.

// faultOutcome is what a retry after a lost commit does.
type faultOutcome struct {
	kind   fault.Kind // ok: the retry succeeds
	writes bool       // the retry writes rows (a duplicate): needs an idempotency key
}

var (
	retryNoop      = faultOutcome{kind: ok}               // idempotent: succeeds, writes nothing
	retryDuplicate = faultOutcome{kind: ok, writes: true} // succeeds again: a second resource
	retryConflict  = faultOutcome{kind: fault.Conflict}   // refused by a natural key
	retryNotFound  = faultOutcome{kind: fault.NotFound}   // what it deleted is gone
	retryForbidden = faultOutcome{kind: fault.Forbidden}  // the first attempt changed who may
)

func (o faultOutcome) String() string {
	s := kindName(o.kind)
	if o.writes {
		s += " writing rows"
	}
	return s
}

type faultOp struct {
	name     string
	call     func(ctx context.Context, w *faultWorld) error
	versions int          // versions a success writes
	retry    faultOutcome // a retry of the call after its commit's reply was lost
}

func faultOps() []faultOp {
	ops := plainFaultOps()
	// The creations without a natural key again, under an idempotency key:
	// a retry with the key after a lost commit creates nothing more.
	for _, op := range ops {
		if slices.Contains([]string{"CreateOrganization", "CreateRole", "CreateProfile", "CreateCredential"}, op.name) {
			call, key := op.call, "fault-sweep-"+op.name
			ops = append(ops, faultOp{name: op.name + "/keyed", versions: op.versions, retry: retryNoop,
				call: func(ctx context.Context, w *faultWorld) error {
					return call(provisioning.WithIdempotencyKey(ctx, key), w)
				}})
		}
	}
	return ops
}

func plainFaultOps() []faultOp {
	yes := true
	return []faultOp{
		{"CreateOrganization", func(ctx context.Context, w *faultWorld) error {
			_, err := w.as(w.owner).CreateOrganization(ctx, organization.Create{Name: "Faulty"})
			return err
		}, 6, retryDuplicate /* without an idempotency key */},
		{"UpdateOrganization/MFA", func(ctx context.Context, w *faultWorld) error {
			_, err := w.as(w.owner).UpdateOrganization(ctx, w.org.ID, organization.Update{MFARequired: &yes})
			return err
		}, 1, retryForbidden /* the owner has no second factor: the change locked it out */},
		{"Invite/existing user", func(ctx context.Context, w *faultWorld) error {
			_, err := w.as(w.owner).Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: w.stranger.Email, RoleID: w.readOnly.ID})
			return err
		}, 1, retryConflict},
		{"Invite/new email", func(ctx context.Context, w *faultWorld) error {
			_, err := w.as(w.owner).Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: "new@example.com", RoleID: w.readOnly.ID})
			return err
		}, 1, retryConflict},
		{"AcceptInvitation", func(ctx context.Context, w *faultWorld) error {
			_, err := w.as(w.pendingUser).AcceptInvitation(ctx, w.token)
			return err
		}, 2, retryNotFound /* the token was used: "invalid or expired" */},
		{"UpdateMembership/role", func(ctx context.Context, w *faultWorld) error {
			_, err := w.as(w.owner).UpdateMembership(ctx, w.readerMembership.ID, membership.Update{RoleID: &w.custom.ID})
			return err
		}, 1, retryNoop},
		{"DeleteMembership", func(ctx context.Context, w *faultWorld) error {
			return w.as(w.owner).DeleteMembership(ctx, w.customMembership.ID)
		}, 2, retryNotFound},
		{"UpsertMembership/create", func(ctx context.Context, w *faultWorld) error {
			_, _, err := w.as(w.owner).UpsertMembership(ctx, membership.Upsert{OrganizationID: w.org.ID, UserID: w.upserted.ID,
				RoleIDs: []string{w.readOnly.ID}})
			return err
		}, 2, retryNoop},
		{"UpsertMembership/update", func(ctx context.Context, w *faultWorld) error {
			_, _, err := w.as(w.owner).UpsertMembership(ctx, membership.Upsert{OrganizationID: w.org.ID, UserID: w.reader.ID,
				RoleIDs: []string{w.custom.ID}})
			return err
		}, 1, retryNoop},
		{"AddMember", func(ctx context.Context, w *faultWorld) error {
			_, err := w.as(w.owner).AddMember(ctx, membership.Add{OrganizationID: w.org.ID, UserID: w.added.ID})
			return err
		}, 2, retryConflict},
		{"TransferOwnership", func(ctx context.Context, w *faultWorld) error {
			return w.as(w.owner).TransferOwnership(ctx, w.org.ID, w.adminUser.Email)
		}, 1, retryForbidden},
		{"CreateRole", func(ctx context.Context, w *faultWorld) error {
			_, err := w.as(w.owner).CreateRole(ctx, role.Create{OrganizationID: w.org.ID, Name: "Packers"})
			return err
		}, 1, retryDuplicate /* without an idempotency key */},
		{"CreatePermission", func(ctx context.Context, w *faultWorld) error {
			_, err := w.as(w.owner).CreatePermission(ctx, role.PermissionCreate{RoleID: w.custom.ID, Subject: "skus", CanRead: true})
			return err
		}, 1, retryConflict},
		{"UpdatePermission", func(ctx context.Context, w *faultWorld) error {
			_, err := w.as(w.owner).UpdatePermission(ctx, w.permission.ID, role.PermissionUpdate{CanCreate: &yes})
			return err
		}, 1, retryNoop},
		{"CreateProfile", func(ctx context.Context, w *faultWorld) error {
			_, err := w.as(w.owner).CreateProfile(ctx, profile.Create{OrganizationID: w.org.ID, Name: "Packers", AccessScope: access.LiveAccess})
			return err
		}, 1, retryDuplicate /* without an idempotency key */},
		{"DeleteProfile", func(ctx context.Context, w *faultWorld) error {
			return w.as(w.owner).DeleteProfile(ctx, w.profile.ID)
		}, 1, retryNotFound},
		{"CreateCredential", func(ctx context.Context, w *faultWorld) error {
			_, err := w.as(w.owner).CreateCredential(ctx, credential.Create{OrganizationID: w.org.ID, Name: "ERP",
				Kind: credential.Integration, RoleID: w.readOnly.ID})
			return err
		}, 1, retryDuplicate /* without an idempotency key */},
		{"RotateCredential", func(ctx context.Context, w *faultWorld) error {
			_, err := w.as(w.owner).RotateCredential(ctx, w.integration.ID, 0)
			return err
		}, 1, retryDuplicate /* a second rotation: the first one's secret never reached the caller */},
		{"DeleteCredential", func(ctx context.Context, w *faultWorld) error {
			return w.as(w.owner).DeleteCredential(ctx, w.integration.ID)
		}, 1, retryNotFound},
		{"CreateAppMembership", func(ctx context.Context, w *faultWorld) error {
			_, err := w.as(w.owner).CreateAppMembership(ctx, appmembership.Create{OrganizationID: w.org.ID, CredentialID: w.app.ID,
				MembershipID: w.readerMembership.ID, RoleID: w.readOnly.ID})
			return err
		}, 1, retryConflict},
		{"SetDefaultOrganization", func(ctx context.Context, w *faultWorld) error {
			_, err := w.as(w.reader).SetDefaultOrganization(ctx, w.otherOrg.ID)
			return err
		}, 1, retryNoop},
	}
}

// faultWorld is a world (see newWorld) on a database whose driver a
// faultdb.Controller controls, with the fixtures the fault calls need.
type faultWorld struct {
	*world
	ctl         *faultdb.Controller
	tables      []string               // dumped
	token       string                 // of the pending membership's invitation
	upserted    *user.User             // a user who is a member nowhere
	added       *user.User             // another one
	integration *credential.Credential // an integration credential with the read_only role
	app         *credential.Credential // an application credential
}

// faultTemplate builds the fault world once and keeps its database as a
// file every run copies.
type faultTemplate struct {
	path string
	w    faultWorld // the fixtures (its env is closed)
	dir  string
	runs atomic.Int64
}

// openFaultDB opens a SQLite database at path, with the pragmas of
// storage/sqlite, through a driver ctl controls.
func openFaultDB(t testing.TB, path string, ctl *faultdb.Controller) *bun.DB {
	t.Helper()
	cn, err := faultdb.Open(sqliteshim.Driver(), sqlite.DSN(path), ctl)
	if err != nil {
		t.Fatal(err)
	}
	sqldb := sql.OpenDB(cn)
	sqldb.SetMaxOpenConns(8)
	sqldb.SetMaxIdleConns(8)
	return bun.NewDB(sqldb, sqlitedialect.New())
}

func newFaultTemplate(t testing.TB) *faultTemplate {
	t.Helper()
	ctx := context.Background()
	dir := faultDir(t)
	ctl := &faultdb.Controller{}
	db := openFaultDB(t, filepath.Join(dir, "build.db"), ctl)
	defer db.Close()
	fw := buildFaultWorld(t, db, ctl)
	tmpl := &faultTemplate{path: filepath.Join(dir, "template.db"), w: fw, dir: dir}
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", tmpl.path); err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// buildFaultWorld migrates db, whose driver ctl controls, and builds the
// fault world on it: the fixtures every fault call starts from.
func buildFaultWorld(t testing.TB, db *bun.DB, ctl *faultdb.Controller) faultWorld {
	t.Helper()
	ctx := context.Background()
	w := &world{env: newEnvOn(t, db)}
	// As newWorld does.
	w.owner = w.user(t, "owner@example.com")
	w.org, w.admin, w.readOnly = w.env.org(t, w.owner, "Acme")
	own := w.as(w.owner)
	var err error
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	w.custom, err = own.CreateRole(ctx, role.Create{OrganizationID: w.org.ID, Name: "Order clerk"})
	must(err)
	w.permission, err = own.CreatePermission(ctx, role.PermissionCreate{RoleID: w.custom.ID, Subject: "orders", CanRead: true, CanUpdate: true})
	must(err)
	w.adminUser = w.user(t, "admin@example.com")
	w.reader = w.user(t, "reader@example.com")
	w.customUser = w.user(t, "clerk@example.com")
	w.adminMembership = w.member(t, own, w.org.ID, w.adminUser, w.admin.ID)
	w.readerMembership = w.member(t, own, w.org.ID, w.reader, w.readOnly.ID)
	w.customMembership = w.member(t, own, w.org.ID, w.customUser, w.custom.ID)
	w.pendingMembership, err = own.Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: "pending@example.com", RoleID: w.readOnly.ID})
	must(err)
	fw := faultWorld{world: w, ctl: ctl, token: w.mail.last(t).Token, tables: faultTables(t, db)}
	w.pendingUser = w.user(t, "pending@example.com")
	w.profile, err = own.CreateProfile(ctx, profile.Create{OrganizationID: w.org.ID, Name: "Testers", AccessScope: access.TestAccess})
	must(err)
	w.stranger = w.user(t, "stranger@example.com")
	var strangerRO *role.Role
	w.otherOrg, _, strangerRO = w.env.org(t, w.stranger, "Other")
	// The fault calls' own fixtures.
	w.member(t, w.as(w.stranger), w.otherOrg.ID, w.reader, strangerRO.ID) // so the reader has a second organization
	fw.upserted = w.user(t, "upsert@example.com")
	fw.added = w.user(t, "add@example.com")
	issued, err := own.CreateCredential(ctx, credential.Create{OrganizationID: w.org.ID, Name: "Warehouse", Kind: credential.Integration, RoleID: w.readOnly.ID})
	must(err)
	fw.integration = issued.Credential
	issued, err = own.CreateCredential(ctx, credential.Create{OrganizationID: w.org.ID, Name: "Orders", Kind: "orders"})
	must(err)
	fw.app = issued.Credential
	return fw
}

// open returns a fresh copy of the template's world: its own database
// file and Provisioner (empty caches), closed and removed at cleanup.
func (tm *faultTemplate) open(t testing.TB) *faultWorld {
	t.Helper()
	path := filepath.Join(tm.dir, fmt.Sprintf("run%d.db", tm.runs.Add(1)))
	copyFile(t, tm.path, path)
	ctl := &faultdb.Controller{}
	db := openFaultDB(t, path, ctl)
	t.Cleanup(func() {
		db.Close()
		for _, suffix := range []string{"", "-wal", "-shm"} {
			_ = os.Remove(path + suffix)
		}
	})
	st, err := bunstore.New(db)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, store: st, clock: &fakeClock{now: tm.w.clock.Now()}, mail: &mailbox{}}
	e.p, err = provisioning.New(st, provisioning.WithClock(e.clock), provisioning.WithNotifier(e.mail))
	if err != nil {
		t.Fatal(err)
	}
	w := *tm.w.world
	w.env = e // as newEnvOn, without migrating again
	fw := tm.w
	fw.world, fw.ctl = &w, ctl
	return &fw
}

// faultDir returns a directory for the sweep's databases, removed at
// cleanup: in memory (/dev/shm) where there is one, for speed (each run
// copies a database file), else a temporary directory.
func faultDir(t testing.TB) string {
	t.Helper()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "provisioning-faults-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// faultDump is every row of every provisioning table but the security
// events, each table's rows rendered and sorted.
type faultDump map[string][]string

func (w *faultWorld) dump(t testing.TB) faultDump {
	t.Helper()
	ctx := context.Background()
	out := faultDump{}
	text := w.db.Dialect().Name() != dialect.SQLite
	for _, name := range w.tables {
		q := string(w.db.Dialect().IdentQuote())
		rows, err := w.db.DB.QueryContext(ctx, `SELECT * FROM `+q+name+q)
		if err != nil {
			t.Fatal(err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		vals, ptrs := make([]any, len(cols)), make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		lines := []string{}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var b []byte
			for i, v := range vals {
				if i > 0 {
					b = append(b, " | "...)
				}
				b = append(append(b, cols[i]...), '=')
				switch v := v.(type) {
				case nil:
					b = append(b, "NULL"...)
				case string:
					b = strconv.AppendQuote(b, v)
				case []byte:
					if text && utf8.Valid(v) { // the servers' drivers return text (MySQL: every column) in bytes
						b = strconv.AppendQuote(b, string(v))
						break
					}
					b = append(append(append(b, "x'"...), hex.EncodeToString(v)...), '\'')
				case int64:
					b = strconv.AppendInt(b, v, 10)
				case float64:
					b = strconv.AppendFloat(b, v, 'g', -1, 64)
				case bool:
					b = strconv.AppendBool(b, v)
				case time.Time:
					b = v.AppendFormat(b, time.RFC3339Nano)
				default:
					b = fmt.Appendf(b, "%T(%v)", v, v)
				}
			}
			lines = append(lines, string(b))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		slices.Sort(lines)
		out[name] = lines
	}
	return out
}

// faultTables lists the provisioning tables but the security events.
func faultTables(t testing.TB, db *bun.DB) []string {
	t.Helper()
	var names []string
	q := db.NewSelect().TableExpr("sqlite_master").Column("name").
		Where("type = 'table' AND name LIKE 'provisioning_%' AND name <> 'provisioning_security_events'").OrderExpr("name")
	switch db.Dialect().Name() {
	case dialect.PG: // the schema of the search path
		q = db.NewSelect().TableExpr("information_schema.tables").ColumnExpr("table_name").
			Where("table_schema = current_schema() AND table_name LIKE 'provisioning_%' AND table_name <> 'provisioning_security_events'").
			OrderExpr("table_name")
	case dialect.MySQL:
		q = db.NewSelect().TableExpr("information_schema.tables").ColumnExpr("table_name").
			Where("table_schema = DATABASE() AND table_name LIKE 'provisioning\\_%' AND table_name <> 'provisioning_security_events'").
			OrderExpr("table_name")
	}
	if err := q.Scan(context.Background(), &names); err != nil {
		t.Fatal(err)
	}
	if len(names) < 10 {
		t.Fatalf("dump: %d tables: %v", len(names), names)
	}
	return names
}

// diff describes the rows added and removed from d to e, "" when equal.
func (d faultDump) diff(e faultDump) string {
	var b strings.Builder
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range d {
			if !yield(k) {
				return
			}
		}
		for k := range e {
			if _, ok := d[k]; !ok && !yield(k) {
				return
			}
		}
	}) {
		for _, r := range d[name] {
			if !slices.Contains(e[name], r) {
				fmt.Fprintf(&b, "\n  %s: - %s", name, r)
			}
		}
		for _, r := range e[name] {
			if !slices.Contains(d[name], r) {
				fmt.Fprintf(&b, "\n  %s: + %s", name, r)
			}
		}
	}
	return b.String()
}

func (d faultDump) rows(table string) int { return len(d[table]) }

// faultQuestions are the (subject, action) pairs asked about the world's
// organization: the rights the swept calls change.
var faultQuestions = []struct {
	subject string
	act     role.Action
}{
	{"memberships", role.ActionRead}, {"memberships", role.ActionUpdate}, {"orders", role.ActionRead},
	{"orders", role.ActionCreate}, {"orders", role.ActionUpdate}, {"skus", role.ActionRead},
}

// answers asks p the fixed authorization questions, through its cache:
// which members may do each of faultQuestions in the world's organization
// (MembersWho), which may read the other organization's memberships, and
// the whole Decision (reason, owner, revision) of each principal of the
// world, users and a credential, for the first question (Check: MFA and
// membership state show there).
func (w *faultWorld) answers(t testing.TB, p *provisioning.Provisioner) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	who := func(orgID, subject string, act role.Action) {
		page, err := p.System().MembersWho(ctx, orgID, subject, act, resource.PageRequest{Limit: resource.MaxPageLimit})
		if err != nil {
			t.Fatalf("MembersWho(%s, %s, %s): %v", orgID, subject, act, err)
		}
		fmt.Fprintf(&b, "%s %s %s: %v\n", orgID, subject, act, page.Items)
	}
	for _, q := range faultQuestions {
		who(w.org.ID, q.subject, q.act)
	}
	who(w.otherOrg.ID, "memberships", role.ActionRead)
	principals := []provisioning.Principal{provisioning.User(w.owner.ID), provisioning.User(w.adminUser.ID),
		provisioning.User(w.reader.ID), provisioning.User(w.customUser.ID), provisioning.User(w.pendingUser.ID),
		provisioning.User(w.stranger.ID), provisioning.User(w.upserted.ID), provisioning.User(w.added.ID),
		provisioning.Credential(w.integration.ID), provisioning.Credential(w.app.ID)}
	for _, pr := range principals {
		q := faultQuestions[0]
		if pr.Kind == access.KindCredential {
			q = faultQuestions[2] // orders read: what its read_only role grants
		}
		d, err := p.Check(ctx, pr, w.org.ID, q.subject, q.act)
		if err != nil {
			t.Fatalf("Check(%v, %s, %s): %v", pr, q.subject, q.act, err)
		}
		fmt.Fprintf(&b, "%s:%s %s %s: %+v\n", pr.Kind, pr.ID, q.subject, q.act, d)
	}
	return b.String()
}

// fresh returns a Provisioner over the same store with empty caches: what
// the rows say.
func (w *faultWorld) fresh(t testing.TB) *provisioning.Provisioner {
	t.Helper()
	p, err := provisioning.New(w.store, provisioning.WithClock(w.clock))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// coherent checks that the Provisioner's answers (its cache saw whatever
// happened) are those of a fresh one: no policy in memory without its rows.
func (w *faultWorld) coherent(t testing.TB, where string) string {
	t.Helper()
	sameP, freshP := w.answers(t, w.p), w.answers(t, w.fresh(t))
	if sameP != freshP {
		t.Errorf("%s: the Provisioner's policy is not its rows': %s", where, lineDiff(freshP, sameP))
	}
	return sameP
}

func (w *faultWorld) versions(t testing.TB) int { return w.count(t, "provisioning_versions", "1 = 1") }

// lineDiff returns the first differing line of two answer sets.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf("\n  was:  %s\n  now:  %s", al[i], bl[i])
		}
	}
	return fmt.Sprintf("(%d lines, was %d)", len(bl), len(al))
}

// faultSweep is what every run of a sweep shares: the template, the rows
// and answers of a fresh copy of it, and the figures.
type faultSweep struct {
	tm       *faultTemplate               // SQLite's; nil on the servers (faults_server_test.go)
	open     func(testing.TB) *faultWorld // a fresh copy of the world: tm.open on SQLite
	before   faultDump                    // every copy's rows
	baseline string                       // every copy's answers
	mu       sync.Mutex
	figures  map[string]int
	notes    []string
}

func newFaultSweep(t *testing.T) *faultSweep {
	t.Helper()
	sw := &faultSweep{tm: newFaultTemplate(t), figures: map[string]int{}}
	sw.open = sw.tm.open
	w := sw.tm.open(t)
	sw.before, sw.baseline = w.dump(t), w.answers(t, w.p)
	return sw
}

func (sw *faultSweep) add(figure string, n int, notes ...string) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	sw.figures[figure] += n
	sw.notes = append(sw.notes, notes...)
}

func (sw *faultSweep) report(t *testing.T, start time.Time) {
	t.Helper()
	var parts []string
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range sw.figures {
			if !yield(k) {
				return
			}
		}
	}) {
		parts = append(parts, fmt.Sprintf("%s %d", k, sw.figures[k]))
	}
	t.Logf("%s; %s", strings.Join(parts, ", "), time.Since(start).Round(time.Millisecond))
	slices.Sort(sw.notes)
	for _, n := range sw.notes {
		t.Log(n)
	}
}

// sameStep reports whether two steps are the same statement, whatever the
// values (ids, times, revisions) they carry.
func sameStep(a, b faultdb.Step) bool {
	return a.Kind == b.Kind && a.InTx == b.InTx && quoted.ReplaceAllString(a.Query, "?") == quoted.ReplaceAllString(b.Query, "?")
}

var quoted = regexp.MustCompile(`'[^']*'?`)

// TestFaultSweep is the sweep described at the top of this file: each
// step of each call failed, then cancelled, then each call's commit lost.
func TestFaultSweep(t *testing.T) {
	start := time.Now()
	sw := newFaultSweep(t)
	t.Run("calls", func(t *testing.T) {
		for _, op := range faultOps() {
			t.Run(op.name, func(t *testing.T) {
				t.Parallel()
				plan := sw.count(t, op)
				sw.add("calls", 1)
				t.Run("fail", func(t *testing.T) {
					for i := 1; i <= len(plan.steps); i++ {
						sw.add("steps failed", 1)
						sw.step(t, op, plan, i, "fail")
					}
				})
				t.Run("cancel", func(t *testing.T) {
					for i := 1; i <= len(plan.steps); i++ {
						sw.add("steps cancelled", 1)
						sw.step(t, op, plan, i, "cancel")
					}
				})
				t.Run("lost_commit", func(t *testing.T) {
					sw.add("commits lost", 1)
					sw.lostCommit(t, op, plan)
				})
			})
		}
	})
	sw.report(t, start)
}

// TestFaultTransientRetried fails each step of each call's transaction
// with a transient error (SQLITE_BUSY, fault.Busy): InTx retries the
// transaction, and the call succeeds exactly once (its versions, no more),
// with a policy cache that agrees with the rows.
func TestFaultTransientRetried(t *testing.T) {
	start := time.Now()
	sw := newFaultSweep(t)
	t.Run("calls", func(t *testing.T) {
		for _, op := range faultOps() {
			t.Run(op.name, func(t *testing.T) {
				t.Parallel()
				plan := sw.count(t, op)
				for i := 1; i <= len(plan.steps); i++ {
					if plan.steps[i-1].InTx {
						sw.add("steps failed as busy", 1)
						sw.busy(t, op, plan, i)
					}
				}
			})
		}
	})
	sw.report(t, start)
}

// faultPlan is what a run of a call without a fault shows.
type faultPlan struct {
	steps  []faultdb.Step
	commit int    // the number of the (last) commit step
	after  string // the answers after the call (of a fresh Provisioner), revisions left out
}

// revisions matches the policy revision of a Decision, which differs
// between runs.
var revisions = regexp.MustCompile(`Revision:[0-9a-z]*`)

func withoutRevisions(answers string) string { return revisions.ReplaceAllString(answers, "Revision:") }

// count runs op without a fault, counting its steps, and checks its versions.
func (sw *faultSweep) count(t testing.TB, op faultOp) faultPlan {
	t.Helper()
	w := sw.open(t)
	w.ctl.Start()
	err := op.call(context.Background(), w)
	w.ctl.Stop()
	if err != nil {
		t.Fatalf("without a fault: %v", err)
	}
	if got := w.versions(t) - sw.before.rows("provisioning_versions"); got != op.versions {
		t.Fatalf("without a fault: %d versions, want %d:%s", got, op.versions, sw.before.diff(w.dump(t)))
	}
	steps := w.ctl.Steps()
	commit := 0
	for _, s := range steps {
		if s.Kind == faultdb.Commit {
			commit = s.N
		}
	}
	if commit == 0 {
		t.Fatalf("no commit among %d steps: %v", len(steps), steps)
	}
	if os.Getenv("FAULT_STEPS") != "" {
		for _, s := range steps {
			t.Logf("%s", s)
		}
	}
	return faultPlan{steps: steps, commit: commit, after: withoutRevisions(w.answers(t, w.fresh(t)))}
}

// answersAfter checks that the Provisioner, whose cache saw the faults, now
// answers as a fresh one did after the call without a fault.
func (w *faultWorld) answersAfter(t testing.TB, plan faultPlan, where string) {
	t.Helper()
	if got := withoutRevisions(w.answers(t, w.p)); got != plan.after {
		t.Errorf("%s: the Provisioner answers otherwise than after the call without a fault: %s", where, lineDiff(plan.after, got))
	}
}

// step fails (mode "fail") or cancels (mode "cancel") step i of op, on a
// fresh copy whose Provisioner's cache is cold: the failed attempt fills it.
func (sw *faultSweep) step(t testing.TB, op faultOp, plan faultPlan, i int, mode string) {
	t.Helper()
	steps, commit := plan.steps, plan.commit
	w := sw.open(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if mode == "fail" {
		w.ctl.FailAt(i, nil)
	} else {
		w.ctl.CancelAt(i, cancel)
	}
	err := op.call(ctx, w)
	w.ctl.Stop()
	where := fmt.Sprintf("%s at step %s", mode, steps[i-1])
	if s, fired := w.ctl.Fired(); !fired || !sameStep(s, steps[i-1]) {
		t.Fatalf("%s: the call took another path (reached: %v %v; steps %v)", where, s, fired, w.ctl.Steps())
	}
	after := w.dump(t)
	if err == nil {
		// Only a step at or after the commit may fail unreported (a cancel
		// at the commit: driver.Tx.Commit takes no context, so it commits):
		// the change is then whole.
		if i < commit || i == commit && mode == "fail" {
			t.Errorf("%s: the call succeeded; steps %v:%s", where, w.ctl.Steps(), sw.before.diff(after))
		}
		if got := after.rows("provisioning_versions") - sw.before.rows("provisioning_versions"); got != op.versions {
			t.Errorf("%s: the call succeeded with %d versions, want %d:%s", where, got, op.versions, sw.before.diff(after))
		}
		w.coherent(t, where)
		sw.add("successes (step at or after the commit)", 1, fmt.Sprintf("succeeded despite the fault: %s: %s", op.name, where))
		return
	}
	if mode == "fail" && fault.KindOf(err) != fault.Internal {
		t.Errorf("%s: error %v (%s), want an internal error", where, err, fault.KindOf(err))
	}
	if d := sw.before.diff(after); d != "" {
		t.Errorf("%s: the failed call (%v) left changes:%s", where, err, d)
	}
	// The rows are the template's: so must the answers be.
	if got := w.answers(t, w.p); got != sw.baseline {
		t.Errorf("%s: the failed call (%v) changed the answers: %s", where, err, lineDiff(sw.baseline, got))
	}
	// The same call, without a fault, then succeeds once.
	if err := op.call(context.Background(), w); err != nil {
		t.Fatalf("%s: the call after the failure: %v", where, err)
	}
	if got := w.versions(t) - sw.before.rows("provisioning_versions"); got != op.versions {
		t.Errorf("%s: the call after the failure wrote %d versions, want %d:%s", where, got, op.versions, sw.before.diff(w.dump(t)))
	}
	if mode == "fail" { // (and not again after a cancel: it costs, under -race)
		w.answersAfter(t, plan, where+", then success")
	}
}

// busy fails step i as transient: the call is retried and succeeds once,
// writing its versions and no more.
func (sw *faultSweep) busy(t testing.TB, op faultOp, plan faultPlan, i int) {
	t.Helper()
	steps := plan.steps
	w := sw.open(t)
	w.ctl.FailAt(i, faultdb.Busy())
	err := op.call(context.Background(), w)
	w.ctl.Stop()
	where := fmt.Sprintf("busy at step %s", steps[i-1])
	if err != nil {
		t.Errorf("%s: not retried: %v", where, err)
		return
	}
	if got := w.versions(t) - sw.before.rows("provisioning_versions"); got != op.versions {
		t.Errorf("%s: the retried call wrote %d versions, want %d:%s", where, got, op.versions, sw.before.diff(w.dump(t)))
	}
	if i == plan.commit { // the attempt that did all its work then failed: its cache is checked (it costs, under -race)
		w.answersAfter(t, plan, where)
	}
}

// lostCommit loses the reply of op's commit, then retries op.
func (sw *faultSweep) lostCommit(t testing.TB, op faultOp, plan faultPlan) {
	t.Helper()
	steps, commit := plan.steps, plan.commit
	w := sw.open(t)
	w.ctl.LoseReplyAt(commit, nil)
	err := op.call(context.Background(), w)
	w.ctl.Stop()
	where := fmt.Sprintf("reply lost at step %s", steps[commit-1])
	if !errors.Is(err, fault.ErrCommitUnknown) {
		t.Errorf("%s: error %v, want fault.ErrCommitUnknown", where, err)
	}
	after := w.dump(t)
	if got := after.rows("provisioning_versions") - sw.before.rows("provisioning_versions"); got != op.versions {
		t.Errorf("%s: %d versions in the database, want the %d of the commit:%s", where, got, op.versions, sw.before.diff(after))
	}
	w.coherent(t, where)
	w.answersAfter(t, plan, where)
	// The retry.
	err = op.call(context.Background(), w)
	retried := w.dump(t)
	got := faultOutcome{kind: kindOrOK(err), writes: after.diff(retried) != ""}
	note := fmt.Sprintf("retry after a lost commit: %s: %s", op.name, got)
	if got.writes && got.kind == ok {
		note += " (needs an idempotency key):" + after.diff(retried)
	} else if err != nil {
		note += fmt.Sprintf(" (%v)", err)
	}
	sw.add("retries after a lost commit", 1, note)
	if got != op.retry {
		t.Errorf("%s, then retried: %s (%v), want %s:%s", where, got, err, op.retry, after.diff(retried))
	}
	if got.writes && got.kind != ok {
		t.Errorf("%s: the refused retry wrote:%s", where, after.diff(retried))
	}
	w.coherent(t, where+", then retried")
}

// faultRecorder is a testing.TB that records failures instead of failing:
// the sabotage test runs the sweep's checks through it.
type faultRecorder struct {
	testing.TB
	mu     sync.Mutex
	failed []string
}

func (r *faultRecorder) Helper() {}

func (r *faultRecorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	r.failed = append(r.failed, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *faultRecorder) Error(args ...any) { r.Errorf("%s", fmt.Sprint(args...)) }

func (r *faultRecorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

func (r *faultRecorder) Fatal(args ...any) { r.Fatalf("%s", fmt.Sprint(args...)) }

// run runs f with r as its testing.TB (a Fatal ends f, not the test).
func (r *faultRecorder) run(f func(t testing.TB)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
}

// caught reports whether a recorded failure contains want.
func (r *faultRecorder) caught(want string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.ContainsFunc(r.failed, func(f string) bool { return strings.Contains(f, want) })
}

// TestFaultSweepDetectsSabotage proves that the sweep's checks fail when the
// property they check is broken: calls sabotaged to leave a row behind, to
// swallow a failure, to hold a policy in memory that is not the rows', and
// a retry expectation that does not hold.
func TestFaultSweepDetectsSabotage(t *testing.T) {
	sw := newFaultSweep(t)
	createRole := faultOps()[slices.IndexFunc(faultOps(), func(op faultOp) bool { return op.name == "CreateRole" })]
	tests := []struct {
		name   string
		give   func(t testing.TB)
		caught string // what the recorded failure says
	}{
		{"a leftover row", func(t testing.TB) {
			// A write outside the call's transaction, before it: the
			// failed call leaves it behind.
			op := faultOp{name: "leftover", versions: 1, call: func(ctx context.Context, w *faultWorld) error {
				if _, err := w.db.ExecContext(ctx, "UPDATE provisioning_organizations SET name = 'Sabotaged' WHERE id = ?", w.org.ID); err != nil {
					return err
				}
				return createRole.call(ctx, w)
			}}
			plan := sw.count(t, op)
			sw.step(t, op, plan, plan.commit, "fail")
		}, "left changes:\n  provisioning_organizations: - "},
		{"a swallowed failure", func(t testing.TB) {
			op := faultOp{name: "swallowed", versions: 1, call: func(ctx context.Context, w *faultWorld) error {
				_ = createRole.call(ctx, w)
				return nil
			}}
			plan := sw.count(t, op)
			sw.step(t, op, plan, plan.commit-1, "fail")
		}, "the call succeeded"},
		{"a policy in memory without its rows", func(t testing.TB) {
			// The reader becomes a clerk in the rows, behind the policy
			// revision's back: a cache that has the organization is stale.
			w := sw.tm.open(t)
			_ = w.answers(t, w.p)
			if _, err := w.db.ExecContext(context.Background(), "UPDATE provisioning_memberships SET role_id = ? WHERE id = ?",
				w.custom.ID, w.readerMembership.ID); err != nil {
				t.Fatal(err)
			}
			w.coherent(t, "sabotaged")
		}, "sabotaged: the Provisioner's policy is not its rows'"},
		{"a retry that duplicates", func(t testing.TB) {
			op := createRole
			op.retry = retryNoop // it is not idempotent
			sw.lostCommit(t, op, sw.count(t, op))
		}, "then retried: success writing rows"},
		{"a lost commit taken for a failure", func(t testing.TB) {
			// Commit refused by the server: nothing committed, which the
			// lost-commit check must not take for the outcome it expects.
			w := sw.tm.open(t)
			plan := sw.count(t, createRole)
			w.ctl.FailAt(plan.commit, nil)
			err := createRole.call(context.Background(), w)
			w.ctl.Stop()
			if !errors.Is(err, fault.ErrCommitUnknown) {
				t.Errorf("error %v, want fault.ErrCommitUnknown", err)
			}
		}, "want fault.ErrCommitUnknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &faultRecorder{TB: t}
			r.run(tt.give)
			if !r.caught(tt.caught) {
				t.Errorf("the sabotage went unnoticed: want a failure saying %q, got %q", tt.caught, r.failed)
			}
		})
	}
}
