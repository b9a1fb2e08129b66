package provisioning

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/authz"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/user"
)

// MaxInvitesPerCall bounds the invitations of one InviteMany call.
const MaxInvitesPerCall = 1000

// InviteResult is the outcome of one invitation of InviteMany: the
// membership, or why this one was refused.
type InviteResult struct {
	Membership *membership.Membership
	Err        error
}

// InviteMany invites many people into one organization in one transaction,
// under one lock and one authorization, as Invite would one by one, and
// returns a result for each invitation, in order. An invitation that Invite
// would refuse (invalid input, a role of another organization, a right the
// caller does not hold, an email already invited, twice in the call, or past
// the plan's limit) fails alone, with the error Invite would give, and the
// others go on; an error that concerns the call (not authenticated, no such
// organization, no right to invite, more than MaxInvitesPerCall invitations,
// a storage failure) fails the whole call and creates nothing.
//
// Each invitation's OrganizationID must be orgID or blank. The Notifier
// hears of each created membership after commit. Invitations of people
// without a user are written together (in a few multi-row statements, or
// on SQLite one prepared statement run per row); those of existing users,
// who become active members at once, one by one.
func (s *Session) InviteMany(ctx context.Context, orgID string, invites []membership.Invite) ([]InviteResult, error) {
	const op = "provisioning.InviteMany"
	if len(invites) > MaxInvitesPerCall {
		return nil, fault.InvalidField(op, "invitations", "too_long", fmt.Sprintf("is too long (maximum is %d invitations)", MaxInvitesPerCall))
	}
	var out []InviteResult
	var sent []Invitation
	err := s.tx(ctx, func(ctx context.Context) error {
		org, d, err := s.lockedOrg(ctx, op, orgID, typeMemberships, role.ActionCreate)
		if err != nil {
			return err
		}
		out, sent, err = s.invite(ctx, op, org, d, invites, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, inv := range sent {
		s.notify(ctx, inv)
	}
	return out, nil
}

// invite is the plan of Invite and InviteMany, under org's lock and the
// call's authorization d: it prepares every invitation (prepareInvite),
// answers each in turn as Invite would one after the other (the plan's
// limit first, then the unique keys), and inserts what remains
// (insertInvited). An error that concerns the call is returned; one that
// concerns an invitation is its result's. It returns the invitations to
// send after commit. With pre, what lockedTarget read, the call is about
// one invitation (Invite), which meets the unique keys on insert and fails
// with them, for a statement less; otherwise each must fail alone, and the
// keys are read first.
func (s *Session) invite(ctx context.Context, op string, org *organization.Organization, d authz.Decision, invites []membership.Invite, pre *prefetched) ([]InviteResult, []Invitation, error) {
	one := pre != nil
	out := make([]InviteResult, len(invites))
	roles := map[string]roleFound{} // each role read once
	if one && pre.roleID != "" {
		var f roleFound
		f.r, f.err = roleOf(op, "role", org.ID, pre.t.Role, nil)
		roles["role\x00"+pre.roleID] = f
	}
	roleAs := func(ctx context.Context, op, field, orgID, id string) (*role.Role, error) {
		f, ok := roles[field+"\x00"+id]
		if !ok {
			f.r, f.err = s.roleAs(ctx, op, field, orgID, id)
			roles[field+"\x00"+id] = f
		}
		return f.r, f.err
	}
	type ready struct {
		i   int
		m   *membership.Membership
		inv *Invitation
		dup bool // the email of an earlier invitation of the call
	}
	var all []ready
	seen := map[string]int{}
	for i, in := range invites {
		if in.OrganizationID != "" && in.OrganizationID != org.ID {
			out[i].Err = fault.InvalidField(op, "organization", "mismatch", "must be the organization of the call")
			continue
		}
		in.OrganizationID = org.ID
		in, m, inv, err := s.prepareInvite(ctx, op, org, d, in, roleAs)
		if err != nil && (fault.KindOf(err) == fault.Internal || fault.KindOf(err) == fault.Busy) {
			return nil, nil, err
		}
		if _, dup := seen[in.UserEmail]; err == nil && dup {
			// Answered in turn below, as Invite would answer it after
			// the earlier one: past the plan, or already invited.
			all = append(all, ready{i: i, dup: true})
			continue
		}
		if err != nil {
			if errors.Is(err, fault.ErrForbidden) && !one {
				// An escalation refused alone: recorded as Invite's
				// refusal, which fails its call, is (withEvents).
				s.securityEvent(ctx, ruleRefusal(org.ID, err))
			}
			out[i].Err = err
			continue
		}
		seen[in.UserEmail] = i
		all = append(all, ready{i: i, m: m, inv: inv})
	}
	if len(seen) == 0 {
		return out, nil, nil
	}
	emails := slices.Collect(maps.Keys(seen))
	taken := map[string]bool{}
	if !one {
		takenList, err := s.p.b.Memberships().TakenEmails(ctx, org.ID, emails)
		if err != nil {
			return nil, nil, fault.Wrap(op, err)
		}
		for _, e := range takenList {
			taken[e] = true
		}
	}
	var users []user.User
	switch {
	case one && len(emails) == 1 && emails[0] == pre.email:
		if pre.t.User != nil {
			users = []user.User{*pre.t.User}
		}
	default:
		var err error
		if users, err = s.p.b.Users().ListByEmails(ctx, emails); err != nil {
			return nil, nil, fault.Wrap(op, err)
		}
	}
	byEmail := make(map[string]int, len(users))
	for k := range users {
		byEmail[users[k].Email] = k
	}
	room, err := s.membershipRoom(ctx, op, org)
	if err != nil {
		return nil, nil, err
	}
	var rows []invited
	var sent []Invitation
	for _, r := range all {
		switch {
		case room == 0:
			out[r.i].Err = &fault.Error{Op: op, Kind: fault.Conflict, Field: "memberships", Err: fault.ErrLimitReached}
			continue
		case r.dup || taken[r.m.UserEmail]:
			out[r.i].Err = alreadyInvited(op)
			continue
		}
		k, isUser := byEmail[r.m.UserEmail]
		if isUser && !one {
			// The user may be a member under another address (the user's
			// email changed since): the (organization, user) key, which
			// one invitation meets on insert, refuses this invitation alone.
			switch _, err := s.p.b.Memberships().GetByUser(ctx, org.ID, users[k].ID); {
			case err == nil:
				out[r.i].Err = alreadyInvited(op)
				continue
			case fault.KindOf(err) != fault.NotFound:
				return nil, nil, fault.Wrap(op, err)
			}
		}
		if room > 0 { // -1: no limit
			room--
		}
		row := invited{m: r.m}
		if isUser && users[k].EmailVerified() {
			// A user whose address is proven theirs: an active member at once.
			u := users[k]
			r.m.Status, r.m.UserID = membership.Active, u.ID
			r.m.UserFirstName, r.m.UserLastName = u.FirstName, u.LastName
		} else {
			// No user, or one whose address is not proven theirs: an
			// invitation that waits for the owner of the address.
			row.tokenHash = s.pending(r.m, r.inv)
		}
		rows = append(rows, row)
		out[r.i].Membership = r.m
		sent = append(sent, *r.inv)
	}
	if err := s.insertInvited(ctx, op, org, rows, one); err != nil {
		return nil, nil, err
	}
	return out, sent, nil
}

// invited is a membership the plan inserts, with its token's hash when it is pending.
type invited struct {
	m         *membership.Membership
	tokenHash []byte
}

// alreadyInvited is the conflict of an email the organization has invited already.
func alreadyInvited(op string) error {
	return &fault.Error{Op: op, Kind: fault.Conflict, Field: "user_email", Err: fault.ErrAlreadyExists}
}

// insertInvited inserts the memberships of the invite plan, within the
// plan's limit already, and records them: one row or many. Pending ones go
// in multi-row statements (one's in a statement of its own, whose unique
// keys answer for it); an active one also makes org its user's default
// organization if the user has none. Both unique keys that can fire here,
// (organization, email) and (organization, user), come from the email the
// caller gave.
func (s *Session) insertInvited(ctx context.Context, op string, org *organization.Organization, rows []invited, one bool) error {
	var pending []*membership.Membership
	var hashes [][]byte
	var changes []change
	for _, r := range rows {
		if r.m.Status == membership.Active || one {
			if err := s.insertMembership(ctx, op, org, r.m, r.tokenHash, "user_email"); err != nil {
				return err
			}
			continue
		}
		pending, hashes = append(pending, r.m), append(hashes, r.tokenHash)
		changes = append(changes, change{org: org.ID, typ: typeMemberships, id: r.m.ID, ev: audit.Create, ch: membershipCreated(r.m)})
	}
	if len(pending) == 0 {
		return nil
	}
	if err := s.p.b.Memberships().CreateMany(ctx, pending, hashes); err != nil {
		return fault.Wrap(op, err)
	}
	return s.apply(ctx, changes...)
}

// roleFound is a role read, or why it could not be.
type roleFound struct {
	r   *role.Role
	err error
}
