package httpapi

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/provisionkit/provisioning/fault"
)

// tokenEndpoint serves POST /oauth/token, the client credentials grant
// (RFC 6749 4.4): client_id and client_secret in the form or JSON body, or
// as HTTP Basic credentials. Errors are OAuth's, not JSON:API's.
func (h *Handler) tokenEndpoint() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		in, ok := readTokenRequest(w, r)
		if !ok {
			oauthError(w, http.StatusBadRequest, "invalid_request")
			return
		}
		if in.GrantType != "client_credentials" {
			oauthError(w, http.StatusBadRequest, "unsupported_grant_type")
			return
		}
		pr, err := h.p.Authenticate(r.Context(), in.ClientID, in.ClientSecret)
		if err == nil {
			var secret string
			secret, _, err = h.tokens.Issue(r.Context(), pr, h.tokenTTL)
			if err == nil {
				b, _ := json.Marshal(map[string]any{"access_token": secret, "token_type": "bearer",
					"expires_in": int(h.tokenTTL.Seconds()), "scope": ""})
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Length", strconv.Itoa(len(b)))
				_, _ = w.Write(b)
				return
			}
		}
		if fault.KindOf(err) == fault.Unauthenticated {
			oauthError(w, http.StatusUnauthorized, "invalid_client")
			return
		}
		h.log.ErrorContext(r.Context(), "httpapi: token request failed", "error", err, "request_id", w.Header().Get("X-Request-Id"))
		oauthError(w, http.StatusInternalServerError, "server_error")
	}
}

// tokenRequest is the parameters of a token request.
type tokenRequest struct{ GrantType, ClientID, ClientSecret string }

// readTokenRequest reads the parameters of a token request from its JSON
// or form body and its HTTP Basic credentials. A body that is not JSON, a
// JSON member or a form parameter given twice, and client credentials both
// in the body and in the Authorization header (RFC 6749: a parameter is
// given once, one authentication method per request) are refused.
func readTokenRequest(w http.ResponseWriter, r *http.Request) (tokenRequest, bool) {
	var in tokenRequest
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if isJSON(r.Header.Get("Content-Type")) {
		b, err := io.ReadAll(r.Body)
		var raw map[string]json.RawMessage
		if err != nil || DecodeJSON(b, &raw) != nil {
			return in, false
		}
		for name, dst := range map[string]*string{"grant_type": &in.GrantType, "client_id": &in.ClientID, "client_secret": &in.ClientSecret} {
			if v, ok := raw[name]; ok && json.Unmarshal(v, dst) != nil {
				return in, false
			}
		}
	} else if r.ParseForm() == nil {
		for _, vs := range r.PostForm {
			if len(vs) > 1 {
				return in, false
			}
		}
		in.GrantType, in.ClientID, in.ClientSecret = r.PostForm.Get("grant_type"), r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id, secret, ok := r.BasicAuth(); ok {
		if in.ClientSecret != "" || in.ClientID != "" && in.ClientID != id {
			return in, false
		}
		in.ClientID, in.ClientSecret = id, secret
	}
	return in, true
}

// isJSON reports whether a Content-Type names a JSON body, parameters such
// as charset aside (RFC 9110 section 8.3.1: the type and subtype are
// case-insensitive).
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || mt == MediaType)
}

func oauthError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"error":"` + code + `"}`))
}
