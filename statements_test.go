package provisioning_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/uptrace/bun"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/internal/faultdb"
	"github.com/provisionkit/provisioning/membership"
)

// statementLog records the statements a database runs while it is on.
type statementLog struct {
	mu   sync.Mutex
	on   bool
	list []string
}

func (l *statementLog) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	return ctx
}

func (l *statementLog) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.on {
		l.list = append(l.list, e.Query)
	}
}

// during returns the statements fn runs.
func (l *statementLog) during(fn func()) []string {
	l.mu.Lock()
	l.on, l.list = true, nil
	l.mu.Unlock()
	fn()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.on = false
	return l.list
}

func logStatements(w *world) *statementLog {
	l := &statementLog{}
	//lint:ignore SA1019 the hook goes on the database the store already uses; WithQueryHook would make a copy the store does not see
	w.db.AddQueryHook(l)
	return l
}

func countRevisionReads(stmts []string) int {
	n := 0
	for _, q := range stmts {
		if strings.HasPrefix(q, `SELECT "o"."policy_revision" FROM`) {
			n++
		}
	}
	return n
}

// TestReadsCostOneStatement: a membership read by id or by email reads its
// organization's policy revision in the same statement, so that the check
// reads nothing more once the organization's policy is in memory (the
// scale target: reads within 1.1× of the raw query).
func TestReadsCostOneStatement(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	log := logStatements(w)
	s := w.as(w.reader)
	if _, err := s.GetMembership(ctx, w.customMembership.ID); err != nil { // loads the policy
		t.Fatal(err)
	}
	tests := []struct {
		give string
		call func() error
		want fault.Kind
	}{
		{"by id", func() error { _, err := s.GetMembership(ctx, w.customMembership.ID); return err }, ok},
		{"by email", func() error { _, err := s.GetMembershipByEmail(ctx, w.org.ID, " Clerk@Example.com"); return err }, ok},
		{"by id, a stranger", func() error { _, err := w.as(w.stranger).GetMembership(ctx, w.customMembership.ID); return err }, fault.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			var err error
			stmts := log.during(func() { err = tt.call() })
			if got := kindOrOK(err); got != tt.want {
				t.Fatalf("error %v, want kind %s", err, kindName(tt.want))
			}
			if tt.want == ok && len(stmts) != 1 {
				t.Fatalf("%d statements, want 1:\n%s", len(stmts), strings.Join(stmts, "\n"))
			}
		})
	}
}

// TestInviteReadsTheRevisionUnderTheLock: an invitation reads its
// organization's revision with the organization's row, under its lock, and
// never again in the transaction.
func TestInviteReadsTheRevisionUnderTheLock(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	log := logStatements(w)
	own := w.as(w.owner)
	var err error
	stmts := log.during(func() {
		_, err = own.Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: "new@example.com", RoleID: w.readOnly.ID})
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := countRevisionReads(stmts); n != 0 {
		t.Fatalf("%d separate reads of the revision, want 0:\n%s", n, strings.Join(stmts, "\n"))
	}
	// A change of the policy in the transaction is read back: inviting an
	// existing user grants rights, and the version it writes is seen by the
	// next call.
	u := w.user(t, "joiner@example.com")
	if _, err := own.Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: u.Email, RoleID: w.readOnly.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.as(u).GetOrganization(ctx, w.org.ID); err != nil {
		t.Fatalf("the new member cannot read its organization: %v", err)
	}
}

// TestGetMembershipByEmail: found by canonical email for those who may read
// memberships; another organization, an unknown address and a stranger all
// look alike.
func TestGetMembershipByEmail(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	m, err := w.as(w.adminUser).GetMembershipByEmail(ctx, w.org.ID, "PENDING@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != w.pendingMembership.ID {
		t.Fatalf("got %s, want the pending membership %s", m.ID, w.pendingMembership.ID)
	}
	_, err = w.as(w.adminUser).GetMembershipByEmail(ctx, w.org.ID, "not an email")
	wantErr(t, "a malformed address", err, fault.ErrInvalid, "user_email")
	_, errUnknown := w.as(w.adminUser).GetMembershipByEmail(ctx, w.org.ID, "nobody@example.com")
	_, errOther := w.as(w.adminUser).GetMembershipByEmail(ctx, w.otherOrg.ID, "stranger@example.com")
	_, errStranger := w.as(w.stranger).GetMembershipByEmail(ctx, w.org.ID, "pending@example.com")
	for name, err := range map[string]error{"unknown address": errUnknown, "other organization": errOther, "stranger": errStranger} {
		if fault.KindOf(err) != fault.NotFound {
			t.Errorf("%s: %v, want not found", name, err)
		}
	}
	if errUnknown.Error() != errOther.Error() || errOther.Error() != errStranger.Error() {
		t.Errorf("the misses differ:\n%v\n%v\n%v", errUnknown, errOther, errStranger)
	}
}

// TestGetMembershipByEmailDecidesOnce: a refused lookup is decided, and
// recorded as a security event, once, whether the address has a
// membership or not.
func TestGetMembershipByEmailDecidesOnce(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	for _, address := range []string{"pending@example.com", "nobody@example.com"} {
		before := w.count(t, "provisioning_security_events", "1 = 1")
		_, err := w.as(w.stranger).GetMembershipByEmail(ctx, w.org.ID, address)
		if fault.KindOf(err) != fault.NotFound {
			t.Fatalf("%s: %v, want not found", address, err)
		}
		if got := w.count(t, "provisioning_security_events", "1 = 1") - before; got != 1 {
			t.Errorf("%s: %d security events, want 1", address, got)
		}
	}
}

// TestInviteStatements: once its statements are prepared, an invitation of
// a new address on SQLite runs, as the driver sees them, the wait for the
// write lock, one read under it (the organization with the role and the
// user of the address), the insert of the membership, the insert of its
// version, and the commit.
func TestInviteStatements(t *testing.T) {
	ctx := context.Background()
	ctl := &faultdb.Controller{}
	db := openFaultDB(t, filepath.Join(t.TempDir(), "statements.db"), ctl)
	t.Cleanup(func() { db.Close() })
	w := newWorldOn(t, db)
	own := w.as(w.owner)
	invite := func(address string) []faultdb.Step {
		ctl.Start()
		defer ctl.Stop()
		if _, err := own.Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: address, RoleID: w.readOnly.ID}); err != nil {
			t.Fatal(err)
		}
		return ctl.Steps()
	}
	invite("first@example.com") // prepares the statements, loads the policy
	var got []string
	// The statements' starts (the driver's record of them is cut short).
	for _, s := range invite("second@example.com") {
		q, _, _ := strings.Cut(s.Query, " (")
		if strings.HasPrefix(q, "SELECT ") {
			q = strings.Join(strings.SplitAfterN(q, ",", 3)[:2], "") + " ..."
		}
		got = append(got, strings.TrimSpace(s.Kind.String()+" "+q))
	}
	want := []string{
		"Exec PRAGMA busy_timeout = 0", "Begin", "Exec PRAGMA busy_timeout = 10000",
		"Query SELECT o.id, o.name, ...", // the organization's columns, then the role's and the user's
		"Exec INSERT INTO provisioning_memberships", "Exec INSERT INTO provisioning_versions", "Commit",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("statements:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
