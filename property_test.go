package provisioning_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"pgregory.net/rapid"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/profile"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/storage/bunstore"
	"github.com/provisionkit/provisioning/storage/storagetest"
	"github.com/provisionkit/provisioning/user"
)

// TestTenantIsolationProperty runs random sequences of calls, by random
// principals (users of every kind, API credentials, revoked ones), with ids
// drawn from every organization and ids that do not exist, over three
// organizations and seven users, and after every step checks:
//
//   - the outcome class against a reference model of rights computed from
//     the tables: whoever holds no active membership (or credential) in the
//     organization of an id gets not found, never the object and never
//     forbidden; a member without the right gets forbidden; a member with it
//     reads the object, and lists hold exactly the organization's objects;
//   - a refused call changes no row; a call that succeeds changes rows of
//     its own organization only (and users' default organization), each
//     changed row with exactly one version of its organization (I18);
//   - who is a member of which organization, in which state, and who owns
//     it, against a model kept from the calls alone;
//   - I6, I7, I8 and the default organization rule, with SQL.
//
// SQLite runs a sixth of -rapid.checks sequences (16 by default, 10 to 60
// steps each after a random setup of about 35 calls); PostgreSQL and
// MariaDB, when their DSN is set, an eighth (12): about 60 s in all under
// -race on two shared cores. Raise -rapid.checks for a longer run. Rapid shrinks a failing
// sequence for -rapid.shrinktime (30 s): a few minutes give a minimal one.
func TestTenantIsolationProperty(t *testing.T) {
	checks := 100
	if f := flag.Lookup("rapid.checks"); f != nil {
		if n, err := strconv.Atoi(f.Value.String()); err == nil && n > 0 {
			checks = n
		}
	}
	backends := []struct {
		name string
		open storagetest.Opener
		seqs int
	}{
		{"sqlite", storagetest.SQLite, max(checks/6, 1)},
		{"postgres", storagetest.Postgres, max(checks/8, 1)},
		{"mysql", storagetest.MySQL, max(checks/8, 1)},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			st, err := bunstore.New(db)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			r := &isoRun{db: db, store: st, budget: b.seqs}
			start := time.Now()
			rapid.Check(t, r.sequence)
			t.Logf("%s: %d sequences, %d random calls (%d succeeded, %d refused or failed), %d versions checked, in %s",
				b.name, r.seqs, r.steps, r.ok, r.refused, r.versions, time.Since(start).Round(time.Millisecond))
		})
	}
}

// isoRun is one backend's run: its database and the counts to report.
type isoRun struct {
	db     *bun.DB
	store  *bunstore.Store
	budget int
	// failing is set once a check failed: rapid then shrinks, and every
	// case must run whatever the budget.
	failing                                 bool
	seqs, steps, ok, refused, versions, ran int
}

// The tables a step may change, in the order they are emptied between
// sequences (children first).
var isoTables = []string{
	"provisioning_application_memberships", "provisioning_api_credential_secrets", "provisioning_api_credentials",
	"provisioning_identity_providers", "provisioning_idempotency_keys", "provisioning_tokens",
	"provisioning_security_events", "provisioning_versions", "provisioning_permissions",
	"provisioning_memberships", "provisioning_membership_profiles", "provisioning_roles",
	"provisioning_organizations", "provisioning_users",
}

// isoDumped are the tables compared around every step, with the resource
// type of their versions ("" for none). Versions are read incrementally
// (they are append-only: the count is checked too); the tables of
// application memberships and identity providers, which no step uses, must
// stay empty (checkInvariants).
var isoDumped = map[string]string{
	"provisioning_organizations":       "organizations",
	"provisioning_users":               "users",
	"provisioning_memberships":         "memberships",
	"provisioning_membership_profiles": "membership_profiles",
	"provisioning_roles":               "roles",
	"provisioning_permissions":         "permissions",
	"provisioning_api_credentials":     "api_credentials",
	"provisioning_versions":            "",
}

func (r *isoRun) reset(t *rapid.T) {
	ctx := context.Background()
	if _, err := r.db.NewRaw("UPDATE provisioning_organizations SET owner_membership_id = NULL").Exec(ctx); err != nil {
		t.Fatalf("reset: %v", err)
	}
	for _, tbl := range isoTables {
		if _, err := r.db.NewRaw("DELETE FROM " + tbl).Exec(ctx); err != nil {
			t.Fatalf("reset %s: %v", tbl, err)
		}
	}
}

// isoUser is one of the seven users; id is "" until it signs up.
type isoUser struct {
	email, id string
}

// isoMember is the model of a membership: its organization, email, user
// ("" while pending) and status.
type isoMember struct {
	org, email, user string
	status           membership.Status
}

// iso is one sequence.
type iso struct {
	*isoRun
	t     *rapid.T
	ctx   context.Context
	p     *provisioning.Provisioner
	mail  *mailbox
	users []*isoUser
	fakes []string
	// The model, kept from the calls alone.
	mem    map[string]*isoMember // membership id →
	owner  map[string]string     // organization id → owner membership id
	latest map[string]string     // membership id → its latest invitation token
	tokens []string              // every token sent, in order
	// The tables as they are now.
	cur  dump
	step int
	// setting up: calls must succeed, and the checks wait for the end.
	settingUp bool
}

func (r *isoRun) sequence(t *rapid.T) {
	if !r.failing && r.ran >= r.budget {
		return // this backend's share is done (rapid's count is global)
	}
	r.ran++
	r.seqs++
	r.reset(t)
	clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s := &iso{isoRun: r, t: t, ctx: context.Background(), mail: &mailbox{},
		mem: map[string]*isoMember{}, owner: map[string]string{}, latest: map[string]string{}}
	var err error
	// Ids count from 1 in every sequence, so that a replay (rapid shrinking
	// a failure) makes the same ids and the same messages.
	s.p, err = provisioning.New(r.store, provisioning.WithClock(clock), provisioning.WithNotifier(s.mail),
		provisioning.WithIDGenerator(&countingIDs{}))
	if err != nil {
		t.Fatal(err)
	}
	s.fakes = []string{"i99997", "i99998", "i99999"} // well-formed, never made
	for i := range 7 {
		s.users = append(s.users, &isoUser{email: fmt.Sprintf("u%d@example.com", i)})
	}
	s.cur = s.dump()
	s.setup()
	n := rapid.IntRange(10, 60).Draw(t, "steps")
	for range n {
		s.do(rapid.SampledFrom(isoActions).Draw(t, "action"))
	}
}

// countingIDs makes the ids i00001, i00002, ...: unique, ordered, and the
// same in every replay.
type countingIDs struct {
	mu sync.Mutex
	n  int
}

func (g *countingIDs) NewID() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	return fmt.Sprintf("i%05d", g.n)
}

// fail reports a broken property; from then on rapid shrinks.
func (s *iso) fail(format string, args ...any) {
	s.failing = true
	s.t.Fatalf("step %d: "+format, append([]any{s.step}, args...)...)
}

// ---- setup ----

var isoKinds = []string{"none", "admin", "read_only", "custom", "guest", "custom_guest"}

var isoSubjects = []string{"orders", "memberships", "roles", "permissions", "membership_profiles", "api_credentials", "versions"}

var isoGrantSets = [][]string{nil, {"orders:read"}, {"memberships:create"}, {"memberships:*"}, {"roles:update"}, {"*"}}

