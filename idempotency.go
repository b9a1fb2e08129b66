package provisioning

import (
	"context"
	"errors"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
)

// Idempotency keys. A call whose commit could not be confirmed fails with
// fault.ErrCommitUnknown: it may have happened. Calls that change or
// delete, and creations with a natural key (an invitation's email, a
// member's user, a permission's subject, a provider's name), are safe to
// retry as they are: a retry changes nothing more or is refused as a
// conflict. The creations without one (organizations, roles, profiles, API
// credentials) take an idempotency key instead: a retry with the same key
// by the same principal returns what the first call created, without
// creating it again.

type idempotencyKey struct{}

// WithIdempotencyKey returns a context whose creation calls (CreateOrganization,
// CreateRole, CreateProfile, CreateCredential) are idempotent under key:
// the first one that commits creates, a later one with the same key by the
// same principal returns the same resource. A key used for another
// operation is refused (fault.Invalid on idempotency_key). Keys are 1 to
// 255 bytes without control characters; pick a fresh random one per
// intended creation (a UUID), not per attempt.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idempotencyKey{}, key)
}

// IdempotencyKey returns the idempotency key of ctx, or "".
func IdempotencyKey(ctx context.Context) string {
	key, _ := ctx.Value(idempotencyKey{}).(string)
	return key
}

// replayed returns the id of the resource that op created earlier in
// orgID ("" for an organization itself) under ctx's idempotency key, ""
// when there is none (or no key). Keys are scoped by principal and
// organization: the same key in another organization is another key, so a
// replay never returns what the caller may no longer see. Call it in the
// creation's transaction, after authorizing in orgID.
func (s *Session) replayed(ctx context.Context, op, orgID string) (string, error) {
	key, ok := ctx.Value(idempotencyKey{}).(string)
	if !ok {
		return "", nil
	}
	if err := resource.CheckIdempotencyKey(key); err != nil {
		return "", err
	}
	was, id, err := s.p.b.IdempotencyKeys().Find(ctx, s.keyOwner(orgID), key)
	switch {
	case fault.KindOf(err) == fault.NotFound:
		return "", nil
	case err != nil:
		return "", fault.Wrap(op, err)
	case was != op:
		return "", fault.InvalidField(op, "idempotency_key", "taken", "was used for another operation")
	}
	return id, nil
}

// remember records, in the creation's transaction, that op created id in
// orgID under ctx's idempotency key. A concurrent call that took the key
// first makes this one retry, and the retry finds what that one created.
func (s *Session) remember(ctx context.Context, op, orgID, id string) error {
	key, ok := ctx.Value(idempotencyKey{}).(string)
	if !ok {
		return nil
	}
	err := s.p.b.IdempotencyKeys().Put(ctx, s.keyOwner(orgID), key, op, id, s.now())
	if errors.Is(err, fault.ErrAlreadyExists) {
		return fault.E(op, fault.Busy, err)
	}
	return fault.Wrap(op, err)
}

// keyOwner names the scope of keys: the principal, in one organization.
func (s *Session) keyOwner(orgID string) string {
	return string(s.pr.Kind) + ":" + s.pr.ID + "@" + orgID
}

// replay loads, with get, the resource id that a keyed creation made
// earlier; err is replayed's error, returned as is.
func replay[T any](ctx context.Context, op, id string, err error, get func(context.Context, string) (*T, error)) (*T, error) {
	if err != nil {
		return nil, err
	}
	v, err := get(ctx, id)
	return v, fault.Wrap(op, err)
}
