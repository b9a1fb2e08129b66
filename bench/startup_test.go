package bench_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/authz"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/storage/bunstore"
)

// BenchmarkColdStart measures, on the large dataset (about 1,000,000
// policy lines), the first check of a fresh Provisioner: for the owner of a
// typical organization (89 memberships) and of the big one (100,400), each
// loading only that organization. The baseline is what a stock Casbin
// Enforcer needs before it can answer anything: NewEnforcer, which loads
// every line of every organization (derived beforehand by authz.Lines from
// the same rows, which favours it), which reports the live heap it keeps
// (MiB-kept, after a GC). BenchmarkHeapBound measures ours.
func BenchmarkColdStart(b *testing.B) {
	for _, name := range datasetBackends() {
		b.Run(name, func(b *testing.B) {
			ds := openDataset(b, name)
			ctx := context.Background()
			for _, tt := range []struct{ name, org, owner string }{
				{fmt.Sprintf("ours-first-check/org=%d", membersOf(orgIndex(ds.smallOrg))), ds.smallOrg, ds.smallOwner},
				{fmt.Sprintf("ours-first-check/org=%d", bigOrgMembers), ds.bigOrg, ds.bigOwner},
			} {
				b.Run(tt.name, func(b *testing.B) {
					// A large organization's first check starts a load of the
					// whole organization in the background, after its answer:
					// here the store refuses whole snapshots of the big one,
					// so that these loads do not run into the next starts.
					st := sliceOnly{Store: ds.store, org: ds.bigOrg}
					for b.Loop() {
						p, err := provisioning.New(st)
						if err != nil {
							b.Fatal(err)
						}
						ok, err := p.As(provisioning.User(tt.owner)).Can(ctx, tt.org, "memberships", role.ActionRead)
						if err != nil || !ok {
							b.Fatalf("owner check: %v, %v", ok, err)
						}
					}
				})
			}
			b.Run("stock-NewEnforcer/all-lines", func(b *testing.B) {
				rules := datasetRules(b, ds)
				var kept *casbin.Enforcer
				before := liveHeap()
				for b.Loop() {
					e, err := casbin.NewEnforcer(stockModel(b), &arrayAdapter{rules: rules})
					if err != nil {
						b.Fatal(err)
					}
					kept = e
				}
				b.ReportMetric(float64(liveHeap()-before)/(1<<20), "MiB-kept")
				b.ReportMetric(float64(len(rules)), "lines")
				ok, err := kept.Enforce("user:"+ds.smallOwner, "org:"+ds.smallOrg, "memberships", "read")
				if err != nil || !ok {
					b.Fatalf("stock enforcer: %v, %v", ok, err)
				}
			})
		})
	}
}

// BenchmarkHeapBound checks organization after organization of the large
// dataset, 2,000 of them, through one Provisioner whose authorizer keeps at
// most 1,000: the heap it keeps is that of the organizations in use, not of
// the database.
func BenchmarkHeapBound(b *testing.B) {
	for _, name := range datasetBackends() {
		b.Run(name, func(b *testing.B) {
			ds := openDataset(b, name)
			ctx := context.Background()
			const orgs, max = 2_000, 1_000
			owners := make([]string, orgs)
			for i := range orgs {
				owners[i] = ownerAmong(i + len(sizedOrgs))
			}
			for b.Loop() {
				before := liveHeap()
				p, err := provisioning.New(ds.store, provisioning.WithAuthorizer(authz.New(authz.WithMaxOrganizations(max))))
				if err != nil {
					b.Fatal(err)
				}
				for i := range orgs {
					if _, err := p.As(provisioning.User(owners[i])).Can(ctx, orgID(i+len(sizedOrgs)), "memberships", role.ActionRead); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(liveHeap()-before)/(1<<20), "MiB-kept")
				runtime.KeepAlive(p)
			}
		})
	}
}

// owners of every organization, computed once.
var (
	ownersOnce sync.Once
	owners     []string
)