// setup makes three organizations owned by users 0, 1 and 2, a custom role
// with a random permission in each, a profile, an integration credential,
// and a random membership of every other user in each; users 5 and 6 have
// not signed up while invited, so their memberships are pending (user 5
// signs up at the end: a pending member; user 6 is not a user yet).
func (s *iso) setup() {
	t := s.t
	s.settingUp = true
	defer func() {
		s.settingUp = false
		s.cur = s.dump()
		s.checkModel()
		s.checkInvariants()
	}()
	for i := range 5 {
		s.signup(i)
	}
	for o := range 3 {
		owner := s.users[o]
		org := s.createOrg(provisioning.User(owner.id), fmt.Sprintf("Org %d", o), true)
		custom := s.createRole(provisioning.User(owner.id), org, "Clerk", true)
		s.cur = s.dump() // for roleOfKind
		s.createPermission(provisioning.User(owner.id), custom, rapid.SampledFrom(isoSubjects).Draw(t, "setup_subject"),
			rapid.SliceOfN(rapid.Bool(), 4, 4).Draw(t, "setup_flags"), true)
		s.createProfile(provisioning.User(owner.id), org, true)
		s.createCredential(provisioning.User(owner.id), org, rapid.SampledFrom([]string{"read_only", "custom"}).Draw(t, "setup_cred_role"), true)
		for u := range s.users {
			if u == o {
				continue
			}
			kind := rapid.SampledFrom(isoKinds).Draw(t, fmt.Sprintf("setup_org%d_user%d", o, u))
			if kind == "none" {
				continue
			}
			in := membership.Invite{OrganizationID: org, UserEmail: s.users[u].email, RoleID: s.roleOfKind(org, kind)}
			in.Guest = strings.HasSuffix(kind, "guest")
			s.invite(provisioning.User(owner.id), in, true)
		}
	}
	s.signup(5)
}

// roleOfKind returns an organization's role for a setup kind.
func (s *iso) roleOfKind(org, kind string) string {
	want := role.KindCustom
	switch kind {
	case "admin":
		want = role.KindAdmin
	case "read_only", "guest":
		want = role.KindReadOnly
	}
	for _, id := range s.cur.ids("provisioning_roles") {
		r := s.cur.row("provisioning_roles", id)
		if r["organization_id"] == org && r["kind"] == string(want) {
			return id
		}
	}
	s.fail("organization %s has no role of kind %s", org, want)
	return ""
}

// ---- actions ----

// isoActions are the steps; "skip" comes first so that rapid, shrinking a
// failing sequence, turns the steps that do not matter into it.
var isoActions = []string{
	"skip", "invite", "accept_token", "accept_all", "signup", "upsert", "add_member", "update_membership",
	"delete_membership", "transfer", "create_role", "update_role", "create_permission", "update_permission",
	"create_profile", "update_profile", "delete_profile", "create_credential", "delete_credential",
	"create_org", "set_default", "read", "read", "read", "list", "list", "list_orgs",
}

func (s *iso) do(action string) {
	t := s.t
	switch action {
	case "skip":
	case "invite":
		in := membership.Invite{OrganizationID: s.drawOrg("org"), UserEmail: s.drawEmail(), RoleID: s.drawID("role", "provisioning_roles")}
		in.Guest = rapid.Bool().Draw(t, "guest")
		in.Permissions = rapid.SampledFrom(isoGrantSets).Draw(t, "permissions")
		s.invite(s.drawPrincipal(), in, false)
	case "accept_token":
		if len(s.tokens) == 0 {
			return
		}
		s.acceptToken(s.drawUser(), rapid.SampledFrom(s.tokens).Draw(t, "token"))
	case "accept_all":
		s.acceptAll(s.drawUser())
	case "signup":
		for i, u := range s.users {
			if u.id == "" {
				s.signup(i)
				return
			}
		}
	case "upsert", "add_member":
		s.upsert(action, s.drawPrincipal(), s.drawOrg("org"), s.drawUser())
	case "update_membership":
		s.updateMembership(s.drawPrincipal(), s.drawID("membership", "provisioning_memberships"))
	case "delete_membership":
		s.deleteMembership(s.drawPrincipal(), s.drawID("membership", "provisioning_memberships"))
	case "transfer":
		s.transfer(s.drawPrincipal(), s.drawOrg("org"), s.drawEmail())
	case "create_role":
		s.createRole(s.drawPrincipal(), s.drawOrg("org"), fmt.Sprintf("Role %d", s.step), false)
	case "update_role":
		s.updateRole(s.drawPrincipal(), s.drawID("role", "provisioning_roles"))
	case "create_permission":
		s.createPermission(s.drawPrincipal(), s.drawID("role", "provisioning_roles"), rapid.SampledFrom(isoSubjects).Draw(t, "subject"),
			rapid.SliceOfN(rapid.Bool(), 4, 4).Draw(t, "flags"), false)
	case "update_permission":
		s.updatePermission(s.drawPrincipal(), s.drawID("permission", "provisioning_permissions"))
	case "create_profile":
		s.createProfile(s.drawPrincipal(), s.drawOrg("org"), false)
	case "update_profile", "delete_profile":
		s.changeProfile(action, s.drawPrincipal(), s.drawID("profile", "provisioning_membership_profiles"))
	case "create_credential":
		s.createCredentialWith(s.drawPrincipal(), s.drawOrg("org"), s.drawID("role", "provisioning_roles"), false)
	case "delete_credential":
		s.deleteCredential(s.drawPrincipal(), s.drawID("credential", "provisioning_api_credentials"))
	case "create_org":
		if len(s.cur.ids("provisioning_organizations")) < 4 {
			s.createOrg(s.drawPrincipal(), fmt.Sprintf("Org %d", s.step), false)
		}
	case "set_default":
		s.setDefault(s.drawUser(), s.drawOrg("org"))
	case "read":
		s.read(s.drawPrincipal())
	case "list":
		s.list(s.drawPrincipal(), s.drawOrg("org"))
	case "list_orgs":
		s.listOrgs(s.drawUser())
	}
}

// ---- draws ----

// drawPrincipal draws a user who signed up (four times in five) or an API
// credential, revoked ones included.
func (s *iso) drawPrincipal() provisioning.Principal {
	creds := s.cur.ids("provisioning_api_credentials")
	if len(creds) > 0 && rapid.IntRange(0, 4).Draw(s.t, "credential?") == 0 {
		return provisioning.Credential(rapid.SampledFrom(creds).Draw(s.t, "credential_principal"))
	}
	return s.drawUser()
}

func (s *iso) drawUser() provisioning.Principal {
	var ids []string
	for _, u := range s.users {
		if u.id != "" {
			ids = append(ids, u.id)
		}
	}
	return provisioning.User(rapid.SampledFrom(ids).Draw(s.t, "user_principal"))
}

// drawID draws an id of table, of any organization, or one that does not exist.
func (s *iso) drawID(label, table string) string {
	return rapid.SampledFrom(append(s.cur.ids(table), s.fakes...)).Draw(s.t, label)
}

func (s *iso) drawOrg(label string) string { return s.drawID(label, "provisioning_organizations") }

func (s *iso) drawEmail() string {
	emails := []string{"ext@example.com"}
	for _, u := range s.users {
		emails = append(emails, u.email)
	}
	return rapid.SampledFrom(emails).Draw(s.t, "email")
}

func (s *iso) userByID(id string) *isoUser {
	for _, u := range s.users {
		if u.id != "" && u.id == id {
			return u
		}
	}
	return nil
}

