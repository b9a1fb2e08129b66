package resource

import (
	"context"
	"strings"
	"time"

	"github.com/provisionkit/provisioning/fault"
)

// MaxIdempotencyKey bounds an idempotency key, in bytes.
const MaxIdempotencyKey = 255

// CheckIdempotencyKey validates an idempotency key: 1 to 255 bytes, no
// control characters.
func CheckIdempotencyKey(key string) error {
	if key == "" || len(key) > MaxIdempotencyKey || strings.IndexFunc(key, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return fault.InvalidField("idempotency", "idempotency_key", "format",
			"must be 1 to 255 bytes without control characters")
	}
	return nil
}

// KeyStore remembers, per principal, the idempotency keys of the calls that
// created something, with what they created, so that a retried call (after
// an outcome it could not know, fault.ErrCommitUnknown) finds it instead
// of creating it again.
type KeyStore interface {
	// Find returns the operation and the resource id that principal's key
	// recorded, or fault.ErrNotFound.
	Find(ctx context.Context, principal, key string) (op, resourceID string, err error)
	// Put records them in the caller's transaction; a key the principal
	// already used is fault.ErrAlreadyExists.
	Put(ctx context.Context, principal, key, op, resourceID string, at time.Time) error
}
