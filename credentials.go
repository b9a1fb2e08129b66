package provisioning

import (
	"context"
	"time"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/allowlist"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/authz"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

// typeCredentials is the wire type of API credentials.
const typeCredentials = string(role.SubjectAPICredentials)

// lastUsedEvery is how often, at most, a credential's last_used_at is written.
const lastUsedEvery = time.Minute

// Credential returns the principal of the API credential with the given id.
// Authenticate returns it for a client id and secret; the credential's
// rights are those of its role.
func Credential(id string) Principal { return Principal{Kind: access.KindCredential, ID: id} }

// CreateCredential creates an API credential (admins) and returns it with
// its client secret, in clear this once: only its hash is stored. Its role
// must be one whose rights the caller holds (only the owner gives the admin
// role), so that a credential never exceeds its creator; the
// organization's plan bounds how many it holds (fault.ErrLimitReached).
func (s *Session) CreateCredential(ctx context.Context, in credential.Create) (*credential.Issued, error) {
	const op = "provisioning.CreateCredential"
	var out *credential.Issued
	err := s.tx(ctx, func(ctx context.Context) error {
		org, d, err := s.lockedOrg(ctx, op, in.OrganizationID, typeCredentials, role.ActionCreate)
		if err != nil {
			return err
		}
		if id, err := s.replayed(ctx, op, in.OrganizationID); err != nil || id != "" {
			// The secret was shown once, to the call that may have been
			// lost: rotate the credential to obtain one.
			c, err := replay(ctx, op, id, err, s.p.b.Credentials().Get)
			out = &credential.Issued{Credential: c}
			return err
		}
		if err := in.Validate(); err != nil {
			return err
		}
		now := s.now()
		if err := checkFuture(op, in.ExpiresAt, now); err != nil {
			return err
		}
		if err := s.mayHandOut(ctx, op, in.OrganizationID, d, in.RoleID); err != nil {
			return err
		}
		if err := s.withinCredentialLimit(ctx, op, org); err != nil {
			return err
		}
		creator := ""
		if s.pr.Kind == access.KindUser {
			creator = s.pr.ID
		}
		if out, err = s.issue(ctx, op, in, creator, now); err != nil {
			return err
		}
		return s.remember(ctx, op, out.Credential.OrganizationID, out.Credential.ID)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// issue stores a new credential with a fresh secret and records the
// creation (a new principal: a new policy revision). The secret is in no
// change.
func (s *Session) issue(ctx context.Context, op string, in credential.Create, creatorUserID string, now time.Time) (*credential.Issued, error) {
	c := in.New(s.p.ids.NewID(), credential.NewClientID(), creatorUserID, now)
	secret := credential.NewSecret(c.Mode)
	first := &credential.Secret{ID: s.p.ids.NewID(), CredentialID: c.ID, Hash: credential.HashSecret(secret), CreatedAt: now}
	if err := s.p.b.Credentials().Create(ctx, c, first); err != nil {
		return nil, fault.Wrap(op, err)
	}
	ch := created("name", c.Name, "kind", string(c.Kind), "confidential", c.Confidential, "mode", string(c.Mode),
		"custom", c.Custom, "client_id", c.ClientID, "redirect_uri", c.RedirectURI, "expires_in", c.ExpiresIn,
		"role_id", c.RoleID, "reference", c.Reference, "reference_origin", c.ReferenceOrigin)
	if !c.ExpiresAt.IsZero() {
		ch.Record("expires_at", nil, credential.TimeValue(c.ExpiresAt))
	}
	if c.AllowedIPs != nil {
		ch.Record("allowed_ips", nil, allowlist.Strings(c.AllowedIPs))
	}
	if err := s.record(ctx, c.OrganizationID, typeCredentials, c.ID, audit.Create, ch); err != nil {
		return nil, fault.Wrap(op, err)
	}
	return &credential.Issued{Credential: c, ClientSecret: secret}, nil
}

// createAdminCredentials gives a new organization its two admin API
// credentials, of kind resources, in test and live mode, bound to the admin
// role, as Commerce Layer creates them. Their secrets are not returned: rotate one to obtain it.
func (s *Session) createAdminCredentials(ctx context.Context, op, orgID, adminRoleID, ownerUserID string, now time.Time) error {
	for _, m := range []credential.Mode{credential.Test, credential.Live} {
		in := credential.Create{OrganizationID: orgID, Name: "Resources (" + string(m) + ")", Kind: credential.Resources,
			Mode: m, RoleID: adminRoleID}
		if _, err := s.issue(ctx, op, in, ownerUserID, now); err != nil {
			return err
		}
	}
	return nil
}

// checkFuture refuses an expiry that is not in the future.
func checkFuture(op string, t, now time.Time) error {
	if !t.IsZero() && !t.After(now) {
		return fault.InvalidField(op, "expires_at", "format", "must be in the future")
	}
	return nil
}

// GetCredential returns an API credential of an organization the caller
// belongs to, without its secret. A revoked credential is not found.
func (s *Session) GetCredential(ctx context.Context, id string) (*credential.Credential, error) {
	return readIn(ctx, s, "provisioning.GetCredential", id, s.p.b.Credentials().Get, func(c *credential.Credential) string { return c.OrganizationID }, typeCredentials)
}

// ListCredentials lists the API credentials of an organization (not the
// revoked ones), by id, without their secrets.
// With OrganizationID empty, it lists across the caller's organizations
// (see Lists in the package documentation).
func (s *Session) ListCredentials(ctx context.Context, f credential.Filter) (resource.Page[credential.Credential], error) {
	const op = "provisioning.ListCredentials"
	if err := s.scopeList(ctx, op, typeCredentials, f.OrganizationID, &f.OrganizationIDs); err != nil {
		return resource.Page[credential.Credential]{}, err
	}
	if err := f.Validate(); err != nil {
		return resource.Page[credential.Credential]{}, err
	}
	page, err := s.p.b.Credentials().List(ctx, f)
	return page, fault.Wrap(op, err)
}

// lockCredential loads a credential, locks its organization, authorizes act
// on api_credentials and reads the credential again under the lock.
func (s *Session) lockCredential(ctx context.Context, op, id string, act role.Action) (*credential.Credential, authz.Decision, error) {
	return lockIn(ctx, s, op, func(ctx context.Context) (*credential.Credential, error) { return s.p.b.Credentials().Get(ctx, id) },
		func(c *credential.Credential) string { return c.OrganizationID }, typeCredentials, act)
}

// mayHandOut refuses to let the caller give, or obtain, the rights of role
// roleID through a credential: the rule of mayGrant (the admin role only
// the owner), so that a credential never exceeds who made it.
func (s *Session) mayHandOut(ctx context.Context, op, orgID string, d authz.Decision, roleID string) error {
	if roleID == "" {
		return nil
	}
	r, err := s.roleIn(ctx, op, orgID, roleID)
	if err != nil {
		return err
	}
	return s.mayGrant(ctx, op, orgID, d, r)
}

// UpdateCredential changes an API credential's name, redirect URI, token
// lifetime, role or expiry (admins). Kind, mode and custom are fixed. A new
// role must be covered by the caller's rights, as at creation; a change of
// role or expiry reaches every instance on its next call.
func (s *Session) UpdateCredential(ctx context.Context, id string, u credential.Update) (*credential.Credential, error) {
	const op = "provisioning.UpdateCredential"
	var out *credential.Credential
	err := s.tx(ctx, func(ctx context.Context) error {
		c, d, err := s.lockCredential(ctx, op, id, role.ActionUpdate)
		if err != nil {
			return err
		}
		if err := u.Validate(c.Kind); err != nil {
			return err
		}
		now := s.now()
		if u.ExpiresAt != nil {
			if err := checkFuture(op, *u.ExpiresAt, now); err != nil {
				return err
			}
		}
		if u.RoleID != nil && *u.RoleID != c.RoleID {
			if err := s.mayHandOut(ctx, op, c.OrganizationID, d, *u.RoleID); err != nil {
				return err
			}
		}
		ch := u.Apply(c, now)
		out = c
		if len(ch) == 0 {
			return nil
		}
		if err := s.p.b.Credentials().Update(ctx, c); err != nil {
			return fault.Wrap(op, err)
		}
		return s.record(ctx, c.OrganizationID, typeCredentials, c.ID, audit.Update, ch)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RotateCredential gives an API credential a new client secret, returned
// in clear this once (admins who hold the credential's role: the admin
// role's credentials only the owner). The previous secret stays valid for
// overlap (0 ends it at once), so that clients can switch; any older one
// ends now: at most two secrets are valid at a time. A bearer token issued
// under a secret (see Authenticate) ends when the secret does.
func (s *Session) RotateCredential(ctx context.Context, id string, overlap time.Duration) (*credential.Issued, error) {
	const op = "provisioning.RotateCredential"
	var out *credential.Issued
	err := s.tx(ctx, func(ctx context.Context) error {
		c, d, err := s.lockCredential(ctx, op, id, role.ActionUpdate)
		if err != nil {
			return err
		}
		if overlap < 0 || overlap > credential.MaxRotationOverlap {
			return fault.InvalidField(op, "overlap", "format", "must be between 0 and 30 days")
		}
		// Whoever rotates obtains the credential's rights.
		if err := s.mayHandOut(ctx, op, c.OrganizationID, d, c.RoleID); err != nil {
			return err
		}
		now := s.now()
		secrets, err := s.p.b.Credentials().Secrets(ctx, c.ID)
		if err != nil {
			return fault.Wrap(op, err)
		}
		for secretID, until := range credential.Rotation(secrets, now, overlap) {
			if err := s.p.b.Credentials().ExpireSecret(ctx, secretID, until); err != nil {
				return fault.Wrap(op, err)
			}
		}
		secret := credential.NewSecret(c.Mode)
		next := &credential.Secret{ID: s.p.ids.NewID(), CredentialID: c.ID, Hash: credential.HashSecret(secret), CreatedAt: now}
		if err := s.p.b.Credentials().AddSecret(ctx, next); err != nil {
			return fault.Wrap(op, err)
		}
		if err := s.record(ctx, c.OrganizationID, typeCredentials, c.ID, audit.Rotate,
			resource.Changes{"client_secret": {"[redacted]", "[rotated]"}}); err != nil {
			return err
		}
		out = &credential.Issued{Credential: c, ClientSecret: secret}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteCredential revokes an API credential (admins): its row stays for
// the audit trail, but nothing finds it or accepts its secrets any more,
// and every instance refuses its principal on its next call. Its bearer
// tokens stop working at once (token.Store.Find joins the credential) and,
// over a TokenBackend, are deleted in the same transaction.
func (s *Session) DeleteCredential(ctx context.Context, id string) error {
	const op = "provisioning.DeleteCredential"
	return s.tx(ctx, func(ctx context.Context) error {
		c, _, err := s.lockCredential(ctx, op, id, role.ActionDestroy)
		if err != nil {
			return err
		}
		now := s.now()
		if err := s.p.b.Credentials().Revoke(ctx, c.ID, now); err != nil {
			return fault.Wrap(op, err)
		}
		if s.p.tokens != nil {
			if _, err := s.p.tokens.DeletePrincipal(ctx, Credential(c.ID)); err != nil {
				return fault.Wrap(op, err)
			}
		}
		return s.record(ctx, c.OrganizationID, typeCredentials, c.ID, audit.Destroy,
			resource.Changes{"revoked_at": {nil, credential.TimeValue(now)}})
	})
}

// Authenticate returns the principal of the API credential with the given
// client id and secret: a host calls it for each request that presents them
// (or once per token it mints), then makes the request's calls with
// p.As(principal). The principal's rights are those of the credential's
// role, checked at every call. An unknown client id, a wrong or expired
// secret, a revoked and an expired credential all give the same error,
// matching fault.ErrBadCredentials (kind Unauthenticated), after the same
// work: the secret is hashed and compared, in constant time, in every case.
// A success records the credential's last_used_at, at most once a minute.
// The principal names the secret that matched (Principal.SecretID): a token
// issued for it (token.Issuer) ends when the credential is deleted or
// expires, and when that secret ends (a rotation's overlap).
func (p *Provisioner) Authenticate(ctx context.Context, clientID, secret string) (Principal, error) {
	const op = "provisioning.Authenticate"
	now := p.clock.Now().UTC()
	c, secrets, err := p.b.Credentials().Login(ctx, clientID)
	switch {
	case fault.KindOf(err) == fault.NotFound:
		c, secrets = nil, nil
	case err != nil:
		return Principal{}, fault.Wrap(op, err)
	}
	secretID, ok := credential.Match(c, secrets, secret, now)
	if !ok {
		e := audit.SecurityEvent{Kind: audit.BadCredentials, Operation: op, Reason: "bad_credentials", Detail: "client_id " + prefix(clientID)}
		if c != nil {
			e.OrganizationID = c.OrganizationID
		}
		p.appendSecurityEvent(ctx, &e)
		return Principal{}, fault.E(op, fault.Unauthenticated, fault.ErrBadCredentials)
	}
	p.touch(ctx, c.ID, now)
	pr := Credential(c.ID)
	pr.SecretID = secretID
	return pr, nil
}

// prefix returns the first characters of a value a caller sent as an
// identifier, for a security event: enough to recognise it, too little to
// be a secret sent in the wrong field.
func prefix(v string) string {
	const keep = 8
	if len(v) <= keep {
		return v
	}
	return v[:keep] + "…"
}

// touch records a credential's use, at most once per lastUsedEvery: this
// instance remembers its last write, and the store's write is conditional.
// It is best effort: a failure is logged, not returned.
func (p *Provisioner) touch(ctx context.Context, id string, now time.Time) {
	if last, ok := p.lastUse.Load(id); ok && now.Sub(last.(time.Time)) < lastUsedEvery {
		return
	}
	p.lastUse.Store(id, now)
	if err := p.b.Credentials().Touch(ctx, id, now.Truncate(time.Microsecond), lastUsedEvery); err != nil {
		p.log.WarnContext(ctx, "provisioning: recording a credential's use failed", "credential_id", id, "error", err)
	}
}