// ---- the reference model of rights ----

type verdict int

const (
	allowed verdict = iota
	forbidden
	notFound
)

func (v verdict) String() string { return [...]string{"allowed", "forbidden", "not found"}[v] }

// readable are the subjects every active member reads.
var readable = []string{"organizations", "memberships", "membership_profiles", "roles", "permissions",
	"api_credentials", "application_memberships", "identity_providers"}

// activeMembership returns the row of pr's active membership in org, nil when none.
func (s *iso) activeMembership(pr provisioning.Principal, org string) map[string]string {
	if pr.Kind != access.KindUser || org == "" {
		return nil
	}
	for _, id := range s.cur.ids("provisioning_memberships") {
		m := s.cur.row("provisioning_memberships", id)
		if m["organization_id"] == org && m["user_id"] == pr.ID && m["status"] == string(membership.Active) {
			return m
		}
	}
	return nil
}

// isOwner reports whether pr is the user owning org, per the tables.
func (s *iso) isOwner(pr provisioning.Principal, org string) bool {
	m := s.activeMembership(pr, org)
	o := s.cur.row("provisioning_organizations", org)
	return m != nil && o != nil && o["owner_membership_id"] == m["id"]
}

// decide is the model's answer to "may pr do act on subject in org",
// computed from the tables with the rules of the package documentation,
// not with the library's code.
func (s *iso) decide(pr provisioning.Principal, org, subject string, act role.Action) verdict {
	var roles, grants []string
	guest := false
	switch pr.Kind {
	case access.KindUser:
		m := s.activeMembership(pr, org)
		if m == nil {
			return notFound
		}
		roles = append([]string{m["role_id"]}, jsonStrings(m["extra_role_ids"])...)
		grants = jsonStrings(m["permissions"])
		guest = truthy(m["guest"])
	case access.KindCredential:
		c := s.cur.row("provisioning_api_credentials", pr.ID)
		if c == nil || org == "" || c["organization_id"] != org || c["revoked_at"] != null {
			return notFound
		}
		if c["role_id"] != null {
			roles = []string{c["role_id"]}
		}
	default:
		return notFound
	}
	if guest && act != role.ActionRead && slices.Contains(role.GuestDeniedSubjects(), role.Subject(subject)) {
		return forbidden
	}
	if pr.Kind == access.KindUser && act == role.ActionRead && slices.Contains(readable, subject) {
		return allowed
	}
	for _, id := range roles {
		r := s.cur.row("provisioning_roles", id)
		if r == nil {
			s.fail("membership or credential of %s has unknown role %s", pr.ID, id)
		}
		switch role.Kind(r["kind"]) {
		case role.KindAdmin:
			return allowed
		case role.KindReadOnly:
			if act == role.ActionRead {
				return allowed
			}
		case role.KindCustom:
			for _, pid := range s.cur.ids("provisioning_permissions") {
				p := s.cur.row("provisioning_permissions", pid)
				if p["role_id"] == id && p["subject"] == subject && truthy(p["can_"+string(act)]) {
					return allowed
				}
			}
		}
	}
	for _, g := range grants {
		if g == "*" || g == subject+":*" || g == "*:"+string(act) || g == subject+":"+string(act) {
			return allowed
		}
	}
	return forbidden
}

// orgOf returns the organization of the row id of table, "" when there is
// no such row (or, for a credential, when it is revoked: not found either).
func (s *iso) orgOf(table, id string) string {
	r := s.cur.row(table, id)
	switch {
	case r == nil:
		return ""
	case table == "provisioning_organizations":
		return id
	case table == "provisioning_api_credentials" && r["revoked_at"] != null:
		return ""
	}
	return r["organization_id"]
}

func (s *iso) roleKind(roleID string) role.Kind {
	if r := s.cur.row("provisioning_roles", roleID); r != nil {
		return role.Kind(r["kind"])
	}
	return ""
}

// ---- running a step ----

// call describes one step for the checks.
type call struct {
	desc string
	pr   provisioning.Principal
	// org is the organization the call acts in ("" for none or unknown);
	// after a success every changed row must belong to it, or satisfy
	// orgs when set (calls that act in several, or in a new one).
	org  string
	orgs func(org string) bool
	// want is the model's verdict; foreign the error kind for notFound.
	want    verdict
	foreign fault.Kind
	// mustOK and mustFail sharpen an allowed verdict.
	mustOK   bool
	mustFail fault.Kind // 0 (Internal): no prediction
	mustErr  bool       // some error, of a kind an allowed call may get
	// versionsPerRow is how many versions a changed row may have (1 unless set).
	versionsPerRow int
}

// run makes the call, checks its outcome and the tables, and updates the
// model with onOK when it succeeded.
func (s *iso) run(c call, fn func() error, onOK func()) {
	s.step++
	if !s.settingUp {
		s.steps++
	}
	if s.settingUp {
		s.t.Logf("setup %d: %s as %s:%s", s.step, c.desc, c.pr.Kind, short(c.pr.ID))
	} else {
		s.t.Logf("step %d: %s as %s:%s (model: %s)", s.step, c.desc, c.pr.Kind, short(c.pr.ID), c.want)
	}
	err := fn()
	if err != nil {
		s.t.Logf("   -> %s: %v", fault.KindOf(err), err)
	}
	if s.settingUp {
		if err != nil {
			s.fail("setup: %s: %v", c.desc, err)
		}
		if onOK != nil {
			onOK()
		}
		return
	}
	after := s.dump()
	got := kindOrOK(err)
	switch {
	case c.want == notFound && got != c.foreign:
		s.fail("%s: got %s (%v), want %s: no membership in the organization", c.desc, kindName(got), err, c.foreign)
	case c.want == forbidden && got != fault.Forbidden:
		s.fail("%s: got %s (%v), want forbidden: a member without the right", c.desc, kindName(got), err)
	case c.want == allowed && c.mustOK && got != ok:
		s.fail("%s: got %s (%v), want success", c.desc, kindName(got), err)
	case c.want == allowed && c.mustFail != fault.Internal && got != c.mustFail:
		s.fail("%s: got %s (%v), want %s", c.desc, kindName(got), err, c.mustFail)
	case c.want == allowed && c.mustErr && got == ok:
		s.fail("%s succeeded, want an error", c.desc)
	case c.want == allowed && got != ok && got != fault.Invalid && got != fault.Conflict && got != fault.Forbidden:
		s.fail("%s: got %s (%v) though allowed", c.desc, kindName(got), err)
	}
	if err != nil {
		s.refused++
		if d := s.cur.diff(after); len(d) > 0 {
			s.fail("%s failed (%v) but changed %v", c.desc, err, d)
		}
	} else {
		s.ok++
		s.checkChanges(c, after)
		if onOK != nil {
			onOK()
		}
	}
	s.cur = after
	s.checkModel()
	s.checkInvariants()
}

