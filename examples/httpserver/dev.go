package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/httpapi"
	"github.com/provisionkit/provisioning/token"
	"github.com/provisionkit/provisioning/user"
)

// routes mounts the Provisioning API at / and adds the server's own routes:
// POST /invitations/accept always, the development ones with -dev.
func routes(api http.Handler, p *provisioning.Provisioner, tokens *token.Issuer, mail *devMail, cfg config, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", api)
	mux.Handle("POST /invitations/accept", acceptInvitation(p, tokens, log))
	if mail != nil {
		mux.Handle("GET /dev/mail", mail)
		mux.Handle("POST /dev/users", devSignUp(p, tokens, cfg.tokenTTL, log))
	}
	return mux
}

// acceptInvitation answers POST /invitations/accept, {"token":"..."} made
// as the invited user (Authorization: Bearer <the user's token>): what a
// host's "accept" link leads to once the user has signed in. It is the
// facade's AcceptInvitation, which checks that the user's email is the
// invited one; 200 {"membership_id","organization_id","status"}.
func acceptInvitation(p *provisioning.Provisioner, tokens *token.Issuer, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		who, err := tokens.Resolve(r.Context(), bearer)
		if err != nil {
			answer(w, log, 0, nil, err)
			return
		}
		var in struct {
			Token string `json:"token"`
		}
		if err := readJSON(w, r, &in); err != nil {
			answer(w, log, 0, nil, err)
			return
		}
		m, err := p.As(who).AcceptInvitation(r.Context(), in.Token)
		if err != nil {
			answer(w, log, 0, nil, err)
			return
		}
		answer(w, log, http.StatusOK, map[string]string{"membership_id": m.ID, "organization_id": m.OrganizationID, "status": string(m.Status)}, nil)
	})
}

// devSignUp answers POST /dev/users, {"email":"...","first_name":"...",
// "last_name":"..."}: it creates the user as a host's sign-up would once it
// has verified the address (user.Create.EmailVerified), but without proving
// that the caller owns it, and returns 201 {"id","email","token"} with a
// bearer token of the new user. Development only (-dev).
func devSignUp(p *provisioning.Provisioner, tokens *token.Issuer, ttl time.Duration, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Email     string `json:"email"`
			FirstName string `json:"first_name"`
			LastName  string `json:"last_name"`
		}
		if err := readJSON(w, r, &in); err != nil {
			answer(w, log, 0, nil, err)
			return
		}
		u, err := p.System().CreateUser(r.Context(), user.Create{Email: in.Email, FirstName: in.FirstName, LastName: in.LastName,
			EmailVerified: true}) // development: the address counts as proven
		if err != nil {
			answer(w, log, 0, nil, err)
			return
		}
		secret, _, err := tokens.Issue(r.Context(), provisioning.User(u.ID), ttl)
		if err != nil {
			answer(w, log, 0, nil, err)
			return
		}
		log.Info("httpserver: development sign-up", "user", u.ID, "email", u.Email)
		answer(w, log, http.StatusCreated, map[string]string{"id": u.ID, "email": u.Email, "token": secret}, nil)
	})
}

// devMail is the notifier of development mode: it logs each invitation
// with its token, and each email change with its code, in place of the
// email a host would send, and keeps them for GET /dev/mail?to=<email>
// (the mail sent to that address, oldest first, as JSON; the last
// maxDevMail of all).
type devMail struct {
	log  *slog.Logger
	mu   sync.Mutex
	sent []sentMail
}

// sentMail is one mail devMail kept: an invitation (kind "invitation"), the
// code of an email change sent to the new address ("email_change") or the
// notice of it sent to the old one ("email_change_notice").
type sentMail struct {
	Kind           string    `json:"kind"`
	To             string    `json:"to"`
	MembershipID   string    `json:"membership_id,omitempty"`
	OrganizationID string    `json:"organization_id,omitempty"`
	Organization   string    `json:"organization,omitempty"`
	Token          string    `json:"token,omitempty"` // an invitation's; empty when the membership is already active
	Code           string    `json:"code,omitempty"`  // an email change's, for PATCH /api/user/confirm_email
	NewEmail       string    `json:"new_email,omitempty"`
	ExpiresAt      time.Time `json:"expires_at"`
}

