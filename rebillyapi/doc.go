// Package rebillyapi is Rebilly's membership API in plain JSON
// (application/json) over the facade: PUT, GET and DELETE
// /memberships/{organizationId}/{userId}. It holds no business rule and
// mounts nowhere by itself: httpapi.New serves its Routes beside the
// JSON:API endpoints, on the same mux, through the same facade calls made
// as the bearer token's principal, with the same tokens, rate limits, body
// limit and strict decoder (httpapi.DecodeJSON). A host mounts that one
// handler:
//
//	h, err := httpapi.New(p, httpapi.Tokens(issuer))
//	mux.Handle("/", h) // /api/..., /memberships/..., /v1/organizations/...
//
// Errors are RFC 7807 problems (application/problem+json: type, title,
// status, detail, instance, plus code, Rebilly's deprecated error and, for
// invalid input, 422 with invalidFields [{field, message}] naming the
// members in dot notation: allowedIps.2, roleIds, permissions.0; a member
// given twice is 400 DUPLICATE_KEY with the extension member pointer:
// /roleIds). A refusal is 403 (Commerce Layer's API answers 401
// FORBIDDEN), a user or organization that does not exist 404.
//
// PUT is Session.UpsertMembership with the whole writable state:
// allowedIps (null or absent: no restriction; [] is 422), permissions (the
// library's "subject:action" or "*", not Rebilly's operationIds), roleIds
// (required, the primary role first); 201 with Location when it created
// the membership, 200 otherwise (the same state again writes nothing). The
// rules Rebilly does not model (guest, expiry, the member's MFA flag) are
// kept as they are, in the upsert's transaction, never lifted by omission.
// isOwner does not transfer ownership: true on a member who is not the
// owner is 422 on isOwner (the owner uses PATCH
// /api/organizations/{id}/transfer_ownership), false on the owner is 409;
// isDefault, organization, user and unknown members are ignored. A member
// of the wrong type is 422, a body that is not a JSON object 400. DELETE
// of the owner's membership is 409.
package rebillyapi
