// Command tour runs the README's "A short tour" of the library, on an
// in-memory SQLite database: the body of tour below, between its two
// marker comments, is that section's code block, word for word (the
// README's test checks it), so the tour compiles and runs as shown.
//
//	go run ./examples/tour
//
// must stands for the host's own error handling: it panics on an error.
// mailer, logger, keys and dns are the host's: here, stand-ins defined
// below (a mailbox in memory, a logger of warnings, a random key, a DNS
// zone in memory).
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/appmembership"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/authz"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/idp"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/profile"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/storage/bunstore"
	"github.com/provisionkit/provisioning/storage/sqlite"
	"github.com/provisionkit/provisioning/user"
)

func main() {
	ctx := context.Background()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "tour:", err)
		os.Exit(1)
	}
	fmt.Println("tour: every step ran")
}

// run runs the tour with the stand-ins, and turns must's panic back into
// an error.
func run(ctx context.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(mustError)
			if !ok {
				panic(r)
			}
			err = e.error
		}
	}()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	keys := must(idp.ParseStaticKeys("k1=" + base64.StdEncoding.EncodeToString(key)))
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return tour(ctx, &mailbox{}, logger, keys, &zone{})
}

// tour is the README's short tour; it returns the last call's error, which
// the tour's end sorts by kind.
func tour(ctx context.Context, mailer *mailbox, logger *slog.Logger, keys idp.KeyProvider, dns *zone) error {
	// The README's "A short tour" starts here.
	db := must(sqlite.Open(ctx, sqlite.Memory)) // or a file ("app.db"); you own the *bun.DB: postgres.Open, mysql.Open work too
	defer db.Close()
	store := must(bunstore.New(db))
	check(store.Migrate(ctx)) // explicit; provisioningfx runs it in OnStart
	p := must(provisioning.New(store,
		provisioning.WithNotifier(mailer), // receives invitations (with their token) after commit
		provisioning.WithLogger(logger),
		provisioning.WithSubjects("projects"), // your own permission subjects
		provisioning.WithKeyProvider(keys),    // seals identity provider secrets: idp.ParseStaticKeys(os.Getenv("IDP_KEYS")), or your KMS
		provisioning.WithResolver(dns),        // DNS TXT lookups (default net.DefaultResolver)
	))

	// Trusted code (sign-up, jobs) uses the System handle; it is not authorized.
	ada := must(p.System().CreateUser(ctx, user.Create{Email: "ada@example.com", EmailVerified: true}))

	// Everything else is done as a principal, and authorized.
	s := p.As(provisioning.User(ada.ID))
	org := must(s.CreateOrganization(ctx, organization.Create{Name: "Acme"}))
	ro := must(s.ListRoles(ctx, role.Filter{OrganizationID: org.ID, Kind: role.KindReadOnly}))
	invited := must(s.Invite(ctx, membership.Invite{OrganizationID: org.ID, UserEmail: "bob@example.com", RoleID: ro.Items[0].ID}))
	// Many at once (up to provisioning.MaxInvitesPerCall): one transaction, one result per invitation,
	// each refused alone with Invite's error (invalid, taken, escalation, plan limit).
	res := must(s.InviteMany(ctx, org.ID, []membership.Invite{{UserEmail: "cy@example.com", RoleID: ro.Items[0].ID},
		{UserEmail: "dee@example.com", RoleID: ro.Items[0].ID}})) // res[i].Membership or res[i].Err
	bobs := must(s.GetMembershipByEmail(ctx, org.ID, "Bob@Example.com")) // one statement, check included

	// Bob signs up, his address proven by your sign-up mail, and accepts with
	// the token your Notifier mailed him (an unverified address accepts nothing).
	bob := must(p.System().CreateUser(ctx, user.Create{Email: "bob@example.com", EmailVerified: true}))
	joined := must(p.As(provisioning.User(bob.ID)).AcceptInvitation(ctx, mailer.token("bob@example.com")))

	// Lists are keyset pages: follow Next until it is "".
	page := must(s.ListMemberships(ctx, membership.Filter{OrganizationID: org.ID}))
	versions := must(s.ListVersions(ctx, audit.Filter{OrganizationID: org.ID}))

	// Identity providers (SSO): the owner writes them; the client secret is sealed with your key.
	sso := must(s.CreateIdentityProvider(ctx, idp.Create{OrganizationID: org.ID, Name: "Acme SSO", ClientID: "id", ClientSecret: "secret...",
		Issuer: "https://login.acme.com", Domains: []string{"acme.com"}, TokenURL: "https://login.acme.com/token",
		AuthorizeURL: "https://login.acme.com/authorize", JWKSURL: "https://login.acme.com/jwks"}))
	dns.publish("acme.com", sso.TXTRecord)                    // publish sso.TXTRecord as a DNS TXT record on every domain, then:
	sso, checks, err := s.VerifyIdentityProvider(ctx, sso.ID) // status verified, pending or error, per domain in checks
	check(err)
	prov, secret, err := p.System().IdentityProviderSecret(ctx, sso.ID) // host-side SSO flow only: the clear secret (verified, enabled providers)
	check(err)
	sso = must(s.UpdateIdentityProvider(ctx, sso.ID, idp.Update{Disable: true})) // _disable; Enable for _enable
	// A read shows client_secret "[hidden]"; sent back (idp.IsPlaceholder), it keeps the secret; a create refuses it.
	// Key rotation: make a new key current and keep the old one, then repeat until 0; an *idp.UnreadableError lists
	// the secrets skipped because they do not open (set a new secret, or give back the missing key).
	n := must(p.System().ReencryptIdentityProviderSecrets(ctx, 100))
	perKey := must(p.System().IdentityProviderSecretKeys(ctx)) // providers per key id: retire the old key once it counts none

	// API credentials: machine principals of an organization, acting with their role.
	is := must(s.CreateCredential(ctx, credential.Create{OrganizationID: org.ID, Name: "Reporting job",
		Kind: credential.Integration, RoleID: ro.Items[0].ID})) // is.ClientSecret is shown this once; only its hash is kept
	job := must(p.Authenticate(ctx, is.Credential.ClientID, is.ClientSecret))        // any failure: fault.ErrBadCredentials
	o := must(p.As(job).GetOrganization(ctx, org.ID))                                // with the credential's role
	is = must(s.RotateCredential(ctx, is.Credential.ID, time.Hour))                  // new secret; the old one, and its tokens, work one more hour
	creds := must(s.ListCredentials(ctx, credential.Filter{OrganizationID: org.ID})) // never with secrets; also Get, Update
	check(s.DeleteCredential(ctx, is.Credential.ID))                                 // revoked: refused everywhere on the next call, its tokens too
	// A new organization also gets two admin credentials (kind resources, test and live):
	// the owner rotates one to obtain its secret.

	// Application memberships: a role inside one application, for a member or a whole profile.
	app := must(s.CreateCredential(ctx, credential.Create{OrganizationID: org.ID, Name: "Orders", Kind: "orders"}))
	team := must(s.CreateProfile(ctx, profile.Create{OrganizationID: org.ID, Name: "Warehouse", AccessScope: access.LiveAccess}))
	am := must(s.CreateAppMembership(ctx, appmembership.Create{OrganizationID: org.ID, CredentialID: app.Credential.ID,
		ProfileID: team.ID, RoleID: ro.Items[0].ID, Filters: map[string]any{"market_id_in": []any{202}}}))
	inApp := provisioning.Principal{Kind: access.KindUser, ID: bob.ID, App: app.Credential.ID} // bob working in the Orders app
	inAppOK := must(p.Can(ctx, inApp, org.ID, "orders", role.ActionRead))                      // by his application roles only

	// Membership rules (Rebilly's upsert, ECI's add-member): created reports insert or update.
	clerk := must(s.CreateRole(ctx, role.Create{OrganizationID: org.ID, Name: "Clerk"}))
	upserted, created, err := s.UpsertMembership(ctx, membership.Upsert{OrganizationID: org.ID, UserID: bob.ID,
		RoleIDs: []string{ro.Items[0].ID, clerk.ID}, // several roles: rights are their union
		Rules: membership.Rules{Permissions: []string{"orders:*"}, // direct permissions on top ("*" for all: owner only)
			AllowedIPs: []string{"203.0.114.0/24"}, MFARequired: true}}) // nil list: anywhere; private networks refused
	check(err)
	carol := must(p.System().CreateUser(ctx, user.Create{Email: "carol@example.com", EmailVerified: true}))
	guest := must(s.AddMember(ctx, membership.Add{OrganizationID: org.ID, UserID: carol.ID,
		Rules: membership.Rules{Guest: true, ExpiresAt: time.Now().Add(30 * 24 * time.Hour)}})) // a guest never manages anything
	me := must(p.As(provisioning.User(bob.ID)).SetDefaultOrganization(ctx, org.ID))            // me.DefaultOrganizationID
	from := provisioning.Principal{Kind: access.KindUser, ID: bob.ID, IP: clientIP, MFA: true} // the request's facts

	// After fault.ErrCommitUnknown, retry keyed creations with the same key: no duplicate.
	role2 := must(s.CreateRole(provisioning.WithIdempotencyKey(ctx, "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"), role.Create{OrganizationID: org.ID, Name: "Packer"}))
	events := must(p.System().ListSecurityEvents(ctx, audit.SecurityFilter{OrganizationID: org.ID})) // refusals, bad credentials

	// Plan limits: the host's billing sets them; a call past one fails with fault.ErrLimitReached.
	plan := must(p.System().SetSubscription(ctx, org.ID, organization.Subscription{PlanType: "growth",
		Limits: organization.Limits{Memberships: 50, Organizations: 3}}))

	// Guard your own operations with the same roles.
	ok := must(p.As(provisioning.User(bob.ID)).Can(ctx, org.ID, "projects", role.ActionCreate))

	// Host-side questions about any principal (not authorized themselves: for your code, not your users).
	d := must(p.Check(ctx, from, org.ID, "projects", role.ActionCreate))    // d.Reason says why
	ex := must(p.Explain(ctx, from, org.ID, "projects", role.ActionCreate)) // membership, role, permission, line
	orgs := must(p.OrganizationsWhere(ctx, provisioning.User(bob.ID), "projects", role.ActionUpdate, resource.PageRequest{}))
	who := must(p.System().MembersWho(ctx, org.ID, "projects", role.ActionUpdate, resource.PageRequest{}))
	watch, stop := context.WithCancel(ctx)
	go p.WatchPolicy(watch, 0) // optional: refresh caches early after other processes' changes (fx runs it for you)
	stop()
	defer p.Close() // at shutdown: stops the policy cache's background loads (fx does it at stop)

	// Errors carry a kind: test them with errors.Is / errors.As, never by string.
	_, err = p.As(provisioning.User(carol.ID)).CreateRole(ctx, role.Create{OrganizationID: org.ID, Name: "Mine"})
	switch {
	case errors.Is(err, fault.ErrNotFound): // also what non-members get for another tenant's ids
	case errors.Is(err, fault.ErrMFARequired): // ask for a second factor, then retry
	case errors.Is(err, fault.ErrForbidden):
	case errors.Is(err, fault.ErrConflict): // fault.ErrAlreadyExists, fault.ErrLastOwner, ...
	case errors.As(err, new(*fault.ValidationError)): // names each bad field
	}
	// The README's "A short tour" ends here.

	return checkTour(tourValues{invited, bobs, joined, upserted, guest, res, page, versions, sso, checks, prov, secret, n, perKey, is, o, plan, creds, am,
		inAppOK, ok, created, me, role2, events, d, ex, orgs, who}, err)
}

