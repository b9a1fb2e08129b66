package authz_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/authz"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/role"
)

// The differential test asks many random questions of the Authorizer and of
// one stock Casbin enforcer loaded with the lines of every organization, and
// requires the same answers.

// diffSeed is the seed every run uses; AUTHZ_DIFF_SEED adds another.
const diffSeed = 20260301

// diffOrgs is the number of organizations of a random world.
const diffOrgs = 10

// Pools of ids that every organization draws from, so that role, user,
// credential and profile ids collide across organizations.
var (
	poolRoles    = []string{"r0", "r1", "r2", "r3", "r4", "r5"}
	poolUsers    = []string{"u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9"}
	poolCreds    = []string{"c0", "c1", "c2", "u0"} // u0 is also a user: subjects are namespaced
	poolProfiles = []string{"pf0", "pf1", "pf2"}

	// permSubjects are the subjects that permissions and grants name.
	permSubjects = []string{"orders", "skus", "customers", "memberships", "versions"}
	// grantSubjects and grantActions are those of direct grants, "*" included.
	grantSubjects = []string{"orders", "skus", "customers", "memberships", "versions", "*", "*"}
	grantActions  = []string{"create", "read", "update", "destroy", "*", "*"}

	// askSubjects are the subjects of questions: some of permissions,
	// api_credentials (named only by built-in lines) and widgets (named by
	// no line).
	askSubjects = []string{"orders", "skus", "memberships", "api_credentials", "versions", "widgets"}
	// askUsers, askCreds and askApps add ids that no organization knows;
	// askCreds also holds the id of a user who is no credential.
	askUsers = append(poolUsers[:len(poolUsers):len(poolUsers)], "u99")
	askCreds = append(poolCreds[:len(poolCreds):len(poolCreds)], "c99", "u1")
	askApps  = append(poolCreds[:len(poolCreds):len(poolCreds)], "c99")
)

func oneOf[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// diffSeeds returns diffSeed and, when AUTHZ_DIFF_SEED is set, that seed too.
func diffSeeds(tb testing.TB) []uint64 {
	tb.Helper()
	seeds := []uint64{diffSeed}
	if s := os.Getenv("AUTHZ_DIFF_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			tb.Fatalf("AUTHZ_DIFF_SEED=%q: %v", s, err)
		}
		seeds = append(seeds, n)
	}
	return seeds
}

// world is a random policy over several organizations.
type world struct {
	seed   uint64
	snaps  []*access.Snapshot
	orgs   []string          // the organizations, then an unknown one
	revs   map[string]string // organization → revision
	owners map[string]string // organization → owner ("" for none)
}

// randomWorld builds n organizations from seed. No snapshot sets an attribute
// (expiry, second factor, address allowlist): those are request facts that
// the stock enforcer does not see.
func randomWorld(seed uint64, n int) *world {
	r := rand.New(rand.NewPCG(seed, 1))
	w := &world{seed: seed, revs: map[string]string{}, owners: map[string]string{}}
	for i := range n {
		s := randomSnapshot(r, fmt.Sprintf("o%02d", i), i%5 == 0)
		w.snaps = append(w.snaps, s)
		w.orgs = append(w.orgs, s.OrganizationID)
		w.revs[s.OrganizationID] = s.Revision
		w.owners[s.OrganizationID] = s.OwnerUserID
	}
	w.orgs = append(w.orgs, "o99")
	return w
}

