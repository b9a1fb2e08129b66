package provisioning_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/user"
)

// userUnchanged records u's row and versions, to check that a refused call
// left them alone.
func (e *env) userUnchanged(t testing.TB, id string) func() {
	t.Helper()
	read := func() (*user.User, int) {
		t.Helper()
		u, err := e.store.Users().Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return u, e.count(t, "provisioning_versions", "resource_id = ?", id)
	}
	before, versions := read()
	return func() {
		t.Helper()
		after, n := read()
		if !reflect.DeepEqual(after, before) || n != versions {
			t.Errorf("refused call changed the user:\n got %+v (%d versions)\nwant %+v (%d versions)", after, n, before, versions)
		}
	}
}

// The review's takeover: carol, read-only in A, asks to change her address
// to the one bob invited as admin of B. The address is not hers until it
// confirms the change, so AcceptPendingInvitations gives her nothing, and
// the code goes only to that address.
func TestEmailChangeDoesNotTakeOverInvitations(t *testing.T) {
	onBackends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		alice, bob := e.user(t, "alice@example.com"), e.user(t, "bob@example.com")
		a, _, roA := e.org(t, alice, "A")
		b, adminB, _ := e.org(t, bob, "B")
		carol := e.user(t, "carol@example.com")
		e.member(t, e.as(alice), a.ID, carol, roA.ID)
		inv, err := e.as(bob).Invite(ctx, membership.Invite{OrganizationID: b.ID, UserEmail: "newhire@example.com", RoleID: adminB.ID})
		if err != nil {
			t.Fatal(err)
		}

		next := "NewHire@Example.com"
		got, err := e.as(carol).UpdateCurrentUser(ctx, user.Update{Email: &next})
		if err != nil {
			t.Fatal(err)
		}
		if got.Email != "carol@example.com" || got.PendingEmail != "newhire@example.com" || !got.PendingEmailExpiresAt.Equal(e.clock.Now().Add(24*time.Hour)) {
			t.Fatalf("after asking for the change: %+v; want carol@ kept, newhire@ pending for 24 hours", got)
		}
		sent := e.mail.lastChange(t)
		if sent.UserID != carol.ID || sent.OldEmail != "carol@example.com" || sent.NewEmail != "newhire@example.com" || len(sent.Code) < 43 {
			t.Fatalf("email change sent: %+v; want carol's, from carol@ to newhire@, with a 256-bit code", sent)
		}

		accepted, err := e.as(carol).AcceptPendingInvitations(ctx)
		if err != nil || len(accepted) != 0 {
			t.Fatalf("AcceptPendingInvitations with the change pending = %v, %v; want nothing", accepted, err)
		}
		if _, err := e.as(carol).ConfirmEmail(ctx, tamper(sent.Code)); !errors.Is(err, fault.ErrEmailCodeInvalid) {
			t.Fatalf("ConfirmEmail with a guessed code: %v, want ErrEmailCodeInvalid", err)
		}
		if m, err := e.as(bob).GetMembership(ctx, inv.ID); err != nil || m.Status != membership.Pending || m.UserID != "" {
			t.Fatalf("bob's invitation = %+v, %v; want it pending, nobody's", m, err)
		}
	})
}

