package authz_test

// Authorization benchmarks: Check against a plain map and a
// stock Casbin enforcer on identical policies and requests, in parallel, the
// heap of the state and the cold start. BENCHMARKS.md has the figures and
// scripts/authz-bench.sh the command and the ratios.
//
// The policy: n organizations of 5 roles (admin, read_only and 3 custom roles
// of 2 permissions of 1 or 2 flags each over Commerce Layer subjects) and 10
// members (the owner an admin, the others spread over the 5 roles), drawn with
// a fixed seed. Users come from a pool of 6n, so a user is a member of about
// 1.7 organizations.
//
// The requests: 1,024 (about half allowed) over random organizations, the
// same list for Check, the map and the stock enforcer. Their answers come
// from stock Casbin (an enforcer per organization); Check and the map must
// give them before they are timed, and so must the stock enforcer holding
// every organization before it is timed (at 10,000 organizations that takes
// a few minutes). A request's strings are its own copies, so that no lookup
// wins by pointer equality with the policy's strings.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/authz"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/role"
)

const (
	benchSeed     = 0x1553 // fixed: every run benchmarks the same policy and requests
	benchRequests = 1024   // a power of two: the loops index with i&(benchRequests-1)
	benchMembers  = 10     // per organization
	benchUserPool = 6      // users in the pool per organization
	benchMaxOrgs  = 20_000 // the Authorizer's bound: every organization stays cached
	benchAllowPct = 40     // share of member requests drawn from the member's own grants
	mib           = float64(1 << 20)
)

// benchSizes are the numbers of organizations of every sized benchmark.
var benchSizes = []struct {
	name string
	n    int
}{{"orgs=100", 100}, {"orgs=10000", 10_000}}

// benchCustomSubjects are the Commerce Layer subjects custom roles name.
var benchCustomSubjects = []string{
	"orders", "skus", "customers", "prices", "shipments",
	"stock_items", "returns", "price_lists", "markets", "line_items",
}

// benchAsked are the subjects requests ask about: the custom subjects, three
// the baseline lets members read, and versions, which no line names.
var benchAsked = append(slices.Clone(benchCustomSubjects), "memberships", "roles", "api_credentials", "versions")

// benchIDs draws unique, well-formed 12-character ids.
type benchIDs struct {
	r    *rand.Rand
	seen map[string]bool
}

func (g *benchIDs) next(prefix string) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	for {
		b := make([]byte, 0, 12)
		b = append(b, prefix...)
		for len(b) < 12 {
			b = append(b, alphabet[g.r.IntN(len(alphabet))])
		}
		if s := string(b); !g.seen[s] {
			g.seen[s] = true
			return s
		}
	}
}

// benchSnapshots generates n organizations of the shape described above.
func benchSnapshots(n int) []*access.Snapshot {
	r := rand.New(rand.NewPCG(benchSeed, uint64(n)))
	ids := &benchIDs{r: r, seen: make(map[string]bool)}
	users := make([]string, benchUserPool*max(n, 2))
	for i := range users {
		users[i] = ids.next("u")
	}
	kinds := [...]role.Kind{role.KindAdmin, role.KindReadOnly, role.KindCustom, role.KindCustom, role.KindCustom}
	snaps := make([]*access.Snapshot, n)
	for i := range snaps {
		org := ids.next("o")
		s := &access.Snapshot{OrganizationID: org, Revision: ids.next("v")}
		for _, k := range kinds {
			s.Roles = append(s.Roles, access.RoleGrant{ID: ids.next("r"), Kind: k})
		}
		for _, rg := range s.Roles[2:] {
			for _, si := range r.Perm(len(benchCustomSubjects))[:2] {
				p := role.Permission{ID: ids.next("p"), OrganizationID: org, RoleID: rg.ID, Subject: benchCustomSubjects[si]}
				flags := [...]*bool{&p.CanCreate, &p.CanRead, &p.CanUpdate, &p.CanDestroy}
				for _, f := range r.Perm(len(flags))[:1+r.IntN(2)] {
					*flags[f] = true
				}
				s.Permissions = append(s.Permissions, p)
			}
		}
		in := make(map[string]bool, benchMembers)
		for j := range benchMembers {
			u := users[r.IntN(len(users))]
			for in[u] {
				u = users[r.IntN(len(users))]
			}
			in[u] = true
			rl := s.Roles[0].ID // the owner is an admin
			if j > 0 {
				rl = s.Roles[r.IntN(len(s.Roles))].ID
			}
			s.Members = append(s.Members, access.Member{MembershipID: ids.next("m"), UserID: u, RoleIDs: []string{rl}})
		}
		s.OwnerUserID = s.Members[0].UserID
		snaps[i] = s
	}
	return snaps
}

