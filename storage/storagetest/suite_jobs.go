package storagetest

import (
	"slices"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/idp"
)

// The subtests share the database: these work long before t0, where no
// other subtest's provider is due and no other subtest's version was made.
var longAgo = time.Date(1990, 1, 2, 3, 4, 5, 0, time.UTC)

// testIDPClaimDue: ClaimDue claims the pending providers due at now, soonest
// first, at most limit, and moves their next attempt to until, so that they
// are not claimed again before; the schedule round-trips through Update.
func testIDPClaimDue(t *testing.T, e *env) {
	ctx := t.Context()
	tn := e.newTenant(t)
	at := func(d time.Duration) func(*idp.Provider) {
		return func(p *idp.Provider) { p.NextVerifyAt = longAgo.Add(d) }
	}
	second := e.newProvider(t, tn.org.ID, tn.owner.ID, at(-time.Minute))
	first := e.newProvider(t, tn.org.ID, tn.owner.ID, at(-time.Hour))
	e.newProvider(t, tn.org.ID, tn.owner.ID, at(time.Minute)) // not due
	e.newProvider(t, tn.org.ID, tn.owner.ID, at(-time.Hour), func(p *idp.Provider) { p.Status = idp.Verified })
	third := e.newProvider(t, tn.org.ID, tn.owner.ID, at(0))
	store := e.s.IdentityProviders()
	until := longAgo.Add(time.Hour)

	ids, err := store.ClaimDue(ctx, longAgo, until, 2)
	must(t, err)
	if !slices.Equal(ids, []string{first.ID, second.ID}) {
		t.Fatalf("ClaimDue(limit 2) = %q, want %q", ids, []string{first.ID, second.ID})
	}
	ids, err = store.ClaimDue(ctx, longAgo, until, 10)
	must(t, err)
	if !slices.Equal(ids, []string{third.ID}) {
		t.Fatalf("ClaimDue again = %q, want only %q", ids, third.ID)
	}
	got, err := store.Get(ctx, first.ID)
	must(t, err)
	if !got.NextVerifyAt.Equal(until) {
		t.Errorf("claimed provider's next attempt = %v, want %v", got.NextVerifyAt, until)
	}
	got.VerifyAttempts, got.NextVerifyAt = 3, time.Time{}
	must(t, store.Update(ctx, got))
	if back, err := store.Get(ctx, first.ID); err != nil || back.VerifyAttempts != 3 || !back.NextVerifyAt.IsZero() {
		t.Errorf("schedule after Update = %d, %v (%v); want 3, none", back.VerifyAttempts, back.NextVerifyAt, err)
	}
}

// testVersionPurge: Purge deletes the versions before the cutoff, oldest
// first, at most limit, and says whether more remain.
func testVersionPurge(t *testing.T, e *env) {
	ctx := t.Context()
	purger, ok := e.s.Versions().(audit.Purger)
	if !ok {
		t.Fatal("the version store is not an audit.Purger")
	}
	tn := e.newTenant(t)
	var old []string
	for i := range 3 {
		v := e.newVersion(t, tn.org.ID, func(v *audit.Version) {
			v.CreatedAt = longAgo.Add(-time.Duration(3-i) * time.Hour)
			v.UpdatedAt = v.CreatedAt
		})
		old = append(old, v.ID)
	}
	kept := e.newVersion(t, tn.org.ID, func(v *audit.Version) { v.CreatedAt, v.UpdatedAt = longAgo, longAgo }) // at the cutoff: kept

	n, more, err := purger.Purge(ctx, longAgo, 2)
	must(t, err)
	if n != 2 || !more {
		t.Fatalf("Purge(limit 2) = %d, %v; want 2, more", n, more)
	}
	for _, id := range old[:2] {
		if _, err := e.s.Versions().Get(ctx, id); err == nil {
			t.Errorf("the oldest version %s survived", id)
		}
	}
	n, more, err = purger.Purge(ctx, longAgo, 2)
	must(t, err)
	if n != 1 || more {
		t.Fatalf("Purge again = %d, %v; want 1, no more", n, more)
	}
	if _, err := e.s.Versions().Get(ctx, kept.ID); err != nil {
		t.Errorf("the version at the cutoff was purged: %v", err)
	}
}