// maxDevMail bounds the mail that devMail keeps.
const maxDevMail = 1000

var (
	_ provisioning.Notifier            = (*devMail)(nil)
	_ provisioning.EmailChangeNotifier = (*devMail)(nil)
)

// keep adds mails to the kept ones, dropping the oldest beyond maxDevMail.
func (d *devMail) keep(mails ...sentMail) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range mails {
		if len(d.sent) == maxDevMail {
			d.sent = slices.Delete(d.sent, 0, 1)
		}
		d.sent = append(d.sent, m)
	}
}

// Invited implements provisioning.Notifier.
func (d *devMail) Invited(_ context.Context, inv provisioning.Invitation) error {
	s := sentMail{Kind: "invitation", To: inv.Email, MembershipID: inv.MembershipID, OrganizationID: inv.OrganizationID,
		Organization: inv.OrganizationName, Token: inv.Token, ExpiresAt: inv.ExpiresAt}
	d.keep(s)
	if s.Token == "" {
		d.log.Info("httpserver: invitation (development mode: not mailed): already a member", "to", s.To, "organization", s.Organization)
		return nil
	}
	d.log.Info("httpserver: invitation (development mode: not mailed): accept it as the invited user with "+
		`POST /invitations/accept {"token":"<token>"}`, "to", s.To, "organization", s.Organization, "token", s.Token,
		"expires_at", s.ExpiresAt)
	return nil
}

// EmailChangeRequested implements provisioning.EmailChangeNotifier: the
// code for the new address, a notice without it for the old one.
func (d *devMail) EmailChangeRequested(_ context.Context, c provisioning.EmailChange) error {
	d.keep(sentMail{Kind: "email_change", To: c.NewEmail, Code: c.Code, NewEmail: c.NewEmail, ExpiresAt: c.ExpiresAt},
		sentMail{Kind: "email_change_notice", To: c.OldEmail, NewEmail: c.NewEmail, ExpiresAt: c.ExpiresAt})
	d.log.Info("httpserver: email change (development mode: not mailed): confirm it as the user with "+
		`PATCH /api/user/confirm_email {"data":{"type":"users","attributes":{"code":"<code>"}}}`,
		"to", c.NewEmail, "from", c.OldEmail, "code", c.Code, "expires_at", c.ExpiresAt)
	return nil
}

func (d *devMail) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	to := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("to")))
	out := []sentMail{}
	d.mu.Lock()
	for _, s := range d.sent {
		if to == "" || strings.ToLower(s.To) == to {
			out = append(out, s)
		}
	}
	d.mu.Unlock()
	answer(w, d.log, http.StatusOK, out, nil)
}

// readJSON decodes a small JSON object body into v with the API's strict
// decoder: unknown fields, a member given twice (at any depth, or in two
// cases) and data after the object are refused.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	const op = "httpserver.readJSON"
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<10))
	if err == nil {
		err = httpapi.DecodeJSON(b, v)
	}
	if dup := (*httpapi.DuplicateKeyError)(nil); errors.As(err, &dup) {
		return fault.E(op, fault.Invalid, fmt.Errorf("%w: the member %s is given more than once", errBadBody, dup.Pointer))
	}
	if err != nil {
		return fault.E(op, fault.Invalid, errBadBody)
	}
	return nil
}

var errBadBody = errors.New("the body must be one JSON object of the documented fields")

// statusOf is the status of an error's kind on the server's own routes.
var statusOf = map[fault.Kind]int{fault.Invalid: http.StatusBadRequest, fault.NotFound: http.StatusNotFound,
	fault.Conflict: http.StatusConflict, fault.Forbidden: http.StatusForbidden, fault.Unauthenticated: http.StatusUnauthorized,
	fault.Busy: http.StatusServiceUnavailable}

// answer writes v as JSON with status, or err as {"error": "..."} with the
// status of its kind (an internal error is logged, not shown).
func answer(w http.ResponseWriter, log *slog.Logger, status int, v any, err error) {
	if err != nil {
		var ok bool
		if status, ok = statusOf[fault.KindOf(err)]; !ok {
			log.Error("httpserver: request failed", "error", err)
			err, status = errors.New("internal error (logged)"), http.StatusInternalServerError
		}
		v = map[string]string{"error": err.Error()}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
