package httpapi

import (
	"net/http"
	"slices"

	"github.com/provisionkit/provisioning/internal/httpx"
	"github.com/provisionkit/provisioning/rebillyapi"
)

// ProblemMediaType is the media type of RFC 7807 problem details, that of
// the errors of the ECI endpoints the handler serves (Rebilly's are
// application/json, as its definitions declare them).
const ProblemMediaType = httpx.ProblemMediaType

// The handler also serves the plain JSON membership APIs of rebillyapi and
// eciapi, on the same mux, with the same authentication, rate limits, body
// limit, request ids and logging, and their writes drop kept counts as the
// handler's own do.
func (h *Handler) plainRoutes() {
	var paths []string
	for _, rt := range slices.Concat(rebillyapi.Routes(), h.eci.Routes()) {
		if _, ok := h.methods[rt.Path]; !ok {
			paths = append(paths, rt.Path)
		}
		h.mount(rt)
	}
	// The other methods of each path are 405. They are registered one by
	// one, not as a pattern of every method, which would conflict with a
	// sibling's wildcard (…/members/invite and GET …/members/{userId}).
	for _, path := range paths {
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
			http.MethodDelete, http.MethodOptions} {
			served := h.methods[path]
			if slices.Contains(served, m) || m == http.MethodHead && slices.Contains(served, http.MethodGet) {
				continue
			}
			h.mux.HandleFunc(m+" "+path, h.notAllowed(path))
		}
	}
}

// mount registers a route of a plain JSON API: its value is answered as
// application/json, its errors as problems of its dialect.
func (h *Handler) mount(rt httpx.Route) {
	if _, ok := h.methods[rt.Path]; !ok {
		h.dialects[rt.Path] = rt.Dialect
	}
	h.methods[rt.Path] = append(h.methods[rt.Path], rt.Method)
	h.mux.HandleFunc(rt.Method+" "+rt.Path, func(w http.ResponseWriter, r *http.Request) {
		c := &call{h: h, w: w, r: r, base: h.baseURL(r), where: rt.Dialect}
		err := httpx.CheckJSONMediaTypes(r)
		if err == nil {
			err = c.authenticate()
		}
		status, v := 0, any(nil)
		if err == nil {
			pc := &httpx.Call{W: w, R: r, S: c.s, Principal: c.pr, Base: c.base}
			status, v, err = rt.Serve(r.Context(), pc)
			if org, ok := pc.Wrote(); ok {
				c.touch(org)
			}
		}
		h.afterWrite(c)
		switch {
		case err != nil:
			h.failProblem(w, r, rt.Dialect, err)
		case v == nil:
			w.WriteHeader(status)
		default:
			httpx.WriteAs(w, "application/json", status, v)
		}
	})
}

// failProblem writes the problem of err; an internal error is logged here,
// once, and its details never reach the caller.
func (h *Handler) failProblem(w http.ResponseWriter, r *http.Request, d *httpx.Dialect, err error) {
	p, internal := d.ProblemOf(err)
	if internal {
		h.log.ErrorContext(r.Context(), "httpapi: request failed", "error", err, "request_id", w.Header().Get("X-Request-Id"))
	}
	d.WriteProblem(w, r, p)
}
