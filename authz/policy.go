package authz

import (
	_ "embed"
	"errors"
	"fmt"
	"strings"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

//go:embed model.conf
var modelText string

// The built-in roles of every organization's domain.
const (
	// memberRole is held by every active member.
	memberRole = "builtin:member"
	// guestRole is held by every guest member; it carries deny lines only.
	guestRole = "builtin:guest"
)

// The effects of a p line.
const (
	allowEffect = "allow"
	denyEffect  = "deny"
)

// any is the wildcard of a p line's object or action.
const anyToken = "*"

// baseline lists the subjects every active member may read
// (role.MemberReadSubjects), and guestDenied those a guest may never manage
// (role.GuestDeniedSubjects).
var (
	baseline    = role.MemberReadSubjects()
	guestDenied = role.GuestDeniedSubjects()
)

// managing lists the actions a guest may never do on guestDenied.
var managing = [...]role.Action{role.ActionCreate, role.ActionUpdate, role.ActionDestroy}

func orgDomain(orgID string) string         { return "org:" + orgID }
func appDomain(orgID, credID string) string { return "app:" + orgID + "/" + credID }
func roleSub(roleID string) string          { return "role:" + roleID }
func userSub(userID string) string          { return "user:" + userID }
func credSub(credID string) string          { return "cred:" + credID }

// Lines derives the Casbin policy of one organization from its snapshot. Each
// p line is [sub, dom, obj, act, eft] and each g line is [sub, role, dom];
// they carry no policy type. The organization's domain is "org:<id>"; each
// application (credential) that some member reaches through an application
// membership has its own domain "app:<organization id>/<credential id>",
// which names the organization so that no two organizations share one.
//
//   - a role of kind admin gives [role:<id>, org:<o>, *, *, allow];
//   - a role of kind read_only gives [role:<id>, org:<o>, *, read, allow];
//   - a role of kind custom gives [role:<id>, org:<o>, <subject>, <action>,
//     allow] for each true flag of each of its permissions (the permissions
//     of admin and read_only roles add nothing: the kind decides);
//   - builtin:member may read role.MemberReadSubjects (the provisioning
//     resources except versions);
//   - builtin:guest is denied create, update and destroy on
//     role.GuestDeniedSubjects (emitted only when the organization has a
//     guest);
//   - each member gives [user:<id>, role:<id>, org:<o>] for each of its
//     roles, [user:<id>, builtin:member, org:<o>], [user:<id>,
//     builtin:guest, org:<o>] when a guest, and [user:<id>, org:<o>,
//     <subject|*>, <action|*>, allow] for each direct grant;
//   - each credential with a role gives [cred:<id>, role:<id>, org:<o>];
//   - each application membership gives [user:<id>, role:<id>, app:<o>/<c>] for
//     its member, or for every member of its profile (computed here, never
//     stored), and the role's p lines are repeated in the domain app:<o>/<c>;
//     a guest also gets builtin:guest and its deny lines there.
//
// Every id must be a well-formed id (resource.ValidID), every subject
// lower-case snake_case, every kind known, every reference resolved inside the
// snapshot. A bad value is an error of kind Internal, never a line.
func Lines(s *access.Snapshot) (p [][]string, g [][]string, err error) {
	const op = "authz.Lines"
	bad := func(format string, args ...any) error {
		return fault.E(op, fault.Internal, fmt.Errorf(format, args...))
	}
	if s == nil {
		return nil, nil, bad("nil snapshot")
	}
	if !resource.ValidID(s.OrganizationID) {
		return nil, nil, bad("malformed organization id %q", s.OrganizationID)
	}
	if s.OwnerUserID != "" && !resource.ValidID(s.OwnerUserID) {
		return nil, nil, bad("malformed owner id %q", s.OwnerUserID)
	}
	dom := orgDomain(s.OrganizationID)
	var b lineSet

	// Roles: their lines are kept apart so that application domains can
	// repeat them.
	roleLines := make(map[string][][2]string, len(s.Roles)) // role id → (obj, act)
	for _, r := range s.Roles {
		switch {
		case !resource.ValidID(r.ID):
			return nil, nil, bad("malformed role id %q", r.ID)
		case !r.Kind.Valid():
			return nil, nil, bad("role %s: unknown kind %q", r.ID, r.Kind)
		}
		if _, dup := roleLines[r.ID]; dup {
			return nil, nil, bad("role %s listed twice", r.ID)
		}
		switch r.Kind {
		case role.KindAdmin:
			roleLines[r.ID] = [][2]string{{anyToken, anyToken}}
		case role.KindReadOnly:
			roleLines[r.ID] = [][2]string{{anyToken, string(role.ActionRead)}}
		default:
			roleLines[r.ID] = nil
		}
	}
	kinds := make(map[string]role.Kind, len(s.Roles))
	for _, r := range s.Roles {
		kinds[r.ID] = r.Kind
	}
	for _, perm := range s.Permissions {
		kind, ok := kinds[perm.RoleID]
		switch {
		case !ok:
			return nil, nil, bad("permission %q: unknown role %q", perm.ID, perm.RoleID)
		case perm.OrganizationID != "" && perm.OrganizationID != s.OrganizationID:
			return nil, nil, bad("permission %q: organization %q", perm.ID, perm.OrganizationID)
		case !role.ValidSubject(perm.Subject):
			return nil, nil, bad("permission %q: malformed subject %q", perm.ID, perm.Subject)
		case kind != role.KindCustom:
			continue
		}
		for _, a := range role.Actions {
			if perm.Allows(a) {
				roleLines[perm.RoleID] = append(roleLines[perm.RoleID], [2]string{perm.Subject, string(a)})
			}
		}
	}
	for _, r := range s.Roles { // snapshot order, so that lines are deterministic
		for _, l := range roleLines[r.ID] {
			b.p(roleSub(r.ID), dom, l[0], l[1], allowEffect)
		}
	}
	for _, subj := range baseline {
		b.p(memberRole, dom, string(subj), string(role.ActionRead), allowEffect)
	}

	// Members.
	byUser := make(map[string]*access.Member, len(s.Members))
	guests := false
	for i := range s.Members {
		m := &s.Members[i]
		switch {
		case !resource.ValidID(m.UserID):
			return nil, nil, bad("malformed member user id %q", m.UserID)
		case m.MembershipID != "" && !resource.ValidID(m.MembershipID):
			return nil, nil, bad("member %s: malformed membership id %q", m.UserID, m.MembershipID)
		case m.ProfileID != "" && !resource.ValidID(m.ProfileID):
			return nil, nil, bad("member %s: malformed profile id %q", m.UserID, m.ProfileID)
		case len(m.RoleIDs) == 0:
			return nil, nil, bad("member %s: no role", m.UserID)
		}
		if _, dup := byUser[m.UserID]; dup {
			return nil, nil, bad("member %s listed twice", m.UserID)
		}
		byUser[m.UserID] = m
		for _, r := range m.RoleIDs {
			if _, ok := kinds[r]; !ok {
				return nil, nil, bad("member %s: unknown role %q", m.UserID, r)
			}
			b.g(userSub(m.UserID), roleSub(r), dom)
		}
		b.g(userSub(m.UserID), memberRole, dom)
		if m.Guest {
			guests = true
			b.g(userSub(m.UserID), guestRole, dom)
		}
		for _, gr := range m.Grants {
			if !validGrant(gr) {
				return nil, nil, bad("member %s: malformed grant %q on %q", m.UserID, gr.Action, gr.Subject)
			}
			b.p(userSub(m.UserID), dom, gr.Subject, gr.Action, allowEffect)
		}
	}
	if guests {
		for _, subj := range guestDenied {
			for _, a := range managing {
				b.p(guestRole, dom, string(subj), string(a), denyEffect)
			}
		}
	}

	// Credentials.
	creds := make(map[string]bool, len(s.Credentials))
	for _, c := range s.Credentials {
		switch {
		case !resource.ValidID(c.ID):
			return nil, nil, bad("malformed credential id %q", c.ID)
		case creds[c.ID]:
			return nil, nil, bad("credential %s listed twice", c.ID)
		}
		creds[c.ID] = true
		if c.RoleID == "" {
			continue
		}
		if _, ok := kinds[c.RoleID]; !ok {
			return nil, nil, bad("credential %s: unknown role %q", c.ID, c.RoleID)
		}
		b.g(credSub(c.ID), roleSub(c.RoleID), dom)
	}

	// Application memberships: a domain per application.
	byProfile := make(map[string][]string)
	for _, m := range s.Members {
		if m.ProfileID != "" {
			byProfile[m.ProfileID] = append(byProfile[m.ProfileID], m.UserID)
		}
	}
	appRoles := make(map[[2]string]bool) // (credential, role) whose lines are repeated
	for _, am := range s.AppMemberships {
		switch {
		case !resource.ValidID(am.ID):
			return nil, nil, bad("malformed application membership id %q", am.ID)
		case !creds[am.CredentialID]:
			return nil, nil, bad("application membership %s: unknown credential %q", am.ID, am.CredentialID)
		case (am.UserID == "") == (am.ProfileID == ""):
			return nil, nil, bad("application membership %s: needs exactly one of user and profile", am.ID)
		case am.UserID != "" && !resource.ValidID(am.UserID), am.ProfileID != "" && !resource.ValidID(am.ProfileID):
			return nil, nil, bad("application membership %s: malformed holder", am.ID)
		}
		if _, ok := kinds[am.RoleID]; !ok {
			return nil, nil, bad("application membership %s: unknown role %q", am.ID, am.RoleID)
		}
		users := byProfile[am.ProfileID]
		if am.UserID != "" {
			users = nil
			if byUser[am.UserID] != nil { // a membership that is not active grants nothing
				users = []string{am.UserID}
			}
		}
		app := appDomain(s.OrganizationID, am.CredentialID)
		for _, u := range users {
			b.g(userSub(u), roleSub(am.RoleID), app)
			if byUser[u].Guest { // a guest never manages the organization, not through an application either
				b.g(userSub(u), guestRole, app)
				for _, subj := range guestDenied {
					for _, a := range managing {
						b.p(guestRole, app, string(subj), string(a), denyEffect)
					}
				}
			}
		}
		if len(users) > 0 && !appRoles[[2]string{am.CredentialID, am.RoleID}] {
			appRoles[[2]string{am.CredentialID, am.RoleID}] = true
			for _, l := range roleLines[am.RoleID] {
				b.p(roleSub(am.RoleID), app, l[0], l[1], allowEffect)
			}
		}
	}

	// Belt and braces for I3: whatever the checks above let through, no line
	// may carry a token that a CSV round trip or a filter would misread.
	for _, lines := range [][][]string{b.pl, b.gl} {
		for _, line := range lines {
			for _, t := range line {
				if !validToken(t) {
					return nil, nil, bad("bad policy token %q", t)
				}
			}
		}
	}
	return b.pl, b.gl, nil
}

// lineSet collects lines without duplicates, in the order first added.
type lineSet struct {
	pl, gl [][]string
	seen   map[[6]string]bool // the line, and its type
}

func (b *lineSet) add(dst *[][]string, line []string) {
	if b.seen == nil {
		b.seen = make(map[[6]string]bool)
	}
	var k [6]string
	k[0] = "g"
	if dst == &b.pl {
		k[0] = "p"
	}
	copy(k[1:], line)
	if !b.seen[k] {
		b.seen[k] = true
		*dst = append(*dst, line)
	}
}

func (b *lineSet) p(sub, dom, obj, act, eft string) {
	b.add(&b.pl, []string{sub, dom, obj, act, eft})
}

func (b *lineSet) g(sub, role, dom string) { b.add(&b.gl, []string{sub, role, dom}) }

// validGrant reports whether a direct grant names a subject (or "*") and an
// action (or "*").
func validGrant(g access.Grant) bool {
	return (g.Subject == anyToken || role.ValidSubject(g.Subject)) &&
		(g.Action == anyToken || role.Action(g.Action).Valid())
}

// validToken reports whether t may appear in a policy line: non-empty, no
// comma, quote, carriage return or newline, no leading or trailing space.
func validToken(t string) bool {
	return t != "" && !strings.ContainsAny(t, ",\"\r\n") && strings.TrimSpace(t) == t
}

// parsedModel parses the embedded model; it fails only if model.conf is broken.
func parsedModel() (model.Model, error) { return model.NewModelFromString(modelText) }

// newEnforcer builds a stock enforcer over a freshly parsed model, loaded with
// the given lines through an in-memory adapter (array form, never CSV text).
func newEnforcer(p, g [][]string) (*casbin.Enforcer, error) {
	m, err := parsedModel()
	if err != nil {
		return nil, err
	}
	return casbin.NewEnforcer(m, &adapter{p: p, g: g})
}

var errReadOnly = errors.New("authz: the policy is derived from storage and read-only")

// adapter serves fixed policy lines to an enforcer. It cannot save or edit:
// the policy is derived, never edited.
type adapter struct{ p, g [][]string }

var _ persist.Adapter = (*adapter)(nil)

// LoadPolicy loads the lines into m, one array at a time.
func (a *adapter) LoadPolicy(m model.Model) error {
	for _, set := range []struct {
		ptype string
		lines [][]string
	}{{"p", a.p}, {"g", a.g}} {
		for _, line := range set.lines {
			rule := append([]string{set.ptype}, line...)
			if err := persist.LoadPolicyArray(rule, m); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *adapter) SavePolicy(model.Model) error                { return errReadOnly }
func (a *adapter) AddPolicy(string, string, []string) error    { return errReadOnly }
func (a *adapter) RemovePolicy(string, string, []string) error { return errReadOnly }
func (a *adapter) RemoveFilteredPolicy(string, string, int, ...string) error {
	return errReadOnly
}
