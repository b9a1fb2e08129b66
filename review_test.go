package provisioning_test

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/storage/storagetest"
)

// TestReviewInviteManyMemberWhoChangedEmail: a member who changed the email
// of their user keeps the membership's old user_email; inviting the new
// address is, for Invite, a conflict on user_email (the (organization,
// user) key). InviteMany must fail that invitation alone, as Invite does,
// not the whole call.
func TestReviewInviteManyMemberWhoChangedEmail(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	moved := "reader.moved@example.com"
	w.changeEmail(t, w.reader, moved)
	// What Invite says of it.
	_, err := w.as(w.owner).Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: moved, RoleID: w.readOnly.ID})
	wantErr(t, "Invite of a member's new address", err, fault.ErrAlreadyExists, "user_email")

	before := w.fingerprint(t)
	res, err := w.as(w.owner).InviteMany(ctx, w.org.ID, []membership.Invite{
		{UserEmail: "fresh@example.com", RoleID: w.readOnly.ID},
		{UserEmail: moved, RoleID: w.readOnly.ID},
	})
	if err != nil {
		t.Fatalf("InviteMany failed whole for one invitation Invite refuses alone: %v", err)
	}
	wantErr(t, "invitation 0", res[0].Err, nil)
	wantErr(t, "invitation 1", res[1].Err, fault.ErrAlreadyExists, "user_email")
	if got := w.fingerprint(t)["provisioning_memberships"] - before["provisioning_memberships"]; got != 1 {
		t.Errorf("%d memberships created, want 1", got)
	}
}

// TestReviewInviteManyAtTheLimit: at the plan's limit Invite refuses any
// further invitation with ErrLimitReached, an email already invited
// included (the limit is checked first); a repeated email whose first
// occurrence was refused by the limit was never invited, so it cannot be
// "already" anything. InviteMany must answer each as Invite would, one by
// one.
func TestReviewInviteManyAtTheLimit(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	n := w.count(t, "provisioning_memberships", "organization_id = ?", w.org.ID)
	if _, err := w.p.System().SetSubscription(ctx, w.org.ID, organization.Subscription{Limits: organization.Limits{Memberships: n + 1}}); err != nil {
		t.Fatal(err)
	}
	invites := []membership.Invite{
		{UserEmail: "a@example.com", RoleID: w.readOnly.ID},       // takes the last place
		{UserEmail: "b@example.com", RoleID: w.readOnly.ID},       // past the limit
		{UserEmail: "B@example.com", RoleID: w.readOnly.ID},       // past the limit (b was never invited)
		{UserEmail: "pending@example.com", RoleID: w.readOnly.ID}, // past the limit, as Invite answers
	}
	// Invite, one by one, in a copy of the world: the reference.
	ref := newWorld(t)
	if _, err := ref.p.System().SetSubscription(ctx, ref.org.ID, organization.Subscription{Limits: organization.Limits{Memberships: n + 1}}); err != nil {
		t.Fatal(err)
	}
	var want []error
	for _, in := range invites {
		in.OrganizationID = ref.org.ID
		in.RoleID = ref.readOnly.ID
		_, err := ref.as(ref.owner).Invite(ctx, in)
		want = append(want, err)
	}
	res, err := w.as(w.owner).InviteMany(ctx, w.org.ID, invites)
	if err != nil {
		t.Fatal(err)
	}
	for i := range invites {
		switch {
		case want[i] == nil && res[i].Err != nil, want[i] != nil && res[i].Err == nil:
			t.Errorf("invitation %d: InviteMany %v, Invite %v", i, res[i].Err, want[i])
		case want[i] != nil && !sameCause(res[i].Err, want[i]):
			t.Errorf("invitation %d: InviteMany %v, Invite %v", i, res[i].Err, want[i])
		}
	}
}

// sameCause reports whether two errors carry the same sentinel.
func sameCause(a, b error) bool {
	for _, s := range []error{fault.ErrLimitReached, fault.ErrAlreadyExists, fault.ErrInvalid, fault.ErrForbidden} {
		if errors.Is(a, s) != errors.Is(b, s) {
			return false
		}
	}
	return true
}

// TestReviewInviteManyLargeRowsMySQL: 500 invitations of valid rows, as many
// as one multi-row INSERT holds, are past 16 MiB when large; the statements
// must stay under MySQL's max_allowed_packet (16 MiB on this server)
// whatever valid rows hold:
// metadata up to resource.MaxMetadataBytes of JSON, whose backslashes the
// MySQL dialect escapes again.
func TestReviewInviteManyLargeRowsMySQL(t *testing.T) {
	db := storagetest.MySQL(t)
	ctx := context.Background()
	e := newEnvOn(t, db)
	owner := e.user(t, "owner@example.com")
	org, _, ro := e.org(t, owner, "Acme")
	// A valid metadata value near the limit: a string of backslashes, two
	// bytes each in JSON.
	meta := resource.Metadata{"k": strings.Repeat(`\`, resource.MaxMetadataBytes/2-16)}
	// And the longest allowlist: 100 public IPv6 addresses.
	var ips []string
	for i := 0; i < 100; i++ {
		ips = append(ips, fmt.Sprintf("2001:4860:4860:1234:5678:9abc:def0:%04x/128", i+1))
	}
	invites := make([]membership.Invite, 500)
	for i := range invites {
		invites[i] = membership.Invite{UserEmail: fmt.Sprintf("m%03d@example.com", i), RoleID: ro.ID,
			Rules: membership.Rules{AllowedIPs: ips}, CommonInput: resource.CommonInput{Metadata: meta}}
	}
	res, err := e.as(owner).InviteMany(ctx, org.ID, invites)
	if err != nil {
		t.Fatalf("InviteMany of 500 valid invitations: %v", err)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("invitation %d: %v", i, r.Err)
		}
	}
}

// TestReviewHostRevisionMemo: a revision memo must live for one call only.
// Before the fix access.WithRevisionMemo was exported: a host that put a
// memo on its request's context (it reads as a per-request optimisation)
// had a revision noted by one call (GetOrganization reads the owner's
// membership to count the totals) answer the checks of the later calls of
// that context, in and out of transactions, so a member removed in between
// still listed memberships and Can answered true. Only the module makes a
// memo now (internal/revmemo); the access package exports no way to.
func TestReviewHostRevisionMemo(t *testing.T) {
	pkg, err := build.ImportDir("access", 0)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range pkg.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join("access", name), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.IsExported() && strings.Contains(fn.Name.Name, "Memo") {
				t.Errorf("access exports %s: a host can put a revision memo on a context that outlives one call", fn.Name.Name)
			}
		}
	}
	// A context reused across calls, as a host's request context is: what
	// one call read is not what the next one decides with.
	ctx := context.Background()
	w := newWorld(t)
	if _, err := w.as(w.reader).GetOrganization(ctx, w.org.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.as(w.reader).GetMembership(ctx, w.readerMembership.ID); err != nil {
		t.Fatal(err)
	}
	access.NoteRevision(ctx, w.org.ID, "stale") // no memo: notes nothing
	if err := w.as(w.owner).DeleteMembership(ctx, w.readerMembership.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.as(w.reader).ListMemberships(ctx, membership.Filter{OrganizationID: w.org.ID}); !errors.Is(err, fault.ErrNotFound) {
		t.Errorf("removed member listed memberships: %v", err)
	}
	if ok, err := w.as(w.reader).Can(ctx, w.org.ID, "memberships", role.ActionRead); ok || err != nil {
		t.Errorf("removed member still can read memberships: %v, %v", ok, err)
	}
}