// checkChanges holds a successful call to its organization and to I18:
// every changed row is of c.org (users: only their default organization),
// and has its versions, each of the row's organization, by the caller.
func (s *iso) checkChanges(c call, after dump) {
	changed := map[[2]string]string{} // (resource type, id) → organization
	for _, key := range s.cur.diff(after) {
		tbl, id := key[0], key[1]
		if tbl == "provisioning_versions" {
			continue
		}
		row := after.row(tbl, id)
		if row == nil {
			row = s.cur.row(tbl, id)
		}
		org := row["organization_id"]
		switch tbl {
		case "provisioning_organizations":
			org = id
		case "provisioning_users":
			org = ""
			if before := s.cur.row(tbl, id); before != nil {
				for col, v := range row {
					if col != "default_organization_id" && before[col] != v {
						s.fail("%s changed column %s of user %s", c.desc, col, id)
					}
				}
			}
		}
		if tbl != "provisioning_users" && org != c.org && (c.orgs == nil || !c.orgs(org)) {
			s.fail("%s, acting in organization %s, changed %s %s of organization %s", c.desc, c.org, tbl, id, org)
		}
		changed[[2]string{isoDumped[tbl], id}] = org
	}
	perRow := map[[2]string]int{}
	for _, id := range after.ids("provisioning_versions") {
		if s.cur.row("provisioning_versions", id) != nil {
			continue
		}
		v := after.row("provisioning_versions", id)
		key := [2]string{v["resource_type"], v["resource_id"]}
		org, ok := changed[key]
		switch {
		case !ok:
			s.fail("%s wrote a version of %s %s, which did not change", c.desc, key[0], key[1])
		case v["organization_id"] != org:
			s.fail("%s wrote the version of %s %s in organization %q, the row is of %q", c.desc, key[0], key[1], v["organization_id"], org)
		case c.pr.Kind != access.KindSystem && v["who_id"] != c.pr.ID:
			s.fail("%s: version %s names %s as who, want %s", c.desc, id, v["who_id"], c.pr.ID)
		}
		perRow[key]++
		s.versions++
	}
	limit := max(c.versionsPerRow, 1)
	for key := range changed {
		if n := perRow[key]; n < 1 || n > limit {
			s.fail("%s changed %s %s with %d versions, want 1..%d", c.desc, key[0], key[1], n, limit)
		}
	}
}

// checkModel compares who is a member of what, in which state, and who
// owns each organization, with the model.
func (s *iso) checkModel() {
	ids := s.cur.ids("provisioning_memberships")
	if len(ids) != len(s.mem) {
		s.fail("%d memberships in the tables, the model has %d", len(ids), len(s.mem))
	}
	for _, id := range ids {
		r := s.cur.row("provisioning_memberships", id)
		m := s.mem[id]
		user := r["user_id"]
		if user == null {
			user = ""
		}
		if m == nil || m.org != r["organization_id"] || m.email != r["user_email"] || m.user != user || string(m.status) != r["status"] {
			s.fail("membership %s is %v in the tables, %+v in the model", id, r, m)
		}
	}
	for _, org := range s.cur.ids("provisioning_organizations") {
		if got := s.cur.row("provisioning_organizations", org)["owner_membership_id"]; got != s.owner[org] {
			s.fail("organization %s is owned by membership %s, the model says %s", org, got, s.owner[org])
		}
	}
}

// isoInvariants are the invariants that SQL checks after every step: each
// query lists what breaks one, as (invariant number, id).
var isoInvariants = []struct{ what, query string }{
	{"I6: two memberships of one user in one organization",
		"SELECT organization_id AS id FROM provisioning_memberships WHERE user_id IS NOT NULL GROUP BY organization_id, user_id HAVING COUNT(*) > 1"},
	{"I6: two memberships of one email in one organization",
		"SELECT organization_id AS id FROM provisioning_memberships GROUP BY organization_id, user_email HAVING COUNT(*) > 1"},
	{"I7: an organization without an active, non-guest, never expiring owner membership of its own with the admin role",
		`SELECT o.id AS id FROM provisioning_organizations o
		 LEFT JOIN provisioning_memberships m ON m.id = o.owner_membership_id AND m.organization_id = o.id
		   AND m.status = 'active' AND m.guest = ? AND m.expires_at IS NULL AND m.user_id IS NOT NULL
		 LEFT JOIN provisioning_roles r ON r.id = m.role_id AND r.organization_id = o.id AND r.kind = 'admin'
		 WHERE r.id IS NULL`},
	{"I8: a membership neither active with its user and no token, nor pending with a token and no user",
		`SELECT id FROM provisioning_memberships WHERE NOT (
		   (status = 'active' AND user_id IS NOT NULL AND invitation_token_hash IS NULL) OR
		   (status = 'pending' AND user_id IS NULL AND invitation_token_hash IS NOT NULL))`},
	{"default organization: a user with an active membership and no default, or a default that is not one of its active organizations",
		`SELECT u.id AS id FROM provisioning_users u WHERE
		   (u.default_organization_id IS NULL AND EXISTS (SELECT 1 FROM provisioning_memberships m
		      WHERE m.user_id = u.id AND m.status = 'active'))
		   OR (u.default_organization_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM provisioning_memberships m
		      WHERE m.user_id = u.id AND m.status = 'active' AND m.organization_id = u.default_organization_id))`},
	{"rows in tables no step uses", "SELECT id FROM provisioning_application_memberships UNION ALL SELECT id FROM provisioning_identity_providers"},
}

// isoInvariantQuery is isoInvariants in one query (one round trip a step).
var isoInvariantQuery = func() string {
	var parts []string
	for i, q := range isoInvariants {
		parts = append(parts, fmt.Sprintf("SELECT %d AS what, id FROM (%s) q%d", i, q.query, i))
	}
	return strings.Join(parts, " UNION ALL ")
}()

// checkInvariants checks I6, I7, I8 and the default organization rule with SQL.
func (s *iso) checkInvariants() {
	var bad []struct {
		What int    `bun:"what"`
		ID   string `bun:"id"`
	}
	if err := s.db.NewRaw(isoInvariantQuery, false).Scan(s.ctx, &bad); err != nil {
		s.fail("invariants: %v", err)
	}
	for _, b := range bad {
		s.fail("%s: %s", isoInvariants[b.What].what, b.ID)
	}
}

// ---- the calls ----

func (s *iso) signup(i int) {
	u := s.users[i]
	c := call{desc: "sign up " + u.email, pr: provisioning.Principal{Kind: access.KindSystem, ID: "system"}, mustOK: true}
	var got *user.User
	s.run(c, func() (err error) {
		got, err = s.p.System().CreateUser(s.ctx, user.Create{Email: u.email, FirstName: "U", LastName: strconv.Itoa(i), EmailVerified: true})
		return err
	}, func() { u.id = got.ID })
}

func (s *iso) createOrg(pr provisioning.Principal, name string, must bool) string {
	c := call{desc: "create organization " + name, pr: pr, mustOK: pr.Kind == access.KindUser,
		orgs: func(org string) bool { return s.cur.row("provisioning_organizations", org) == nil }}
	if pr.Kind != access.KindUser {
		c.mustFail = fault.Forbidden // only a user creates an organization
	}
	var org *organization.Organization
	s.run(c, func() (err error) {
		org, err = s.p.As(pr).CreateOrganization(s.ctx, organization.Create{Name: name})
		return err
	}, func() {
		u := s.userByID(pr.ID)
		s.mem[org.OwnerMembershipID] = &isoMember{org: org.ID, email: u.email, user: u.id, status: membership.Active}
		s.owner[org.ID] = org.OwnerMembershipID
	})
	if org == nil {
		if must {
			s.fail("setup: %s failed", c.desc)
		}
		return ""
	}
	return org.ID
}

