// Package httpapi serves the Commerce Layer Provisioning API (JSON:API) over
// a provisioning.Provisioner: an http.Handler to mount under /api/.
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
//	mux.Handle("/api/", h)
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
package httpapi
