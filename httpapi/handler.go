package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/eciapi"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/internal/httpx"
	"github.com/provisionkit/provisioning/token"
)

// Authenticator maps a bearer token to the principal the request acts as.
// An unknown or expired token is an error of kind fault.Unauthenticated.
type Authenticator interface {
	Authenticate(ctx context.Context, bearer string) (provisioning.Principal, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(ctx context.Context, bearer string) (provisioning.Principal, error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, bearer string) (provisioning.Principal, error) {
	return f(ctx, bearer)
}

// Tokens returns the Authenticator of the library's token store.
func Tokens(iss *token.Issuer) Authenticator { return AuthenticatorFunc(iss.Resolve) }

// Handler serves the Provisioning API in JSON:API under /api/. It holds no
// business rule: every request is a facade call made as the principal its
// bearer token names. Create it with New; it is safe for concurrent use.
type Handler struct {
	p        *provisioning.Provisioner
	auth     Authenticator
	log      *slog.Logger
	base     string
	limits   *limiter
	clientIP func(*http.Request) netip.Addr
	tokens   *token.Issuer
	tokenTTL time.Duration
	kinds    map[string]*kind
	mux      *http.ServeMux
	methods  map[string][]string       // path pattern → its methods, for 405
	dialects map[string]*httpx.Dialect // path pattern → the dialect of the Rebilly and ECI endpoints
	counts   *countCache               // the kept counts of large lists
	eci      *eciapi.API               // ECI's routes and their running imports
}

// Close stops the background work the handler owns, ECI's bulk imports
// (eciapi.API.Close), and waits for it: call it when the server has shut
// down. It is safe to call more than once.
func (h *Handler) Close() { h.eci.Close() }

// Option configures a Handler.
type Option interface{ apply(*Handler) }

type optionFunc func(*Handler)

func (f optionFunc) apply(h *Handler) { f(h) }

// WithLogger sets the logger of requests and of internal errors (the
// default discards).
func WithLogger(l *slog.Logger) Option { return optionFunc(func(h *Handler) { h.log = l }) }

// WithBaseURL sets the scheme and host of links, e.g.
// https://provisioning.example.com (the default takes the request's Host).
func WithBaseURL(u string) Option {
	return optionFunc(func(h *Handler) { h.base = strings.TrimSuffix(u, "/") })
}

// WithRateLimits sets the rate limits (DefaultRateLimits by default;
// RateLimits{} turns them off). now is their clock (nil: time.Now).
func WithRateLimits(l RateLimits, now func() time.Time) Option {
	return optionFunc(func(h *Handler) { h.limits = newLimiter(l, now) })
}

// WithClientIP sets how the client address is read (the default is the
// connection's RemoteAddr; behind a proxy, read its header here). The
// address keys the rate limits and reaches the facade's IP rules.
func WithClientIP(f func(*http.Request) netip.Addr) Option {
	return optionFunc(func(h *Handler) { h.clientIP = f })
}

// WithTokenEndpoint serves POST /oauth/token: the client credentials grant
// of API credentials (Provisioner.Authenticate), answered with a bearer
// token of iss that works for ttl.
func WithTokenEndpoint(iss *token.Issuer, ttl time.Duration) Option {
	return optionFunc(func(h *Handler) { h.tokens, h.tokenTTL = iss, ttl })
}

// New returns the handler of the API over p, authenticating bearer tokens
// with auth.
func New(p *provisioning.Provisioner, auth Authenticator, opts ...Option) (*Handler, error) {
	if p == nil || auth == nil {
		return nil, errors.New("httpapi: New needs a Provisioner and an Authenticator")
	}
	h := &Handler{p: p, auth: auth, log: slog.New(slog.DiscardHandler), limits: newLimiter(DefaultRateLimits, nil),
		clientIP: remoteIP, kinds: kinds(), mux: http.NewServeMux(), methods: map[string][]string{},
		dialects: map[string]*httpx.Dialect{}, counts: newCountCache(DefaultCountCache, nil), eci: eciapi.New()}
	for _, o := range opts {
		o.apply(h)
	}
	if h.tokens != nil && h.tokenTTL <= 0 {
		return nil, errors.New("httpapi: WithTokenEndpoint needs a positive ttl")
	}
	h.routes()
	return h, nil
}

func remoteIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// recorder remembers the status written, for the log and for panics.
type recorder struct {
	http.ResponseWriter
	status int
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ServeHTTP logs the request, turns a panic into a 500 error object (logged
// once), applies the rate limits and routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.Header.Get("X-Request-Id")
	if id == "" || len(id) > 64 || strings.ContainsFunc(id, func(c rune) bool { return c <= ' ' || c > '~' }) {
		id = newRequestID()
	}
	w.Header().Set("X-Request-Id", id)
	r = r.WithContext(provisioning.WithRequestID(r.Context(), id))
	rec := &recorder{ResponseWriter: w}
	_, pattern := h.mux.Handler(r)
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.ErrorContext(r.Context(), "httpapi: panic", "panic", v, "request_id", id, "stack", string(debug.Stack()))
			if rec.status == 0 {
				h.writeFailure(rec, r, pattern, httpx.ErrInternal)
			}
		}
		h.log.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Int("status", rec.status),
			slog.Duration("duration", time.Since(start)), slog.String("request_id", id))
	}()
	if err := h.limits.allow(rec, h.clientIP(r), r.Method, pattern); err != nil {
		h.writeFailure(rec, r, pattern, err)
		return
	}
	h.mux.ServeHTTP(rec, r)
}

