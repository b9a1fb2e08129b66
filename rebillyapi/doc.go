// Package rebillyapi is Rebilly's membership API in plain JSON
// (application/json) over the facade: GET /memberships, and PUT, GET and
// DELETE /memberships/{organizationId}/{userId}, as Rebilly's definitions
// describe them (https://github.com/Rebilly/api-definitions). It holds no
// business rule and mounts nowhere by itself: httpapi.New serves its
// Routes beside the JSON:API endpoints, on the same mux, through the same
// facade calls made as the bearer token's principal, with the same tokens,
// rate limits, body limit and strict decoder (httpapi.DecodeJSON). A host
// mounts that one handler:
//
//	h, err := httpapi.New(p, httpapi.Tokens(issuer))
//	mux.Handle("/", h) // /api/..., /memberships/..., /v1/organizations/...
//
// Errors are RFC 7807 problems, served as application/json as Rebilly's
// definitions declare them (type, title, status, detail, instance, plus
// code, Rebilly's deprecated error and, for invalid input, 422 with
// invalidFields [{field, message}] naming the members in dot notation:
// allowedIps.2, roleIds, permissions.0, or the query parameter: limit,
// filter, sort, expand; a member given twice is 400 DUPLICATE_KEY with the
// extension member pointer: /roleIds). A refusal is 403 (Commerce Layer's
// API answers 401 FORBIDDEN), a user or organization that does not exist
// 404. A 429's X-RateLimit-Retry-After is the UTC time (Unix seconds) after
// which the request may be retried; Retry-After the seconds to wait.
//
// A Membership carries, besides its stored state: acl, the member's
// rights as operation ids in the scope of the organization (one entry
// {scope: {organizationId: [id]}, permissions: [...]}: the operations of
// the table below whose every grant the member's roles, direct permissions
// and profile allow by policy, Session.MembersCan; an allowed address or a
// second factor that the membership requires still applies to each call);
// _links, its self link; and, with expand=roles on a GET, _embedded.roles
// (id, name, createdTime, updatedTime of each role and its acl: the
// operations the role's own lines allow, Session.RolesCan; this needs the
// right to read the organization's roles and permissions).
//
// permissions are Rebilly's operation ids, or "*" for every right (only the
// owner grants it). Each id stands for the library's grants of this table
// (Operations; an unknown id is 422 naming it):
//
//	| Rebilly operation id | the library's grants |
//	| --- | --- |
//	| `GetOrganizationCollection` | `organizations:read` |
//	| `GetOrganization` | `organizations:read` |
//	| `PostOrganization` | `organizations:create` |
//	| `PatchOrganization` | `organizations:update` |
//	| `GetMembershipCollection` | `memberships:read` |
//	| `GetMembership` | `memberships:read` |
//	| `PutMembership` | `memberships:create`, `memberships:update` |
//	| `DeleteMembership` | `memberships:destroy` |
//	| `GetRoleCollection` | `roles:read`, `permissions:read` |
//	| `GetRole` | `roles:read`, `permissions:read` |
//	| `PostRole` | `roles:create`, `permissions:create` |
//	| `PutRole` | `roles:update`, `permissions:create`, `permissions:update` |
//	| `DeleteRole` | `roles:destroy` |
//	| `GetApiKeyCollection` | `api_credentials:read` |
//	| `GetApiKey` | `api_credentials:read` |
//	| `PostApiKey` | `api_credentials:create` |
//	| `PutApiKey` | `api_credentials:update` |
//	| `DeleteApiKey` | `api_credentials:destroy` |
//
// An answer lists the ids whose grants the direct permissions cover, then,
// in the library's "subject:action" form, the direct permissions those ids
// do not spell out (set through the facade, e.g. orders:*); a PUT accepts
// that form too, so that a document sent back as it came changes nothing.
//
// PUT is Session.UpsertMembership with the writable state: allowedIps
// (null or absent: no restriction; [] is 422), permissions (absent: none),
// roleIds (the primary role first; absent or null keeps the member's roles,
// and gives a new member the organization's read_only role; [] is 422); 201
// with Location when it created the membership, 200 otherwise (the same
// state again writes nothing). The rules Rebilly does not model (guest,
// expiry, the member's MFA flag) are kept as they are, in the upsert's
// transaction, never lifted by omission. isOwner does not transfer
// ownership: true on a member who is not the owner is 422 on isOwner (the
// owner uses PATCH /api/organizations/{id}/transfer_ownership), false on
// the owner is 409; isDefault, organization, user, acl, _links, _embedded
// and unknown members are ignored. A member of the wrong type is 422, a
// body that is not a JSON object 400. DELETE of the owner's membership is
// 409.
//
// GET /memberships lists the active memberships of one organization:
// filter=organization.id:<id>, or else the caller's current organization
// (a user's default organization, an API credential's own). limit is 0 to
// 1000 (DefaultLimit 100), offset 0 to 1000, as the definitions bound them;
// filter takes Rebilly's syntax (field:value, ";" between fields, ","
// between values, "!" to negate, from..to, from.. and ..to for ranges) on
// user.id, user.email (compared lower-cased) and isOwner; sort takes the
// same fields, comma-separated, "-" first for descending order (then the
// creation order). Any other field, a "@list" or a negated closed range is
// 422 naming it. The answer is a JSON array with Pagination-Total,
// Pagination-Limit and Pagination-Offset; it is read in pages of
// resource.MaxPageLimit, by the keyset cursor after the first (by offset
// when sorted), each page in its own read: a write between two pages may
// move an item across them. The query is split at "&" alone, so a raw ";"
// between a filter's fields works (Go's http.Server logs a warning for
// it; clients may send it as %3B), and a handler wrapped in
// http.AllowQuerySemicolons would break such filters.
package rebillyapi
