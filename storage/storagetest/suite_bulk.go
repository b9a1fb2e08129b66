package storagetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/resource"
)

// bulkCases test the calls of bulk invitation: more rows than one
// statement takes, and the lookups by many emails.
var bulkCases = []testCase{
	{"CreateMany", testBulkCreateMany},
	{"CreateManyFailsWhole", testBulkCreateManyFailsWhole},
	{"TakenEmails", testBulkTakenEmails},
	{"ListByEmails", testBulkListByEmails},
	{"AppendMany", testBulkAppendMany},
}

// testBulkCreateMany creates many memberships outside a transaction, then
// inside one (where a backend may take other statements).
func testBulkCreateMany(t *testing.T, e *env) {
	for _, inTx := range []bool{false, true} {
		bulkCreateMany(t, e, inTx)
	}
}

func bulkCreateMany(t *testing.T, e *env, inTx bool) {
	tn := e.newTenant(t)
	const n = 1234 // three statements' worth
	ms := make([]*membership.Membership, n)
	hashes := make([][]byte, n)
	for i := range ms {
		ms[i] = e.member(tn.org.ID, tn.admin.ID)
		hashes[i] = e.hash()
	}
	ms[7].Permissions, ms[7].RoleIDs = []string{"orders:read"}, []string{tn.admin.ID}
	create := func(ctx context.Context) error { return e.s.Memberships().CreateMany(ctx, ms, hashes) }
	if inTx {
		must(t, e.s.InTx(t.Context(), create))
	} else {
		must(t, create(t.Context()))
	}
	got, err := e.s.Memberships().Count(t.Context(), tn.org.ID)
	must(t, err)
	wantEqual(t, "count", got, n+1)
	for _, i := range []int{0, 7, n - 1} {
		m, err := e.s.Memberships().GetByInvitation(t.Context(), hashes[i])
		must(t, err)
		wantEqual(t, fmt.Sprintf("membership %d", i), m.ID, ms[i].ID)
		wantEqual(t, fmt.Sprintf("membership %d permissions", i), m.Permissions, ms[i].Permissions)
	}
}

func testBulkCreateManyFailsWhole(t *testing.T, e *env) {
	tn := e.newTenant(t)
	a, b := e.member(tn.org.ID, tn.admin.ID), e.member(tn.org.ID, tn.admin.ID)
	b.UserEmail = tn.owner.Email // taken
	err := e.s.Memberships().CreateMany(t.Context(), []*membership.Membership{a, b}, [][]byte{e.hash(), e.hash()})
	wantIs(t, "a taken email", err, fault.ErrAlreadyExists)
	_, err = e.s.Memberships().Get(t.Context(), a.ID)
	wantIs(t, "the first row", err, fault.ErrNotFound)
	err = e.s.Memberships().CreateMany(t.Context(), []*membership.Membership{a}, nil)
	wantIs(t, "hashes missing", err, fault.ErrInternal)
}

func testBulkTakenEmails(t *testing.T, e *env) {
	tn, other := e.newTenant(t), e.newTenant(t)
	m := e.newMember(t, tn.org.ID, tn.admin.ID)
	got, err := e.s.Memberships().TakenEmails(t.Context(), tn.org.ID, []string{m.UserEmail, other.owner.Email, tn.owner.Email, "free@example.com"})
	must(t, err)
	slices.Sort(got)
	want := []string{m.UserEmail, tn.owner.Email}
	slices.Sort(want)
	wantEqual(t, "taken", got, want)
	got, err = e.s.Memberships().TakenEmails(t.Context(), tn.org.ID, nil)
	must(t, err)
	wantEqual(t, "none asked", len(got), 0)
}

func testBulkListByEmails(t *testing.T, e *env) {
	u1, u2 := e.newUser(t), e.newUser(t)
	got, err := e.s.Users().ListByEmails(t.Context(), []string{u2.Email, "nobody@example.com", u1.Email})
	must(t, err)
	ids := []string{}
	for _, u := range got {
		ids = append(ids, u.ID)
	}
	slices.Sort(ids)
	want := []string{u1.ID, u2.ID}
	slices.Sort(want)
	wantEqual(t, "users", ids, want)
}

func testBulkAppendMany(t *testing.T, e *env) {
	tn := e.newTenant(t)
	vs := make([]*audit.Version, 701)
	for i := range vs {
		vs[i] = &audit.Version{ID: e.id(), OrganizationID: tn.org.ID, ResourceType: "memberships", ResourceID: e.id(),
			Event: audit.Create, Changes: resource.Changes{"n": {nil, float64(i)}}, Who: audit.Who{Type: "user", ID: "u"}, Common: common()}
	}
	must(t, e.s.Versions().AppendMany(t.Context(), vs))
	for _, i := range []int{0, 500, 700} {
		v, err := e.s.Versions().Get(t.Context(), vs[i].ID)
		must(t, err)
		wantEqual(t, fmt.Sprintf("version %d", i), v.Changes["n"][1], any(float64(i)))
	}
}