// benchReq is one question, asked of all three (Check, map, stock).
type benchReq struct {
	p                 access.Principal
	org, rev, subject string
	act               role.Action
	sub, dom          string // the stock enforcer's request: p.Subject(), "org:"+org
	want              bool   // the stock enforcer's answer
}

// benchRequestList draws the requests: 80% a member of the organization
// (40% of those on one of the member's own grants), 12% a user of another
// organization, 8% an unknown credential; subject and action at random
// otherwise. Their answers (want) are filled in by fixture, from stock Casbin.
func benchRequestList(snaps []*access.Snapshot) []benchReq {
	r := rand.New(rand.NewPCG(benchSeed+1, uint64(len(snaps))))
	ids := &benchIDs{r: r, seen: make(map[string]bool)}
	reqs := make([]benchReq, benchRequests)
	for i := range reqs {
		s := snaps[r.IntN(len(snaps))]
		q := benchReq{org: s.OrganizationID, rev: s.Revision, subject: benchAsked[r.IntN(len(benchAsked))], act: role.Actions[r.IntN(len(role.Actions))]}
		switch x := r.IntN(100); {
		case x < 8:
			q.p = access.Principal{Kind: access.KindCredential, ID: ids.next("c")}
		case x < 20:
			other := snaps[r.IntN(len(snaps))]
			q.p = access.User(other.Members[r.IntN(len(other.Members))].UserID)
		default:
			m := s.Members[r.IntN(len(s.Members))]
			q.p = access.User(m.UserID)
			var own []role.Permission
			for _, p := range s.Permissions {
				if p.RoleID == m.RoleIDs[0] {
					own = append(own, p)
				}
			}
			if len(own) > 0 && r.IntN(100) < benchAllowPct {
				p := own[r.IntN(len(own))]
				q.subject = p.Subject
				var acts []role.Action
				for _, a := range role.Actions {
					if p.Allows(a) {
						acts = append(acts, a)
					}
				}
				q.act = acts[r.IntN(len(acts))]
			}
		}
		// A request's strings are its own, as when they come off the wire:
		// no comparison below is won by pointer equality.
		q.p.ID, q.org, q.rev, q.subject = strings.Clone(q.p.ID), strings.Clone(q.org), strings.Clone(q.rev), strings.Clone(q.subject)
		q.sub, q.dom = q.p.Subject(), "org:"+q.org
		reqs[i] = q
	}
	return reqs
}

