package storagetest

import (
	"testing"
	"time"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/token"
)

// tokenCases are the subtests of the token store.
var tokenCases = []testCase{
	{"RoundTrip", testTokenRoundTrip},
	{"EndsWithItsCredential", testTokenEndsWithCredential},
	{"EndsWithItsSecret", testTokenEndsWithSecret},
	{"DeletePrincipal", testTokenDeletePrincipal},
}

// newToken stores a token of p that expires at t0 + 1 day.
func (e *env) newToken(tb testing.TB, p access.Principal) *token.Token {
	tb.Helper()
	id := e.id()
	t := &token.Token{ID: id, Hash: token.Hash("token-" + id), Principal: p, CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}
	must(tb, e.s.Tokens().Create(tb.Context(), t))
	return t
}

// credentialPrincipal returns the principal of c, logged in with its secret secretID.
func credentialPrincipal(c *credential.Credential, secretID string) access.Principal {
	return access.Principal{Kind: access.KindCredential, ID: c.ID, SecretID: secretID}
}

// firstSecret returns the id of a credential's first secret.
func (e *env) firstSecret(tb testing.TB, credID string) string {
	tb.Helper()
	secrets, err := e.s.Credentials().Secrets(tb.Context(), credID)
	must(tb, err)
	if len(secrets) == 0 {
		tb.Fatalf("credential %s has no secret", credID)
	}
	return secrets[0].ID
}

// testTokenRoundTrip: a token comes back by its hash with its principal and
// the secret it was issued under.
func testTokenRoundTrip(t *testing.T, e *env) {
	tn := e.newTenant(t)
	c := e.newCredential(t, tn.org.ID, tn.admin.ID)
	for _, p := range []access.Principal{access.User(tn.owner.ID), credentialPrincipal(c, e.firstSecret(t, c.ID)),
		{Kind: access.KindCredential, ID: c.ID}} {
		give := e.newToken(t, p)
		got, err := e.s.Tokens().Find(t.Context(), give.Hash)
		must(t, err)
		wantEqual(t, "token", *got, *give)
	}
	_, err := e.s.Tokens().Find(t.Context(), token.Hash("unknown"))
	wantIs(t, "Find of an unknown hash", err, fault.ErrNotFound)
}

// testTokenEndsWithCredential: the token of a revoked credential, or of one
// that does not exist, is not found, even though its row is there; one of an
// expiring credential expires with it.
func testTokenEndsWithCredential(t *testing.T, e *env) {
	tn := e.newTenant(t)
	revoked := e.newCredential(t, tn.org.ID, tn.admin.ID)
	withSecret := e.newToken(t, credentialPrincipal(revoked, e.firstSecret(t, revoked.ID)))
	withoutSecret := e.newToken(t, credentialPrincipal(revoked, ""))
	must(t, e.s.Credentials().Revoke(t.Context(), revoked.ID, t0.Add(time.Minute)))
	for _, tok := range []*token.Token{withSecret, withoutSecret, e.newToken(t, credentialPrincipal(&credential.Credential{ID: e.id()}, ""))} {
		_, err := e.s.Tokens().Find(t.Context(), tok.Hash)
		wantIs(t, "Find of a token of a revoked or missing credential", err, fault.ErrNotFound)
	}

	end := t0.Add(time.Hour)
	expiring := e.newCredential(t, tn.org.ID, tn.admin.ID, func(c *credential.Credential) { c.ExpiresAt = end.In(zone) })
	tok := e.newToken(t, credentialPrincipal(expiring, e.firstSecret(t, expiring.ID)))
	got, err := e.s.Tokens().Find(t.Context(), tok.Hash)
	must(t, err)
	wantEqual(t, "ExpiresAt of an expiring credential's token", got.ExpiresAt, end)

	user := e.newToken(t, access.User(expiring.ID)) // a user's token does not join credentials
	got, err = e.s.Tokens().Find(t.Context(), user.Hash)
	must(t, err)
	wantEqual(t, "ExpiresAt of a user's token", got.ExpiresAt, user.ExpiresAt)
}

// testTokenEndsWithSecret: a token issued under a secret expires no later
// than the secret; one naming a secret of another credential, or none that
// exists, is not found.
func testTokenEndsWithSecret(t *testing.T, e *env) {
	tn := e.newTenant(t)
	c := e.newCredential(t, tn.org.ID, tn.admin.ID)
	first := e.firstSecret(t, c.ID)
	second := e.secretValue(c.ID, "second")
	must(t, e.s.Credentials().AddSecret(t.Context(), second))
	old, next := e.newToken(t, credentialPrincipal(c, first)), e.newToken(t, credentialPrincipal(c, second.ID))
	end := t0.Add(time.Hour)
	must(t, e.s.Credentials().ExpireSecret(t.Context(), first, end.In(zone)))
	got, err := e.s.Tokens().Find(t.Context(), old.Hash)
	must(t, err)
	wantEqual(t, "ExpiresAt of the ended secret's token", got.ExpiresAt, end)
	got, err = e.s.Tokens().Find(t.Context(), next.Hash)
	must(t, err)
	wantEqual(t, "ExpiresAt of the new secret's token", got.ExpiresAt, next.ExpiresAt)

	other := e.newCredential(t, tn.org.ID, tn.admin.ID)
	for _, p := range []access.Principal{credentialPrincipal(c, e.firstSecret(t, other.ID)), credentialPrincipal(c, e.id())} {
		_, err := e.s.Tokens().Find(t.Context(), e.newToken(t, p).Hash)
		wantIs(t, "Find of a token naming a secret the credential does not have", err, fault.ErrNotFound)
	}
}

// testTokenDeletePrincipal: DeletePrincipal removes the tokens of one
// principal, of its kind, and no other.
func testTokenDeletePrincipal(t *testing.T, e *env) {
	tn := e.newTenant(t)
	c := e.newCredential(t, tn.org.ID, tn.admin.ID)
	gone := []*token.Token{e.newToken(t, credentialPrincipal(c, e.firstSecret(t, c.ID))), e.newToken(t, credentialPrincipal(c, ""))}
	kept := []*token.Token{e.newToken(t, access.User(c.ID)), e.newToken(t, access.User(tn.owner.ID))}
	n, err := e.s.Tokens().DeletePrincipal(t.Context(), access.Principal{Kind: access.KindCredential, ID: c.ID})
	must(t, err)
	wantEqual(t, "tokens deleted", n, len(gone))
	for _, tok := range gone {
		_, err := e.s.Tokens().Find(t.Context(), tok.Hash)
		wantIs(t, "Find of a deleted principal's token", err, fault.ErrNotFound)
	}
	for _, tok := range kept {
		_, err := e.s.Tokens().Find(t.Context(), tok.Hash)
		must(t, err)
	}
}