func (s *iso) invite(pr provisioning.Principal, in membership.Invite, must bool) {
	org := s.orgOf("provisioning_organizations", in.OrganizationID)
	c := call{desc: fmt.Sprintf("invite %s to %s as %s (guest %v, permissions %v)", in.UserEmail, short(in.OrganizationID), short(in.RoleID), in.Guest, in.Permissions),
		pr: pr, org: org, want: s.decide(pr, org, "memberships", role.ActionCreate), foreign: fault.NotFound}
	if c.want == allowed {
		exists := false
		for _, m := range s.mem {
			exists = exists || m.org == org && m.email == in.UserEmail
		}
		inOrg := s.orgOf("provisioning_roles", in.RoleID) == org
		admin := s.roleKind(in.RoleID) == role.KindAdmin
		owner := s.isOwner(pr, org)
		switch {
		case !inOrg:
			c.mustFail = fault.Invalid
		case admin && !owner, slices.Contains(in.Permissions, "*") && !owner:
			c.mustFail = fault.Forbidden
		case exists && owner:
			c.mustFail = fault.Conflict
		case exists:
			c.mustErr = true // conflict, unless a grant is refused first
		case owner && !(in.Guest && admin):
			c.mustOK = true
		}
	}
	c.mustOK = c.mustOK || must
	var m *membership.Membership
	sent := s.mail.count()
	s.run(c, func() (err error) {
		m, err = s.p.As(pr).Invite(s.ctx, in)
		return err
	}, func() {
		want := &isoMember{org: org, email: in.UserEmail, status: membership.Pending}
		for _, u := range s.users {
			if u.email == in.UserEmail && u.id != "" {
				want.user, want.status = u.id, membership.Active
			}
		}
		if m.Status != want.status || m.OrganizationID != org {
			s.fail("invite returned a membership %s of %s, want %s of %s", m.Status, m.OrganizationID, want.status, org)
		}
		s.mem[m.ID] = want
		for _, inv := range s.mail.sent.All()[sent:] {
			if inv.Token != "" {
				s.latest[inv.MembershipID] = inv.Token
				s.tokens = append(s.tokens, inv.Token)
			}
		}
	})
}

func (s *iso) acceptToken(pr provisioning.Principal, token string) {
	var id string
	for mid, tok := range s.latest {
		if tok == token {
			id = mid
		}
	}
	m := s.mem[id]
	valid := m != nil && m.status == membership.Pending && s.userByID(pr.ID).email == m.email
	org := ""
	if m != nil {
		org = m.org
	}
	c := call{desc: "accept the invitation of membership " + short(id), pr: pr, org: org, want: allowed, mustOK: valid}
	if !valid {
		c.want, c.foreign = notFound, fault.NotFound
	}
	s.run(c, func() error {
		_, err := s.p.As(pr).AcceptInvitation(s.ctx, token)
		return err
	}, func() { m.status, m.user = membership.Active, pr.ID })
}

func (s *iso) acceptAll(pr provisioning.Principal) {
	u := s.userByID(pr.ID)
	var pending []string
	for id, m := range s.mem {
		if m.email == u.email && m.status == membership.Pending {
			pending = append(pending, id)
		}
	}
	c := call{desc: "accept every pending invitation", pr: pr, mustOK: true,
		orgs: func(org string) bool {
			return slices.ContainsFunc(pending, func(id string) bool { return s.mem[id].org == org })
		}}
	s.run(c, func() error {
		got, err := s.p.As(pr).AcceptPendingInvitations(s.ctx)
		if err == nil && len(got) != len(pending) {
			s.fail("accepted %d invitations, the model has %d pending", len(got), len(pending))
		}
		return err
	}, func() {
		for _, id := range pending {
			s.mem[id].status, s.mem[id].user = membership.Active, u.id
		}
	})
}

func (s *iso) upsert(action string, pr provisioning.Principal, orgID string, target provisioning.Principal) {
	t := s.t
	org := s.orgOf("provisioning_organizations", orgID)
	roleID := s.drawID("role", "provisioning_roles")
	rules := membership.Rules{Guest: rapid.Bool().Draw(t, "guest"), Permissions: rapid.SampledFrom(isoGrantSets).Draw(t, "permissions")}
	tu := s.userByID(target.ID)
	var existing string // the target's membership in org, per the model
	for id, m := range s.mem {
		if m.org == org && (m.user == target.ID || m.status == membership.Pending && m.email == tu.email) {
			existing = id
		}
	}
	c := call{desc: fmt.Sprintf("%s %s in %s as %s (guest %v, permissions %v)", action, tu.email, short(orgID), short(roleID), rules.Guest, rules.Permissions),
		pr: pr, org: org, foreign: fault.NotFound}
	inOrg := s.orgOf("provisioning_roles", roleID) == org
	owner := s.isOwner(pr, org)
	if action == "add_member" {
		c.want = s.decide(pr, org, "memberships", role.ActionCreate)
		if c.want == allowed && existing != "" && inOrg {
			c.mustErr = true // conflict, unless a grant is refused first
		}
	} else {
		c.want = s.decide(pr, org, "memberships", role.ActionRead)
		switch {
		case c.want != allowed:
		case existing == "" || s.mem[existing].status == membership.Pending:
			if !owner {
				c.mustFail = fault.Forbidden // only the owner makes a member
			}
		default:
			c.want = s.decide(pr, org, "memberships", role.ActionUpdate)
		}
		c.versionsPerRow = 2 // a pending invitation is accepted, then changed
	}
	if c.want == allowed && c.mustFail == fault.Internal && !inOrg {
		c.mustFail = fault.Invalid
	}
	var m *membership.Membership
	var created bool
	s.run(c, func() (err error) {
		if action == "add_member" {
			m, err = s.p.As(pr).AddMember(s.ctx, membership.Add{OrganizationID: orgID, UserID: target.ID, RoleIDs: []string{roleID}, Rules: rules})
			created = err == nil
			return err
		}
		m, created, err = s.p.As(pr).UpsertMembership(s.ctx, membership.Upsert{OrganizationID: orgID, UserID: target.ID, RoleIDs: []string{roleID}, Rules: rules})
		return err
	}, func() {
		switch {
		case created && existing != "":
			s.fail("%s created membership %s; the user had %s", action, m.ID, existing)
		case created:
			s.mem[m.ID] = &isoMember{org: org, email: tu.email, user: tu.id, status: membership.Active}
		case m.ID != existing:
			s.fail("%s returned membership %s, want %s", action, m.ID, existing)
		default:
			s.mem[m.ID].status, s.mem[m.ID].user = membership.Active, tu.id
		}
	})
}