// cloneSnapshots deep-copies snapshots, each string allocated anew, as a
// store reading them from a database would hand them over.
func cloneSnapshots(snaps []*access.Snapshot) []*access.Snapshot {
	c := strings.Clone
	out := make([]*access.Snapshot, len(snaps))
	for i, s := range snaps {
		t := &access.Snapshot{OrganizationID: c(s.OrganizationID), Revision: c(s.Revision), OwnerUserID: c(s.OwnerUserID), MFARequired: s.MFARequired}
		for _, r := range s.Roles {
			t.Roles = append(t.Roles, access.RoleGrant{ID: c(r.ID), Kind: r.Kind})
		}
		for _, p := range s.Permissions {
			p.ID, p.OrganizationID, p.RoleID, p.Subject = c(p.ID), c(p.OrganizationID), c(p.RoleID), c(p.Subject)
			t.Permissions = append(t.Permissions, p)
		}
		for _, m := range s.Members {
			m.MembershipID, m.UserID, m.ProfileID = c(m.MembershipID), c(m.UserID), c(m.ProfileID)
			roles := make([]string, len(m.RoleIDs))
			for j, r := range m.RoleIDs {
				roles[j] = c(r)
			}
			m.RoleIDs = roles
			grants := make([]access.Grant, len(m.Grants))
			for j, g := range m.Grants {
				grants[j] = access.Grant{Subject: c(g.Subject), Action: c(g.Action)}
			}
			m.Grants = grants
			t.Members = append(t.Members, m)
		}
		for _, cr := range s.Credentials {
			cr.ID, cr.RoleID = c(cr.ID), c(cr.RoleID)
			t.Credentials = append(t.Credentials, cr)
		}
		for _, am := range s.AppMemberships {
			am.ID, am.CredentialID, am.RoleID, am.UserID, am.ProfileID = c(am.ID), c(am.CredentialID), c(am.RoleID), c(am.UserID), c(am.ProfileID)
			t.AppMemberships = append(t.AppMemberships, am)
		}
		out[i] = t
	}
	return out
}

// benchStore is a read-only access.Store over snapshots; it takes no lock.
type benchStore map[string]*access.Snapshot

func newBenchStore(snaps []*access.Snapshot) benchStore {
	st := make(benchStore, len(snaps))
	for _, s := range snaps {
		st[s.OrganizationID] = s
	}
	return st
}

func (st benchStore) Revision(_ context.Context, org string) (string, error) {
	s, ok := st[org]
	if !ok {
		return "", fault.E("benchStore.Revision", fault.NotFound, nil)
	}
	return s.Revision, nil
}

func (st benchStore) Snapshot(_ context.Context, org string) (*access.Snapshot, error) {
	s, ok := st[org]
	if !ok {
		return nil, fault.E("benchStore.Snapshot", fault.NotFound, nil)
	}
	return s, nil
}

func (st benchStore) Organizations(context.Context, access.Principal, string, int) ([]string, error) {
	return nil, nil
}

// benchAdapter loads fixed rules ("p"/"g" first) into a stock enforcer.
type benchAdapter struct{ rules [][]string }

var _ persist.Adapter = (*benchAdapter)(nil)

func (a *benchAdapter) LoadPolicy(m model.Model) error {
	for _, r := range a.rules {
		if err := persist.LoadPolicyArray(r, m); err != nil {
			return err
		}
	}
	return nil
}
func (a *benchAdapter) SavePolicy(model.Model) error                { return errReadOnlyBench }
func (a *benchAdapter) AddPolicy(string, string, []string) error    { return errReadOnlyBench }
func (a *benchAdapter) RemovePolicy(string, string, []string) error { return errReadOnlyBench }
func (a *benchAdapter) RemoveFilteredPolicy(string, string, int, ...string) error {
	return errReadOnlyBench
}

var errReadOnlyBench = fault.E("benchAdapter", fault.Internal, nil)

// benchRules derives the stock enforcer's rules of every snapshot.
func benchRules(tb testing.TB, snaps []*access.Snapshot) [][]string {
	tb.Helper()
	var rules [][]string
	for _, s := range snaps {
		p, g, err := authz.Lines(s)
		if err != nil {
			tb.Fatal(err)
		}
		for _, l := range p {
			rules = append(rules, append([]string{"p"}, l...))
		}
		for _, l := range g {
			rules = append(rules, append([]string{"g"}, l...))
		}
	}
	return rules
}

// benchModelText is model.conf, read once.
var benchModelText string

