package membership

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/allowlist"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

// The membership rules of the two other provisioning APIs (Rebilly's upsert,
// ECI's add-member), on top of the Commerce Layer membership: several roles,
// direct permissions, an IP allowlist, guests with an expiry, MFA.

// MaxRoles bounds the roles of one membership; MaxPermissions its direct
// permissions.
const (
	MaxRoles       = 16
	MaxPermissions = 64
)

// Wildcard, as a direct permission, a subject or an action, means any.
const Wildcard = "*"

// Rules are the rule fields of a new membership. The zero Rules is a
// member with no direct permission, no IP restriction, not a guest, with
// no expiry and no MFA requirement of its own.
type Rules struct {
	// Permissions are direct permissions on top of the roles:
	// "subject:action", where either may be "*", or "*" alone for all.
	Permissions []string
	// AllowedIPs are the only addresses and networks the member may call
	// from (public ones only; see package allowlist). nil means no
	// restriction; an empty, non-nil list is refused: it cannot mean
	// "everyone" by accident.
	AllowedIPs []string
	// Guest members never manage the organization and are never its owner.
	Guest bool
	// ExpiresAt, when not zero, ends the membership's rights; it must be in
	// the future when set.
	ExpiresAt time.Time
	// MFARequired requires the member to authenticate with a second factor
	// (the organization may require it of everyone too).
	MFARequired bool
}

// canonical validates the rules and returns them with the permissions and
// the allowlist in canonical form.
func (r Rules) canonical(p *fault.Problems, env Env) Rules {
	r.Permissions = checkPermissions(p, "permissions", r.Permissions, env.subjects())
	r.AllowedIPs = allowlist.Strings(checkAllowedIPs(p, "allowed_ips", r.AllowedIPs))
	if !r.ExpiresAt.IsZero() && !r.ExpiresAt.After(env.Now) {
		p.Add("expires_at", "past", "must be in the future")
	}
	r.ExpiresAt = r.ExpiresAt.UTC().Truncate(time.Microsecond) // what storage keeps
	return r
}

// subjects returns the registry of subjects, the default one when unset.
func (e Env) subjects() *role.Subjects {
	if e.Subjects != nil {
		return e.Subjects
	}
	s, _ := role.NewSubjects()
	return s
}

// Rules returns the rules m has once u applies.
func (u Update) Rules(m *Membership) Rules {
	r := m.Rules()
	if u.Permissions != nil {
		r.Permissions = *u.Permissions
	}
	if u.AllowedIPs != nil {
		r.AllowedIPs = *u.AllowedIPs
	}
	if u.Guest != nil {
		r.Guest = *u.Guest
	}
	if u.ExpiresAt != nil {
		r.ExpiresAt = u.ExpiresAt.UTC().Truncate(time.Microsecond)
	}
	if u.MFARequired != nil {
		r.MFARequired = *u.MFARequired
	}
	return r
}

func checkAllowedIPs(p *fault.Problems, field string, entries []string) []netip.Prefix {
	list, err := allowlist.Parse(field, entries)
	p.Merge(err)
	return list
}