// clientIP is the address a request came from, as the host knows it.
var clientIP = netip.MustParseAddr("203.0.114.7")

// mustError is what must panics with.
type mustError struct{ error }

// must returns v, or panics when err is not nil: the host's own error
// handling in the tour.
func must[T any](v T, err error) T {
	check(err)
	return v
}

// check panics when err is not nil.
func check(err error) {
	if err != nil {
		panic(mustError{err})
	}
}

// mailbox stands in for the host's mailer: it keeps each invitation's
// token by address, where a real one would mail a link.
type mailbox struct {
	mu     sync.Mutex
	tokens map[string]string
}

var _ provisioning.Notifier = (*mailbox)(nil)

func (b *mailbox) Invited(_ context.Context, inv provisioning.Invitation) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tokens == nil {
		b.tokens = map[string]string{}
	}
	b.tokens[inv.Email] = inv.Token
	return nil
}

// token returns the last token mailed to address.
func (b *mailbox) token(address string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tokens[address]
}

// zone stands in for DNS: the TXT records published on each name.
type zone struct {
	mu  sync.Mutex
	txt map[string][]string
}

var _ idp.Resolver = (*zone)(nil)

func (z *zone) publish(name, record string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.txt == nil {
		z.txt = map[string][]string{}
	}
	z.txt[name] = append(z.txt[name], record)
}