// randomSnapshot builds one organization of two to six members; when guests
// is true, every other member is a guest.
func randomSnapshot(r *rand.Rand, org string, guests bool) *access.Snapshot {
	kinds := []role.Kind{role.KindAdmin, role.KindReadOnly, role.KindCustom, role.KindCustom}
	s := &access.Snapshot{OrganizationID: org, Revision: "rev-" + org}
	for _, i := range r.Perm(len(poolRoles))[:1+r.IntN(4)] {
		id := poolRoles[i]
		s.Roles = append(s.Roles, access.RoleGrant{ID: id, Kind: oneOf(r, kinds)})
		for _, subj := range permSubjects { // of every kind: only custom ones count
			if r.IntN(3) == 0 {
				s.Permissions = append(s.Permissions, role.Permission{
					ID: "p-" + org + "-" + id + "-" + subj, OrganizationID: org, RoleID: id, Subject: subj,
					CanCreate: r.IntN(2) == 0, CanRead: r.IntN(2) == 0, CanUpdate: r.IntN(2) == 0, CanDestroy: r.IntN(2) == 0,
				})
			}
		}
	}
	anyRole := func() string { return oneOf(r, s.Roles).ID }
	for j, i := range r.Perm(len(poolUsers))[:2+r.IntN(5)] {
		u := poolUsers[i]
		m := access.Member{MembershipID: "m-" + org + "-" + u, UserID: u, Guest: guests && j%2 == 0}
		for _, k := range r.Perm(len(s.Roles))[:1+r.IntN(min(3, len(s.Roles)))] {
			m.RoleIDs = append(m.RoleIDs, s.Roles[k].ID)
		}
		if r.IntN(3) == 0 {
			m.ProfileID = oneOf(r, poolProfiles)
		}
		if r.IntN(3) == 0 {
			for range 1 + r.IntN(2) {
				m.Grants = append(m.Grants, access.Grant{Subject: oneOf(r, grantSubjects), Action: oneOf(r, grantActions)})
			}
		}
		s.Members = append(s.Members, m)
	}
	if len(s.Members) > 0 && r.IntN(4) != 0 {
		s.OwnerUserID = oneOf(r, s.Members).UserID
	}
	for _, i := range r.Perm(len(poolCreds))[:r.IntN(len(poolCreds)+1)] {
		c := access.Credential{ID: poolCreds[i]}
		if r.IntN(3) != 0 {
			c.RoleID = anyRole()
		}
		s.Credentials = append(s.Credentials, c)
	}
	for _, c := range s.Credentials { // several applications per organization
		for k := range r.IntN(4) {
			am := access.AppMembership{ID: fmt.Sprintf("am-%s-%s-%d", org, c.ID, k), CredentialID: c.ID, RoleID: anyRole()}
			if r.IntN(3) == 0 {
				am.ProfileID = oneOf(r, poolProfiles) // perhaps a profile nobody has
			} else {
				am.UserID = oneOf(r, poolUsers) // perhaps a user who is not a member
			}
			s.AppMemberships = append(s.AppMemberships, am)
		}
	}
	return s
}

// question is one random question: may p do act on subject in org?
type question struct {
	p       access.Principal
	org     string
	subject string
	act     role.Action
}

// The kinds of question, for reports.
const (
	askUser = "user"
	askCred = "credential"
	askApp  = "user through an application"
)

func (q question) kind() string {
	switch {
	case q.p.App != "":
		return askApp
	case q.p.Kind == access.KindCredential:
		return askCred
	}
	return askUser
}

// domain is the stock enforcer's domain for q: the application's when the
// principal acts through one, else the organization's.
func (q question) domain() string {
	if q.p.App != "" {
		return appDomain(q.org, q.p.App)
	}
	return "org:" + q.org
}

// appDomain is the domain of the lines of application credID of
// organization org, as authz.Lines writes them: it does not name the
// organization (see TestAppDomainAcrossOrganizations).
func appDomain(org, credID string) string { return "app:" + org + "/" + credID }

func (q question) String() string {
	return fmt.Sprintf("%s %s %s in %s", who(q.p), q.act, q.subject, q.org)
}

// who names a principal in messages.
func who(p access.Principal) string {
	if p.App != "" {
		return p.Subject() + " through app " + p.App
	}
	return p.Subject()
}