// ConfirmEmail sets the pending address, verified, once; a wrong, used,
// expired or replaced code, or none at all, changes nothing.
func TestConfirmEmail(t *testing.T) {
	tests := []struct {
		giveName string
		giveWait time.Duration
		giveCode func(e *env, first, last string) string
		wantErr  error
	}{
		{"valid", time.Hour, func(_ *env, _, last string) string { return last }, nil},
		{"just before expiry", 24*time.Hour - time.Second, func(_ *env, _, last string) string { return last }, nil},
		{"expired", 24 * time.Hour, func(_ *env, _, last string) string { return last }, fault.ErrEmailCodeInvalid},
		{"replaced by a later change", time.Hour, func(_ *env, first, _ string) string { return first }, fault.ErrEmailCodeInvalid},
		{"tampered", time.Hour, func(_ *env, _, last string) string { return tamper(last) }, fault.ErrEmailCodeInvalid},
		{"the hash itself", time.Hour, func(_ *env, _, last string) string { return hex.EncodeToString(sha(last)) }, fault.ErrEmailCodeInvalid},
		{"empty", time.Hour, func(*env, string, string) string { return "" }, fault.ErrEmailCodeInvalid},
		{"huge", time.Hour, func(*env, string, string) string { return strings.Repeat("a", 10000) }, fault.ErrEmailCodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.giveName, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			u := e.user(t, "ada@example.com")
			for _, next := range []string{"first@example.com", "ada.new@example.com"} {
				if _, err := e.as(u).UpdateCurrentUser(ctx, user.Update{Email: &next}); err != nil {
					t.Fatal(err)
				}
			}
			first, last := e.mail.changes.All()[0].Code, e.mail.lastChange(t).Code
			e.clock.Advance(tt.giveWait)
			unchanged := e.userUnchanged(t, u.ID)
			got, err := e.as(u).ConfirmEmail(ctx, tt.giveCode(e, first, last))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("ConfirmEmail: %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				unchanged()
				return
			}
			if got.Email != "ada.new@example.com" || !got.EmailVerifiedAt.Equal(e.clock.Now()) || got.PendingEmail != "" {
				t.Fatalf("confirmed: %+v; want ada.new@, verified now, nothing pending", got)
			}
			if _, err := e.as(u).ConfirmEmail(ctx, last); !errors.Is(err, fault.ErrEmailCodeInvalid) {
				t.Errorf("the code used again: %v, want ErrEmailCodeInvalid", err)
			}
		})
	}
}

// sha is the SHA-256 of s.
func sha(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// The pending change on the three backends: a confirmation sets the
// address and its verification, refuses an address another user took
// meanwhile (nothing changed), and the current address given again drops
// the change.
func TestEmailChangeOnBackends(t *testing.T) {
	onBackends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		ada := e.unverifiedUser(t, "ada@example.com")
		next := "ada.next@example.com"
		if _, err := e.as(ada).UpdateCurrentUser(ctx, user.Update{Email: &next}); err != nil {
			t.Fatal(err)
		}
		code := e.mail.lastChange(t).Code

		// Taken meanwhile: a conflict on email, and the change still pending.
		squatter := e.user(t, next)
		unchanged := e.userUnchanged(t, ada.ID)
		_, err := e.as(ada).ConfirmEmail(ctx, code)
		wantErr(t, "ConfirmEmail of an address taken meanwhile", err, fault.ErrAlreadyExists, "email")
		unchanged()

		// Asking for an address that is taken: refused at once.
		taken := squatter.Email
		_, err = e.as(ada).UpdateCurrentUser(ctx, user.Update{Email: &taken})
		wantErr(t, "UpdateCurrentUser to a taken address", err, fault.ErrAlreadyExists, "email")
		unchanged()

		// The squatter leaves the address; the code still works.
		if _, err := e.p.System().VerifyEmail(ctx, squatter.ID, "squatter@example.com"); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
		got, err := e.as(ada).ConfirmEmail(ctx, code)
		if err != nil || got.Email != next || !got.EmailVerifiedAt.Equal(e.clock.Now()) || got.PendingEmail != "" {
			t.Fatalf("ConfirmEmail = %+v, %v; want %s verified now", got, err, next)
		}
		stored, err := e.p.System().UserByEmail(ctx, next)
		if err != nil || stored.ID != ada.ID || !stored.EmailVerified() || stored.PendingEmail != "" || !stored.PendingEmailExpiresAt.IsZero() {
			t.Fatalf("stored after the confirmation = %+v, %v", stored, err)
		}

		// The current address again drops a pending change.
		other := "ada.other@example.com"
		if _, err := e.as(ada).UpdateCurrentUser(ctx, user.Update{Email: &other}); err != nil {
			t.Fatal(err)
		}
		dropped, err := e.as(ada).UpdateCurrentUser(ctx, user.Update{Email: &next})
		if err != nil || dropped.PendingEmail != "" || dropped.Email != next {
			t.Fatalf("the current address again = %+v, %v; want the change dropped", dropped, err)
		}
		if _, err := e.as(ada).ConfirmEmail(ctx, e.mail.lastChange(t).Code); !errors.Is(err, fault.ErrEmailCodeInvalid) {
			t.Errorf("the code of a dropped change: %v, want ErrEmailCodeInvalid", err)
		}
	})
}

