package httpapi

import (
	"encoding/json"
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
		var in struct {
			GrantType    string `json:"grant_type"`
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if mt := r.Header.Get("Content-Type"); mt == "application/json" || mt == MediaType {
			if json.NewDecoder(r.Body).Decode(&in) != nil {
				oauthError(w, http.StatusBadRequest, "invalid_request")
				return
			}
		} else if r.ParseForm() == nil {
			in.GrantType, in.ClientID, in.ClientSecret = r.PostForm.Get("grant_type"), r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		if id, secret, ok := r.BasicAuth(); ok {
			in.ClientID, in.ClientSecret = id, secret
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

func oauthError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"error":"` + code + `"}`))
}