func (s *iso) updateMembership(pr provisioning.Principal, id string) {
	t := s.t
	var u membership.Update
	var parts []string
	if rapid.Bool().Draw(t, "set_role") {
		r := s.drawID("role", "provisioning_roles")
		u.RoleID = &r
		parts = append(parts, "role "+short(r))
	}
	if rapid.Bool().Draw(t, "set_guest") {
		g := rapid.Bool().Draw(t, "guest")
		u.Guest = &g
		parts = append(parts, fmt.Sprintf("guest %v", g))
	}
	if rapid.Bool().Draw(t, "set_permissions") {
		p := rapid.SampledFrom(isoGrantSets).Draw(t, "permissions")
		u.Permissions = &p
		parts = append(parts, fmt.Sprintf("permissions %v", p))
	}
	if rapid.Bool().Draw(t, "set_profile") {
		p := ""
		if rapid.Bool().Draw(t, "link_profile") {
			p = s.drawID("profile", "provisioning_membership_profiles")
		}
		u.ProfileID = &p
		parts = append(parts, "profile "+short(p))
	}
	org := s.orgOf("provisioning_memberships", id)
	c := call{desc: fmt.Sprintf("update membership %s: %s", short(id), strings.Join(parts, ", ")), pr: pr, org: org,
		want: s.decide(pr, org, "memberships", role.ActionUpdate), foreign: fault.NotFound}
	if c.want == allowed {
		row := s.cur.row("provisioning_memberships", id)
		isOwnerMembership := s.owner[org] == id
		switch {
		case u.RoleID != nil && s.orgOf("provisioning_roles", *u.RoleID) != org:
			c.mustFail = fault.Invalid
		case u.Guest != nil && *u.Guest && isOwnerMembership && rulesUntouchedOtherwise(u):
			c.mustFail = fault.Invalid // the owner is never a guest
		case u.RoleID != nil && s.roleKind(*u.RoleID) == role.KindAdmin && !s.isOwner(pr, org) &&
			!slices.Contains(append([]string{row["role_id"]}, jsonStrings(row["extra_role_ids"])...), *u.RoleID):
			c.mustFail = fault.Forbidden // only the owner grants the admin role
		}
	}
	s.run(c, func() error {
		_, err := s.p.As(pr).UpdateMembership(s.ctx, id, u)
		return err
	}, nil)
}

// rulesUntouchedOtherwise reports whether an update that makes the owner a
// guest has nothing else that could be refused first.
func rulesUntouchedOtherwise(u membership.Update) bool {
	return u.RoleID == nil && u.Permissions == nil && u.ProfileID == nil
}

func (s *iso) deleteMembership(pr provisioning.Principal, id string) {
	org := s.orgOf("provisioning_memberships", id)
	act := role.ActionDestroy
	if row := s.cur.row("provisioning_memberships", id); row != nil && pr.Kind == access.KindUser && row["user_id"] == pr.ID {
		act = role.ActionRead // leaving
	}
	c := call{desc: "delete membership " + short(id), pr: pr, org: org, want: s.decide(pr, org, "memberships", act), foreign: fault.NotFound}
	if c.want == allowed {
		if s.owner[org] == id {
			c.mustFail = fault.Conflict // the last owner
		} else {
			c.mustOK = true
		}
	}
	s.run(c, func() error { return s.p.As(pr).DeleteMembership(s.ctx, id) }, func() { delete(s.mem, id) })
}

func (s *iso) transfer(pr provisioning.Principal, orgID, email string) {
	org := s.orgOf("provisioning_organizations", orgID)
	c := call{desc: fmt.Sprintf("transfer %s to %s", short(orgID), email), pr: pr, org: org, foreign: fault.NotFound,
		want: s.decide(pr, org, "organizations", role.ActionUpdate)}
	var target string
	if c.want != notFound {
		c.want = forbidden
		if s.isOwner(pr, org) {
			c.want = allowed
			c.mustFail = fault.Invalid
			for id, m := range s.mem {
				if m.org == org && m.email == email {
					row := s.cur.row("provisioning_memberships", id)
					if m.status == membership.Active && !truthy(row["guest"]) && id != s.owner[org] {
						target, c.mustFail, c.mustOK = id, fault.Internal, true
					}
				}
			}
		}
	}
	s.run(c, func() error { return s.p.As(pr).TransferOwnership(s.ctx, orgID, email) }, func() { s.owner[org] = target })
}

func (s *iso) createRole(pr provisioning.Principal, orgID, name string, must bool) string {
	org := s.orgOf("provisioning_organizations", orgID)
	c := call{desc: fmt.Sprintf("create role %q in %s", name, short(orgID)), pr: pr, org: org,
		want: s.decide(pr, org, "roles", role.ActionCreate), foreign: fault.NotFound, mustOK: must}
	var r *role.Role
	s.run(c, func() (err error) {
		r, err = s.p.As(pr).CreateRole(s.ctx, role.Create{OrganizationID: orgID, Name: name})
		return err
	}, nil)
	if r == nil {
		return ""
	}
	return r.ID
}

func (s *iso) updateRole(pr provisioning.Principal, id string) {
	org := s.orgOf("provisioning_roles", id)
	name := fmt.Sprintf("Renamed %d", s.step)
	c := call{desc: fmt.Sprintf("rename role %s", short(id)), pr: pr, org: org,
		want: s.decide(pr, org, "roles", role.ActionUpdate), foreign: fault.NotFound}
	s.run(c, func() error {
		_, err := s.p.As(pr).UpdateRole(s.ctx, id, role.Update{Name: &name})
		return err
	}, nil)
}

func (s *iso) createPermission(pr provisioning.Principal, roleID, subject string, flags []bool, must bool) {
	org := s.orgOf("provisioning_roles", roleID)
	in := role.PermissionCreate{RoleID: roleID, Subject: subject, CanCreate: flags[0], CanRead: flags[1], CanUpdate: flags[2], CanDestroy: flags[3]}
	// An unknown role and one of another organization look alike: the
	// field "role" does not exist.
	c := call{desc: fmt.Sprintf("create permission %s %v on role %s", subject, flags, short(roleID)), pr: pr, org: org,
		want: s.decide(pr, org, "permissions", role.ActionCreate), foreign: fault.Invalid, mustOK: must}
	s.run(c, func() error {
		_, err := s.p.As(pr).CreatePermission(s.ctx, in)
		return err
	}, nil)
}

func (s *iso) updatePermission(pr provisioning.Principal, id string) {
	flags := rapid.SliceOfN(rapid.Bool(), 4, 4).Draw(s.t, "flags")
	org := s.orgOf("provisioning_permissions", id)
	c := call{desc: fmt.Sprintf("update permission %s to %v", short(id), flags), pr: pr, org: org,
		want: s.decide(pr, org, "permissions", role.ActionUpdate), foreign: fault.NotFound}
	s.run(c, func() error {
		_, err := s.p.As(pr).UpdatePermission(s.ctx, id, role.PermissionUpdate{CanCreate: &flags[0], CanRead: &flags[1], CanUpdate: &flags[2], CanDestroy: &flags[3]})
		return err
	}, nil)
}

func (s *iso) createProfile(pr provisioning.Principal, orgID string, must bool) {
	org := s.orgOf("provisioning_organizations", orgID)
	c := call{desc: "create a profile in " + short(orgID), pr: pr, org: org,
		want: s.decide(pr, org, "membership_profiles", role.ActionCreate), foreign: fault.NotFound, mustOK: must}
	s.run(c, func() error {
		_, err := s.p.As(pr).CreateProfile(s.ctx, profile.Create{OrganizationID: orgID, Name: fmt.Sprintf("Profile %d", s.step), AccessScope: access.TestAccess})
		return err
	}, nil)
}

func (s *iso) changeProfile(action string, pr provisioning.Principal, id string) {
	org := s.orgOf("provisioning_membership_profiles", id)
	act := role.ActionUpdate
	if action == "delete_profile" {
		act = role.ActionDestroy
	}
	c := call{desc: fmt.Sprintf("%s %s", action, short(id)), pr: pr, org: org,
		want: s.decide(pr, org, "membership_profiles", act), foreign: fault.NotFound}
	s.run(c, func() error {
		if action == "delete_profile" {
			return s.p.As(pr).DeleteProfile(s.ctx, id)
		}
		name := fmt.Sprintf("Profile %d", s.step)
		_, err := s.p.As(pr).UpdateProfile(s.ctx, id, profile.Update{Name: &name})
		return err
	}, nil)
}

