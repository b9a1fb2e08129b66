package provisioning_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/idp"
	"github.com/provisionkit/provisioning/storage/bunstore"
	"github.com/provisionkit/provisioning/storage/storagetest"
)

// testRetry is a short schedule: 1, 2, 4, 4 minutes, error at the 4th attempt.
var testRetry = idp.Retry{First: time.Minute, Max: 4 * time.Minute, Attempts: 4, Lease: 30 * time.Second}

// withRetry replaces the world's Provisioner by one over the same store
// whose background verification follows r.
func (w *idpWorld) withRetry(t testing.TB, r idp.Retry) {
	t.Helper()
	p, err := provisioning.New(w.store, provisioning.WithClock(w.clock), provisioning.WithNotifier(w.mail),
		provisioning.WithResolver(w.dns), provisioning.WithKeyProvider(idpKeys(t, "k1")), provisioning.WithVerificationRetry(r))
	if err != nil {
		t.Fatal(err)
	}
	w.p = p
}

// get reads a provider as its owner.
func (w *idpWorld) get(t testing.TB, id string) *idp.Provider {
	t.Helper()
	p, err := w.as(w.owner).GetIdentityProvider(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// pass runs one background pass and returns how many providers it claimed.
func (w *idpWorld) pass(t testing.TB) int {
	t.Helper()
	n, err := w.p.System().VerifyPendingIdentityProviders(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// statusVersions returns the status changes the versions of provider id
// record, in order, as "old>new by who".
func (w *idpWorld) statusVersions(t testing.TB, id string) []string {
	t.Helper()
	page, err := w.as(w.owner).ListVersions(context.Background(), audit.Filter{OrganizationID: w.org.ID, ResourceID: id})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range page.Items {
		if d, ok := v.Changes["status"]; ok && v.Event == audit.Update {
			out = append(out, fmt.Sprintf("%v>%v by %s", d[0], d[1], v.Who.Type))
		}
	}
	return out
}

// TestBackgroundVerificationBacksOff: a provider whose record is not
// published is tried again after growing, jittered waits (within [d/2, d]
// of 1, 2, 4 and 4 minutes, the cap), writing no version while it stays
// pending, is not claimed before its next attempt is due, and becomes error
// at the last attempt, in one version by the system; then it is no longer
// tried. Published, another is verified at its first attempt.
func TestBackgroundVerificationBacksOff(t *testing.T) {
	onIDPBackends(t, func(t *testing.T, w *idpWorld) {
		w.withRetry(t, testRetry)
		prov := w.provider(t, "Late SSO", "late.example")
		if got := w.get(t, prov.ID); !got.NextVerifyAt.Equal(w.clock.Now().UTC()) || got.VerifyAttempts != 0 {
			t.Fatalf("new provider: next %v, attempts %d; want due now, 0", got.NextVerifyAt, got.VerifyAttempts)
		}
		for attempt, wantMax := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute} {
			if n := w.pass(t); n != 1 {
				t.Fatalf("attempt %d claimed %d, want 1", attempt+1, n)
			}
			got := w.get(t, prov.ID)
			wait := got.NextVerifyAt.Sub(w.clock.Now())
			if got.Status != idp.Pending || got.VerifyAttempts != attempt+1 || wait < wantMax/2 || wait > wantMax {
				t.Fatalf("after attempt %d: %s, %d attempts, next in %v; want pending, %d, in [%v, %v]",
					attempt+1, got.Status, got.VerifyAttempts, wait, attempt+1, wantMax/2, wantMax)
			}
			w.clock.Advance(wait - time.Second)
			if n := w.pass(t); n != 0 {
				t.Fatalf("a pass a second before the next attempt claimed %d", n)
			}
			w.clock.Advance(time.Second)
		}
		if v := w.statusVersions(t, prov.ID); len(v) != 0 {
			t.Fatalf("versions while pending: %q", v)
		}
		if n := w.pass(t); n != 1 {
			t.Fatalf("last attempt claimed %d, want 1", n)
		}
		got := w.get(t, prov.ID)
		if got.Status != idp.Failed || got.VerifyAttempts != 4 || !got.NextVerifyAt.IsZero() {
			t.Fatalf("after the last attempt: %s, %d attempts, next %v; want error, 4, none", got.Status, got.VerifyAttempts, got.NextVerifyAt)
		}
		if v := w.statusVersions(t, prov.ID); len(v) != 1 || v[0] != "pending>error by system" {
			t.Fatalf("versions = %q, want one pending>error by system", v)
		}
		w.clock.Advance(time.Hour)
		if n := w.pass(t); n != 0 {
			t.Fatalf("a provider in error was claimed again (%d)", n)
		}

		ok := w.provider(t, "Ready SSO", "ready.example")
		w.dns.publish(ok)
		if n := w.pass(t); n != 1 {
			t.Fatalf("claimed %d, want 1", n)
		}
		if got := w.get(t, ok.ID); got.Status != idp.Verified || !got.NextVerifyAt.IsZero() || got.VerifyAttempts != 0 {
			t.Fatalf("published provider: %s, next %v, attempts %d; want verified, none, 0", got.Status, got.NextVerifyAt, got.VerifyAttempts)
		}
		if v := w.statusVersions(t, ok.ID); len(v) != 1 || v[0] != "pending>verified by system" {
			t.Fatalf("versions = %q, want one pending>verified by system", v)
		}
	})
}

// TestBackgroundVerificationDefinitiveAnswer: a resolver's definitive
// answer (idp.ErrNoSuchDomain) ends the schedule at the first attempt; a
// lookup that times out is retried.
func TestBackgroundVerificationDefinitiveAnswer(t *testing.T) {
	onIDPBackends(t, func(t *testing.T, w *idpWorld) {
		w.withRetry(t, testRetry)
		gone := w.provider(t, "Gone SSO", "gone.example")
		w.dns.set("gone.example", idpAnswer{err: fmt.Errorf("lookup gone.example: %w", idp.ErrNoSuchDomain)})
		slow := w.provider(t, "Slow SSO", "slow.example")
		w.dns.set("slow.example", idpAnswer{err: context.DeadlineExceeded})
		if n := w.pass(t); n != 2 {
			t.Fatalf("claimed %d, want 2", n)
		}
		if got := w.get(t, gone.ID); got.Status != idp.Failed || got.VerifyAttempts != 1 {
			t.Errorf("no such domain: %s after %d attempts, want error after 1", got.Status, got.VerifyAttempts)
		}
		if got := w.get(t, slow.ID); got.Status != idp.Pending || got.VerifyAttempts != 1 || got.NextVerifyAt.IsZero() {
			t.Errorf("timeout: %s after %d attempts, next %v; want pending, 1, scheduled", got.Status, got.VerifyAttempts, got.NextVerifyAt)
		}
	})
}

// TestBackgroundVerificationRestarts: new domains make a provider in error
// pending again, due at once with no attempt counted; the owner's
// verification on demand takes a provider out of the schedule.
func TestBackgroundVerificationRestarts(t *testing.T) {
	onIDPBackends(t, func(t *testing.T, w *idpWorld) {
		ctx := context.Background()
		w.withRetry(t, idp.Retry{First: time.Minute, Max: time.Minute, Attempts: 1, Lease: time.Minute})
		prov := w.provider(t, "Retry SSO", "one.example")
		if n := w.pass(t); n != 1 || w.get(t, prov.ID).Status != idp.Failed {
			t.Fatalf("claimed %d, status %s; want 1, error", n, w.get(t, prov.ID).Status)
		}
		w.clock.Advance(time.Hour)
		domains := []string{"two.example"}
		if _, err := w.as(w.owner).UpdateIdentityProvider(ctx, prov.ID, idp.Update{Domains: &domains}); err != nil {
			t.Fatal(err)
		}
		got := w.get(t, prov.ID)
		if got.Status != idp.Pending || got.VerifyAttempts != 0 || !got.NextVerifyAt.Equal(w.clock.Now().UTC()) {
			t.Fatalf("new domains: %s, %d attempts, next %v; want pending, 0, now", got.Status, got.VerifyAttempts, got.NextVerifyAt)
		}
		w.dns.publish(got)
		if _, _, err := w.as(w.owner).VerifyIdentityProvider(ctx, prov.ID); err != nil {
			t.Fatal(err)
		}
		if got := w.get(t, prov.ID); got.Status != idp.Verified || !got.NextVerifyAt.IsZero() {
			t.Fatalf("verified on demand: %s, next %v; want verified, none", got.Status, got.NextVerifyAt)
		}
		if n := w.pass(t); n != 0 {
			t.Fatalf("a verified provider was claimed (%d)", n)
		}
	})
}

// TestBackgroundVerificationLease: a provider claimed by an instance that
// never records the outcome (it stopped) is not claimed by another until
// the claim lapses, and then is.
func TestBackgroundVerificationLease(t *testing.T) {
	onIDPBackends(t, func(t *testing.T, w *idpWorld) {
		w.withRetry(t, testRetry)
		prov := w.provider(t, "Claimed SSO", "claimed.example")
		w.dns.publish(prov)
		now := w.clock.Now()
		ids, err := w.store.IdentityProviders().ClaimDue(context.Background(), now, now.Add(testRetry.Lease), 10)
		if err != nil || len(ids) != 1 || ids[0] != prov.ID {
			t.Fatalf("ClaimDue = %v, %v; want [%s]", ids, err, prov.ID)
		}
		if n := w.pass(t); n != 0 {
			t.Fatalf("a claimed provider was claimed again (%d)", n)
		}
		w.clock.Advance(testRetry.Lease)
		if n := w.pass(t); n != 1 || w.get(t, prov.ID).Status != idp.Verified {
			t.Fatalf("after the lease: claimed %d, status %s; want 1, verified", n, w.get(t, prov.ID).Status)
		}
	})
}

// TestVerifyPendingRefusesBadLimit: a limit out of range is invalid and
// claims nothing.
func TestVerifyPendingRefusesBadLimit(t *testing.T) {
	w := newIDPWorld(t)
	prov := w.provider(t, "Untouched SSO")
	for _, limit := range []int{0, -1, provisioning.MaxVerifyBatch + 1} {
		if _, err := w.p.System().VerifyPendingIdentityProviders(context.Background(), limit); fault.KindOf(err) != fault.Invalid {
			t.Errorf("limit %d: %v, want invalid", limit, err)
		}
	}
	if got := w.get(t, prov.ID); !got.NextVerifyAt.Equal(prov.NextVerifyAt) || w.dns.lookups != 0 {
		t.Errorf("a refused pass claimed (next %v) or looked up (%d)", got.NextVerifyAt, w.dns.lookups)
	}
}

// countingDNS answers every domain with the records of published, and
// counts the lookups of each domain, each taking a little while so that
// concurrent passes overlap.
type countingDNS struct {
	mu      sync.Mutex
	records map[string]string
	lookups map[string]int
}

func (d *countingDNS) LookupTXT(_ context.Context, name string) ([]string, error) {
	time.Sleep(2 * time.Millisecond)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lookups[name]++
	return []string{d.records[name]}, nil
}

// TestTwoVerifiersVerifyEachProviderOnce: two instances over one database
// run passes at once until nothing is due; every provider is looked up
// exactly once and verified in exactly one version.
func TestTwoVerifiersVerifyEachProviderOnce(t *testing.T) {
	for name, open := range map[string]storagetest.Opener{"sqlite": storagetest.SQLite, "postgres": storagetest.Postgres, "mysql": storagetest.MySQL} {
		t.Run(name, func(t *testing.T) {
			w := newIDPWorldOn(t, open(t))
			const n = 24
			dns := &countingDNS{records: map[string]string{}, lookups: map[string]int{}}
			var provs []*idp.Provider
			for i := range n {
				p := w.provider(t, fmt.Sprintf("Busy SSO %d", i), fmt.Sprintf("busy%d.example", i))
				dns.records[p.Domains[0]] = p.TXTRecord
				provs = append(provs, p)
			}
			var instances [2]*provisioning.Provisioner
			for i := range instances {
				st, err := bunstore.New(w.db)
				if err != nil {
					t.Fatal(err)
				}
				if instances[i], err = provisioning.New(st, provisioning.WithClock(w.clock), provisioning.WithResolver(dns)); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			claimed := [2]int{}
			errs := make(chan error, 2)
			for i, p := range instances {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						got, err := p.System().VerifyPendingIdentityProviders(context.Background(), 3)
						if err != nil {
							errs <- err
							return
						}
						if got == 0 {
							return
						}
						claimed[i] += got
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if claimed[0]+claimed[1] != n {
				t.Errorf("claimed %d + %d, want %d in all", claimed[0], claimed[1], n)
			}
			for _, p := range provs {
				if got := dns.lookups[p.Domains[0]]; got != 1 {
					t.Errorf("%s looked up %d times, want 1", p.Domains[0], got)
				}
				if got := w.get(t, p.ID); got.Status != idp.Verified {
					t.Errorf("%s: %s, want verified", p.Name, got.Status)
				}
				if v := w.statusVersions(t, p.ID); len(v) != 1 {
					t.Errorf("%s: status versions %q, want one", p.Name, v)
				}
			}
			t.Logf("claims: %d and %d", claimed[0], claimed[1])
		})
	}
}

// TestVerifierRunsUntilStopped: a started Verifier verifies a published
// provider on its own, and Stop ends its goroutine; Run returns when its
// context ends; a second Start fails.
func TestVerifierRunsUntilStopped(t *testing.T) {
	w := newIDPWorld(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent()) // the database's own goroutines stay until cleanup
	prov := w.provider(t, "Runner SSO")
	w.dns.publish(prov)
	v, err := provisioning.NewVerifier(w.p, provisioning.VerifierConfig{Interval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := v.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := v.Start(ctx); err == nil {
		t.Error("a second Start succeeded")
	}
	deadline := time.Now().Add(10 * time.Second)
	for w.get(t, prov.ID).Status != idp.Verified {
		if time.Now().After(deadline) {
			t.Fatal("the verifier did not verify the provider")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := v.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	cancel()
	if err := v.Run(runCtx); err != context.Canceled {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	for _, cfg := range []provisioning.VerifierConfig{{Interval: -1}, {Batch: -1}, {Batch: provisioning.MaxVerifyBatch + 1}} {
		if _, err := provisioning.NewVerifier(w.p, cfg); err == nil {
			t.Errorf("NewVerifier(%+v) succeeded", cfg)
		}
	}
}

// TestBackgroundVerificationJitters: providers that fail together are not
// all tried again at the same time.
func TestBackgroundVerificationJitters(t *testing.T) {
	w := newIDPWorld(t)
	w.withRetry(t, testRetry)
	var provs []*idp.Provider
	for i := range 10 {
		provs = append(provs, w.provider(t, fmt.Sprintf("Herd SSO %d", i), fmt.Sprintf("herd%d.example", i)))
	}
	if n := w.pass(t); n != 10 {
		t.Fatalf("claimed %d, want 10", n)
	}
	next := map[time.Time]bool{}
	for _, p := range provs {
		next[w.get(t, p.ID).NextVerifyAt] = true
	}
	if len(next) < 2 {
		t.Errorf("10 providers all retry at %v", next)
	}
}
