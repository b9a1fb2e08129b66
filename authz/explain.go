package authz

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/role"
)

// Explanation tells what decided a check: the Decision, and when a policy
// line decided it, that line and how the principal reaches it.
type Explanation struct {
	Decision
	// Line is the Casbin p line [sub, dom, obj, act, eft] that decided: the
	// deny line that refused, or an allow line that granted; nil when no
	// line matched or an attribute rule decided first.
	Line []string
	// MembershipID is the principal's membership, for a user.
	MembershipID string
	// ProfileID is the membership profile through which an application
	// membership reached the principal, if any.
	ProfileID string
	// AppMembershipID is the application membership that gave the role,
	// when the principal acted through an application.
	AppMembershipID string
	// RoleID is the role whose line decided; empty for a direct grant or a
	// built-in line.
	RoleID string
	// PermissionID is the permission of a custom role whose flag granted.
	PermissionID string
}

// String renders the explanation on one line, for logs.
func (e Explanation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (revision %s)", e.Reason, e.Revision)
	if e.Line != nil {
		fmt.Fprintf(&b, " by [%s]", strings.Join(e.Line, ", "))
	}
	for _, kv := range [][2]string{
		{"membership", e.MembershipID}, {"profile", e.ProfileID},
		{"application_membership", e.AppMembershipID}, {"role", e.RoleID}, {"permission", e.PermissionID},
	} {
		if kv[1] != "" {
			fmt.Fprintf(&b, " %s=%s", kv[0], kv[1])
		}
	}
	return b.String()
}

// Explain answers as Check does and says why. It reads the organization's
// snapshot, asks a stock Casbin enforcer loaded with its lines for the line
// that decided (EnforceEx), and traces how the principal reaches it. It costs
// as much as building an enforcer: meant for audits, support and tests, not
// for every request. An enforcer that disagrees with the check is an error
// of kind Internal.
func (a *Authorizer) Explain(ctx context.Context, src access.Store, p access.Principal, orgID, subject string, act role.Action) (Explanation, error) {
	const op = "authz.Explain"
	if err := checkRequest(p, orgID, subject, act); err != nil {
		return Explanation{}, fault.Wrap(op, err)
	}
	snap, err := src.Snapshot(ctx, orgID)
	if err != nil {
		return Explanation{}, fault.Wrap(op, err)
	}
	sh, err := newShard(snap)
	if err != nil {
		return Explanation{}, fault.Wrap(op, err)
	}
	ex := Explanation{Decision: sh.decide(p, subject, bitOf(string(act)), a.now)}
	var m *access.Member
	if p.Kind == access.KindUser {
		if i := slices.IndexFunc(snap.Members, func(m access.Member) bool { return m.UserID == p.ID }); i >= 0 {
			m = &snap.Members[i]
			ex.MembershipID = m.MembershipID
		}
	}
	if ex.Reason != Granted && ex.Reason != Denied && ex.Reason != NoGrant {
		return ex, nil // an attribute rule decided before any line
	}

	pl, gl, err := Lines(snap)
	if err != nil {
		return Explanation{}, fault.Wrap(op, err)
	}
	e, err := newEnforcer(pl, gl)
	if err != nil {
		return Explanation{}, fault.E(op, fault.Internal, err)
	}
	dom := orgDomain(orgID)
	if p.App != "" {
		dom = appDomain(orgID, p.App)
	}
	ok, line, err := e.EnforceEx(p.Subject(), dom, subject, string(act))
	if err != nil {
		return Explanation{}, fault.E(op, fault.Internal, err)
	}
	if ok != ex.Allowed {
		return Explanation{}, fault.E(op, fault.Internal, fmt.Errorf("enforcer says %v, check says %v", ok, ex.Allowed))
	}
	if len(line) == 0 {
		return ex, nil
	}
	ex.Line = line
	roleID, isRole := strings.CutPrefix(line[0], "role:")
	if !isRole {
		return ex, nil // a direct grant or a built-in line
	}
	ex.RoleID = roleID
	if subject := line[2]; subject != anyToken {
		for _, perm := range snap.Permissions {
			if perm.RoleID == roleID && perm.Subject == subject {
				ex.PermissionID = perm.ID
			}
		}
	}
	if p.App != "" && m != nil {
		for _, am := range snap.AppMemberships {
			if am.CredentialID == p.App && am.RoleID == roleID &&
				(am.UserID == p.ID || am.ProfileID != "" && am.ProfileID == m.ProfileID) {
				ex.AppMembershipID, ex.ProfileID = am.ID, am.ProfileID
				break
			}
		}
	}
	return ex, nil
}
