// Package token holds bearer tokens: random secrets that name a principal
// (a user or an API credential) until they expire. Only a token's SHA-256
// hash is stored; the secret is shown once, to whoever asked for it.
//
// The HTTP wrapper (httpapi) turns an Authorization: Bearer header into a
// principal with an Issuer; the example server issues tokens for API
// credentials (client credentials grant) and for its first owner.
package token

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
)

// Prefix starts every token the Issuer makes, so that a leaked one is easy
// to recognise.
const Prefix = "pvt_"

// Limits on secrets presented to Resolve or IssueSecret.
const (
	MinSecretLen = 16  // bytes
	MaxSecretLen = 512 // bytes
	hashAlgo     = "sha256$"
)

// Token is a stored bearer token. A token of an API credential ends with
// the credential: when the credential is deleted (revoked) or expires, and,
// when Principal.SecretID names the client secret it was issued under, when
// that secret ends (a rotation's overlap).
type Token struct {
	ID   string
	Hash string // "sha256$<hex digest>" of the secret (see Hash)
	// Principal is whom the token names: its kind and id, and for an API
	// credential the id of its client secret ("" for none).
	Principal access.Principal
	CreatedAt time.Time
	// ExpiresAt is when the token stops working. Store.Find returns the
	// earliest of the token's own expiry, its credential's and its secret's.
	ExpiresAt time.Time
}

// Store is the storage contract for tokens.
type Store interface {
	// Create stores a token; fault.ErrAlreadyExists when its hash is taken.
	Create(ctx context.Context, t *Token) error
	// Find returns the token with this hash, expired or not, its ExpiresAt
	// no later than its credential's and its secret's expiry; fault.ErrNotFound
	// when there is none, and when the token names an API credential that is
	// revoked or gone, or a client secret that is gone. It reads the
	// credential at each call: what another process changed counts at once.
	Find(ctx context.Context, hash string) (*Token, error)
	// Delete removes a token; fault.ErrNotFound when there is none with this id.
	Delete(ctx context.Context, id string) error
	// DeletePrincipal removes every token of a principal (of its kind and id)
	// and reports how many it removed.
	DeletePrincipal(ctx context.Context, p access.Principal) (int, error)
	// DeleteExpired removes the tokens that expired at or before now and
	// reports how many it removed.
	DeleteExpired(ctx context.Context, now time.Time) (int, error)
}

// Hash returns the stored form of a secret.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hashAlgo + hex.EncodeToString(sum[:])
}

// NewSecret returns a fresh secret: Prefix and 256 bits from crypto/rand.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return Prefix + base64.RawURLEncoding.EncodeToString(b)
}

// Issuer issues tokens and resolves them into principals.
type Issuer struct {
	store Store
	now   func() time.Time
}

// NewIssuer returns an Issuer over store. now is the clock (nil: time.Now).
func NewIssuer(store Store, now func() time.Time) *Issuer {
	if now == nil {
		now = time.Now
	}
	return &Issuer{store: store, now: now}
}

// Issue makes a new token for principal that works for ttl, and returns
// its secret (shown this once) with the stored token.
func (i *Issuer) Issue(ctx context.Context, p access.Principal, ttl time.Duration) (string, *Token, error) {
	secret := NewSecret()
	t, err := i.IssueSecret(ctx, secret, p, ttl)
	if err != nil {
		return "", nil, err
	}
	return secret, t, nil
}

// IssueSecret stores secret, chosen by the caller (a script's fixed token),
// as a token for principal that works for ttl. The secret must be between
// MinSecretLen and MaxSecretLen printable ASCII characters. The token of an
// API credential keeps the credential's client secret (p.SecretID, as
// provisioning.Provisioner.Authenticate sets it) and ends with it.
func (i *Issuer) IssueSecret(ctx context.Context, secret string, p access.Principal, ttl time.Duration) (*Token, error) {
	const op = "token.Issue"
	var probs fault.Problems
	if !validSecret(secret) {
		probs.Add("token", "format", "must be 16 to 512 printable ASCII characters")
	}
	if p.Kind != access.KindUser && p.Kind != access.KindCredential || !resource.ValidID(p.ID) {
		probs.Add("principal", "format", "must be a user or an API credential")
	}
	if p.SecretID != "" && (p.Kind != access.KindCredential || !resource.ValidID(p.SecretID)) {
		probs.Add("secret_id", "format", "must be the id of an API credential's client secret")
	}
	if ttl <= 0 {
		probs.Add("ttl", "range", "must be positive")
	}
	if err := probs.Err(op); err != nil {
		return nil, err
	}
	now := i.now().UTC().Truncate(time.Microsecond)
	t := &Token{ID: newID(), Hash: Hash(secret), Principal: access.Principal{Kind: p.Kind, ID: p.ID, SecretID: p.SecretID},
		CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := i.store.Create(ctx, t); err != nil {
		return nil, fault.Wrap(op, err)
	}
	return t, nil
}

// Resolve returns the principal a secret names. An unknown, malformed or
// expired secret is fault.ErrUnauthenticated, the same error in every case;
// so is the token of an API credential that is deleted or expired, or whose
// client secret ended, from the moment it did, in every process (the store
// reads the credential at each call).
func (i *Issuer) Resolve(ctx context.Context, secret string) (access.Principal, error) {
	const op = "token.Resolve"
	if !validSecret(secret) {
		return access.Principal{}, fault.E(op, fault.Unauthenticated, nil)
	}
	t, err := i.store.Find(ctx, Hash(secret))
	switch {
	case fault.KindOf(err) == fault.NotFound:
		return access.Principal{}, fault.E(op, fault.Unauthenticated, nil)
	case err != nil:
		return access.Principal{}, fault.Wrap(op, err)
	case !i.now().Before(t.ExpiresAt):
		return access.Principal{}, fault.E(op, fault.Unauthenticated, nil)
	}
	return t.Principal, nil
}

// Revoke deletes the token of secret; fault.ErrNotFound when there is none.
func (i *Issuer) Revoke(ctx context.Context, secret string) error {
	const op = "token.Revoke"
	if !validSecret(secret) {
		return fault.E(op, fault.NotFound, nil)
	}
	t, err := i.store.Find(ctx, Hash(secret))
	if err != nil {
		return fault.Wrap(op, err)
	}
	return fault.Wrap(op, i.store.Delete(ctx, t.ID))
}

// Sweep deletes the expired tokens and reports how many it deleted.
func (i *Issuer) Sweep(ctx context.Context) (int, error) {
	n, err := i.store.DeleteExpired(ctx, i.now().UTC())
	return n, fault.Wrap("token.Sweep", err)
}

// ValidSecret reports whether s has the shape of a secret that Resolve and
// IssueSecret accept: MinSecretLen to MaxSecretLen printable ASCII
// characters, without spaces.
func ValidSecret(s string) bool { return validSecret(s) }

func validSecret(s string) bool {
	if len(s) < MinSecretLen || len(s) > MaxSecretLen {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r > '~' }) < 0
}

// newID returns a random id of the shape resource.ValidID accepts.
func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "tok_" + hex.EncodeToString(b)
}
