package provisioning_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/storage/storagetest"
	"github.com/provisionkit/provisioning/token"
)

// secretIDOf returns the id of the secret of credential credID whose hash
// is that of plain.
func secretIDOf(t testing.TB, e *env, credID, plain string) string {
	t.Helper()
	secrets, err := e.store.Credentials().Secrets(context.Background(), credID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if s.Hash == credential.HashSecret(plain) {
			return s.ID
		}
	}
	t.Fatalf("credential %s has no such secret", credID)
	return ""
}

// TestCredentialTokensEndWithTheCredential: a bearer token issued to an API
// credential (Authenticate, then token.Issuer.Issue) stops working in every
// process from the moment the credential is deleted or expires, or the
// secret it was issued under ends (at once, or at the end of a rotation's
// overlap); a token of the new secret works. Process B resolves what
// process A issued and changed.
func TestCredentialTokensEndWithTheCredential(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// giveEnd ends the credential or its secret on a, with clocks that advance together.
		giveEnd func(t *testing.T, a *env, owner *provisioning.Session, is *credential.Issued, advance func(time.Duration)) *credential.Issued
	}{
		{"deleted", func(t *testing.T, a *env, owner *provisioning.Session, is *credential.Issued, _ func(time.Duration)) *credential.Issued {
			if err := owner.DeleteCredential(ctx, is.Credential.ID); err != nil {
				t.Fatal(err)
			}
			if n := a.count(t, "provisioning_tokens", "principal_id = ?", is.Credential.ID); n != 0 {
				t.Errorf("%d tokens of the deleted credential are left; want them deleted with it", n)
			}
			return nil
		}},
		{"rotated without overlap", func(t *testing.T, _ *env, owner *provisioning.Session, is *credential.Issued, _ func(time.Duration)) *credential.Issued {
			next, err := owner.RotateCredential(ctx, is.Credential.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			return next
		}},
		{"rotated, after the overlap", func(t *testing.T, _ *env, owner *provisioning.Session, is *credential.Issued, advance func(time.Duration)) *credential.Issued {
			next, err := owner.RotateCredential(ctx, is.Credential.ID, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			advance(time.Hour - time.Microsecond)
			return next
		}},
		{"expired", func(t *testing.T, a *env, owner *provisioning.Session, is *credential.Issued, advance func(time.Duration)) *credential.Issued {
			end := a.clock.Now().Add(time.Hour)
			if _, err := owner.UpdateCredential(ctx, is.Credential.ID, credential.Update{ExpiresAt: &end}); err != nil {
				t.Fatal(err)
			}
			advance(time.Hour - time.Microsecond)
			return nil
		}},
	}
	for name, open := range storagetest.Backends() {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			a, b := newEnvOn(t, db), newEnvOn(t, db)
			issA, issB := token.NewIssuer(a.store.Tokens(), a.clock.Now), token.NewIssuer(b.store.Tokens(), b.clock.Now)
			u := a.user(t, "owner@example.com")
			org, admin, _ := a.org(t, u, "Acme")
			owner := a.as(u)
			login := func(t *testing.T, is *credential.Issued) string {
				t.Helper()
				p, err := a.p.Authenticate(ctx, is.Credential.ClientID, is.ClientSecret)
				if err != nil {
					t.Fatal(err)
				}
				secret, _, err := issA.Issue(ctx, p, 24*time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				got, err := issB.Resolve(ctx, secret)
				if err != nil || got.Kind != p.Kind || got.ID != is.Credential.ID || got.SecretID != secretIDOf(t, a, is.Credential.ID, is.ClientSecret) {
					t.Fatalf("Resolve of a fresh token = %+v, %v; want the credential with the secret it logged in with", got, err)
				}
				return secret
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					is := newCred(t, owner, org.ID, credential.Integration, admin.ID)
					old := login(t, is)
					advance := func(d time.Duration) {
						a.clock.Advance(d)
						b.clock.Advance(d)
						if _, err := issB.Resolve(ctx, old); err != nil {
							t.Fatalf("the token ended %s early: %v", time.Microsecond, err)
						}
						a.clock.Advance(time.Microsecond)
						b.clock.Advance(time.Microsecond)
					}
					next := tt.giveEnd(t, a, owner, is, advance)
					for _, iss := range []*token.Issuer{issB, issA} {
						if p, err := iss.Resolve(ctx, old); !errors.Is(err, fault.ErrUnauthenticated) {
							t.Errorf("Resolve of the old token = %+v, %v; want fault.ErrUnauthenticated", p, err)
						}
					}
					if next != nil {
						login(t, next) // the new secret's tokens work
					}
				})
			}
		})
	}
}

// TestUserTokensEndWithTheLastMembership: with
// WithUserTokensEndingWithLastMembership, a user's tokens end when their
// last active membership is deleted, in every process, and not before;
// without it they work until they expire; the option needs a backend that
// keeps tokens.
func TestUserTokensEndWithTheLastMembership(t *testing.T) {
	ctx := context.Background()
	for name, open := range storagetest.Backends() {
		t.Run(name, func(t *testing.T) {
			for _, tt := range []struct {
				name     string
				giveOpts []provisioning.Option
				wantEnd  bool
			}{
				{"with the option", []provisioning.Option{provisioning.WithUserTokensEndingWithLastMembership()}, true},
				{"without it", nil, false},
			} {
				t.Run(tt.name, func(t *testing.T) {
					db := open(t)
					a, b := newEnvOn(t, db, tt.giveOpts...), newEnvOn(t, db)
					iss := token.NewIssuer(b.store.Tokens(), b.clock.Now)
					o := a.user(t, "owner@example.com")
					first, _, ro := a.org(t, o, "First")
					second, _, ro2 := a.org(t, o, "Second")
					m := a.user(t, "member@example.com")
					m1 := a.member(t, a.as(o), first.ID, m, ro.ID)
					m2 := a.member(t, a.as(o), second.ID, m, ro2.ID)
					secret, _, err := iss.Issue(ctx, provisioning.User(m.ID), 24*time.Hour)
					if err != nil {
						t.Fatal(err)
					}
					ownerSecret, _, err := iss.Issue(ctx, provisioning.User(o.ID), 24*time.Hour)
					if err != nil {
						t.Fatal(err)
					}
					if err := a.as(o).DeleteMembership(ctx, m1.ID); err != nil {
						t.Fatal(err)
					}
					if _, err := iss.Resolve(ctx, secret); err != nil {
						t.Fatalf("the token ended with a membership left: %v", err)
					}
					if err := a.as(m).DeleteMembership(ctx, m2.ID); err != nil { // the member leaves
						t.Fatal(err)
					}
					_, err = iss.Resolve(ctx, secret)
					if ended := errors.Is(err, fault.ErrUnauthenticated); ended != tt.wantEnd {
						t.Errorf("Resolve after the last membership = %v; want ended %v", err, tt.wantEnd)
					}
					if _, err := iss.Resolve(ctx, ownerSecret); err != nil {
						t.Errorf("the owner's token ended: %v", err)
					}
				})
			}
		})
	}
	t.Run("needs a token backend", func(t *testing.T) {
		e := newEnv(t)
		_, err := provisioning.New(struct{ provisioning.Backend }{e.store}, provisioning.WithUserTokensEndingWithLastMembership())
		if err == nil || !strings.Contains(err.Error(), "TokenBackend") {
			t.Fatalf("New over a backend without tokens = %v; want an error naming TokenBackend", err)
		}
	})
}
