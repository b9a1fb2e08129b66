package credential

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"hash/crc32"
	"strings"
	"time"
)

// The format of a client secret: SecretPrefix, the mode, then SecretRandomLen
// random base62 digits and a checksum of them, e.g.
//
//	pvk_live_4Hq3...(43 digits)...Zk2f9Q(6 digits of checksum)
//
// The prefix lets secret scanners find leaked secrets; the checksum (CRC-32
// of the random digits, in 6 base62 digits) lets CheckSecret tell a
// well-formed secret from a mistyped one offline.
const (
	SecretPrefix    = "pvk"
	SecretRandomLen = 43 // 43 base62 digits carry 256.03 bits
	checksumLen     = 6  // 62^6 > 2^32
	clientIDLen     = 32 // 190 random bits; not a secret, but not guessable either
	// MaxSecretLen bounds what Authentic hashes; longer input is refused.
	MaxSecretLen = 256
	// HashAlgorithm names the hash that HashSecret stores, before a '$'.
	HashAlgorithm = "sha256"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// unknownHash is compared with when no credential has the client id, so
// that an unknown id costs the same work as a known one.
const unknownHash = HashAlgorithm + "$0000000000000000000000000000000000000000000000000000000000000000"

// randomBase62 returns n uniform base62 digits from crypto/rand.
func randomBase62(n int) string {
	out := make([]byte, 0, n)
	var buf [64]byte
	for len(out) < n {
		_, _ = rand.Read(buf[:]) // never fails (it crashes the program instead)
		for _, b := range buf {
			if b >= 248 { // 248 = 4 × 62: dropping the rest keeps the digits uniform
				continue
			}
			out = append(out, base62[b%62])
			if len(out) == n {
				break
			}
		}
	}
	return string(out)
}

// checksum is the CRC-32 (IEEE) of s in checksumLen base62 digits.
func checksum(s string) string {
	v := crc32.ChecksumIEEE([]byte(s))
	var b [checksumLen]byte
	for i := checksumLen - 1; i >= 0; i-- {
		b[i] = base62[v%62]
		v /= 62
	}
	return string(b[:])
}

// NewSecret returns a fresh client secret for a credential of mode m, in
// the format above. Show it once; store only HashSecret of it.
func NewSecret(m Mode) string {
	r := randomBase62(SecretRandomLen)
	return SecretPrefix + "_" + string(m) + "_" + r + checksum(r)
}

// CheckSecret reports, offline, whether s has the format of a client secret
// and a checksum that matches: a well-formed secret, not a known one.
func CheckSecret(s string) bool {
	rest, ok := strings.CutPrefix(s, SecretPrefix+"_")
	if !ok {
		return false
	}
	mode, body, ok := strings.Cut(rest, "_")
	if !ok || !Mode(mode).Valid() || len(body) != SecretRandomLen+checksumLen {
		return false
	}
	for i := 0; i < len(body); i++ {
		if strings.IndexByte(base62, body[i]) < 0 {
			return false
		}
	}
	return checksum(body[:SecretRandomLen]) == body[SecretRandomLen:]
}

// NewClientID returns a fresh client id: random base62 digits. It is not a
// secret.
func NewClientID() string { return randomBase62(clientIDLen) }

// HashSecret returns the stored form of a secret: "sha256$" and the hex
// SHA-256 digest. The algorithm is kept with the digest so that it can be
// upgraded. A fast hash suffices for 256 random bits.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return HashAlgorithm + "$" + hex.EncodeToString(sum[:])
}

// VerifySecret reports, in constant time, whether secret is the one whose
// stored form is stored.
func VerifySecret(secret, stored string) bool {
	return subtle.ConstantTimeCompare([]byte(HashSecret(secret)), []byte(stored)) == 1
}

// Authentic decides a login: whether secret is a valid secret of c at now,
// and c is neither revoked nor expired. c is nil when no credential has
// the client id: the same steps then run on a stand-in, so that unknown id,
// wrong secret, expired secret, revoked and expired credential cost the
// same work and give the same answer, false. Secrets are compared in
// constant time.
func Authentic(c *Credential, secrets []Secret, secret string, now time.Time) bool {
	_, ok := Match(c, secrets, secret, now)
	return ok
}

// Match decides a login as Authentic does and, when it succeeds, also
// returns the id of the secret that matched: a token issued for the login
// remembers it, so that it ends when that secret does.
func Match(c *Credential, secrets []Secret, secret string, now time.Time) (string, bool) {
	known := c != nil
	if !known {
		c, secrets = &Credential{RevokedAt: now}, []Secret{{Hash: unknownHash}}
	}
	bounded := len(secret) <= MaxSecretLen
	if !bounded {
		secret = ""
	}
	hash := []byte(HashSecret(secret))
	match, matched := 0, -1
	for i, s := range secrets {
		valid := 0
		if s.ValidAt(now) {
			valid = 1
		}
		eq := subtle.ConstantTimeCompare(hash, []byte(s.Hash)) & valid
		matched = subtle.ConstantTimeSelect(eq, i, matched)
		match |= eq
	}
	wellFormed := CheckSecret(secret)
	active := c.ActiveAt(now)
	if !(known && bounded && wellFormed && active && match == 1) {
		return "", false
	}
	return secrets[matched].ID, true
}
