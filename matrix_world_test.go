package provisioning_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/appmembership"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/idp"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/profile"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/storage/bunstore"
	"github.com/provisionkit/provisioning/storage/sqlite"
	"github.com/provisionkit/provisioning/user"
)

// matrixMissingID has the shape of an id and names nothing.
const matrixMissingID = "0000zzzzzzzzzzzzzzzzzzzzzz"

// matrixFixtures are the objects of one organization that the matrix's
// calls name: each exists in organization A ("same") and in organization B
// ("other"), so that a call differs between the two targets only by tenant.
type matrixFixtures struct {
	org             *organization.Organization
	owner           *user.User
	admin, readOnly *role.Role
	empty           *role.Role // a custom role that grants nothing: anyone covers it
	role            *role.Role // a custom role with permission
	permission      *role.Permission
	profile         *profile.Profile
	memberUser      *user.User // a read_only member no actor is
	member          *membership.Membership
	pending         *membership.Membership // an invitation to someone without an account
	token           string                 // its token
	cred            *credential.Issued     // an integration credential with the empty role
	webapp          *credential.Issued
	appMembership   *appmembership.AppMembership
	provider        *idp.Provider
	version         *audit.Version
	adminUser       *user.User // the admin that TransferOwnership names
	adminMembership *membership.Membership
	joiner          *user.User // a user who is nobody's member
	newcomerEmail   string     // an address without an account
}

// matrixWorld is the world the matrix runs in. Organization A holds every
// actor; B is owned by a bystander no actor belongs to (its ids are another
// organization's); C is the non-member's and the foreign credential's.
type matrixWorld struct {
	*env
	dns       *idpDNS
	keys      idp.KeyProvider
	a, b      *matrixFixtures
	c         *organization.Organization
	principal map[string]provisioning.Principal // by actor name
	file      string                            // the pristine copy, for forks
	dir       string
	forks     int
}

