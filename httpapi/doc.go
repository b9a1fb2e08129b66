// Package httpapi serves the Commerce Layer Provisioning API (JSON:API) over
// a provisioning.Provisioner: an http.Handler serving /api/ (and, see
// below, the Rebilly and ECI membership APIs of rebillyapi and eciapi).
//
// It holds no business rule. Each request is authenticated by an
// Authenticator (a bearer token → a principal; Tokens adapts the library's
// token store) and served by one facade call made as that principal, so
// authorization, validation and audit are the library's. Errors are mapped
// from fault kinds to statuses in one function: fault.ValidationError →
// 422 with source.pointer per field, NotFound → 404 (also for another
// organization's ids), Forbidden → 401 FORBIDDEN (Commerce Layer's 401
// covers insufficient permissions), Unauthenticated → 401 INVALID_TOKEN, Conflict
// → 409 (ErrInUse → 423), Busy → 503 with Retry-After (the library's
// kind for contention and for a call its context ended: a host that bounds
// requests with a deadline gets 503 for the ones that run past it, as for
// an error of its own that matches context.DeadlineExceeded or
// context.Canceled), an unknown outcome or an internal error → 500, logged
// once.
//
//	h, err := httpapi.New(p, httpapi.Tokens(issuer), httpapi.WithLogger(log))
//	mux.Handle("/", h) // /api/..., /oauth/token, /memberships/..., /v1/organizations/...
//
// Secrets survive a round trip: an identity provider's client_secret reads
// as "[hidden]", and a PATCH that carries it back keeps the stored secret
// (idp.IsPlaceholder), so that a client sending back the resource it read,
// one attribute changed, loses nothing; a POST carrying it is 422 on
// client_secret. An API credential's client_secret is shown only when it is
// made and is read-only: a write carrying it is 400 PARAM_NOT_ALLOWED, as
// every read-only attribute.
//
// An organization shows its plan, read-only as well: plan (the plan's name)
// and subscription_info (plan_type, features, limits, totals). The host
// sets it (System.SetPlan); a call the plan does not allow is 401
// PLAN_RESTRICTED, whose detail names the feature, as Commerce Layer
// answers a call its token may not make (its API has no 403).
//
// Every request body is read by one strict decoder, DecodeJSON (which the
// example server uses too): a member given twice in an object, at any
// depth, is 400 DUPLICATE_KEY whose source.pointer is the JSON Pointer of
// the second one (/data/attributes/user_email, /data/relationships/role),
// and nothing is changed. Decoders differ on which of the two they keep
// (encoding/json the last), so a proxy or a log could otherwise read
// another request than the one served; for the same reason a linkage's
// type and id match those names exactly (not "ID"), and a JSON object of a
// filter (jcont) is read the same way. POST /oauth/token answers
// invalid_request to a parameter given twice (RFC 6749 3.2: a parameter is
// sent once) and to client credentials both in the body and as HTTP Basic
// credentials (one authentication method per request, RFC 6749 2.3).
//
// A create without one of its required relationships (absent, or with
// data null) is 422 VALIDATION_ERROR whose source.pointer names it
// (/data/relationships/organization), before any facade call: the
// organization of every resource but organizations and permissions, the
// role of memberships, permissions and application_memberships, the
// api_credential of application_memberships. The library refuses the
// others it needs (an integration credential's role) the same way.
//
// The bodies of the actions name their resource as the other bodies do.
// POST /api/memberships/{id}/resend takes no body or {"data":{}} (no
// attribute, no relationship); PATCH
// /api/organizations/{id}/transfer_ownership takes new_owner_email in
// data.attributes or, as the CLI sends it, in data (then nothing else).
// POST /api/identity_providers/{id}/verify, an action of this library (the
// Commerce Layer API verifies in the background only), looks the provider's
// domains up now, for the owner only (it is an update of the provider), and
// answers 200 with the provider and its new status; its body is as
// resend's.
// A data.type of another type is 400 TYPE_MISMATCH (it may be absent in
// those short bodies), a data.id other than the URL's 400
// KEY_NOT_INCLUDED_IN_URL, as on every PATCH.
//
// Query parameters: include (dotted paths), fields[type], sort, page[number]
// and page[size] (10 by default, 25 at most), filter[q][<attr>_<predicate>]
// and filter[<name>]. Every filter becomes a resource.Condition of the
// library's list request, evaluated by the database with bound values
// (nothing is filtered in memory, no SQL is built here):
//
//   - every predicate of the API: eq, not_eq, lt, lteq, gt, gteq, in,
//     not_in, cont, not_cont, start, not_start, end, not_end (the text
//     matches are case-insensitive), matches and does_not_match (a SQL LIKE
//     pattern), present, blank, null, not_null, true, false (each takes
//     true or false), jcont (a JSON object the attribute contains, e.g.
//     metadata); <predicate>_any and <predicate>_all (a comma list, any or
//     every value), eq_or_null, not_eq_or_null, in_or_null,
//     not_in_or_null, and not_eq_all;
//   - a_or_b_<predicate>: the condition holds for attribute a or b;
//   - filter[<attr>]=v is <attr>_eq (filter[organization_id],
//     filter[role_id], filter[status], ...); filter[ids]=a,b is id_in;
//     filter[created_at_from] and filter[updated_at_from] are _gteq,
//     filter[created_at_to] and filter[updated_at_to] _lt.
//
// The attributes are the wire names, and the relationships' ids
// (role_id, membership_profile_id, api_credential_id, organization_id,
// ...): storage keeps an allowlist per list (the resource's stored
// attributes, plus id, reference, reference_origin, metadata, created_at,
// updated_at) and refuses any other with a validation error, answered 400
// FILTER_NOT_ALLOWED whose source.parameter is the query parameter, as is
// a value the attribute cannot take (created_at_gt=yesterday, true on a
// text). The lists also take some attributes of related resources
// (organization_name_start, role_kind_eq, role_name, membership_profile_name,
// api_credential_name); computed ones (test_enabled, subscription_info)
// are not in the allowlists. sort=a,-b sorts by those attributes (not JSON
// ones), ascending or descending, then by id; any other is 400
// INVALID_SORT_CRITERIA.
//
// The cost of page numbers: page[number] and page[size] are an offset and a
// limit of one query, with a COUNT query for meta.record_count and
// meta.page_count: linear in the offset in the database, no longer in Go.
// The OFFSET grows with the page: page 4,000 of 25 in an organization of
// 100,000 memberships costs about 200 ms on SQLite, where the library's
// cursor (resource.PageRequest.After, Page.Next: a keyset page, from Go)
// answers in under 1 ms; walk large lists with the cursor. The COUNT is
// linear in the list (50 to 200 ms for 100,000 memberships on SQLite) on
// every page: a list of more than CountCache.Threshold records (10,000 by
// default, WithCountCache) is counted exactly at most once per
// CountCache.TTL (a minute; once stale, one request counts it again while
// the others serve the stale count), and the other pages of that list (the same
// type, organization and filters, whatever the sort and page) skip the
// COUNT and serve the kept count, saying so in the meta:
//
//	"meta": {"record_count": 123456, "page_count": 4939,
//	         "record_count_cached": true, "record_count_as_of": "2026-03-01T12:00:00Z"}
//
// Lists of at most the threshold are counted on every request, with no
// other meta. The facade call still runs on every request (it authorizes
// the caller and reads the page): a kept count is served only to a caller
// the facade lets list that list, and another organization's principal
// still gets 404. The counts are kept in memory (at most CountCache.Size
// lists, least recently used out), per organization and filters, and per
// caller for the lists that differ by caller (organizations, application
// memberships). A write through the handler (POST, PATCH, PUT, DELETE)
// drops the kept counts of its organization (every kept count when the
// organization is not known, as on a DELETE by id); writes made through
// another instance, or the library directly, show up within the TTL.
//
// Lists of the resources of organizations (memberships, roles, ...)
// without an organization (filter[organization_id], organization_id_eq, or
// a relationship's list) run over the caller's organizations: one query
// and one count when there is one; over several, one count each and a
// merge of their lists in the requested order that reads at most
// offset+size items of each (a walk linear in the offset, in Go: the
// library lists one organization at a time). That merge compares sort
// values as Go does (bytes, nulls first): where the database collates text
// otherwise, organizations interleave differently than one query would
// order them, but every item is on one page and the counts are exact (or,
// for an organization of more than the threshold, kept as above, each
// organization's count on its own).
//
// A token from POST /oauth/token remembers the API credential and the
// client secret it was obtained with: once the credential is deleted or
// expired, or that secret ended (at a rotation, or at the end of its
// overlap), it answers 401 INVALID_TOKEN from the next request on, in every
// process sharing the database (the token store reads the credential at
// each request).
//
// API credentials over HTTP: POST /api/api_credentials (an organization and,
// for kind integration, a role) answers 201 with client_secret, shown this
// once; POST /oauth/token exchanges client_id and client_secret for a token
// (WithTokenEndpoint). POST /api/api_credentials/{id}/rotate
// (Session.RotateCredential, who may update the credential and holds its
// role's rights) gives it a new secret, answered 200 with the credential and
// client_secret, again this once. Its body is empty or
//
//	{"data": {"type": "api_credentials", "id": "<id>", "attributes": {"overlap": 3600}}}
//
// where overlap is how many seconds the previous secret, and the tokens
// obtained with it, keep working (0 by default: they end at once; at most 30
// days, beyond is 422 on /data/attributes/overlap). Older secrets end at
// once: at most two are valid. This route is the library's own: the
// official SDK has no call for it.
//
// The user singleton (/api/user) shows email_verified, email_verified_at,
// pending_email and pending_email_expires_at, all read-only. PATCH /api/user
// with an email does not change it: it answers the user with the address in
// pending_email, and the host's EmailChangeNotifier mails a code there;
// PATCH /api/user/confirm_email with {"data":{"type":"users","attributes":
// {"code":"..."}}} makes it the user's, verified (200 with the user; a
// wrong, used or expired code is 422 INVALID_CODE on /data/attributes/code;
// without an EmailChangeNotifier the change is 401 EMAIL_CHANGE_UNAVAILABLE).
// A grant to a user whose address is not verified is 401 EMAIL_NOT_VERIFIED
// (403 on the Rebilly and ECI APIs).
//
// A bearer token that does not authenticate is recorded as an
// audit.BadToken security event (System.RecordSecurityEvent) with the
// client's address, the endpoint ("GET /api/user") and at most the
// token's first 8 characters (at most half of a short token), never the
// token.
//
// The same handler serves the plain JSON membership APIs of rebillyapi
// (Rebilly's GET /memberships and PUT, GET and DELETE
// /memberships/{organizationId}/{userId}) and eciapi (ECI's organization
// members under /v1/organizations/{organizationId}, whose ids are the
// organizations' numbers), on the same mux, through the same facade calls,
// with the same bearer tokens, rate limits, body limit and request ids;
// their writes drop kept counts as the handler's own do. Their errors are
// RFC 7807 problems, not error objects: served as application/json on
// Rebilly's routes (as its definitions declare them) and as
// application/problem+json (ProblemMediaType) on ECI's; those packages
// document their wire formats. ECI's bulk imports run in goroutines of the
// handler: Close stops them, after the server's shutdown.
package httpapi
