package bunstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/storage/bunstore"
	"github.com/provisionkit/provisioning/storage/storagetest"
	"github.com/provisionkit/provisioning/token"
)

// TestTokens drives token.Issuer over the bun token store on every backend:
// a token resolves to its principal until it expires, is stored hashed,
// can be revoked, and a secret is unique.
func TestTokens(t *testing.T) {
	for name, open := range storagetest.Backends() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			store, err := bunstore.New(open(t))
			if err != nil {
				t.Fatal(err)
			}
			if err := store.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
			iss := token.NewIssuer(store.Tokens(), func() time.Time { return now })
			ada := access.User("u-ada")

			secret, tok, err := iss.Issue(ctx, ada, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if tok.Hash != token.Hash(secret) || tok.Hash == secret {
				t.Fatalf("stored hash %q; want the sha256 of the secret, never the secret", tok.Hash)
			}
			got, err := iss.Resolve(ctx, secret)
			if err != nil || got != ada {
				t.Fatalf("Resolve = %+v, %v; want %+v", got, err, ada)
			}
			if _, err := iss.IssueSecret(ctx, secret, access.User("u-bob"), time.Hour); !errors.Is(err, fault.ErrAlreadyExists) {
				t.Fatalf("IssueSecret with a taken secret = %v; want ErrAlreadyExists", err)
			}
			if _, err := iss.IssueSecret(ctx, "a-user-token-with-a-secret", access.Principal{Kind: access.KindUser, ID: "u-bob", SecretID: "s1"}, time.Hour); fault.KindOf(err) != fault.Invalid {
				t.Fatalf("IssueSecret of a user with a client secret = %v; want invalid", err)
			}
			for _, bad := range []string{"", "short", secret + "x", "pvt_" + string(make([]byte, 40))} {
				if _, err := iss.Resolve(ctx, bad); !errors.Is(err, fault.ErrUnauthenticated) {
					t.Errorf("Resolve(%q) = %v; want ErrUnauthenticated", bad, err)
				}
			}

			now = now.Add(time.Hour)
			if _, err := iss.Resolve(ctx, secret); !errors.Is(err, fault.ErrUnauthenticated) {
				t.Fatalf("Resolve after expiry = %v; want ErrUnauthenticated", err)
			}
			fixed, err := iss.IssueSecret(ctx, "a-fixed-script-token-0001", access.User("u-bob"), time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if n, err := iss.Sweep(ctx); err != nil || n != 1 {
				t.Fatalf("Sweep = %d, %v; want the 1 expired token", n, err)
			}
			if _, err := store.Tokens().Find(ctx, fixed.Hash); err != nil {
				t.Fatalf("Sweep removed a live token: %v", err)
			}
			if err := iss.Revoke(ctx, "a-fixed-script-token-0001"); err != nil {
				t.Fatal(err)
			}
			if _, err := iss.Resolve(ctx, "a-fixed-script-token-0001"); !errors.Is(err, fault.ErrUnauthenticated) {
				t.Fatalf("Resolve after Revoke = %v; want ErrUnauthenticated", err)
			}
			if err := iss.Revoke(ctx, "a-fixed-script-token-0001"); !errors.Is(err, fault.ErrNotFound) {
				t.Fatalf("second Revoke = %v; want ErrNotFound", err)
			}
		})
	}
}