// checkPermissions validates direct permissions and returns them canonical:
// "*" alone when it is there, otherwise each "subject:action" once, without
// those a wildcard entry already covers, sorted. nil when there are none.
func checkPermissions(p *fault.Problems, field string, perms []string, subjects *role.Subjects) []string {
	if len(perms) > MaxPermissions {
		p.Add(field, "too_many", "must have at most 64 entries")
		return nil
	}
	grants := make([]access.Grant, 0, len(perms))
	bad := false
	for i, v := range perms {
		g, ok := parsePermission(v, subjects)
		if !ok {
			p.Add(field+"["+strconv.Itoa(i)+"]", "format",
				`must be "*" or "subject:action", with a known subject or "*" and an action of create, read, update, destroy or "*"`)
			bad = true
			continue
		}
		grants = append(grants, g)
	}
	if bad || len(grants) == 0 {
		return nil
	}
	var out []string
	for _, g := range grants {
		if !coveredByOther(g, grants) {
			out = append(out, FormatGrant(g))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// parsePermission reads one direct permission.
func parsePermission(v string, subjects *role.Subjects) (access.Grant, bool) {
	if v == Wildcard {
		return access.Grant{Subject: Wildcard, Action: Wildcard}, true
	}
	subj, act, ok := strings.Cut(v, ":")
	if !ok {
		return access.Grant{}, false
	}
	okSubj := subj == Wildcard || subjects.Has(subj)
	okAct := act == Wildcard || role.Action(act).Valid()
	return access.Grant{Subject: subj, Action: act}, okSubj && okAct
}

// coveredByOther reports whether another, wider grant of all covers g.
func coveredByOther(g access.Grant, all []access.Grant) bool {
	for _, h := range all {
		if h != g && Covers(h, g) {
			return true
		}
	}
	return false
}

// Covers reports whether the direct permission held covers g: the same
// subject or "*", and the same action or "*".
func Covers(held, g access.Grant) bool {
	return (held.Subject == Wildcard || held.Subject == g.Subject) && (held.Action == Wildcard || held.Action == g.Action)
}

// FormatGrant is the canonical text of a direct permission.
func FormatGrant(g access.Grant) string {
	if g.Subject == Wildcard && g.Action == Wildcard {
		return Wildcard
	}
	return g.Subject + ":" + g.Action
}

// Grants returns canonical direct permissions as the policy's grants.
func Grants(perms []string) []access.Grant {
	var out []access.Grant
	for _, v := range perms {
		if v == Wildcard {
			out = append(out, access.Grant{Subject: Wildcard, Action: Wildcard})
			continue
		}
		subj, act, _ := strings.Cut(v, ":")
		out = append(out, access.Grant{Subject: subj, Action: act})
	}
	return out
}

// checkRoleIDs validates a list of roles: at least one, each an id, none twice.
func checkRoleIDs(p *fault.Problems, field string, ids []string) {
	switch {
	case len(ids) == 0:
		p.Add(field, "blank", "must name at least one role")
	case len(ids) > MaxRoles:
		p.Add(field, "too_many", "must have at most 16 roles")
	}
	for i, id := range ids {
		if !resource.ValidID(id) {
			p.Add(field+"["+strconv.Itoa(i)+"]", "not_found", "does not exist")
		} else if slices.Index(ids, id) < i {
			p.Add(field+"["+strconv.Itoa(i)+"]", "taken", "is listed twice")
		}
	}
}

// checkMember checks the organization and the user a membership is for.
func checkMember(p *fault.Problems, orgID, userID string) {
	resource.CheckID(p, "organization", orgID)
	if !resource.ValidID(userID) {
		p.Add("user", "not_found", "does not exist")
	}
}

// Upsert is the whole desired state of a user's membership in an
// organization (Rebilly's PUT /memberships/{organizationId}/{userId}): it
// creates the membership when the user is not a member yet (only the
// owner may), and otherwise sets every rule field to what it says. The
// Commerce Layer fields (profile, access scope, reference, metadata) of an
// existing membership are left as they are.
type Upsert struct {
	OrganizationID string
	UserID         string
	// RoleIDs are the member's roles, the primary one (the Commerce Layer
	// view's role) first; at least one when set. nil keeps an existing
	// member's roles and gives a new member the organization's read_only
	// role (as Add does); an empty, non-nil list is refused.
	RoleIDs []string
	Rules
	// KeepGuestExpiryMFA leaves an existing membership's Guest, ExpiresAt
	// and MFARequired as they are (a new one gets the zero values), for
	// callers whose wire format has no such fields (Rebilly's): they must
	// not lift them by omission.
	KeepGuestExpiryMFA bool
}

// Validate checks the input; it returns the canonical rules.
func (in Upsert) Validate(env Env) (Upsert, error) {
	var p fault.Problems
	checkMember(&p, in.OrganizationID, in.UserID)
	if in.RoleIDs != nil {
		checkRoleIDs(&p, "role_ids", in.RoleIDs)
	}
	in.Rules = in.Rules.canonical(&p, env)
	return in, p.Err("membership.Upsert")
}

// Add adds an existing user, by id, as an active member (ECI's POST
// /v1/organizations/{organizationId}/members). The user must exist and
// must not be a member already.
type Add struct {
	OrganizationID string
	UserID         string
	// RoleIDs are the member's roles, the primary one first; none means the
	// organization's read_only role.
	RoleIDs []string
	Rules
	resource.CommonInput
}

// Validate checks the input; it returns the canonical rules.
func (in Add) Validate(env Env) (Add, error) {
	var p fault.Problems
	checkMember(&p, in.OrganizationID, in.UserID)
	if len(in.RoleIDs) > 0 {
		checkRoleIDs(&p, "role_ids", in.RoleIDs)
	}
	in.Rules = in.Rules.canonical(&p, env)
	in.CommonInput.Validate(&p)
	return in, p.Err("membership.Add")
}

// Rules returns the membership's rule fields as the Rules that set them.
func (m *Membership) Rules() Rules {
	return Rules{Permissions: m.Permissions, AllowedIPs: allowlist.Strings(m.AllowedIPs),
		Guest: m.Guest, ExpiresAt: m.ExpiresAt, MFARequired: m.MFARequired}
}

// SetRules sets canonical rules (validated) on m and records what changed in ch.
func (m *Membership) SetRules(r Rules, ch resource.Changes) {
	before := m.Rules()
	m.Permissions = r.Permissions
	m.AllowedIPs, _ = allowlist.Parse("allowed_ips", r.AllowedIPs) // canonical already: cannot fail
	m.Guest, m.MFARequired, m.ExpiresAt = r.Guest, r.MFARequired, r.ExpiresAt.UTC()
	recordList(ch, "permissions", before.Permissions, m.Permissions)
	recordList(ch, "allowed_ips", before.AllowedIPs, allowlist.Strings(m.AllowedIPs))
	if before.Guest != m.Guest {
		ch.Record("guest", before.Guest, m.Guest)
	}
	if !before.ExpiresAt.Equal(m.ExpiresAt) {
		ch.Record("expires_at", resource.TimeValue(before.ExpiresAt), resource.TimeValue(m.ExpiresAt))
	}
	if before.MFARequired != m.MFARequired {
		ch.Record("mfa_required", before.MFARequired, m.MFARequired)
	}
}

// SetRoles sets the membership's roles, the primary one first, and records
// the change in ch: role_id when the primary role changes, role_ids when
// the membership has or had more than one role.
func (m *Membership) SetRoles(ids []string, ch resource.Changes) {
	before := m.roles()
	if slices.Equal(before, ids) {
		m.RoleIDs = before
		return
	}
	if m.RoleID != ids[0] {
		ch.Record("role_id", m.RoleID, ids[0])
	}
	if len(before) > 1 || len(ids) > 1 {
		ch.Record("role_ids", before, slices.Clone(ids))
	}
	m.RoleID, m.RoleIDs = ids[0], slices.Clone(ids)
}

// roles returns every role of m, the primary one first; RoleID alone when
// RoleIDs is unset.
func (m *Membership) roles() []string {
	if len(m.RoleIDs) == 0 && m.RoleID != "" {
		return []string{m.RoleID}
	}
	return m.RoleIDs
}

// recordList records a change of a list that may be null (nil).
func recordList(ch resource.Changes, field string, before, after []string) {
	if slices.Equal(before, after) && (before == nil) == (after == nil) {
		return
	}
	ch.Record(field, resource.ListValue(before), resource.ListValue(after))
}