func (z *zone) LookupTXT(_ context.Context, name string) ([]string, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if txt, ok := z.txt[name]; ok {
		return slices.Clone(txt), nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// tourValues are the tour's results that checkTour looks at.
type tourValues struct {
	invited, bobs, joined, upserted, guest *membership.Membership
	res                                    []provisioning.InviteResult
	page                                   resource.Page[membership.Membership]
	versions                               resource.Page[audit.Version]
	sso                                    *idp.Provider
	checks                                 []idp.DomainCheck
	prov                                   *idp.Provider
	secret                                 idp.Secret
	n                                      int
	perKey                                 map[string]int
	is                                     *credential.Issued
	o, plan                                *organization.Organization
	creds                                  resource.Page[credential.Credential]
	am                                     *appmembership.AppMembership
	inAppOK                                bool
	ok                                     bool
	created                                bool
	me                                     *user.User
	role2                                  *role.Role
	events                                 resource.Page[audit.SecurityEvent]
	d                                      authz.Decision
	ex                                     authz.Explanation
	orgs                                   resource.Page[string]
	who                                    resource.Page[string]
}

// checkTour checks that the tour did what its comments say: a tour that
// runs but does something else fails.
func checkTour(v tourValues, err error) error {
	var wrong []string
	want := func(ok bool, what string) {
		if !ok {
			wrong = append(wrong, what)
		}
	}
	want(len(v.res) == 2 && v.res[0].Err == nil && v.res[1].Err == nil, "InviteMany invited both")
	want(len(v.page.Items) == 4 && v.page.Next == "", "the first page lists the owner, bob, cy and dee")
	want(len(v.versions.Items) > 0, "the organization has versions")
	want(len(v.checks) == 1 && v.prov != nil && v.prov.Status == idp.Verified && string(v.secret) == "secret...", "the provider is verified and its secret readable")
	want(v.n == 0, "no secret is on another key")
	want(len(v.perKey) == 1 && v.perKey["k1"] == 1, "the one provider's secret is under the one key")
	want(v.o != nil && v.o.ID == v.me.DefaultOrganizationID, "bob's default organization is Acme")
	want(v.invited.Status == membership.Pending && v.bobs.ID == v.invited.ID && v.joined.Status == membership.Active, "bob was invited, then joined")
	want(!v.created && v.upserted.ID == v.invited.ID && len(v.upserted.RoleIDs) == 2, "bob's membership was updated, with two roles")
	want(v.guest.Rules().Guest && v.guest.Status == membership.Active, "carol is an active guest")
	want(v.plan.Subscription.PlanType == "growth", "Acme is on the growth plan")
	want(!v.inAppOK && !v.ok && v.d.Reason != "" && len(v.orgs.Items) == 0 && len(v.who.Items) == 1, "only the owner manages projects")
	want(errors.Is(err, fault.ErrForbidden), "a guest may not create a role")
	_ = []any{v.sso, v.is, v.creds, v.am, v.role2, v.events, v.ex}
	if len(wrong) > 0 {
		return fmt.Errorf("the tour went wrong: not %v (last error: %v)", wrong, err)
	}
	return nil
}
