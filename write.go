package provisioning

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/resource"
)

// change is one write of a call, as the write pipeline (Session.apply)
// takes it: the resource it changed, how, and what changed.
type change struct {
	org, typ, id string // organization ("" for a user), resource type and id
	ev           audit.Event
	ch           resource.Changes
	// res is the resource after the change, for the rules that read more
	// than the changes (a membership's status on update); nil otherwise.
	res any
	// in are the organizations where a change of a user (org "") decides:
	// the user's active memberships'.
	in []string
}

// changed reports whether the change records one of the fields.
func (c change) changed(fields ...string) bool {
	return slices.ContainsFunc(fields, func(f string) bool { _, ok := c.ch[f]; return ok })
}

// was reports whether field changed from (or, for a creation, to) v.
func (c change) was(field string, v any) bool {
	d, ok := c.ch[field]
	if !ok {
		return false
	}
	if c.ev == audit.Create {
		return d[1] == v
	}
	return d[0] == v
}

// policyFields are the membership fields the policy reads: a change to one
// of them bumps the organization's policy revision.
var policyFields = []string{"role_id", "role_ids", "membership_profile_id", "permissions", "allowed_ips",
	"guest", "expires_at", "mfa_required"}

// affectsPolicy is the table of the changes that can change an
// authorization decision in their organization, by resource type: those
// give the organization a new policy revision in their transaction, so
// that every instance reloads its policy. A type without a rule never does
// (users, identity providers, versions).
var affectsPolicy = map[string]func(change) bool{
	// The check reads the organization's second-factor requirement and its owner.
	typeOrganizations: func(c change) bool {
		return c.ev == audit.TransferOwnership || c.changed("mfa_required")
	},
	// A role is a subject of the policy; its name is not.
	typeRoles: func(c change) bool { return c.ev != audit.Update },
	// A permission grants what its flags say: one with none grants nothing.
	typePermissions: func(c change) bool {
		flags := []string{"can_create", "can_read", "can_update", "can_destroy"}
		if c.ev == audit.Create {
			return slices.ContainsFunc(flags, func(f string) bool { return c.was(f, true) })
		}
		return c.ev != audit.Update || c.changed(flags...)
	},
	// A pending membership grants nothing.
	typeMemberships: func(c change) bool {
		switch c.ev {
		case audit.Accept:
			return true
		case audit.Create:
			return c.was("status", string(membership.Active))
		case audit.Destroy:
			return !c.was("status", string(membership.Pending))
		case audit.Update:
			m, _ := c.res.(*membership.Membership)
			return (m == nil || m.Status == membership.Active) && c.changed(policyFields...)
		}
		return false
	},
	// A credential is a principal: its role, expiry and allowlist decide.
	typeCredentials: func(c change) bool {
		switch c.ev {
		case audit.Create, audit.Destroy:
			return true
		case audit.Update:
			return c.changed("role_id", "expires_at", "allowed_ips")
		}
		return false // a rotated secret
	},
	typeAppMemberships: func(change) bool { return true },
	// A user whose second factor is off is exempt from every requirement of one.
	typeUsers: func(c change) bool { return c.changed("mfa_disabled") },
	// A profile's application memberships go with it.
	typeProfiles: func(c change) bool { return c.ev == audit.Destroy },
}

// bumps returns the organizations the change gives a new policy revision:
// its own, or a user's (in), when the table's rule says so.
func (c change) bumps() []string {
	rule := affectsPolicy[c.typ]
	if rule == nil || !rule(c) {
		return nil
	}
	if c.org != "" {
		return []string{c.org}
	}
	return c.in
}

type writeKey struct{}

// writeState is what the writes of one transaction attempt have done.
type writeState struct {
	mu sync.Mutex
	// bumped are the organizations whose revision the transaction has
	// changed: it reads their policy afresh until it ends
	// (access.TxStore), so one new revision serves all its changes.
	bumped map[string]bool
}

// apply is the one step every write of the facade takes, in the
// transaction of the call (Session.tx): it appends one version per change
// and gives each organization whose policy the changes affect (see
// affectsPolicy) a new revision, once per transaction.
func (s *Session) apply(ctx context.Context, changes ...change) error {
	return s.applyWith(ctx, nil, changes...)
}

// applyWith is apply whose versions write, when set, writes itself,
// with the change they record (in one statement where the backend can):
// its error is the call's, as it returns it.
func (s *Session) applyWith(ctx context.Context, write func(ctx context.Context, vs []*audit.Version) error, changes ...change) error {
	const op = "provisioning.write"
	st, ok := ctx.Value(writeKey{}).(*writeState)
	if !ok {
		return fault.E(op, fault.Internal, errors.New("a write outside the call's transaction"))
	}
	versions := make([]*audit.Version, len(changes))
	now := s.now()
	for i, c := range changes {
		versions[i] = &audit.Version{
			ID: s.p.ids.NewID(), OrganizationID: c.org, ResourceType: c.typ, ResourceID: c.id,
			Event: c.ev, Changes: c.ch, Who: audit.Who{Type: string(s.pr.Kind), ID: s.pr.ID},
			RequestID: RequestID(ctx), Common: resource.Common{CreatedAt: now, UpdatedAt: now},
		}
	}
	var err error
	switch {
	case write != nil:
		if err := write(ctx, versions); err != nil {
			return err
		}
	case len(versions) == 1:
		err = s.p.b.Versions().Append(ctx, versions[0])
	case len(versions) > 1:
		err = s.p.b.Versions().AppendMany(ctx, versions)
	}
	if err != nil {
		return fault.Wrap(op, err)
	}
	for _, c := range changes {
		for _, org := range c.bumps() {
			st.mu.Lock()
			skip := st.bumped[org]
			st.bumped[org] = true
			st.mu.Unlock()
			if skip {
				continue
			}
			if err := s.p.b.Organizations().BumpPolicy(ctx, org); err != nil {
				return fault.Wrap(op, err)
			}
		}
	}
	return nil
}

// createPending stores a new pending membership m of the change c, with
// its version, in one step (membership.Store's CreateRecorded). A unique
// key that fires is a conflict on field.
func (s *Session) createPending(ctx context.Context, op string, m *membership.Membership, tokenHash []byte, field string, c change) error {
	return s.applyWith(ctx, func(ctx context.Context, vs []*audit.Version) error {
		err := s.p.b.Memberships().CreateRecorded(ctx, m, tokenHash, vs[0])
		if errors.Is(err, fault.ErrAlreadyExists) {
			return &fault.Error{Op: op, Kind: fault.Conflict, Field: field, Err: err}
		}
		return fault.Wrap(op, err)
	}, c)
}

// record is apply of one change.
func (s *Session) record(ctx context.Context, orgID, resourceType, resourceID string, ev audit.Event, ch resource.Changes) error {
	return s.apply(ctx, change{org: orgID, typ: resourceType, id: resourceID, ev: ev, ch: ch})
}

// tx runs fn in a transaction, whose writes go through apply.
func (s *Session) tx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.withEvents(ctx, func(ctx context.Context, reset func()) error {
		return s.p.b.InTx(ctx, func(ctx context.Context) error {
			reset() // a retried attempt starts over: so do its events
			if _, ok := ctx.Value(writeKey{}).(*writeState); !ok {
				ctx = context.WithValue(ctx, writeKey{}, &writeState{bumped: map[string]bool{}})
			}
			return fn(ctx)
		})
	})
}