// questions draws n questions from seed: users, credentials, unknown ids and
// users acting through an application; known and unknown organizations;
// subjects that lines name and one that none does. The principals of a
// question are those of the organization asked (its members, credentials and
// applications), an id of another organization and an id of none: few
// enough that the stock enforcer, which is slow, answers each distinct
// request in time. Every principal carries a second factor.
func (w *world) questions(seed uint64, n int) []question {
	r := rand.New(rand.NewPCG(seed, 2))
	type cast struct{ users, appUsers, creds, apps []string }
	casts := map[string]cast{}
	for _, org := range w.orgs {
		var members, credentials []string
		if s := w.snapshot(org); s != nil {
			for _, m := range s.Members {
				members = append(members, m.UserID)
			}
			for _, c := range s.Credentials {
				credentials = append(credentials, c.ID)
			}
		}
		outsider, foreign := stranger(poolUsers, members), stranger(poolCreds, credentials)
		casts[org] = cast{
			users:    append(slices.Clone(members), outsider, "u99"),
			appUsers: append(slices.Clone(members), "u99"),
			creds:    append(slices.Clone(credentials), foreign, "c99", "u1"), // u1 is a user, not a credential
			apps:     append(slices.Clone(credentials), foreign, "c99"),
		}
	}
	qs := make([]question, n)
	for i := range qs {
		q := question{org: oneOf(r, w.orgs), subject: oneOf(r, askSubjects), act: oneOf(r, role.Actions)}
		c := casts[q.org]
		switch k := r.IntN(10); {
		case k < 5:
			q.p = access.Principal{Kind: access.KindUser, ID: oneOf(r, c.users), MFA: true}
		case k < 6:
			q.p = access.Principal{Kind: access.KindCredential, ID: oneOf(r, c.creds), MFA: true}
		default:
			q.p = access.Principal{Kind: access.KindUser, ID: oneOf(r, c.appUsers), App: oneOf(r, c.apps), MFA: true}
		}
		qs[i] = q
	}
	return qs
}

// stranger returns the first id of pool that is not in own.
func stranger(pool, own []string) string {
	for _, id := range pool {
		if !slices.Contains(own, id) {
			return id
		}
	}
	return pool[0]
}

// snapshot returns the organization's snapshot, nil for an unknown one.
func (w *world) snapshot(org string) *access.Snapshot {
	for _, s := range w.snaps {
		if s.OrganizationID == org {
			return s
		}
	}
	return nil
}

// oracle is one stock enforcer over the lines of every organization. Its
// answers are kept, so that a request asked again is not evaluated again (a
// stock enforcer evaluates every line of every organization at each request).
type oracle struct {
	e    *casbin.Enforcer
	memo map[[4]string]bool
}

func newOracle(tb testing.TB, modelText string, snaps []*access.Snapshot) *oracle {
	tb.Helper()
	return &oracle{e: stockEnforcer(tb, modelText, snaps...), memo: map[[4]string]bool{}}
}

func (q question) request() [4]string {
	return [4]string{q.p.Subject(), q.domain(), q.subject, string(q.act)}
}

// prefetch asks the enforcer every distinct request of qs, on one goroutine
// per CPU, and returns how many there were.
func (o *oracle) prefetch(tb testing.TB, qs []question) int {
	tb.Helper()
	var reqs [][4]string
	seen := map[[4]string]bool{}
	for _, q := range qs {
		if k := q.request(); !seen[k] && !o.hasMemo(k) {
			seen[k] = true
			reqs = append(reqs, k)
		}
	}
	answers := make([]bool, len(reqs))
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(reqs); i += workers {
				k := reqs[i]
				answers[i], errs[i] = o.e.Enforce(k[0], k[1], k[2], k[3])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		tb.Fatal(err)
	}
	for i, k := range reqs {
		o.memo[k] = answers[i]
	}
	return len(reqs)
}

func (o *oracle) hasMemo(k [4]string) bool { _, ok := o.memo[k]; return ok }

// allowed is the enforcer's Enforce.
func (o *oracle) allowed(tb testing.TB, q question) bool {
	tb.Helper()
	k := q.request()
	if v, ok := o.memo[k]; ok {
		return v
	}
	v, err := o.e.Enforce(k[0], k[1], k[2], k[3])
	if err != nil {
		tb.Fatal(err)
	}
	o.memo[k] = v
	return v
}