// writeFailure answers a failure of the handler itself (rate limit, panic,
// method) in the language of the endpoint pattern names: a problem on the
// Rebilly and ECI endpoints, JSON:API errors elsewhere.
func (h *Handler) writeFailure(w http.ResponseWriter, r *http.Request, pattern string, e *apiError) {
	if _, path, ok := strings.Cut(pattern, " "); ok {
		pattern = path
	}
	if d := h.dialects[pattern]; d != nil {
		p, _ := d.ProblemOf(e)
		d.WriteProblem(w, r, p)
		return
	}
	writeErrors(w, e.Status, []*apiError{e})
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// call is one API request being served.
type call struct {
	h     *Handler
	w     http.ResponseWriter
	r     *http.Request
	s     *provisioning.Session
	pr    provisioning.Principal
	q     *query
	base  string
	where where
	// countCached: the list's count came from the cache, as of countAsOf.
	countCached bool
	countAsOf   time.Time
	// wrote: the call wrote through the facade, in organization wroteOrg
	// ("" for unknown or none).
	wrote    bool
	wroteOrg string
}

// endpointFunc serves a call: a status and a document (nil: no body).
type endpointFunc func(ctx context.Context, c *call) (int, *document, error)

// handle registers an endpoint of the API.
func (h *Handler) handle(method, path string, fn endpointFunc) {
	if _, ok := h.methods[path]; !ok {
		h.mux.HandleFunc(path, h.notAllowed(path))
	}
	h.methods[path] = append(h.methods[path], method)
	h.mux.HandleFunc(method+" "+path, func(w http.ResponseWriter, r *http.Request) {
		c, err := h.begin(w, r)
		status, doc := 0, (*document)(nil)
		if err == nil {
			status, doc, err = fn(r.Context(), c)
		}
		h.afterWrite(c)
		if err != nil {
			h.fail(w, r, err, c)
			return
		}
		writeDocument(w, status, doc)
	})
}

func (h *Handler) notAllowed(path string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", strings.Join(h.methods[path], ", "))
		h.writeFailure(w, r, path, problem(http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED",
			"Method not allowed", r.Method+" is not allowed on "+r.URL.Path+"."))
	}
}

// begin checks the media types, authenticates and parses the query.
func (h *Handler) begin(w http.ResponseWriter, r *http.Request) (*call, error) {
	c := &call{h: h, w: w, r: r, base: h.baseURL(r), where: inBody{}}
	if err := checkMediaTypes(r); err != nil {
		return c, err
	}
	if err := c.authenticate(); err != nil {
		return c, err
	}
	var err error
	c.q, err = parseQuery(r.URL.RawQuery)
	return c, err
}

// authenticate reads the bearer token and makes the call's session.
func (c *call) authenticate() error {
	bearer, ok := strings.CutPrefix(c.r.Header.Get("Authorization"), "Bearer ")
	if !ok || bearer == "" {
		return httpx.ErrInvalidToken
	}
	bearer = strings.TrimSpace(bearer)
	pr, err := c.h.auth.Authenticate(c.r.Context(), bearer)
	if err != nil && fault.KindOf(err) == fault.Unauthenticated {
		c.badToken(bearer)
	}
	if err != nil {
		return err
	}
	pr.IP = c.h.clientIP(c.r)
	c.pr, c.s = pr, c.h.p.As(pr)
	return nil
}

