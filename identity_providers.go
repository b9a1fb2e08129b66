package provisioning

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/idp"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

// typeIdentityProviders is the wire type of identity providers, and their
// permission subject.
const typeIdentityProviders = string(role.SubjectIdentityProviders)

// secretBinding is what a provider's sealed client secret is bound to.
func secretBinding(p *idp.Provider) idp.Binding {
	return idp.Binding{OrganizationID: p.OrganizationID, ProviderID: p.ID, Field: idp.FieldClientSecret}
}

// authorizeOwner authorizes act on identity providers in orgID for the
// organization's owner only: an admin who is not the owner is refused.
func (s *Session) authorizeOwner(ctx context.Context, op, orgID string, act role.Action) error {
	d, err := s.authorize(ctx, op, orgID, typeIdentityProviders, act)
	if err != nil {
		return err
	}
	if !d.Owner {
		return fault.E(op, fault.Forbidden, errors.New("only the organization's owner manages identity providers"))
	}
	return nil
}

// lockIdentityProvider loads a provider, locks its organization, authorizes
// act for the owner and reads the provider again under the lock; it
// returns the organization too.
func (s *Session) lockIdentityProvider(ctx context.Context, op, id string, act role.Action) (*idp.Provider, *organization.Organization, error) {
	p, err := preRead(ctx, s, op, func(ctx context.Context) (*idp.Provider, error) { return s.p.b.IdentityProviders().Get(ctx, id) })
	if err != nil {
		return nil, nil, err
	}
	org, err := s.lockOrgRow(ctx, op, p.OrganizationID)
	if err != nil {
		return nil, nil, err
	}
	if err := s.authorizeOwner(ctx, op, p.OrganizationID, act); err != nil {
		return nil, nil, err
	}
	p, err = s.p.b.IdentityProviders().Get(ctx, id)
	return p, org, fault.Wrap(op, err)
}

