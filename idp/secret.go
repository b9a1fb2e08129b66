package idp

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/provisionkit/provisioning/fault"
)

// KeySize is the size of a key: AES-256.
const KeySize = 32

// NonceSize is the size of a GCM nonce: 96 bits, random for each sealing.
const NonceSize = 12

// FieldClientSecret is the field name bound into a sealed client secret.
const FieldClientSecret = "client_secret"

// KeyProvider supplies the keys that seal secrets: 32-byte AES-256 keys, each
// named by an id that is stored next to what it sealed. Keys live with the
// host (environment, KMS, vault), never in the database or in code.
// Implementations must be safe for concurrent use.
type KeyProvider interface {
	// CurrentKey returns the key new secrets are sealed with, and its id.
	CurrentKey(ctx context.Context) (id string, key []byte, err error)
	// Key returns the key of the given id, current or retired, for opening.
	Key(ctx context.Context, id string) ([]byte, error)
}

// ErrNoKeyProvider: the Provisioner was built without a KeyProvider, so no
// secret can be sealed or opened. There is no default key.
var ErrNoKeyProvider = errors.New("idp: no KeyProvider configured (provisioning.WithKeyProvider): client secrets cannot be sealed or opened")

// Binding is what a sealed value belongs to. It is authenticated with the
// ciphertext, so that a ciphertext copied to another organization, provider
// or field does not open.
type Binding struct {
	OrganizationID string
	ProviderID     string
	Field          string
}

// aad is the additional authenticated data of a sealing: a version tag, then
// the organization id, the provider id, the field and the key id, each
// prefixed with its length so that no two bindings encode alike.
func (b Binding) aad(keyID string) []byte {
	out := []byte("provisioning/idp/v1")
	for _, part := range []string{b.OrganizationID, b.ProviderID, b.Field, keyID} {
		out = binary.BigEndian.AppendUint32(out, uint32(len(part)))
		out = append(out, part...)
	}
	return out
}

// Seal encrypts plaintext with AES-256-GCM under the current key of kp, with
// a fresh random nonce, binding it to b.
func Seal(ctx context.Context, kp KeyProvider, b Binding, plaintext []byte) (Sealed, error) {
	const op = "idp.Seal"
	if kp == nil {
		return Sealed{}, fault.E(op, fault.Internal, ErrNoKeyProvider)
	}
	id, key, err := kp.CurrentKey(ctx)
	if err != nil {
		return Sealed{}, fault.E(op, fault.Internal, fmt.Errorf("current key: %w", err))
	}
	if err := checkKeyID(id); err != nil {
		return Sealed{}, fault.E(op, fault.Internal, err)
	}
	aead, err := newAEAD(id, key)
	if err != nil {
		return Sealed{}, fault.E(op, fault.Internal, err)
	}
	nonce := make([]byte, NonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return Sealed{}, fault.E(op, fault.Internal, err)
	}
	return Sealed{KeyID: id, Nonce: nonce, Ciphertext: aead.Seal(nil, nonce, plaintext, b.aad(id))}, nil
}

// Open decrypts a sealed value bound to b. A value that was altered, or
// sealed for another organization, provider or field, fails with
// fault.ErrSecretCorrupt.
func Open(ctx context.Context, kp KeyProvider, b Binding, s Sealed) ([]byte, error) {
	const op = "idp.Open"
	if kp == nil {
		return nil, fault.E(op, fault.Internal, ErrNoKeyProvider)
	}
	if len(s.Nonce) != NonceSize || len(s.Ciphertext) == 0 || checkKeyID(s.KeyID) != nil {
		return nil, fault.E(op, fault.Internal, fault.ErrSecretCorrupt)
	}
	key, err := kp.Key(ctx, s.KeyID)
	if err != nil {
		return nil, fault.E(op, fault.Internal, fmt.Errorf("key %q: %w", s.KeyID, err))
	}
	aead, err := newAEAD(s.KeyID, key)
	if err != nil {
		return nil, fault.E(op, fault.Internal, err)
	}
	out, err := aead.Open(nil, s.Nonce, s.Ciphertext, b.aad(s.KeyID))
	if err != nil {
		return nil, fault.E(op, fault.Internal, fault.ErrSecretCorrupt)
	}
	return out, nil
}

