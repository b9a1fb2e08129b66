// Package httpapi serves the Commerce Layer Provisioning API (JSON:API) over
// a provisioning.Provisioner: an http.Handler serving /api/ (and, see
// below, the two other membership APIs of SPEC D).
//
// It holds no business rule. Each request is authenticated by an
// Authenticator (a bearer token → a principal; Tokens adapts the library's
// token store) and served by one facade call made as that principal, so
// authorization, validation and audit are the library's. Errors are mapped
// from fault kinds to statuses in one function: fault.ValidationError →
// 422 with source.pointer per field, NotFound → 404 (also for another
// organization's ids), Forbidden → 401 FORBIDDEN (SPEC C: 401 covers
// insufficient permissions), Unauthenticated → 401 INVALID_TOKEN, Conflict
// → 409 (ErrInUse → 423), Busy → 503, an unknown outcome or an internal
// error → 500, logged once.
//
//	h, err := httpapi.New(p, httpapi.Tokens(issuer), httpapi.WithLogger(log))
//	mux.Handle("/", h) // /api/..., /oauth/token, /memberships/..., /v1/organizations/...
//
// Query parameters: include (dotted paths), fields[type], sort (id and
// created_at, ascending or descending: the library lists by id, which is
// creation order), page[number] and page[size] (10 by default, 25 at
// most), filter[q][<attr>_<predicate>] and filter[<attr>]. Filters are
// mapped onto the library's filter structs through an allowlist: the _eq
// predicate on the attributes each list can filter by (and created_at_gteq
// and created_at_lt on versions). Every other predicate of SPEC C is
// parsed and refused with 400 FILTER_NOT_ALLOWED, never filtered in memory.
//
// The cost of page numbers: the library pages by keyset cursor and counts
// nothing, so a list walks every keyset page of the list (100 rows a
// query) to count meta.record_count and to reach page[number]; it keeps
// only the requested page (descending, the last number×size items).
// Lists without an organization_id filter run over the caller's
// organizations, merged by id. This is linear in the length of the list.
//
// The same handler serves the two other membership APIs of SPEC D, in
// plain JSON (application/json), through the same facade calls, with the
// same bearer tokens, rate limits and body limit; their errors are RFC 7807
// problems (application/problem+json: type, title, status, detail,
// instance, plus code, Rebilly's deprecated error and, for invalid input,
// invalidFields [{field, message}] with the API's field names in dot
// notation: allowedIps.2, roleIds, permissions.0). A refusal is 403 there
// (SPEC C's 401 FORBIDDEN is Commerce Layer's), a user or organization
// that does not exist 404.
//
//   - Rebilly (D.1): PUT, GET and DELETE /memberships/{organizationId}/{userId}.
//     PUT is Session.UpsertMembership with the whole writable state:
//     allowedIps (null or absent: no restriction; [] is 422), permissions
//     (the library's "subject:action" or "*", not Rebilly's operationIds),
//     roleIds (required, the primary role first); 201 with Location when
//     it created the membership, 200 otherwise (the same state again
//     writes nothing). The rules Rebilly does not model (guest, expiry,
//     the member's MFA flag) are read first and carried over, never lifted
//     by omission (a concurrent change to them between that read and the
//     upsert is lost). isOwner does not transfer ownership: true on a
//     member who is not the owner is 422 on isOwner (the owner uses PATCH
//     /api/organizations/{id}/transfer_ownership), false on the owner is
//     409; isDefault, organization, user and unknown members are ignored.
//     A member of the wrong type is 422, a body that is not a JSON object
//     400. DELETE of the owner's membership is 409.
//   - ECI (D.2): POST /v1/organizations/{organizationId}/members with
//     {"userId": 1 to 40 characters, "isMfaRequired": boolean}, both
//     required: Session.AddMember, 201 with the OrganizationMember.
//     Organization ids are the library's strings, not ECI's int32. Every
//     invalid input is 400 (ECI's ProblemDetails), with invalidFields; an
//     unknown user is 404, a member already 409. createdBy and modifiedBy
//     are the caller (the one version of a new membership names it);
//     organizationName is the unique slug, organizationDisplayName the
//     name; roles carry the names the caller may read (null otherwise)
//     and expires is the membership's expiry; the embedded user has id,
//     emailAddress, givenName, familyName, displayName and organizationId
//     (this organization when it is the user's default one, else null:
//     the facade reads no other user).
package httpapi
