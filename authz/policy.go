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

// memberRole is the built-in role every active member of an organization has.
const memberRole = "builtin:member"

// baseline lists the subjects every active member may read.
var baseline = [...]string{
	"organizations", "memberships", "membership_profiles", "roles", "permissions",
	"api_credentials", "application_memberships", "identity_providers",
}

func domain(orgID string) string   { return "org:" + orgID }
func roleSub(roleID string) string { return "role:" + roleID }
func userSub(userID string) string { return "user:" + userID }

// Lines derives the Casbin policy of one organization from its snapshot. The
// domain of every line is "org:<OrganizationID>". The lines carry no policy
// type: each p line is [sub, dom, obj, act] and each g line is [user, role, dom].
//
//   - a role of kind admin gives [role:<id>, org:<o>, *, *];
//   - a role of kind read_only gives [role:<id>, org:<o>, *, read];
//   - a role of kind custom gives [role:<id>, org:<o>, <subject>, <action>] for each
//     true flag of each of its permissions (the permissions of admin and
//     read_only roles add nothing: the kind decides);
//   - builtin:member may read the provisioning resources except versions;
//   - each member gives [user:<id>, role:<id>, org:<o>] and [user:<id>, builtin:member, org:<o>].
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
	dom := domain(s.OrganizationID)

	kinds := make(map[string]role.Kind, len(s.Roles))
	for _, r := range s.Roles {
		switch {
		case !resource.ValidID(r.ID):
			return nil, nil, bad("malformed role id %q", r.ID)
		case !r.Kind.Valid():
			return nil, nil, bad("role %s: unknown kind %q", r.ID, r.Kind)
		}
		if _, dup := kinds[r.ID]; dup {
			return nil, nil, bad("role %s listed twice", r.ID)
		}
		kinds[r.ID] = r.Kind
		switch r.Kind {
		case role.KindAdmin:
			p = append(p, []string{roleSub(r.ID), dom, "*", "*"})
		case role.KindReadOnly:
			p = append(p, []string{roleSub(r.ID), dom, "*", string(role.ActionRead)})
		}
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
				p = append(p, []string{roleSub(perm.RoleID), dom, perm.Subject, string(a)})
			}
		}
	}

	for _, subj := range baseline {
		p = append(p, []string{memberRole, dom, subj, string(role.ActionRead)})
	}

	seen := make(map[string]bool, len(s.Members))
	for _, m := range s.Members {
		switch {
		case !resource.ValidID(m.UserID):
			return nil, nil, bad("malformed member user id %q", m.UserID)
		case !resource.ValidID(m.RoleID):
			return nil, nil, bad("member %s: malformed role id %q", m.UserID, m.RoleID)
		}
		if _, ok := kinds[m.RoleID]; !ok {
			return nil, nil, bad("member %s: unknown role %q", m.UserID, m.RoleID)
		}
		g = append(g, []string{userSub(m.UserID), roleSub(m.RoleID), dom})
		if !seen[m.UserID] {
			seen[m.UserID] = true
			g = append(g, []string{userSub(m.UserID), memberRole, dom})
		}
	}

	// Belt and braces for I3: whatever the checks above let through, no line
	// may carry a token that a CSV round trip or a filter would misread.
	for _, lines := range [][][]string{p, g} {
		for _, line := range lines {
			for _, t := range line {
				if !validToken(t) {
					return nil, nil, bad("bad policy token %q", t)
				}
			}
		}
	}
	return p, g, nil
}

// validToken reports whether t may appear in a policy line: non-empty, no
// comma, quote, carriage return or newline, no leading or trailing space.
func validToken(t string) bool {
	return t != "" && !strings.ContainsAny(t, ",\"\r\n") && strings.TrimSpace(t) == t
}

// newEnforcer builds an enforcer over a freshly parsed model, loaded with the
// given lines through an in-memory adapter (array form, never CSV text).
func newEnforcer(p, g [][]string) (*casbin.Enforcer, error) {
	m, err := model.NewModelFromString(modelText)
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