// invitedOnly is a Notifier without EmailChangeNotifier.
type invitedOnly struct{}

func (invitedOnly) Invited(context.Context, provisioning.Invitation) error { return nil }

// Without an EmailChangeNotifier nobody can deliver a code: a user's own
// change of address is refused, with the rest of the call; the host's
// System.VerifyEmail still changes it.
func TestEmailChangeWithoutNotifier(t *testing.T) {
	for name, n := range map[string]provisioning.Notifier{"no notifier": nil, "invitations only": invitedOnly{}} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, provisioning.WithNotifier(n))
			u := e.user(t, "ada@example.com")
			unchanged := e.userUnchanged(t, u.ID)
			next, first := "ada.new@example.com", "Renamed"
			_, err := e.as(u).UpdateCurrentUser(ctx, user.Update{Email: &next, FirstName: &first})
			wantErr(t, "an email change without a way to send its code", err, fault.ErrEmailChangeUnavailable, "email")
			unchanged()
			got, err := e.p.System().VerifyEmail(ctx, u.ID, " Ada.New@Example.com ")
			if err != nil || got.Email != next || !got.EmailVerifiedAt.Equal(e.clock.Now()) {
				t.Fatalf("VerifyEmail = %+v, %v; want %s, verified now", got, err, next)
			}
		})
	}
}

// System.VerifyEmail: the address becomes the user's, verified, and a
// pending change is dropped; another user's address, an unknown user and
// an invalid address change nothing.
func TestVerifyEmail(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ada, bob := e.unverifiedUser(t, "ada@example.com"), e.user(t, "bob@example.com")
	next := "ada.next@example.com"
	if _, err := e.as(ada).UpdateCurrentUser(ctx, user.Update{Email: &next}); err != nil {
		t.Fatal(err)
	}
	code := e.mail.lastChange(t).Code
	unchanged := e.userUnchanged(t, ada.ID)
	_, err := e.p.System().VerifyEmail(ctx, ada.ID, bob.Email)
	wantErr(t, "VerifyEmail of another user's address", err, fault.ErrAlreadyExists, "email")
	_, err = e.p.System().VerifyEmail(ctx, ada.ID, "not an address")
	wantErr(t, "VerifyEmail of an invalid address", err, fault.ErrInvalid, "email")
	unchanged()
	_, err = e.p.System().VerifyEmail(ctx, "01nosuchuser0000000000000", ada.Email)
	wantErr(t, "VerifyEmail of an unknown user", err, fault.ErrNotFound)

	got, err := e.p.System().VerifyEmail(ctx, ada.ID, ada.Email)
	if err != nil || got.Email != ada.Email || !got.EmailVerified() || got.PendingEmail != "" {
		t.Fatalf("VerifyEmail of the current address = %+v, %v; want it verified, the change dropped", got, err)
	}
	if _, err := e.as(ada).ConfirmEmail(ctx, code); !errors.Is(err, fault.ErrEmailCodeInvalid) {
		t.Errorf("the code of the dropped change: %v, want ErrEmailCodeInvalid", err)
	}
	versions := e.count(t, "provisioning_versions", "resource_id = ?", ada.ID)
	if _, err := e.p.System().VerifyEmail(ctx, ada.ID, ada.Email); err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, "provisioning_versions", "resource_id = ?", ada.ID); n != versions {
		t.Errorf("verifying a verified address again wrote %d versions", n-versions)
	}
}