// UnreadableError lists the providers whose secret a re-encryption could
// not open and left as it was, under its old key: a sealed value that was
// altered or copied (fault.ErrSecretCorrupt), or one whose key the
// KeyProvider does not hold. Errs says why, for each id in IDs.
type UnreadableError struct {
	IDs  []string // by id
	Errs []error  // Errs[i] is why IDs[i] did not open
}

// Error names the first few providers; IDs holds them all.
func (e *UnreadableError) Error() string {
	const shown = 10
	ids := strings.Join(e.IDs[:min(len(e.IDs), shown)], ", ")
	if len(e.IDs) > shown {
		ids += fmt.Sprintf(" and %d more", len(e.IDs)-shown)
	}
	return fmt.Sprintf("idp: %d client secrets do not open: %s", len(e.IDs), ids)
}

// Unwrap returns the error of each provider, so that errors.Is finds
// fault.ErrSecretCorrupt.
func (e *UnreadableError) Unwrap() []error { return e.Errs }

func newAEAD(id string, key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("key %q has %d bytes, want %d", id, len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// checkKeyID checks that a key id is 1 to 64 characters of letters, digits,
// '.', '_' and '-'.
func checkKeyID(id string) error {
	if id == "" || len(id) > 64 || strings.IndexFunc(id, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	}) >= 0 {
		return fmt.Errorf("idp: key id %q must be 1 to 64 letters, digits, '.', '_' or '-'", id)
	}
	return nil
}

// NewKey returns a fresh random 32-byte key.
func NewKey() []byte {
	k := make([]byte, KeySize)
	_, _ = rand.Read(k)
	return k
}

// StaticKeys is a KeyProvider over a fixed set of keys held in memory, for
// tests, examples and hosts that load their keys from the environment.
type StaticKeys struct {
	current string
	keys    map[string][]byte
}

var _ KeyProvider = (*StaticKeys)(nil)

// NewStaticKeys returns the keys, sealing with the key named current. Every
// key must have 32 bytes.
func NewStaticKeys(current string, keys map[string][]byte) (*StaticKeys, error) {
	s := &StaticKeys{current: current, keys: make(map[string][]byte, len(keys))}
	for _, id := range slices.Sorted(maps.Keys(keys)) {
		if err := checkKeyID(id); err != nil {
			return nil, err
		}
		if len(keys[id]) != KeySize {
			return nil, fmt.Errorf("idp: key %q has %d bytes, want %d", id, len(keys[id]), KeySize)
		}
		s.keys[id] = slices.Clone(keys[id])
	}
	if _, ok := s.keys[current]; !ok {
		return nil, fmt.Errorf("idp: the current key %q is not among the keys", current)
	}
	return s, nil
}

// ParseStaticKeys reads keys written as "id=base64,id=base64" (standard
// base64 of 32 bytes each), e.g. from an environment variable. The first
// key is the current one; the others only open what they sealed.
func ParseStaticKeys(spec string) (*StaticKeys, error) {
	keys := map[string][]byte{}
	var current string
	for i, part := range strings.Split(spec, ",") {
		id, enc, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("idp: key %d is not id=base64", i+1)
		}
		key, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			return nil, fmt.Errorf("idp: key %q is not standard base64", id)
		}
		if _, dup := keys[id]; dup {
			return nil, fmt.Errorf("idp: key %q appears twice", id)
		}
		keys[id] = key
		if i == 0 {
			current = id
		}
	}
	return NewStaticKeys(current, keys)
}

// CurrentKey implements KeyProvider.
func (s *StaticKeys) CurrentKey(context.Context) (string, []byte, error) {
	return s.current, slices.Clone(s.keys[s.current]), nil
}

// Key implements KeyProvider.
func (s *StaticKeys) Key(_ context.Context, id string) ([]byte, error) {
	k, ok := s.keys[id]
	if !ok {
		return nil, fmt.Errorf("idp: unknown key %q", id)
	}
	return slices.Clone(k), nil
}