// ownerAmong returns the owner of organization i.
func ownerAmong(i int) string {
	ownersOnce.Do(func() {
		owners = make([]string, datasetOrgs)
		nth := 0
		for j := range datasetOrgs {
			for k := range membersOf(j) {
				if _, active := memberShape(j, k); active {
					if k == 0 {
						owners[j] = userID(nth % datasetUsers)
					}
					nth++
				}
			}
		}
	})
	return owners[i]
}

// liveHeap returns the live heap after a collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

var (
	rulesOnce sync.Once
	rules     [][]string
	rulesErr  error
)

// datasetRules derives the Casbin lines of every organization of the
// dataset, through the library's own snapshot and authz.Lines: the lines a
// stock enforcer holding the whole policy would load.
func datasetRules(tb testing.TB, ds *dataset) [][]string {
	tb.Helper()
	rulesOnce.Do(func() {
		ctx := context.Background()
		for i := range ds.orgs {
			snap, err := ds.store.Access().Snapshot(ctx, orgID(i))
			if err != nil {
				rulesErr = err
				return
			}
			p, g, err := authz.Lines(snap)
			if err != nil {
				rulesErr = err
				return
			}
			for _, l := range p {
				rules = append(rules, append([]string{"p"}, l...))
			}
			for _, l := range g {
				rules = append(rules, append([]string{"g"}, l...))
			}
		}
	})
	if rulesErr != nil {
		tb.Fatal(rulesErr)
	}
	return rules
}

// stockModel is the library's Casbin model (authz/model.conf).
func stockModel(tb testing.TB) model.Model {
	tb.Helper()
	text, err := os.ReadFile("../authz/model.conf")
	if err != nil {
		tb.Fatal(err)
	}
	m, err := model.NewModelFromString(string(text))
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// arrayAdapter loads fixed lines into a stock enforcer.
type arrayAdapter struct{ rules [][]string }

func (a *arrayAdapter) LoadPolicy(m model.Model) error {
	for _, r := range a.rules {
		if err := persist.LoadPolicyArray(r, m); err != nil {
			return err
		}
	}
	return nil
}
func (a *arrayAdapter) SavePolicy(model.Model) error                              { return errReadOnly }
func (a *arrayAdapter) AddPolicy(string, string, []string) error                  { return errReadOnly }
func (a *arrayAdapter) RemovePolicy(string, string, []string) error               { return errReadOnly }
func (a *arrayAdapter) RemoveFilteredPolicy(string, string, int, ...string) error { return errReadOnly }

var errReadOnly = os.ErrPermission

// waitCached waits until the authorizer holds the organization's policy
// (a large one loads in the background after its first check).
func waitCached(a *authz.Authorizer, org string) {
	for _, cached := a.Cached(org); !cached; _, cached = a.Cached(org) {
		time.Sleep(time.Millisecond)
	}
}

// sliceOnly is a store whose policy reads refuse whole snapshots of one
// organization (its slices are read as usual).
type sliceOnly struct {
	*bunstore.Store
	org string
}

func (s sliceOnly) Access() access.Store { return sliceOnlyAccess{s.Store.Access(), s.org} }

type sliceOnlyAccess struct {
	access.Store
	org string
}

func (s sliceOnlyAccess) Snapshot(ctx context.Context, org string) (*access.Snapshot, error) {
	if org == s.org {
		return nil, errors.New("sliceOnly: no whole snapshot of the big organization in this benchmark")
	}
	return s.Store.Snapshot(ctx, org)
}

func (s sliceOnlyAccess) ActiveMembers(ctx context.Context, org string) (int, error) {
	return s.Store.(access.SliceStore).ActiveMembers(ctx, org)
}

func (s sliceOnlyAccess) SnapshotFor(ctx context.Context, org string, p access.Principal) (*access.Snapshot, error) {
	return s.Store.(access.SliceStore).SnapshotFor(ctx, org, p)
}