// Both invitation paths accept only for a verified address, and an
// invitation of an unverified user's address waits for it instead of
// making the user a member at once.
func TestInvitationsNeedVerifiedAddress(t *testing.T) {
	onBackends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		owner := e.user(t, "owner@example.com")
		org, _, ro := e.org(t, owner, "Blue")
		u := e.unverifiedUser(t, "in@example.com")
		m, err := e.as(owner).Invite(ctx, membership.Invite{OrganizationID: org.ID, UserEmail: u.Email, RoleID: ro.ID})
		if err != nil || m.Status != membership.Pending || m.UserID != "" {
			t.Fatalf("Invite of an unverified user's address = %+v, %v; want a pending invitation", m, err)
		}
		token := e.mail.last(t).Token
		if token == "" {
			t.Fatal("the invitation of an unverified user's address has no token")
		}
		many, err := e.as(owner).InviteMany(ctx, org.ID, []membership.Invite{{UserEmail: e.unverifiedUser(t, "many@example.com").Email, RoleID: ro.ID}})
		if err != nil || many[0].Err != nil || many[0].Membership.Status != membership.Pending {
			t.Fatalf("InviteMany of an unverified user's address = %+v, %v; want a pending invitation", many, err)
		}

		before := e.fingerprint(t)
		versions := e.count(t, "provisioning_versions", "1 = 1")
		_, err = e.as(u).AcceptInvitation(ctx, token)
		wantErr(t, "AcceptInvitation with an unverified address", err, fault.ErrEmailUnverified)
		_, err = e.as(u).AcceptPendingInvitations(ctx)
		wantErr(t, "AcceptPendingInvitations with an unverified address", err, fault.ErrEmailUnverified)
		assertUnchanged(t, e, before)
		if n := e.count(t, "provisioning_versions", "1 = 1"); n != versions {
			t.Errorf("refused acceptances wrote %d versions", n-versions)
		}
		if got, err := e.as(owner).GetMembership(ctx, m.ID); err != nil || got.Status != membership.Pending {
			t.Fatalf("the invitation after refused acceptances = %+v, %v; want it pending", got, err)
		}

		// Once the host has verified the address, the same call works.
		if _, err := e.p.System().VerifyEmail(ctx, u.ID, u.Email); err != nil {
			t.Fatal(err)
		}
		accepted, err := e.as(u).AcceptPendingInvitations(ctx)
		if err != nil || len(accepted) != 1 || accepted[0].ID != m.ID || accepted[0].Status != membership.Active {
			t.Fatalf("AcceptPendingInvitations once verified = %+v, %v; want the invitation active", accepted, err)
		}
	})
}

// The paths that make an existing user a member by id refuse a user whose
// address is not verified: the owner's upsert (with or without a pending
// invitation of the address) and AddMember.
func TestGrantsToUnverifiedUserRefused(t *testing.T) {
	onBackends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		owner := e.user(t, "owner@example.com")
		org, _, ro := e.org(t, owner, "Blue")
		fresh, invited := e.unverifiedUser(t, "fresh@example.com"), e.unverifiedUser(t, "invited@example.com")
		if _, err := e.as(owner).Invite(ctx, membership.Invite{OrganizationID: org.ID, UserEmail: invited.Email, RoleID: ro.ID}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			call func() error
		}{
			{"UpsertMembership of a non-member", func() error {
				_, _, err := e.as(owner).UpsertMembership(ctx, membership.Upsert{OrganizationID: org.ID, UserID: fresh.ID, RoleIDs: []string{ro.ID}})
				return err
			}},
			{"UpsertMembership over a pending invitation", func() error {
				_, _, err := e.as(owner).UpsertMembership(ctx, membership.Upsert{OrganizationID: org.ID, UserID: invited.ID, RoleIDs: []string{ro.ID}})
				return err
			}},
			{"AddMember", func() error {
				_, err := e.as(owner).AddMember(ctx, membership.Add{OrganizationID: org.ID, UserID: fresh.ID})
				return err
			}},
		}
		for _, tt := range tests {
			before := e.fingerprint(t)
			versions := e.count(t, "provisioning_versions", "1 = 1")
			wantErr(t, tt.name, tt.call(), fault.ErrEmailUnverified)
			assertUnchanged(t, e, before)
			if n := e.count(t, "provisioning_versions", "1 = 1"); n != versions {
				t.Errorf("%s: refused, wrote %d versions", tt.name, n-versions)
			}
		}
	})
}

