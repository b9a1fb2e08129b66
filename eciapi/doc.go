// Package eciapi is ECI's add-member API in plain JSON (application/json)
// over the facade: POST /v1/organizations/{organizationId}/members. It
// holds no business rule and mounts nowhere by itself: httpapi.New serves
// its Routes beside the JSON:API endpoints, on the same mux, through the
// same facade calls made as the bearer token's principal, with the same
// tokens, rate limits, body limit and strict decoder (httpapi.DecodeJSON).
// A host mounts that one handler:
//
//	h, err := httpapi.New(p, httpapi.Tokens(issuer))
//	mux.Handle("/", h) // /api/..., /memberships/..., /v1/organizations/...
//
// The body is {"userId": 1 to MaxUserID characters, "isMfaRequired":
// boolean}, both required: Session.AddMember, 201 with the
// OrganizationMember. Organization ids are the library's strings, not
// ECI's int32.
//
// Errors are RFC 7807 problems (application/problem+json: type, title,
// status, detail, instance, plus code and error, the title again). Every
// invalid input is 400 (ECI's ProblemDetails), with invalidFields [{field,
// message}] naming the members (userId, isMfaRequired); a member given
// twice is 400 DUPLICATE_KEY with the extension member pointer: /userId.
// A refusal is 403 (Commerce Layer's API answers 401 FORBIDDEN), an
// unknown user or organization 404, a member already 409.
//
// createdBy and modifiedBy are the caller (the one version of a new
// membership names it); organizationName is the unique slug,
// organizationDisplayName the name; roles carry the names the caller may
// read (null otherwise) and expires is the membership's expiry; the
// embedded user has id, emailAddress, givenName, familyName, displayName
// and organizationId (this organization when it is the user's default
// one, else null).
package eciapi
