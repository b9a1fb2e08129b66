package provisioning

import (
	"context"
	"errors"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/email"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/user"
)

// System is the handle for trusted code: creating users at sign-up,
// bootstrap and background jobs. Nothing it does is authorized, so hand it
// only to code that decides for itself.
type System struct{ s *Session }

// CreateUser creates a user. The email is stored in canonical form and must
// be unique. Pending invitations of the email stay pending until the user
// accepts them.
func (y *System) CreateUser(ctx context.Context, in user.Create) (*user.User, error) {
	const op = "provisioning.CreateUser"
	in, err := in.Validate()
	if err != nil {
		return nil, err
	}
	u := in.New(y.s.p.ids.NewID(), y.s.now())
	err = y.s.tx(ctx, func(ctx context.Context) error {
		if err := y.s.p.b.Users().Create(ctx, u); err != nil {
			return fault.Wrap(op, err)
		}
		return y.s.record(ctx, "", typeUsers, u.ID, audit.Create,
			created("email", u.Email, "first_name", u.FirstName, "last_name", u.LastName, "time_zone", u.TimeZone))
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// UserByEmail finds a user by email (compared in canonical form).
func (y *System) UserByEmail(ctx context.Context, address string) (*user.User, error) {
	const op = "provisioning.UserByEmail"
	canon, err := email.Canonical("email", address)
	if err != nil {
		return nil, err
	}
	u, err := y.s.p.b.Users().GetByEmail(ctx, canon)
	return u, fault.Wrap(op, err)
}

// As returns the session of principal; the same as Provisioner.As.
func (y *System) As(p Principal) *Session { return y.s.p.As(p) }

// CurrentUser returns the calling user's own record.
func (s *Session) CurrentUser(ctx context.Context) (*user.User, error) {
	const op = "provisioning.CurrentUser"
	if err := s.userOnly(op); err != nil {
		return nil, err
	}
	return s.currentUser(ctx, op)
}

// GetUser returns a user: the caller's own record, or a user who is an
// active member of an organization where the caller may read memberships
// (such as the creator of an identity provider), without their default
// organization (which may be one the caller does not belong to). Any
// other user is not found, like a user that does not exist.
func (s *Session) GetUser(ctx context.Context, id string) (*user.User, error) {
	const op = "provisioning.GetUser"
	if err := s.authenticated(op); err != nil {
		return nil, err
	}
	if s.pr.Kind == access.KindUser && s.pr.ID == id {
		return s.currentUser(ctx, op)
	}
	notFound := fault.E(op, fault.NotFound, nil)
	u, err := s.p.b.Users().Get(ctx, id)
	if fault.KindOf(err) == fault.NotFound {
		return nil, notFound
	} else if err != nil {
		return nil, fault.Wrap(op, err)
	}
	if s.pr.Kind == access.KindSystem {
		return u, nil
	}
	// The organizations of the user, a page at a time, until one lets the
	// caller read its memberships. The check is asked, not enforced: a
	// "no" here is not a refused call.
	for after := ""; ; {
		orgs, err := s.p.b.Access().Organizations(ctx, access.User(id), after, resource.MaxPageLimit)
		if err != nil {
			return nil, fault.Wrap(op, err)
		}
		for _, orgID := range orgs {
			d, err := s.p.authz.Check(ctx, s.p.b.Access(), s.pr, orgID, typeMemberships, role.ActionRead)
			if err != nil && fault.KindOf(err) != fault.NotFound {
				return nil, fault.Wrap(op, err)
			}
			if err == nil && d.Allowed {
				// Where else the user belongs is not the caller's business.
				u.DefaultOrganizationID = ""
				return u, nil
			}
		}
		if len(orgs) < resource.MaxPageLimit {
			return nil, notFound
		}
		after = orgs[len(orgs)-1]
	}
}

// UpdateCurrentUser changes the calling user's own record.
func (s *Session) UpdateCurrentUser(ctx context.Context, up user.Update) (*user.User, error) {
	const op = "provisioning.UpdateCurrentUser"
	if err := s.userOnly(op); err != nil {
		return nil, err
	}
	up, err := up.Validate()
	if err != nil {
		return nil, err
	}
	var out *user.User
	err = s.tx(ctx, func(ctx context.Context) error {
		u, err := s.currentUser(ctx, op)
		if err != nil {
			return err
		}
		out = u
		ch := up.Apply(u, s.now())
		if len(ch) == 0 {
			return nil
		}
		if err := s.p.b.Users().Update(ctx, u); err != nil {
			return fault.Wrap(op, err)
		}
		return s.record(ctx, "", typeUsers, u.ID, audit.Update, ch)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// currentUser reads the calling user's record; a user that does not exist
// (any more) is not authenticated.
func (s *Session) currentUser(ctx context.Context, op string) (*user.User, error) {
	u, err := s.p.b.Users().Get(ctx, s.pr.ID)
	if fault.KindOf(err) == fault.NotFound {
		return nil, fault.E(op, fault.Unauthenticated, nil)
	}
	return u, fault.Wrap(op, err)
}

func (s *Session) userOnly(op string) error {
	if err := s.authenticated(op); err != nil {
		return err // no principal at all is unauthenticated, not forbidden
	}
	if s.pr.Kind != access.KindUser {
		return fault.E(op, fault.Forbidden, errors.New("only a user has a user record"))
	}
	return nil
}