// failingChanges is an EmailChangeNotifier that fails.
type failingChanges struct{ invitedOnly }

func (failingChanges) EmailChangeRequested(context.Context, provisioning.EmailChange) error {
	return errors.New("smtp down")
}

// The code, and its hash, appear in no version and no log line: only the
// addresses do.
func TestEmailChangeCodeNeverRecorded(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	e := newEnv(t, provisioning.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	u := e.user(t, "ada@example.com")
	next := "ada.new@example.com"
	if _, err := e.as(u).UpdateCurrentUser(ctx, user.Update{Email: &next}); err != nil {
		t.Fatal(err)
	}
	code := e.mail.lastChange(t).Code
	if _, err := e.as(u).ConfirmEmail(ctx, code); err != nil {
		t.Fatal(err)
	}
	failing := newEnvOn(t, e.db, provisioning.WithNotifier(failingChanges{}), provisioning.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	again := "ada.again@example.com"
	if _, err := failing.as(u).UpdateCurrentUser(ctx, user.Update{Email: &again}); err != nil {
		t.Fatalf("a failing notifier: %v, want the change recorded anyway", err)
	}
	hash, err := e.store.Users().PendingEmailCodeHash(ctx, u.ID)
	if err != nil || hash == nil {
		t.Fatalf("PendingEmailCodeHash = %x, %v", hash, err)
	}
	var changes []string
	if err := e.db.NewSelect().TableExpr("provisioning_versions").Column("changes").Where("resource_id = ?", u.ID).Scan(ctx, &changes); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(changes, "\n")
	for _, want := range []string{`"pending_email"`, next, again, `"email_verified_at"`} {
		if !strings.Contains(all, want) {
			t.Errorf("the user's versions lack %s:\n%s", want, all)
		}
	}
	for _, secret := range []string{code, hex.EncodeToString(sha(code)), hex.EncodeToString(hash)} {
		if strings.Contains(all, secret) || strings.Contains(logs.String(), secret) {
			t.Errorf("a code or its hash was recorded:\nversions %s\nlogs %s", all, logs.String())
		}
	}
	if !strings.Contains(logs.String(), "notifier failed") {
		t.Errorf("the failing notifier was not logged: %s", logs.String())
	}
}

// Another member reads a user without the address the user has not
// confirmed; the user reads it.
func TestPendingEmailIsTheUsersOwn(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	next := "reader.next@example.com"
	if _, err := w.as(w.reader).UpdateCurrentUser(ctx, user.Update{Email: &next}); err != nil {
		t.Fatal(err)
	}
	if me, err := w.as(w.reader).GetUser(ctx, w.reader.ID); err != nil || me.PendingEmail != next {
		t.Fatalf("the user's own read = %+v, %v; want the pending address", me, err)
	}
	other, err := w.as(w.owner).GetUser(ctx, w.reader.ID)
	if err != nil || other.PendingEmail != "" || !other.PendingEmailExpiresAt.IsZero() {
		t.Fatalf("another member's read = %+v, %v; want no pending address", other, err)
	}
}