func benchModel(tb testing.TB) model.Model {
	tb.Helper()
	if benchModelText == "" {
		b, err := os.ReadFile("model.conf")
		if err != nil {
			tb.Fatal(err)
		}
		benchModelText = string(b)
	}
	m, err := model.NewModelFromString(benchModelText)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// newBenchEnforcer builds one stock enforcer holding every rule: the
// enforcer's NewEnforcer calls LoadPolicy, which builds the role links.
func newBenchEnforcer(tb testing.TB, rules [][]string) *casbin.Enforcer {
	tb.Helper()
	e, err := casbin.NewEnforcer(benchModel(tb), &benchAdapter{rules: rules})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// warmAuthorizer returns an Authorizer holding every organization, each
// loaded through Check as the facade loads it.
func warmAuthorizer(tb testing.TB, st benchStore, snaps []*access.Snapshot) *authz.Authorizer {
	tb.Helper()
	a := authz.New(authz.WithMaxOrganizations(benchMaxOrgs))
	for _, s := range snaps {
		if _, err := a.Check(context.Background(), st, access.User(s.OwnerUserID), s.OrganizationID, "orders", role.ActionRead); err != nil {
			tb.Fatal(err)
		}
	}
	return a
}

// forgetMemo drops the memo of the enforcer's g() function. Casbin keeps
// the matcher expression, with the g() closure it was compiled with, until
// the policy or role manager changes; that closure memoizes every (request
// subject, line subject, domain) it is asked, without bound: at 10,000
// organizations about 9 MiB for each new (user, organization) asked. Setting
// the same role manager again only drops the compiled expression.
func forgetMemo(e *casbin.Enforcer) { e.SetRoleManager(e.GetRoleManager()) }

// benchKey is the map baseline's key: (principal, organization, subject, action).
type benchKey struct {
	kind                     access.PrincipalKind
	id, org, subject, action string
}

func keyOf(q *benchReq) benchKey {
	return benchKey{q.p.Kind, q.p.ID, q.org, q.subject, string(q.act)}
}

// benchFixture is the shared material of one size. The Authorizer is kept;
// the two heavy parts (the stock enforcer holding every organization, and the
// map) one at a time, so that a benchmark does not run with the other's heap
// alive.
type benchFixture struct {
	snaps []*access.Snapshot
	store benchStore
	reqs  []benchReq

	a        *authz.Authorizer
	enf      *casbin.Enforcer
	verified bool // enf answered every request as recorded
	answers  map[benchKey]bool
}

var benchFixtures = map[int]*benchFixture{}

// fixture returns the material of n organizations. The answers it records
// come from stock Casbin: for each request, an enforcer holding the lines of
// the request's organization alone. The enforcer holding every organization
// must give the same answers (the model compares the domain): stock checks
// that before its first benchmark. Until then the process has not allocated
// the gigabytes that asking it costs at 10,000 organizations, so the
// Authorizer is built, as in a fresh process, in a heap they did not scatter.
func fixture(b *testing.B, n int) *benchFixture {
	b.Helper()
	if f, ok := benchFixtures[n]; ok {
		return f
	}
	start := time.Now()
	f := &benchFixture{snaps: benchSnapshots(n)}
	f.store = newBenchStore(f.snaps)
	f.reqs = benchRequestList(f.snaps)
	alone := make(map[string]*casbin.Enforcer)
	allowed := 0
	for i := range f.reqs {
		q := &f.reqs[i]
		e := alone[q.org]
		if e == nil {
			e = newBenchEnforcer(b, benchRules(b, []*access.Snapshot{f.store[q.org]}))
			alone[q.org] = e
		}
		ok, err := e.Enforce(q.sub, q.dom, q.subject, string(q.act))
		if err != nil {
			b.Fatal(err)
		}
		q.want = ok
		if ok {
			allowed++
		}
	}
	if allowed < benchRequests/4 || allowed > benchRequests*3/4 {
		b.Fatalf("%d of %d requests allowed: want a mix", allowed, benchRequests)
	}
	b.Logf("orgs=%d: %d of %d requests allowed (answered by stock Casbin, one enforcer per organization, in %v)",
		n, allowed, benchRequests, time.Since(start).Round(time.Millisecond))
	benchFixtures[n] = f
	runtime.GC()
	return f
}

// dropHeavy releases the stock enforcers and maps of every fixture but keep,
// the Authorizers too when all is true, and collects them.
func dropHeavy(keep *benchFixture, all bool) {
	for _, f := range benchFixtures {
		if all {
			f.a = nil
		}
		if f != keep {
			f.enf, f.answers = nil, nil
		}
	}
	runtime.GC()
}

// stock returns the stock enforcer holding every organization, after
// checking that it answers every request as recorded.
func (f *benchFixture) stock(b *testing.B) *casbin.Enforcer {
	b.Helper()
	if f.enf == nil {
		f.answers = nil
		dropHeavy(f, false)
		f.enf = newBenchEnforcer(b, benchRules(b, f.snaps))
	}
	if !f.verified {
		start := time.Now()
		verifyStock(b, f.enf, f.reqs)
		f.verified = true
		b.Logf("orgs=%d: the stock enforcer holding every organization gave the %d answers in %v",
			len(f.snaps), len(f.reqs), time.Since(start).Round(time.Millisecond))
	}
	return f.enf
}

// verifyStock asks e every request and compares with the recorded answer.
// Enforce reads only (SyncedEnforcer lets readers run together): it asks in
// parallel, as at 10,000 organizations each answer takes a fraction of a
// second, and forgets the g() memo after each batch, which grows by about
// 9 MiB for each new (user, organization) at that size (the process peaks
// at about 1.6 GiB).
func verifyStock(b *testing.B, e *casbin.Enforcer, reqs []benchReq) {
	b.Helper()
	const batch = 32
	for lo := 0; lo < len(reqs); lo += batch {
		hi := min(lo+batch, len(reqs))
		var next atomic.Int64
		next.Store(int64(lo))
		errs := make(chan error, runtime.GOMAXPROCS(0))
		for range cap(errs) {
			go func() {
				for i := int(next.Add(1)) - 1; i < hi; i = int(next.Add(1)) - 1 {
					q := &reqs[i]
					ok, err := e.Enforce(q.sub, q.dom, q.subject, string(q.act))
					if err == nil && ok != q.want {
						err = fmt.Errorf("request %d %+v: stock enforcer of every organization: %v; of its organization alone: %v", i, *q, ok, q.want)
					}
					if err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
		for range cap(errs) {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
		forgetMemo(e)
	}
	runtime.GC()
}

// authorizer returns the Authorizer holding every organization, after
// checking that Decide answers every request as recorded.
func (f *benchFixture) authorizer(b *testing.B) *authz.Authorizer {
	b.Helper()
	if f.a == nil {
		a := warmAuthorizer(b, f.store, f.snaps)
		for i := range f.reqs {
			q := &f.reqs[i]
			d, ok := a.Decide(q.p, q.org, q.rev, q.subject, q.act)
			if !ok || d.Allowed != q.want {
				b.Fatalf("request %d %+v: Decide = %+v, %v; stock Casbin: %v", i, *q, d, ok, q.want)
			}
		}
		f.a = a
	}
	return f.a
}

// answerMap returns the map baseline: one entry per (member, organization,
// subject asked, action) of the policy, plus the requests' keys (non-members
// included), each with the answer. The members' entries come from Decide
// (they give the map its size); the requests' entries are the recorded
// answers, which Decide must give too.
func (f *benchFixture) answerMap(b *testing.B) map[benchKey]bool {
	b.Helper()
	if f.answers != nil {
		return f.answers
	}
	a := f.authorizer(b)
	f.enf = nil
	dropHeavy(f, false)
	m := make(map[benchKey]bool, len(f.snaps)*benchMembers*len(benchAsked)*len(role.Actions)+benchRequests)
	for _, s := range f.snaps {
		for _, mem := range s.Members {
			p := access.User(mem.UserID)
			for _, subj := range benchAsked {
				for _, act := range role.Actions {
					d, ok := a.Decide(p, s.OrganizationID, s.Revision, subj, act)
					if !ok {
						b.Fatalf("organization %s not cached", s.OrganizationID)
					}
					m[benchKey{p.Kind, p.ID, s.OrganizationID, subj, string(act)}] = d.Allowed
				}
			}
		}
	}
	for i := range f.reqs {
		q := &f.reqs[i]
		k := keyOf(q)
		if got, ok := m[k]; ok {
			if got != q.want {
				b.Fatalf("request %d %+v: Decide = %v; stock Casbin: %v", i, *q, got, q.want)
			}
			continue
		}
		// A key of its own (not the request's strings), as for the others.
		m[benchKey{k.kind, strings.Clone(k.id), strings.Clone(k.org), strings.Clone(k.subject), k.action}] = q.want
	}
	f.answers = m
	b.Logf("orgs=%d: map of %d entries", len(f.snaps), len(m))
	return m
}

var benchSink atomic.Int64

// BenchmarkCheck times the in-memory decision of a check, Authorizer.Decide,
// with every organization cached, cycling through the requests. The facade's
// call around it (Check) reads the revision in its own transaction.
func BenchmarkCheck(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			f := fixture(b, size.n)
			a, reqs := f.authorizer(b), f.reqs
			allowed, i := 0, 0
			b.ReportAllocs()
			for b.Loop() {
				q := &reqs[i&(benchRequests-1)]
				d, _ := a.Decide(q.p, q.org, q.rev, q.subject, q.act)
				if d.Allowed {
					allowed++
				}
				i++
			}
			benchSink.Add(int64(allowed))
		})
	}
}

// BenchmarkCheckParallel is BenchmarkCheck under RunParallel: each goroutine
// walks the requests from its own offset.
func BenchmarkCheckParallel(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			f := fixture(b, size.n)
			a, reqs := f.authorizer(b), f.reqs
			var worker atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := int(worker.Add(1)) * 397
				allowed := 0
				for pb.Next() {
					q := &reqs[i&(benchRequests-1)]
					d, _ := a.Decide(q.p, q.org, q.rev, q.subject, q.act)
					if d.Allowed {
						allowed++
					}
					i++
				}
				benchSink.Add(int64(allowed))
			})
		})
	}
}

