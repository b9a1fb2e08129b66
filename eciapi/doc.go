// Package eciapi is ECI's organization-member API in plain JSON
// (application/json) over the facade. It holds no business rule and
// mounts nowhere by itself: httpapi.New serves the Routes of its API
// beside the JSON:API endpoints, on the same mux, through the same facade
// calls made as the bearer token's principal, with the same tokens, rate
// limits, body limit and strict decoder (httpapi.DecodeJSON); the
// handler's Close stops the imports the API runs. A host mounts that one
// handler:
//
//	h, err := httpapi.New(p, httpapi.Tokens(issuer))
//	defer h.Close()
//	mux.Handle("/", h) // /api/..., /memberships/..., /v1/organizations/...
//
// Organization ids are ECI's int32: the organization's Number
// (organization.Organization.Number), a positive integer the store assigns
// at creation, in creation order, unique and never reused. The path's
// organizationId must be that number in decimal (no sign, no leading
// zero); anything else, the library's string id included, is 404, as is a
// number no organization the caller may read has.
//
// GET /v1/organizations lists the caller's organizations under those ids:
// {"value": [{"id", "name" (the slug), "displayName", "isMfaRequired",
// "modified"}…]}. The endpoints, under /v1/organizations/{organizationId}:
//
//	POST   /members                     add an existing user: {"userId", "isMfaRequired"}, both required (Session.AddMember); 201
//	GET    /members                     {"value": [OrganizationMember…]}, OData-style options (see below)
//	GET    /members/{userId}            one member, with $select and $expand
//	POST   /members/invite              {"emailAddress", "displayName", "givenName", "familyName", "isMfaDisabled", "makeAdmin"} (Session.Invite); 201
//	DELETE /members/{userId}/roles?roles=a,b   the member loses those roles; 204
//	POST   /members/import              {"members": [invite…]}; 202 + Location of the job
//	GET    /member-imports/{jobId}      the job: running, succeeded or failed, and every row's outcome
//	PATCH  /mfa                         {"isMfaRequired": boolean} (Session.UpdateOrganization); 200 with the organization
//
// The list's options: $filter (eq, ne, gt, ge, lt, le; and, or, not,
// parentheses; startswith, endswith, contains) on id, userId,
// organizationId, organizationName, organizationDisplayName, isGuest,
// isMfaRequired, isMembershipMfaRequired, created, modified and
// user/emailAddress, user/givenName, user/familyName, user/isMfaDisabled;
// $orderby on the same fields (asc, desc; then by id); $select of
// top-level members; $top (0 to MaxTop, DefaultTop without it), $skip;
// $count=true adds "@odata.count", the matches before $top and $skip;
// $expand=user embeds the user in full (by id otherwise), roles are always
// there. The names may be given without the $. Anything else is a 400
// ProblemDetails naming it. The options are applied in memory, over the
// organization's memberships read through the facade a page at a time.
//
// The OrganizationMember: isGuest is true when the member is a guest by
// its own flag (membership.Membership.Guest, which a host or an admin
// sets, and which always wins) or when the user's home organization (its
// default one) is another: membership.Membership.IsGuest. isMfaRequired is
// the organization's flag, isMembershipMfaRequired the member's; the
// expanded user adds isMfaDisabled (the host turned its second factor off:
// System.SetUserMFADisabled) and mfaRequired, the requirement in effect:
// the organization's or the member's, unless the user's second factor is
// off (access.EffectiveMFA, which the authorization check applies).
// organizationName is the unique slug, organizationDisplayName the name;
// roles carry the library's role ids and the names the caller may read
// (null otherwise), expires the membership's expiry; createdBy and
// modifiedBy are the caller on the answers of the calls that create the
// membership, null on reads (only the versions know them).
//
// An invitation grants the admin role with makeAdmin, else the read_only
// role; the membership is pending until the person accepts (active at
// once for a user whose address is verified). The names are checked (at
// most 250 and 100 characters) but not stored: the library creates no
// user, whose own record carries the names. isMfaDisabled true is 400: a
// user's second factor is turned off by the host, never by an invitation.
// A role removal names roles by id, by name, or organization-admin (the
// admin role); one the member does not hold, none, or all of them (a
// member keeps a role) is 400.
//
// An import runs in a goroutine of the API, over Session.InviteMany: one
// transaction in which a row that Invite would refuse fails alone. The
// result lists every row in order, with its status (201, or the status of
// its problem) and its member or its ProblemDetails; a call-wide refusal
// (no right to invite) fails the job with its problem. Jobs are kept in
// memory (at most MaxImports, a finished one for ImportTTL), readable only
// by the principal that started them.
//
// Errors are RFC 7807 problems (application/problem+json: type, title,
// status, detail, instance, plus code and error, the title again). Every
// invalid input is 400 (ECI's ProblemDetails), with invalidFields [{field,
// message}] naming the members (userId, isMfaRequired, emailAddress…); a
// member given twice is 400 DUPLICATE_KEY with the extension member
// pointer: /userId. A refusal is 403 (Commerce Layer's API answers 401
// FORBIDDEN), an unknown user or organization 404, a member already 409.
package eciapi
