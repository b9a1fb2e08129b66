package audit

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
)

// SecurityKind is what a security event records.
type SecurityKind string

// The kinds of security event.
const (
	// AuthorizationRefused: a call was refused by the check (not a member,
	// no grant, a deny, an expired membership, an address outside the
	// allowlist, a missing second factor).
	AuthorizationRefused SecurityKind = "authorization_refused"
	// LastOwnerRefused: a change would have left an organization without
	// its owner.
	LastOwnerRefused SecurityKind = "last_owner_refused"
	// BadCredentials: an API credential's client id and secret did not
	// authenticate.
	BadCredentials SecurityKind = "bad_credentials"
	// BadToken: a bearer token did not authenticate (recorded by the host
	// or the HTTP wrapper through System.RecordSecurityEvent).
	BadToken SecurityKind = "bad_token"
	// VersionsPurged: versions past their retention were deleted (the
	// detail tells how many, and the cutoff).
	VersionsPurged SecurityKind = "versions_purged"
)

// Valid reports whether k is a known kind.
func (k SecurityKind) Valid() bool {
	switch k {
	case AuthorizationRefused, LastOwnerRefused, BadCredentials, BadToken, VersionsPurged:
		return true
	}
	return false
}

// SecurityEvent records a refusal that matters to security, or a purge of
// the audit trail (VersionsPurged). Unlike a
// version, it is written even though (because) the call changed nothing:
// after the refused call's transaction has ended, on its own. It never
// holds a secret, and its text fields are escaped (see Escape).
type SecurityEvent struct {
	ID             string
	Kind           SecurityKind
	OrganizationID string // "" when the refusal is not about one
	Who            Who    // the principal; Type "" when nobody authenticated
	Operation      string // the refused call, e.g. "provisioning.Invite"
	Subject        string // the permission subject checked, if any
	Action         string // the action checked, if any
	Reason         string // the check's reason (not_member, no_grant, ip_refused, ...) or another short code
	IP             string // the client address, when known
	Detail         string // a short, escaped note: the client id tried, a token's prefix
	RequestID      string
	CreatedAt      time.Time
}

// MaxDetail bounds a security event's text fields, in bytes.
const MaxDetail = 200

// Escape makes s safe to store and show in a log line: control characters,
// line separators and bidirectional overrides (and the escape character
// itself) become \xNN or \uNNNN escapes, invalid UTF-8 becomes \ufffd, and
// the result is cut to MaxDetail bytes.
func Escape(s string) string {
	var b strings.Builder
	for i, r := range s {
		var piece string
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			piece = `\ufffd`
		case r == '\\':
			piece = `\\`
		case r < 0x20 || r == 0x7f:
			piece = `\x` + strconv.FormatInt(int64(r)|0x100, 16)[1:]
		case r >= 0x80 && r < 0xa0, r == '\u2028', r == '\u2029', r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
			piece = `\u` + strconv.FormatInt(int64(r)|0x10000, 16)[1:]
		default:
			piece = string(r)
		}
		if b.Len()+len(piece) > MaxDetail {
			break
		}
		b.WriteString(piece)
	}
	return b.String()
}

// Sanitized returns e with every text field escaped.
func (e SecurityEvent) Sanitized() SecurityEvent {
	for _, f := range []*string{&e.OrganizationID, &e.Who.Type, &e.Who.ID, &e.Operation, &e.Subject, &e.Action,
		&e.Reason, &e.IP, &e.Detail, &e.RequestID} {
		*f = Escape(*f)
	}
	return e
}

// SecurityFilter selects security events. Empty fields match all.
type SecurityFilter struct {
	OrganizationID string
	Kind           SecurityKind
	WhoID          string
	Since, Until   time.Time
	resource.PageRequest
}

// Validate checks the filter.
func (f SecurityFilter) Validate() error {
	var p fault.Problems
	if f.Kind != "" && !f.Kind.Valid() {
		p.Add("kind", "enum", "must be a known kind of security event")
	}
	if _, err := f.AfterID(); err != nil {
		p.Merge(err)
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && f.Until.Before(f.Since) {
		p.Add("until", "format", "must not be before since")
	}
	return p.Err("audit.ListSecurityEvents")
}

// SecurityStore keeps security events: append and read, nothing else.
// Append writes on its own, outside any transaction ctx carries: an event
// outlives the refused call's rollback. So never call it while holding a
// SQLite write transaction (one writer: it would wait for itself); the
// facade calls it once the refused call's transaction has ended.
type SecurityStore interface {
	Append(ctx context.Context, e *SecurityEvent) error
	List(ctx context.Context, f SecurityFilter) (resource.Page[SecurityEvent], error)
}