// BenchmarkStockCasbin times a stock Casbin enforcer holding every
// organization's lines, on the same requests; each answer is checked against
// the one recorded (a comparison, nothing next to Enforce). The g() memo is
// dropped at each pass over the requests (see forgetMemo): each Enforce is
// the first of its (user, organization), as for a user's first call.
func BenchmarkStockCasbin(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			f := fixture(b, size.n)
			e, reqs := f.stock(b), f.reqs
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				if i&(benchRequests-1) == 0 {
					forgetMemo(e) // each request asked for the first time, memory bounded
				}
				q := &reqs[i&(benchRequests-1)]
				ok, err := e.Enforce(q.sub, q.dom, q.subject, string(q.act))
				if err != nil || ok != q.want {
					b.Fatalf("request %d: Enforce = %v, %v; want %v", i, ok, err, q.want)
				}
				i++
			}
		})
	}
}

// BenchmarkMapLookup times the floor: a plain map from (principal,
// organization, subject, action) to the answer, of the policy's size.
func BenchmarkMapLookup(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			f := fixture(b, size.n)
			m, reqs := f.answerMap(b), f.reqs
			allowed, i := 0, 0
			b.ReportAllocs()
			for b.Loop() {
				q := &reqs[i&(benchRequests-1)]
				if m[benchKey{q.p.Kind, q.p.ID, q.org, q.subject, string(q.act)}] {
					allowed++
				}
				i++
			}
			benchSink.Add(int64(allowed))
		})
	}
}

