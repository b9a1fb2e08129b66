package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
)

// securityCases are the subtests of the security event store.
var securityCases = []testCase{
	{"RoundTrip", testSecurityRoundTrip},
	{"Filters", testSecurityFilters},
}

// testSecurityRoundTrip: an event comes back as written, its text escaped
// by the store whoever built it.
func testSecurityRoundTrip(t *testing.T, e *env) {
	tn := e.newTenant(t)
	in := audit.SecurityEvent{ID: e.id(), Kind: audit.AuthorizationRefused, OrganizationID: tn.org.ID,
		Who: audit.Who{Type: "user", ID: tn.owner.ID}, Operation: "provisioning.Invite", Subject: "memberships",
		Action: "create", Reason: "no_grant", IP: "8.8.8.8", Detail: "line\nbreak", RequestID: "req-1", CreatedAt: t0.In(zone)}
	must(t, e.s.SecurityEvents().Append(t.Context(), &in))
	page, err := e.s.SecurityEvents().List(t.Context(), audit.SecurityFilter{OrganizationID: tn.org.ID})
	must(t, err)
	want := in
	want.Detail, want.CreatedAt = `line\x0abreak`, t0
	if len(page.Items) != 1 {
		t.Fatalf("List: %d events, want 1", len(page.Items))
	}
	wantEqual(t, "List", page.Items[0], want)
}

// testSecurityFilters: by organization, kind, principal and time.
func testSecurityFilters(t *testing.T, e *env) {
	a, b := e.newTenant(t), e.newTenant(t)
	add := func(org string, kind audit.SecurityKind, who string, at time.Duration) string {
		ev := audit.SecurityEvent{ID: e.id(), Kind: kind, OrganizationID: org, Who: audit.Who{Type: "user", ID: who},
			CreatedAt: t0.Add(at)}
		must(t, e.s.SecurityEvents().Append(t.Context(), &ev))
		return ev.ID
	}
	x := add(a.org.ID, audit.AuthorizationRefused, "u1", 0)
	y := add(a.org.ID, audit.LastOwnerRefused, "u2", time.Hour)
	z := add(b.org.ID, audit.AuthorizationRefused, "u1", 2*time.Hour)
	ids := func(f audit.SecurityFilter) []string {
		page, err := e.s.SecurityEvents().List(t.Context(), f)
		must(t, err)
		var out []string
		for _, ev := range page.Items {
			out = append(out, ev.ID)
		}
		return out
	}
	wantEqual(t, "organization a", ids(audit.SecurityFilter{OrganizationID: a.org.ID}), []string{x, y})
	wantEqual(t, "kind", ids(audit.SecurityFilter{OrganizationID: a.org.ID, Kind: audit.LastOwnerRefused}), []string{y})
	wantEqual(t, "principal", ids(audit.SecurityFilter{WhoID: "u1", Since: t0, PageRequest: resource.PageRequest{Limit: 100}})[0:2], []string{x, z})
	wantEqual(t, "since", ids(audit.SecurityFilter{OrganizationID: b.org.ID, Since: t0.Add(time.Hour)}), []string{z})
}

// keyCases are the subtests of the idempotency key store.
var keyCases = []testCase{
	{"PutFind", testKeysPutFind},
}

// testKeysPutFind: a key is found by its principal only; taking it twice
// is a conflict; a key put in a rolled-back transaction is not kept.
func testKeysPutFind(t *testing.T, e *env) {
	ctx := t.Context()
	ks := e.s.IdempotencyKeys()
	must(t, ks.Put(ctx, "user:u1", "k", "provisioning.CreateRole", "r1", t0))
	op, id, err := ks.Find(ctx, "user:u1", "k")
	must(t, err)
	wantEqual(t, "Find", [2]string{op, id}, [2]string{"provisioning.CreateRole", "r1"})
	_, _, err = ks.Find(ctx, "user:u2", "k")
	wantIs(t, "another principal's key", err, fault.ErrNotFound)
	wantIs(t, "the key again", ks.Put(ctx, "user:u1", "k", "provisioning.CreateRole", "r2", t0), fault.ErrAlreadyExists)
	rolledBack := errors.New("roll back")
	err = e.s.InTx(ctx, func(ctx context.Context) error {
		must(t, ks.Put(ctx, "user:u1", "gone", "provisioning.CreateRole", "r3", t0))
		return rolledBack
	})
	wantIs(t, "InTx", err, rolledBack)
	_, _, err = ks.Find(ctx, "user:u1", "gone")
	wantIs(t, "a key of a rolled-back transaction", err, fault.ErrNotFound)
}