// member is the enforcer's word on membership: the builtin:member link in
// the organization's domain.
func (o *oracle) member(tb testing.TB, q question) bool {
	tb.Helper()
	v, err := o.e.HasGroupingPolicy(q.p.Subject(), "builtin:member", "org:"+q.org)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// differ asks q of Check, Decide (at the current revision) and Rights, and
// describes how their answers differ from the stock enforcer's; "" when they
// agree.
func differ(tb testing.TB, a *authz.Authorizer, st *fakeStore, w *world, o *oracle, q question) string {
	tb.Helper()
	ctx := context.Background()
	wantAllowed, wantMember := o.allowed(tb, q), o.member(tb, q)
	wantOwner := q.p.Kind == access.KindUser && w.owners[q.org] == q.p.ID
	rev, known := w.revs[q.org]
	var problems []string

	got, err := a.Check(ctx, st, q.p, q.org, q.subject, q.act)
	switch {
	case known && err != nil:
		tb.Fatalf("seed %d: Check(%s): %v", w.seed, q, err)
	case !known && !errors.Is(err, fault.ErrNotFound):
		tb.Fatalf("seed %d: Check(%s) in an unknown organization: error %v, want ErrNotFound", w.seed, q, err)
	}
	if got.Allowed != wantAllowed || got.Member != wantMember || got.Owner != wantOwner {
		problems = append(problems, fmt.Sprintf("Check = %+v", got))
	}

	dec, ok := a.Decide(q.p, q.org, rev, q.subject, q.act)
	if ok != known || dec.Allowed != wantAllowed || dec != got {
		problems = append(problems, fmt.Sprintf("Decide = %+v, %v", dec, ok))
	}

	rights, err := a.Rights(ctx, st, q.p, q.org)
	switch {
	case !known && !errors.Is(err, fault.ErrNotFound):
		tb.Fatalf("seed %d: Rights(%s) in an unknown organization: error %v, want ErrNotFound", w.seed, q, err)
	case !known:
	case err != nil:
		tb.Fatalf("seed %d: Rights(%s): %v", w.seed, q, err)
	case rights.Allows(q.subject, q.act) != wantAllowed || rights.Member() != wantMember || rights.Owner() != wantOwner ||
		rights.Decide(q.subject, q.act) != got:
		problems = append(problems, fmt.Sprintf("Rights: Allows=%v Member=%v Owner=%v Decide=%+v",
			rights.Allows(q.subject, q.act), rights.Member(), rights.Owner(), rights.Decide(q.subject, q.act)))
	}
	if subj, serr := authz.SubjectOf(q.subject); known && err == nil && serr == nil && rights.DecideSubject(subj, q.act) != got {
		problems = append(problems, fmt.Sprintf("Rights.DecideSubject = %+v", rights.DecideSubject(subj, q.act)))
	}

	if problems == nil {
		return ""
	}
	return fmt.Sprintf("%s: %s; stock enforcer allowed=%v member=%v, owner=%v",
		q, strings.Join(problems, "; "), wantAllowed, wantMember, wantOwner)
}

// TestAppDomainAcrossOrganizations is the smallest case of what the
// differential test finds for users acting through an application: the
// domain of an application ("app:<credential id>") does not name the
// organization, so one enforcer holding several organizations' lines answers
// a question asked in one organization with the application lines of
// another.
func TestAppDomainAcrossOrganizations(t *testing.T) {
	admin := []access.RoleGrant{{ID: "r1", Kind: role.KindAdmin}}
	inApp := &access.Snapshot{
		OrganizationID: "oa", Revision: "oa-1", Roles: admin,
		Members:        []access.Member{{UserID: "u1", RoleIDs: []string{"r1"}}},
		Credentials:    []access.Credential{{ID: "c1"}},
		AppMemberships: []access.AppMembership{{ID: "am1", CredentialID: "c1", RoleID: "r1", UserID: "u1"}},
	}
	tests := []struct {
		name  string
		other *access.Snapshot // u1 is a member of it, with no application membership
	}{
		{"application of another organization", &access.Snapshot{
			OrganizationID: "ob", Revision: "ob-1", Roles: admin,
			Members: []access.Member{{UserID: "u1", RoleIDs: []string{"r1"}}},
		}},
		{"credential id of both organizations", &access.Snapshot{
			OrganizationID: "ob", Revision: "ob-1", Roles: admin,
			Members:     []access.Member{{UserID: "u1", RoleIDs: []string{"r1"}}},
			Credentials: []access.Credential{{ID: "c1"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snaps := []*access.Snapshot{inApp, tt.other}
			w := &world{seed: diffSeed, snaps: snaps, revs: map[string]string{"oa": "oa-1", "ob": "ob-1"}, owners: map[string]string{}}
			q := question{p: access.Principal{Kind: access.KindUser, ID: "u1", App: "c1", MFA: true}, org: "ob", subject: "orders", act: role.ActionCreate}
			if d := differ(t, authz.New(), newStore(t, snaps...), w, newOracle(t, readModel(t), snaps), q); d != "" {
				t.Errorf("disagreement with the stock enforcer: %s", d)
			}
		})
	}
}

// TestDifferential holds Check, Decide and Rights, organization by
// organization, to the answers of one stock enforcer holding the lines of
// every organization together.
func TestDifferential(t *testing.T) {
	const questions = 100_000
	for _, seed := range diffSeeds(t) {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			w := randomWorld(seed, diffOrgs)
			qs := w.questions(seed, questions)
			o := newOracle(t, readModel(t), w.snaps)
			distinct := o.prefetch(t, qs)
			st := newStore(t, w.snaps...)
			a := authz.New()

			found := map[string][]string{} // kind of question → disagreements
			for i, q := range qs {
				if d := differ(t, a, st, w, o, q); d != "" {
					found[q.kind()] = append(found[q.kind()], fmt.Sprintf("question %d: %s", i, d))
				}
			}
			t.Logf("seed %d: %d questions, %d distinct requests to the stock enforcer", seed, len(qs), distinct)
			for _, kind := range []string{askUser, askCred, askApp} {
				t.Run(kind, func(t *testing.T) {
					if got := found[kind]; len(got) > 0 {
						t.Errorf("seed %d: %d disagreements with the stock enforcer; the first:\n%s",
							seed, len(got), strings.Join(got[:min(len(got), 5)], "\n"))
					}
				})
			}
			if got, want := st.calls(), len(w.snaps); got != want {
				t.Errorf("snapshots read: got %d, want %d (one per organization)", got, want)
			}
		})
	}

	// The comparison has teeth: with a broken model, the stock enforcer
	// disagrees on questions where the true model agrees.
	t.Run("broken model", func(t *testing.T) {
		good := readModel(t)
		tests := []struct {
			name     string
			giveFrom string // removed from model.conf
		}{
			{"matcher without r.dom == p.dom", "r.dom == p.dom && "},
			{"effect without deny", " && !some(where (p.eft == deny))"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				bad := strings.Replace(good, tt.giveFrom, "", 1)
				if bad == good {
					t.Fatalf("model.conf has no %q", tt.giveFrom)
				}
				if _, err := model.NewModelFromString(bad); err != nil {
					t.Fatalf("broken model does not parse: %v", err)
				}
				w := randomWorld(diffSeed, diffOrgs)
				st := newStore(t, w.snaps...)
				a := authz.New()
				trueOracle, badOracle := newOracle(t, good, w.snaps), newOracle(t, bad, w.snaps)
				qs := w.questions(diffSeed, 20_000)
				for i, q := range qs {
					if differ(t, a, st, w, badOracle, q) != "" && differ(t, a, st, w, trueOracle, q) == "" {
						t.Logf("seed %d, question %d: first disagreement: %s", diffSeed, i, q)
						return
					}
				}
				t.Errorf("seed %d: got no disagreement in %d questions, want some", diffSeed, len(qs))
			})
		}
	})
}