// BenchmarkMapLookupParallel is BenchmarkMapLookup under RunParallel.
func BenchmarkMapLookupParallel(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			f := fixture(b, size.n)
			m, reqs := f.answerMap(b), f.reqs
			var worker atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := int(worker.Add(1)) * 397
				allowed := 0
				for pb.Next() {
					q := &reqs[i&(benchRequests-1)]
					if m[benchKey{q.p.Kind, q.p.ID, q.org, q.subject, string(q.act)}] {
						allowed++
					}
					i++
				}
				benchSink.Add(int64(allowed))
			})
		})
	}
}

// BenchmarkFirstCheckAfterChange times the first check of an organization of
// the benchmark's shape after its policy changed: the snapshot is read again
// (from memory here) and the organization's shard rebuilt.
func BenchmarkFirstCheckAfterChange(b *testing.B) {
	dropHeavy(nil, true)
	snaps := benchSnapshots(1)
	st := newBenchStore(snaps)
	s := snaps[0]
	a := authz.New()
	p := access.User(s.OwnerUserID)
	b.ReportAllocs()
	for b.Loop() {
		a.Invalidate(s.OrganizationID)
		if _, err := a.Check(context.Background(), st, p, s.OrganizationID, "orders", role.ActionRead); err != nil {
			b.Fatal(err)
		}
	}
}