// CreateIdentityProvider creates an organization's identity provider (the
// owner only, on a plan that grants organization.IdentityProviders, else
// fault.ErrPlanRestricted; UpdateIdentityProvider needs it too). It starts pending, with a fresh TXT record to publish on
// every domain (then call VerifyIdentityProvider). The client secret is
// sealed with the current key of the KeyProvider (WithKeyProvider; without
// one the call fails with idp.ErrNoKeyProvider) and never returned: the
// provider tells only HasClientSecret and ClientSecretLast4. A name taken
// in any organization fails with fault.ErrAlreadyExists on "name".
func (s *Session) CreateIdentityProvider(ctx context.Context, in idp.Create) (*idp.Provider, error) {
	const op = "provisioning.CreateIdentityProvider"
	var out *idp.Provider
	err := s.tx(ctx, func(ctx context.Context) error {
		org, err := s.lockOrgRow(ctx, op, in.OrganizationID)
		if err != nil {
			return err
		}
		if err := s.authorizeOwner(ctx, op, in.OrganizationID, role.ActionCreate); err != nil {
			return err
		}
		if err := s.requireFeature(ctx, op, org, typeIdentityProviders, organization.IdentityProviders); err != nil {
			return err
		}
		in, err := in.Validate()
		if err != nil {
			return err
		}
		if s.p.keys == nil {
			return fault.E(op, fault.Internal, idp.ErrNoKeyProvider)
		}
		var userID string
		if s.pr.Kind == access.KindUser {
			userID = s.pr.ID
		}
		p := in.New(s.p.ids.NewID(), userID, idp.NewTXTRecord(), s.now())
		sealed, err := idp.Seal(ctx, s.p.keys, secretBinding(p), []byte(in.ClientSecret))
		if err != nil {
			return fault.Wrap(op, err)
		}
		if err := s.p.b.IdentityProviders().Create(ctx, p, sealed); err != nil {
			return fault.Wrap(op, err)
		}
		out = p
		return s.record(ctx, p.OrganizationID, typeIdentityProviders, p.ID, audit.Create, p.CreationChanges())
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetIdentityProvider returns an identity provider of an organization the
// caller belongs to, without its secret.
func (s *Session) GetIdentityProvider(ctx context.Context, id string) (*idp.Provider, error) {
	return readIn(ctx, s, "provisioning.GetIdentityProvider", id, s.p.b.IdentityProviders().Get, func(p *idp.Provider) string { return p.OrganizationID }, typeIdentityProviders)
}

// ListIdentityProviders lists the identity providers of an organization, by
// id, without their secrets.
// With OrganizationID empty, it lists across the caller's organizations
// (see Lists in the package documentation).
func (s *Session) ListIdentityProviders(ctx context.Context, f idp.Filter) (resource.Page[idp.Provider], error) {
	const op = "provisioning.ListIdentityProviders"
	if err := s.scopeList(ctx, op, typeIdentityProviders, f.OrganizationID, &f.OrganizationIDs); err != nil {
		return resource.Page[idp.Provider]{}, err
	}
	f, err := f.Validate()
	if err != nil {
		return resource.Page[idp.Provider]{}, err
	}
	page, err := s.p.b.IdentityProviders().List(ctx, f)
	return page, fault.Wrap(op, err)
}

// UpdateIdentityProvider changes an identity provider (the owner only).
// Disable and Enable are the "_disable" and "_enable" triggers. New domains
// set the status back to pending. A new client secret is sealed with the
// current key and recorded in the version only as idp.SecretChanged.
func (s *Session) UpdateIdentityProvider(ctx context.Context, id string, u idp.Update) (*idp.Provider, error) {
	const op = "provisioning.UpdateIdentityProvider"
	var out *idp.Provider
	err := s.tx(ctx, func(ctx context.Context) error {
		p, org, err := s.lockIdentityProvider(ctx, op, id, role.ActionUpdate)
		if err != nil {
			return err
		}
		if err := s.requireFeature(ctx, op, org, typeIdentityProviders, organization.IdentityProviders); err != nil {
			return err
		}
		u, err := u.Validate()
		if err != nil {
			return err
		}
		if u.ClientSecret != nil && s.p.keys == nil {
			return fault.E(op, fault.Internal, idp.ErrNoKeyProvider)
		}
		out = p
		ch := u.Apply(p, s.now())
		if len(ch) == 0 {
			return nil
		}
		if u.ClientSecret != nil {
			sealed, err := idp.Seal(ctx, s.p.keys, secretBinding(p), []byte(*u.ClientSecret))
			if err != nil {
				return fault.Wrap(op, err)
			}
			if err := s.p.b.IdentityProviders().SetSecret(ctx, p.ID, sealed); err != nil {
				return fault.Wrap(op, err)
			}
		}
		if err := s.p.b.IdentityProviders().Update(ctx, p); err != nil {
			return fault.Wrap(op, err)
		}
		return s.record(ctx, p.OrganizationID, typeIdentityProviders, p.ID, audit.Update, ch)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteIdentityProvider deletes an identity provider (the owner only),
// whatever the organization's plan: one that no longer grants
// organization.IdentityProviders still lets the owner remove them.
func (s *Session) DeleteIdentityProvider(ctx context.Context, id string) error {
	const op = "provisioning.DeleteIdentityProvider"
	return s.tx(ctx, func(ctx context.Context) error {
		p, _, err := s.lockIdentityProvider(ctx, op, id, role.ActionDestroy)
		if err != nil {
			return err
		}
		if err := s.p.b.IdentityProviders().Delete(ctx, id); err != nil {
			return fault.Wrap(op, err)
		}
		return s.record(ctx, p.OrganizationID, typeIdentityProviders, p.ID, audit.Destroy, resource.Changes{
			"name": {p.Name, nil}, "domains": {idp.FormatDomains(p.Domains), nil}, "status": {string(p.Status), nil}})
	})
}

// VerifyIdentityProvider looks up the DNS TXT records of every domain of an
// identity provider (the owner only) with the Resolver (WithResolver) and
// sets its status: verified when every domain carries its txt_record, error
// when a domain is not found (Go's resolver also says so of a domain without
// any TXT record) or its lookup fails or times out, pending otherwise. It
// returns the provider and the outcome of each domain. The lookups run
// outside the transaction; should the domains change meanwhile, their
// outcome is dropped and the provider is returned as it is, with no checks.
// A status that does not change writes no version. This is the verification
// on demand, whose answer is final at once; the background one
// (VerifyPendingIdentityProviders, Verifier) retries a pending provider
// before it gives up. A provider that stays pending keeps its place in the
// background schedule; one that becomes pending again (from error) is due
// there at once; one verified or in error leaves it.
func (s *Session) VerifyIdentityProvider(ctx context.Context, id string) (*idp.Provider, []idp.DomainCheck, error) {
	return s.verifyIdentityProvider(ctx, "provisioning.VerifyIdentityProvider", id, false,
		func(p *idp.Provider, ch resource.Changes, status idp.Status, _ []idp.DomainCheck, now time.Time) {
			p.SetStatus(ch, status, now)
		})
}

// settleFunc records the outcome of a verification on p, the changes of
// its attributes in ch.
type settleFunc func(p *idp.Provider, ch resource.Changes, status idp.Status, checks []idp.DomainCheck, now time.Time)

// verifyIdentityProvider looks up the domains of provider id and settles
// the outcome on it: the lookups outside any transaction, then, under the
// organization's lock, the outcome, unless the domains or the TXT record
// changed meanwhile (then checks is nil). With scheduled, a provider that
// is not pending is left alone (nil, nil, nil), before and after the
// lookups, and the schedule is stored even when no attribute changed. A
// version is written when an attribute (the status) changed.
func (s *Session) verifyIdentityProvider(ctx context.Context, op, id string, scheduled bool, settle settleFunc) (*idp.Provider, []idp.DomainCheck, error) {
	before, err := preRead(ctx, s, op, func(ctx context.Context) (*idp.Provider, error) { return s.p.b.IdentityProviders().Get(ctx, id) })
	if err != nil {
		return nil, nil, err
	}
	if scheduled && before.Status != idp.Pending {
		return nil, nil, nil
	}
	if err := s.authorizeOwner(ctx, op, before.OrganizationID, role.ActionUpdate); err != nil {
		return nil, nil, err
	}
	status, checks, err := idp.Verify(ctx, s.p.resolver, before.Domains, before.TXTRecord)
	if err != nil {
		return nil, nil, fault.E(op, fault.Internal, err)
	}
	var out *idp.Provider
	err = s.tx(ctx, func(ctx context.Context) error {
		p, _, err := s.lockIdentityProvider(ctx, op, id, role.ActionUpdate)
		if err != nil {
			return err
		}
		out = p
		if !slices.Equal(p.Domains, before.Domains) || p.TXTRecord != before.TXTRecord || scheduled && p.Status != idp.Pending {
			checks = nil // checked what is no longer there
			return nil
		}
		ch, now := resource.Changes{}, s.now()
		settle(p, ch, status, checks, now)
		if len(ch) == 0 && !scheduled {
			return nil
		}
		if len(ch) > 0 {
			p.UpdatedAt = now
		}
		if err := s.p.b.IdentityProviders().Update(ctx, p); err != nil {
			return fault.Wrap(op, err)
		}
		if len(ch) == 0 {
			return nil
		}
		return s.record(ctx, p.OrganizationID, typeIdentityProviders, p.ID, audit.Update, ch)
	})
	if err != nil {
		return nil, nil, err
	}
	return out, checks, nil
}

// VerifyIdentityProvider is Session.VerifyIdentityProvider for background
// jobs: not authorized.
func (y *System) VerifyIdentityProvider(ctx context.Context, id string) (*idp.Provider, []idp.DomainCheck, error) {
	return y.s.VerifyIdentityProvider(ctx, id)
}

// ReencryptIdentityProviderSecret seals the client secret of one identity
// provider again, under the KeyProvider's current key, and reports whether
// it did (false: it was sealed with that key already). Each re-encryption
// writes one version whose changes show the secret only as
// idp.SecretReencrypted. A secret that does not open fails with
// fault.ErrSecretCorrupt (or the KeyProvider's error for a key it lacks) and
// is left as it is.
func (y *System) ReencryptIdentityProviderSecret(ctx context.Context, id string) (bool, error) {
	done, unreadable, err := y.reencrypt(ctx, "provisioning.ReencryptIdentityProviderSecret", id)
	if err == nil {
		err = unreadable
	}
	return done, err
}

// reencrypt re-seals the secret of provider id in its own transaction. A
// secret that does not open is reported apart, as unreadable, with nothing
// written; err is any other failure.
func (y *System) reencrypt(ctx context.Context, op, id string) (done bool, unreadable, err error) {
	s := y.s
	if s.p.keys == nil {
		return false, nil, fault.E(op, fault.Internal, idp.ErrNoKeyProvider)
	}
	err = s.tx(ctx, func(ctx context.Context) error {
		done, unreadable = false, nil
		p, _, err := s.lockIdentityProvider(ctx, op, id, role.ActionUpdate)
		if err != nil {
			return err
		}
		sealed, err := s.p.b.IdentityProviders().Secret(ctx, id)
		if err != nil {
			return fault.Wrap(op, err)
		}
		current, _, err := s.p.keys.CurrentKey(ctx)
		if err != nil {
			return fault.E(op, fault.Internal, err)
		}
		if sealed.KeyID == current {
			return nil
		}
		plain, err := idp.Open(ctx, s.p.keys, secretBinding(p), sealed)
		if err != nil {
			if ctx.Err() != nil { // the KeyProvider gave up with the call, not on the row
				return fault.Wrap(op, err)
			}
			unreadable = fault.Wrap(op, err)
			return unreadable
		}
		resealed, err := idp.Seal(ctx, s.p.keys, secretBinding(p), plain)
		clear(plain)
		if err != nil {
			return fault.Wrap(op, err)
		}
		if err := s.p.b.IdentityProviders().SetSecret(ctx, id, resealed); err != nil {
			return fault.Wrap(op, err)
		}
		done = true
		return s.record(ctx, p.OrganizationID, typeIdentityProviders, p.ID, audit.Update,
			resource.Changes{"client_secret": {idp.SecretHidden, idp.SecretReencrypted}})
	})
	if unreadable != nil && errors.Is(err, unreadable) {
		return false, unreadable, nil
	}
	return done, nil, err
}

// ReencryptIdentityProviderSecrets re-seals, under the KeyProvider's current
// key, the client secrets of at most limit identity providers sealed with
// another key, by id, each in its own transaction, and returns how many it
// re-sealed. A secret that does not open (altered, or sealed with a key the
// KeyProvider does not hold) is left as it is and skipped: the call goes on
// past it, and its error is then an *idp.UnreadableError listing those
// providers (errors.Is finds fault.ErrSecretCorrupt for an altered one). It
// thus returns 0 only when no secret that opens is left under another key.
// Any other failure (storage, the context, the current key) ends the call,
// with what it re-sealed until then.
//
// To retire a key: make a new key current, keeping the old one in the
// KeyProvider; call this until it returns 0; then settle each provider it
// reports unreadable (give back the key it lacks, or have the owner set a
// new client secret with UpdateIdentityProvider, which seals it under the
// current key, or delete the provider); retire the old key only once
// IdentityProviderSecretKeys counts no provider under it.
func (y *System) ReencryptIdentityProviderSecrets(ctx context.Context, limit int) (int, error) {
	const op = "provisioning.ReencryptIdentityProviderSecrets"
	keys := y.s.p.keys
	if keys == nil {
		return 0, fault.E(op, fault.Internal, idp.ErrNoKeyProvider)
	}
	current, _, err := keys.CurrentKey(ctx)
	if err != nil {
		return 0, fault.E(op, fault.Internal, err)
	}
	limit = max(limit, 1)
	n := 0
	bad := &idp.UnreadableError{}
	end := func(stop error) (int, error) {
		if len(bad.IDs) > 0 {
			stop = errors.Join(stop, fault.E(op, fault.Internal, bad))
		}
		return n, stop
	}
	for after := ""; n < limit; {
		ids, err := y.s.p.b.IdentityProviders().SealedWithOtherKey(ctx, current, after, limit-n)
		if err != nil {
			return end(fault.Wrap(op, err))
		}
		if len(ids) == 0 {
			break
		}
		for _, id := range ids {
			after = id
			done, unreadable, err := y.reencrypt(ctx, op, id)
			switch {
			case err != nil && fault.KindOf(err) == fault.NotFound: // deleted since it was listed
			case err != nil:
				return end(err)
			case unreadable != nil:
				bad.IDs, bad.Errs = append(bad.IDs, id), append(bad.Errs, unreadable)
			case done:
				n++
			}
		}
	}
	return end(nil)
}

// IdentityProviderSecretKeys counts the identity providers of every
// organization by the id of the key their client secret is sealed with: a
// key may be retired once no provider is counted under it (see
// ReencryptIdentityProviderSecrets).
func (y *System) IdentityProviderSecretKeys(ctx context.Context) (map[string]int, error) {
	keys, err := y.s.p.b.IdentityProviders().SecretKeys(ctx)
	return keys, fault.Wrap("provisioning.IdentityProviderSecretKeys", err)
}

// IdentityProviderSecret returns an identity provider with its client
// secret in clear, for the host's single sign-on flow only (to redeem an
// authorization code at the provider's token URL). It is not authorized:
// never hand its result to a user, and never store or log the secret
// (idp.Secret prints as "[redacted]"). It fails closed: a disabled provider
// or one whose domains are not verified gives fault.ErrConflict, and a
// secret that does not open gives fault.ErrSecretCorrupt. The host still
// checks that the signing-in user's email domain is among the provider's
// Domains, on a verified address (user.User.EmailVerified): an address
// nobody proved says nothing about who the user is.
func (y *System) IdentityProviderSecret(ctx context.Context, id string) (*idp.Provider, idp.Secret, error) {
	const op = "provisioning.IdentityProviderSecret"
	p := y.s.p
	if p.keys == nil {
		return nil, "", fault.E(op, fault.Internal, idp.ErrNoKeyProvider)
	}
	var (
		prov   *idp.Provider
		secret idp.Secret
	)
	err := p.b.InTx(ctx, func(ctx context.Context) error {
		var err error
		prov, err = p.b.IdentityProviders().Get(ctx, id)
		if err != nil {
			return fault.Wrap(op, err)
		}
		switch {
		case prov.Disabled():
			return fault.E(op, fault.Conflict, errors.New("identity provider is disabled"))
		case prov.Status != idp.Verified:
			return fault.E(op, fault.Conflict, errors.New("identity provider's domains are not verified"))
		}
		sealed, err := p.b.IdentityProviders().Secret(ctx, id)
		if err != nil {
			return fault.Wrap(op, err)
		}
		plain, err := idp.Open(ctx, p.keys, secretBinding(prov), sealed)
		if err != nil {
			return fault.Wrap(op, err)
		}
		secret = idp.Secret(plain)
		clear(plain)
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return prov, secret, nil
}