// tokenPrefixLen is how much of a bad token a security event keeps: enough
// to tell tokens apart (the issuer's are token.Prefix and 43 characters),
// never the whole of a short one.
const tokenPrefixLen = 8

// badToken records a bearer token that did not authenticate: an
// audit.BadToken security event with the token's first characters (at
// most tokenPrefixLen, at most half of it), the client's address and the
// endpoint. A failure to record is the library's to log.
func (c *call) badToken(bearer string) {
	runes := []rune(bearer)
	e := audit.SecurityEvent{Kind: audit.BadToken, Operation: c.r.Pattern, Reason: "unauthenticated",
		Detail: "token prefix " + string(runes[:min(tokenPrefixLen, len(runes)/2)])}
	if ip := c.h.clientIP(c.r); ip.IsValid() {
		e.IP = ip.String()
	}
	_ = c.h.p.System().RecordSecurityEvent(c.r.Context(), e) // the kind is valid: never refused
}

// baseURL is the scheme and host of links: WithBaseURL's, or the request's.
func (h *Handler) baseURL(r *http.Request) string {
	if h.base != "" {
		return h.base
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// checkMediaTypes answers 406 to an Accept without the JSON:API media type
// and 415 to a body of another type (GET and DELETE may carry any
// Content-Type: the SDK sends one on every request).
func checkMediaTypes(r *http.Request) error {
	if accept := r.Header.Get("Accept"); accept != "" && !acceptable(accept) {
		return problem(http.StatusNotAcceptable, "NOT_ACCEPTABLE", "Not acceptable", "The Accept header must allow "+MediaType+".")
	}
	if r.Method == http.MethodGet || r.Method == http.MethodDelete || r.Method == http.MethodHead || r.ContentLength == 0 {
		return nil
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	delete(params, "charset")
	if err != nil || mt != MediaType || len(params) > 0 {
		return problem(http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "Unsupported media type", "The body must be "+MediaType+".")
	}
	return nil
}

func acceptable(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		delete(params, "q")
		switch {
		case err != nil:
		case mt == "*/*" || mt == "application/*" || mt == "application/json":
			return true
		case mt == MediaType && len(params) == 0:
			return true
		}
	}
	return false
}

// fail writes the error objects of err; an internal error is logged here,
// once, and its details never reach the caller.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error, c *call) {
	status, objs, internal := httpx.ErrorObjects(err, c.where)
	if internal {
		h.log.ErrorContext(r.Context(), "httpapi: request failed", "error", err, "request_id", w.Header().Get("X-Request-Id"))
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeErrors(w, status, objs)
}

func writeErrors(w http.ResponseWriter, status int, objs []*apiError) {
	writeJSON(w, status, map[string]any{"errors": objs})
}

func writeDocument(w http.ResponseWriter, status int, doc *document) {
	if doc == nil {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, doc)
}

func writeJSON(w http.ResponseWriter, status int, v any) { httpx.WriteAs(w, MediaType, status, v) }

// body reads the request's JSON:API document for kind k; id is the id of
// the URL ("" for a create or the user singleton).
func (c *call) body(k *kind, id string) (*input, error) {
	b, err := c.readBody()
	if err != nil {
		return nil, err
	}
	return c.bodyFor(k, id, b)
}

func (c *call) readBody() ([]byte, error) { return httpx.ReadBody(c.r) }

// bodyFor decodes body b for kind k and the URL's id.
func (c *call) bodyFor(k *kind, id string, b []byte) (*input, error) {
	d, err := decodeRequest(b)
	if err != nil {
		return nil, err
	}
	if err := d.identifies(k, id, true); err != nil {
		return nil, err
	}
	return newInput(k, d), nil
}

// identifies checks that data names the resource of the URL: data.type is
// k's (it may be absent when typeRequired is false, as in the short bodies
// of actions) and data.id, when given, the URL's id ("" for a create or
// the user singleton, where no id is taken).
func (d *requestData) identifies(k *kind, id string, typeRequired bool) error {
	switch {
	case d.Type != k.typ && (typeRequired || d.typed):
		return badBody("TYPE_MISMATCH", "/data/type", "data.type must be "+strconv.Quote(k.typ)+".")
	case d.ID != nil && id == "":
		return badBody("PARAM_NOT_ALLOWED", "/data/id", "Client-generated ids are not supported.")
	case d.ID != nil && *d.ID != id:
		return badBody("KEY_NOT_INCLUDED_IN_URL", "/data/id", "The id "+strconv.Quote(*d.ID)+" is not the one of the URL.")
	}
	return nil
}