func (s *iso) createCredential(pr provisioning.Principal, org, kind string, must bool) {
	s.createCredentialWith(pr, org, s.roleOfKind(org, kind), must)
}

func (s *iso) createCredentialWith(pr provisioning.Principal, orgID, roleID string, must bool) {
	org := s.orgOf("provisioning_organizations", orgID)
	c := call{desc: fmt.Sprintf("create a credential in %s with role %s", short(orgID), short(roleID)), pr: pr, org: org,
		want: s.decide(pr, org, "api_credentials", role.ActionCreate), foreign: fault.NotFound, mustOK: must}
	if c.want == allowed && s.roleKind(roleID) == role.KindAdmin && !s.isOwner(pr, org) && s.orgOf("provisioning_roles", roleID) == org {
		c.mustFail = fault.Forbidden // only the owner hands out the admin role
	}
	s.run(c, func() error {
		_, err := s.p.As(pr).CreateCredential(s.ctx, credential.Create{OrganizationID: orgID, Name: fmt.Sprintf("Cred %d", s.step),
			Kind: credential.Integration, RoleID: roleID})
		return err
	}, nil)
}

func (s *iso) deleteCredential(pr provisioning.Principal, id string) {
	org := s.orgOf("provisioning_api_credentials", id)
	c := call{desc: "delete credential " + short(id), pr: pr, org: org,
		want: s.decide(pr, org, "api_credentials", role.ActionDestroy), foreign: fault.NotFound}
	if c.want == allowed {
		c.mustOK = true
	}
	s.run(c, func() error { return s.p.As(pr).DeleteCredential(s.ctx, id) }, nil)
}

func (s *iso) setDefault(pr provisioning.Principal, orgID string) {
	org := s.orgOf("provisioning_organizations", orgID)
	c := call{desc: "make " + short(orgID) + " the default organization", pr: pr, want: notFound, foreign: fault.NotFound}
	if s.activeMembership(pr, org) != nil {
		c.want, c.mustOK = allowed, true
	}
	s.run(c, func() error {
		_, err := s.p.As(pr).SetDefaultOrganization(s.ctx, orgID)
		return err
	}, nil)
}

// ---- reads ----

// isoReads are the Get calls: the table of their ids, their subject, and
// the call returning the object's id and organization.
var isoReads = []struct {
	name, table, subject string
	get                  func(ctx context.Context, s *provisioning.Session, id string) (string, string, error)
}{
	{"GetOrganization", "provisioning_organizations", "organizations", func(ctx context.Context, s *provisioning.Session, id string) (string, string, error) {
		v, err := s.GetOrganization(ctx, id)
		if err != nil {
			return "", "", err
		}
		return v.ID, v.ID, nil
	}},
	{"GetMembership", "provisioning_memberships", "memberships", func(ctx context.Context, s *provisioning.Session, id string) (string, string, error) {
		v, err := s.GetMembership(ctx, id)
		if err != nil {
			return "", "", err
		}
		return v.ID, v.OrganizationID, nil
	}},
	{"GetRole", "provisioning_roles", "roles", func(ctx context.Context, s *provisioning.Session, id string) (string, string, error) {
		v, err := s.GetRole(ctx, id)
		if err != nil {
			return "", "", err
		}
		return v.ID, v.OrganizationID, nil
	}},
	{"GetPermission", "provisioning_permissions", "permissions", func(ctx context.Context, s *provisioning.Session, id string) (string, string, error) {
		v, err := s.GetPermission(ctx, id)
		if err != nil {
			return "", "", err
		}
		return v.ID, v.OrganizationID, nil
	}},
	{"GetProfile", "provisioning_membership_profiles", "membership_profiles", func(ctx context.Context, s *provisioning.Session, id string) (string, string, error) {
		v, err := s.GetProfile(ctx, id)
		if err != nil {
			return "", "", err
		}
		return v.ID, v.OrganizationID, nil
	}},
	{"GetCredential", "provisioning_api_credentials", "api_credentials", func(ctx context.Context, s *provisioning.Session, id string) (string, string, error) {
		v, err := s.GetCredential(ctx, id)
		if err != nil {
			return "", "", err
		}
		return v.ID, v.OrganizationID, nil
	}},
	{"GetVersion", "provisioning_versions", "versions", func(ctx context.Context, s *provisioning.Session, id string) (string, string, error) {
		v, err := s.GetVersion(ctx, id)
		if err != nil {
			return "", "", err
		}
		return v.ID, v.OrganizationID, nil
	}},
}

func (s *iso) read(pr provisioning.Principal) {
	rd := isoReads[rapid.IntRange(0, len(isoReads)-1).Draw(s.t, "get")]
	// Any id: of this kind or another, of any organization, or none.
	table := rd.table
	if rapid.IntRange(0, 5).Draw(s.t, "other_kind?") == 0 {
		table = isoReads[rapid.IntRange(0, len(isoReads)-1).Draw(s.t, "id_kind")].table
	}
	id := s.drawID("id", table)
	org := ""
	if table == rd.table {
		org = s.orgOf(table, id)
	}
	c := call{desc: fmt.Sprintf("%s(%s)", rd.name, short(id)), pr: pr, org: org, want: s.decide(pr, org, rd.subject, role.ActionRead),
		foreign: fault.NotFound}
	if c.want == allowed {
		c.mustOK = true
	}
	s.run(c, func() error {
		gotID, gotOrg, err := rd.get(s.ctx, s.p.As(pr), id)
		if err == nil && (gotID != id || gotOrg != org) {
			s.fail("%s(%s) returned %s of organization %s, want organization %s", rd.name, id, gotID, gotOrg, org)
		}
		return err
	}, nil)
}

// isoLists are the List calls: the table they list, their subject, and the
// call returning every item's id and organization.
var isoLists = []struct {
	name, table, subject string
	list                 func(ctx context.Context, s *provisioning.Session, org string) ([][2]string, error)
}{
	{"ListMemberships", "provisioning_memberships", "memberships", func(ctx context.Context, s *provisioning.Session, org string) ([][2]string, error) {
		return pages(func(after string) ([][2]string, string, error) {
			p, err := s.ListMemberships(ctx, membership.Filter{OrganizationID: org, PageRequest: page(after)})
			return items(p.Items, func(v membership.Membership) [2]string { return [2]string{v.ID, v.OrganizationID} }), p.Next, err
		})
	}},
	{"ListRoles", "provisioning_roles", "roles", func(ctx context.Context, s *provisioning.Session, org string) ([][2]string, error) {
		return pages(func(after string) ([][2]string, string, error) {
			p, err := s.ListRoles(ctx, role.Filter{OrganizationID: org, PageRequest: page(after)})
			return items(p.Items, func(v role.Role) [2]string { return [2]string{v.ID, v.OrganizationID} }), p.Next, err
		})
	}},
	{"ListPermissions", "provisioning_permissions", "permissions", func(ctx context.Context, s *provisioning.Session, org string) ([][2]string, error) {
		return pages(func(after string) ([][2]string, string, error) {
			p, err := s.ListPermissions(ctx, role.PermissionFilter{OrganizationID: org, PageRequest: page(after)})
			return items(p.Items, func(v role.Permission) [2]string { return [2]string{v.ID, v.OrganizationID} }), p.Next, err
		})
	}},
	{"ListProfiles", "provisioning_membership_profiles", "membership_profiles", func(ctx context.Context, s *provisioning.Session, org string) ([][2]string, error) {
		return pages(func(after string) ([][2]string, string, error) {
			p, err := s.ListProfiles(ctx, profile.Filter{OrganizationID: org, PageRequest: page(after)})
			return items(p.Items, func(v profile.Profile) [2]string { return [2]string{v.ID, v.OrganizationID} }), p.Next, err
		})
	}},
	{"ListCredentials", "provisioning_api_credentials", "api_credentials", func(ctx context.Context, s *provisioning.Session, org string) ([][2]string, error) {
		return pages(func(after string) ([][2]string, string, error) {
			p, err := s.ListCredentials(ctx, credential.Filter{OrganizationID: org, PageRequest: page(after)})
			return items(p.Items, func(v credential.Credential) [2]string { return [2]string{v.ID, v.OrganizationID} }), p.Next, err
		})
	}},
	{"ListVersions", "provisioning_versions", "versions", func(ctx context.Context, s *provisioning.Session, org string) ([][2]string, error) {
		return pages(func(after string) ([][2]string, string, error) {
			p, err := s.ListVersions(ctx, audit.Filter{OrganizationID: org, PageRequest: page(after)})
			return items(p.Items, func(v audit.Version) [2]string { return [2]string{v.ID, v.OrganizationID} }), p.Next, err
		})
	}},
}