// matrixWrites counts every committed write to the tenant tables (all but
// the security events, which a refusal writes by design), with triggers.
func installWriteCounter(t testing.TB, e *env) {
	t.Helper()
	ctx := context.Background()
	var names []string
	if err := e.db.NewSelect().TableExpr("sqlite_master").Column("name").
		Where("type = 'table' AND name LIKE 'provisioning_%' AND name <> 'provisioning_security_events'").
		Scan(ctx, &names); err != nil {
		t.Fatal(err)
	}
	if len(names) < 10 {
		t.Fatalf("found only the tables %v", names)
	}
	stmts := []string{"CREATE TABLE matrix_writes (n INTEGER NOT NULL)", "INSERT INTO matrix_writes VALUES (0)"}
	for _, n := range names {
		for _, ev := range []string{"INSERT", "UPDATE", "DELETE"} {
			stmts = append(stmts, fmt.Sprintf("CREATE TRIGGER matrix_%s_%s AFTER %s ON %s BEGIN UPDATE matrix_writes SET n = n + 1; END", n, ev, ev, n))
		}
	}
	for _, s := range stmts {
		if _, err := e.db.ExecContext(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
}

// writes returns the number of committed writes to the tenant tables.
func (w *matrixWorld) writes(t testing.TB) int {
	t.Helper()
	var n int
	if err := w.db.NewSelect().TableExpr("matrix_writes").Column("n").Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func newMatrixWorld(t testing.TB) *matrixWorld {
	t.Helper()
	ctx := context.Background()
	w := &matrixWorld{env: newEnv(t), dns: &idpDNS{}, keys: idpKeys(t, "k1"), principal: map[string]provisioning.Principal{}, dir: t.TempDir()}
	w.reopen(t, w.env)
	w.a = w.fixtures(t, "a")
	w.b = w.fixtures(t, "b")
	stranger := w.user(t, "stranger@example.com")
	w.c, _, _ = w.env.org(t, stranger, "Stranger")
	otherAdmin, err := w.store.Roles().RoleOfKind(ctx, w.c.ID, role.KindAdmin)
	if err != nil {
		t.Fatal(err)
	}
	foreign := newCred(t, w.as(stranger), w.c.ID, credential.Integration, otherAdmin.ID)
	w.actors(t, stranger, foreign)
	installWriteCounter(t, w.env)
	w.file = filepath.Join(w.dir, "pristine.db")
	if _, err := w.db.ExecContext(ctx, "VACUUM INTO ?", w.file); err != nil {
		t.Fatal(err)
	}
	return w
}

// reopen gives e a Provisioner with identity provider keys and the fake resolver.
func (w *matrixWorld) reopen(t testing.TB, e *env) {
	t.Helper()
	p, err := provisioning.New(e.store, provisioning.WithClock(e.clock), provisioning.WithNotifier(e.mail),
		provisioning.WithResolver(w.dns), provisioning.WithKeyProvider(w.keys))
	if err != nil {
		t.Fatal(err)
	}
	e.p = p
}

// fork returns a copy of the pristine world on a database of its own, for a
// call that is expected to change it.
func (w *matrixWorld) fork(t testing.TB) *matrixWorld {
	t.Helper()
	w.forks++
	path := filepath.Join(w.dir, fmt.Sprintf("fork%d.db", w.forks))
	raw, err := os.ReadFile(w.file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := bunstore.New(db)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, store: st, clock: &fakeClock{now: w.clock.Now()}, mail: &mailbox{}}
	w.reopen(t, e)
	f := *w
	f.env = e
	return &f
}

func (w *matrixWorld) close() { _ = w.db.Close() }

// fixtures builds an organization with one object of each kind.
func (w *matrixWorld) fixtures(t testing.TB, tag string) *matrixFixtures {
	t.Helper()
	ctx := context.Background()
	f := &matrixFixtures{owner: w.user(t, "owner-"+tag+"@example.com")}
	f.org, f.admin, f.readOnly = w.env.org(t, f.owner, "Org "+tag)
	own := w.as(f.owner)
	var err error
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	f.empty, err = own.CreateRole(ctx, role.Create{OrganizationID: f.org.ID, Name: "Nothing"})
	must(err)
	f.role, err = own.CreateRole(ctx, role.Create{OrganizationID: f.org.ID, Name: "Clerk"})
	must(err)
	f.permission, err = own.CreatePermission(ctx, role.PermissionCreate{RoleID: f.role.ID, Subject: "orders", CanRead: true})
	must(err)
	f.profile, err = own.CreateProfile(ctx, profile.Create{OrganizationID: f.org.ID, Name: "Testers", AccessScope: "test_access"})
	must(err)
	f.memberUser = w.user(t, "member-"+tag+"@example.com")
	f.member = w.member(t, own, f.org.ID, f.memberUser, f.readOnly.ID)
	f.adminUser = w.user(t, "admin-"+tag+"@example.com")
	f.adminMembership = w.member(t, own, f.org.ID, f.adminUser, f.admin.ID)
	f.pending, err = own.Invite(ctx, membership.Invite{OrganizationID: f.org.ID, UserEmail: "invitee-" + tag + "@example.com", RoleID: f.readOnly.ID})
	must(err)
	f.token = w.mail.last(t).Token
	f.cred = newCred(t, own, f.org.ID, credential.Integration, f.empty.ID)
	f.webapp = newCred(t, own, f.org.ID, credential.Webapp, "")
	f.appMembership, err = own.CreateAppMembership(ctx, appmembership.Create{OrganizationID: f.org.ID, CredentialID: f.webapp.Credential.ID,
		MembershipID: f.member.ID, RoleID: f.empty.ID})
	must(err)
	f.provider, err = own.CreateIdentityProvider(ctx, idpCreate(f.org.ID, "SSO "+tag, tag+".example"))
	must(err)
	vs, err := own.ListVersions(ctx, audit.Filter{OrganizationID: f.org.ID})
	must(err)
	if len(vs.Items) == 0 {
		t.Fatal("no version")
	}
	f.version = &vs.Items[0]
	f.joiner = w.user(t, "joiner-"+tag+"@example.com")
	f.newcomerEmail = "newcomer-" + tag + "@example.com"
	return f
}

// actors gives each actor kind of the matrix its standing in organization A
// and its principal.
func (w *matrixWorld) actors(t testing.TB, stranger *user.User, foreign *credential.Issued) {
	t.Helper()
	ctx := context.Background()
	a := w.a
	own := w.as(a.owner)
	yes := true
	member := func(name string, roleID string) (*user.User, *membership.Membership) {
		t.Helper()
		u := w.user(t, name+"@example.com")
		m := w.member(t, own, a.org.ID, u, roleID)
		w.principal[name] = provisioning.User(u.ID)
		return u, m
	}
	update := func(m *membership.Membership, u membership.Update) {
		t.Helper()
		if _, err := own.UpdateMembership(ctx, m.ID, u); err != nil {
			t.Fatal(err)
		}
	}
	w.principal["owner"] = provisioning.User(a.owner.ID)
	member("admin", a.admin.ID)
	member("read_only", a.readOnly.ID)
	for _, subj := range matrixSubjects {
		for _, act := range role.Actions {
			name := "custom_" + subj + "_" + string(act)
			r, err := own.CreateRole(ctx, role.Create{OrganizationID: a.org.ID, Name: name})
			if err != nil {
				t.Fatal(err)
			}
			in := role.PermissionCreate{RoleID: r.ID, Subject: subj}
			switch act {
			case role.ActionCreate:
				in.CanCreate = true
			case role.ActionRead:
				in.CanRead = true
			case role.ActionUpdate:
				in.CanUpdate = true
			case role.ActionDestroy:
				in.CanDestroy = true
			}
			if _, err := own.CreatePermission(ctx, in); err != nil {
				t.Fatal(err)
			}
			member(name, r.ID)
		}
	}
	_, guest := member("guest", a.admin.ID)
	update(guest, membership.Update{Guest: &yes})
	_, expired := member("expired_guest", a.admin.ID)
	soon := w.clock.Now().Add(time.Hour)
	update(expired, membership.Update{Guest: &yes, ExpiresAt: &soon})
	_, fenced := member("wrong_ip", a.admin.ID)
	update(fenced, membership.Update{AllowedIPs: &[]string{"8.8.8.0/24"}})
	w.principal["wrong_ip"] = provisioning.Principal{Kind: access.KindUser, ID: w.principal["wrong_ip"].ID, IP: netip.MustParseAddr("1.1.1.1")}
	_, mfa := member("missing_mfa", a.admin.ID)
	update(mfa, membership.Update{MFARequired: &yes})
	if _, err := own.Invite(ctx, membership.Invite{OrganizationID: a.org.ID, UserEmail: "pending@example.com", RoleID: a.readOnly.ID}); err != nil {
		t.Fatal(err)
	}
	w.principal["pending"] = provisioning.User(w.user(t, "pending@example.com").ID)
	w.principal["non_member"] = provisioning.User(stranger.ID)
	w.principal["credential"] = provisioning.Credential(newCred(t, own, a.org.ID, credential.Integration, a.admin.ID).Credential.ID)
	w.principal["other_credential"] = provisioning.Credential(foreign.Credential.ID)
	w.principal["unauthenticated"] = provisioning.Principal{}
	w.clock.Advance(2 * time.Hour) // the expired guest's membership ends
}