// liveHeap returns the live heap after two collections.
func liveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// oursFromFreshSnapshots returns an Authorizer holding every organization,
// loaded from snapshots allocated for it and dropped after: what the
// Authorizer keeps of them (the ids it shares) is counted as its own.
func oursFromFreshSnapshots(tb testing.TB, snaps []*access.Snapshot) *authz.Authorizer {
	clones := cloneSnapshots(snaps)
	return warmAuthorizer(tb, newBenchStore(clones), clones)
}

// stockFromFreshSnapshots returns a stock enforcer holding the lines of
// every organization, derived from snapshots allocated for it and dropped
// after, its adapter's list released (the lines it keeps are counted).
func stockFromFreshSnapshots(tb testing.TB, snaps []*access.Snapshot) *casbin.Enforcer {
	ad := &benchAdapter{rules: benchRules(tb, cloneSnapshots(snaps))}
	e, err := casbin.NewEnforcer(benchModel(tb), ad)
	if err != nil {
		tb.Fatal(err)
	}
	ad.rules = nil
	return e
}

// BenchmarkHeap measures the live heap of the authorization state: the
// Authorizer holding every organization, and a stock enforcer holding the
// same lines (before its first Enforce: see forgetMemo), each built from
// snapshots allocated for it and then dropped, so that whatever either
// keeps of them is counted. Each iteration builds both: -benchtime=1x is
// enough.
func BenchmarkHeap(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			dropHeavy(nil, true)
			snaps := benchSnapshots(size.n)
			var ours, stock float64
			for b.Loop() {
				before := liveHeap()
				a := oursFromFreshSnapshots(b, snaps)
				after := liveHeap()
				runtime.KeepAlive(a)
				ours = float64(after) - float64(before)

				before = liveHeap()
				e := stockFromFreshSnapshots(b, snaps)
				after = liveHeap()
				runtime.KeepAlive(e)
				stock = float64(after) - float64(before)
			}
			b.ReportMetric(ours/mib, "ours-MiB")
			b.ReportMetric(stock/mib, "stock-MiB")
			b.ReportMetric(ours/stock, "ratio")
			b.ReportMetric(ours/float64(size.n), "ours-B/org")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkColdStart times the start of each: a fresh Authorizer answering
// its first check (it loads that organization only); a fresh Authorizer
// loading every organization (one check each); and a stock enforcer built
// (NewEnforcer, which calls LoadPolicy) on every organization's lines, the
// lines being derived beforehand.
func BenchmarkColdStart(b *testing.B) {
	for _, size := range benchSizes {
		snaps := benchSnapshots(size.n)
		st := newBenchStore(snaps)
		s := snaps[len(snaps)/2]
		b.Run(size.name+"/ours-first-check", func(b *testing.B) {
			dropHeavy(nil, true)
			b.ReportAllocs()
			for b.Loop() {
				a := authz.New(authz.WithMaxOrganizations(benchMaxOrgs))
				if _, err := a.Check(context.Background(), st, access.User(s.OwnerUserID), s.OrganizationID, "orders", role.ActionRead); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(size.name+"/ours-all", func(b *testing.B) {
			dropHeavy(nil, true)
			b.ReportAllocs()
			for b.Loop() {
				runtime.KeepAlive(warmAuthorizer(b, st, snaps))
			}
		})
		b.Run(size.name+"/stock", func(b *testing.B) {
			dropHeavy(nil, true)
			rules := benchRules(b, snaps)
			b.ReportAllocs()
			for b.Loop() {
				runtime.KeepAlive(newBenchEnforcer(b, rules))
			}
		})
	}
}