func page(after string) resource.PageRequest { return resource.PageRequest{After: after, Limit: 100} }

func items[T any](list []T, key func(T) [2]string) [][2]string {
	out := make([][2]string, 0, len(list))
	for _, v := range list {
		out = append(out, key(v))
	}
	return out
}

// pages follows a list to its end.
func pages(next func(after string) ([][2]string, string, error)) ([][2]string, error) {
	var out [][2]string
	after := ""
	for range 100 {
		got, cursor, err := next(after)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
		if cursor == "" {
			return out, nil
		}
		after = cursor
	}
	return nil, fmt.Errorf("more than 100 pages")
}

func (s *iso) list(pr provisioning.Principal, orgID string) {
	ls := isoLists[rapid.IntRange(0, len(isoLists)-1).Draw(s.t, "list")]
	org := s.orgOf("provisioning_organizations", orgID)
	c := call{desc: fmt.Sprintf("%s(%s)", ls.name, short(orgID)), pr: pr, org: org, want: s.decide(pr, org, ls.subject, role.ActionRead),
		foreign: fault.NotFound}
	if c.want == allowed {
		c.mustOK = true
	}
	var want []string
	for _, id := range s.cur.ids(ls.table) {
		if s.orgOf(ls.table, id) == org && org != "" {
			want = append(want, id)
		}
	}
	s.run(c, func() error {
		got, err := ls.list(s.ctx, s.p.As(pr), orgID)
		if err != nil {
			return err
		}
		var ids []string
		for _, it := range got {
			if it[1] != org {
				s.fail("%s(%s) lists %s of organization %s", ls.name, orgID, it[0], it[1])
			}
			ids = append(ids, it[0])
		}
		sort.Strings(ids)
		if !slices.Equal(ids, want) {
			s.fail("%s(%s) lists %v, the organization has %v", ls.name, orgID, ids, want)
		}
		return nil
	}, nil)
}

func (s *iso) listOrgs(pr provisioning.Principal) {
	var want []string
	for _, org := range s.cur.ids("provisioning_organizations") {
		if s.activeMembership(pr, org) != nil {
			want = append(want, org)
		}
	}
	c := call{desc: "ListOrganizations", pr: pr, mustOK: true}
	s.run(c, func() error {
		p, err := s.p.As(pr).ListOrganizations(s.ctx, organization.Filter{PageRequest: page("")})
		if err != nil {
			return err
		}
		var ids []string
		for _, o := range p.Items {
			ids = append(ids, o.ID)
		}
		sort.Strings(ids)
		if !slices.Equal(ids, want) {
			s.fail("ListOrganizations lists %v, the user is an active member of %v", ids, want)
		}
		return nil
	}, nil)
}

// ---- table dumps ----

// null stands for SQL NULL in a dump.
const null = "\x00NULL"

// dump holds rows by table, then id, then column; the organization's
// policy revision is left out (it changes with no version of its own).
type dump map[string]map[string]map[string]string

func (s *iso) dump() dump {
	out := dump{}
	for tbl := range isoDumped {
		query := "SELECT * FROM " + tbl
		var args []any
		if tbl == "provisioning_versions" {
			// Append-only: read what came since the last dump, keep the rest.
			out[tbl] = maps.Clone(s.cur[tbl])
			if out[tbl] == nil {
				out[tbl] = map[string]map[string]string{}
			}
			if last := s.cur.ids(tbl); len(last) > 0 {
				query += " WHERE id > ?"
				args = append(args, last[len(last)-1])
			}
		} else {
			out[tbl] = map[string]map[string]string{}
		}
		s.scanRows(tbl, out[tbl], query, args...)
	}
	n, err := s.db.NewSelect().TableExpr("provisioning_versions").Count(s.ctx)
	if err != nil {
		s.fail("count versions: %v", err)
	}
	if int(n) != len(out["provisioning_versions"]) {
		s.fail("%d versions, %d read: versions were removed", n, len(out["provisioning_versions"]))
	}
	return out
}

// scanRows reads the rows of query into into, by id, each as column → text.
func (s *iso) scanRows(tbl string, into map[string]map[string]string, query string, args ...any) {
	rows, err := s.db.QueryContext(s.ctx, query, args...)
	if err != nil {
		s.fail("dump %s: %v", tbl, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		s.fail("dump %s: %v", tbl, err)
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			s.fail("dump %s: %v", tbl, err)
		}
		row := map[string]string{}
		for i, c := range cols {
			if c == "policy_revision" {
				continue
			}
			row[strings.ToLower(c)] = cell(vals[i])
		}
		into[row["id"]] = row
	}
	if err := rows.Err(); err != nil {
		s.fail("dump %s: %v", tbl, err)
	}
}

func cell(v any) string {
	switch v := v.(type) {
	case nil:
		return null
	case []byte:
		return string(v)
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	case bool:
		if v {
			return "1"
		}
		return "0"
	}
	return fmt.Sprint(v)
}

func (d dump) row(tbl, id string) map[string]string { return d[tbl][id] }

// ids returns the ids of a table, sorted (so that draws replay).
func (d dump) ids(tbl string) []string {
	out := make([]string, 0, len(d[tbl]))
	for id := range d[tbl] {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// diff returns the (table, id) of every row added, removed or changed.
func (d dump) diff(after dump) [][2]string {
	var out [][2]string
	for tbl := range isoDumped {
		for id, row := range after[tbl] {
			if !maps.Equal(row, d[tbl][id]) {
				out = append(out, [2]string{tbl, id})
			}
		}
		for id := range d[tbl] {
			if after[tbl][id] == nil {
				out = append(out, [2]string{tbl, id})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0]+out[i][1] < out[j][0]+out[j][1] })
	return out
}

func truthy(v string) bool { return v == "1" || v == "true" || v == "t" }

func jsonStrings(v string) []string {
	if v == null || v == "" {
		return nil
	}
	var out []string
	_ = json.Unmarshal([]byte(v), &out)
	return out
}

// short shortens an id for the step log.
func short(id string) string {
	if len(id) > 8 {
		return "…" + id[len(id)-6:]
	}
	if id == "" {
		return `""`
	}
	return id
}
