// Package provisioning is an embeddable, multi-tenant organization
// provisioning library: organizations (tenants), users, memberships invited
// by email, membership profiles, roles and permissions, and an audit trail,
// stored with bun (SQLite, PostgreSQL, MySQL) and authorized with Casbin.
//
// The Provisioner is the facade; the domain packages (organization,
// membership, profile, role, user, audit, access) hold the types, their
// inputs and their rules; storage/bunstore stores them; package fault holds
// the errors. With fx, use package provisioningfx.
//
// # Quick start
//
//	db, err := sqlite.Open(ctx, "app.db") // or postgres.Open, mysql.Open: the host owns db
//	store, err := bunstore.New(db)
//	err = store.Migrate(ctx)               // explicit, never on import
//	p, err := provisioning.New(store, provisioning.WithNotifier(mailer))
//
//	owner, err := p.System().CreateUser(ctx, user.Create{Email: "ada@example.com", EmailVerified: true})
//	s := p.As(provisioning.User(owner.ID))
//	org, err := s.CreateOrganization(ctx, organization.Create{Name: "Acme"})
//	roles, err := s.ListRoles(ctx, role.Filter{OrganizationID: org.ID, Kind: role.KindReadOnly})
//	m, err := s.Invite(ctx, membership.Invite{OrganizationID: org.ID, UserEmail: "bob@example.com", RoleID: roles.Items[0].ID})
//
// The invitee signs up (System().CreateUser, once the host has verified the
// address) and accepts with the token that the Notifier received:
// p.As(provisioning.User(bob.ID)).AcceptInvitation(ctx, token).
//
// # Verified addresses
//
// What belongs to an email address (an invitation, a membership granted by
// address) is granted only to a user whose address is verified
// (user.User.EmailVerifiedAt). The host verifies it, by a link or code it
// mails there or an identity provider that vouches for it, and says so:
// user.Create.EmailVerified at sign-up, or System.VerifyEmail later, in
// any case before it calls AcceptPendingInvitations. Until then
// AcceptInvitation and AcceptPendingInvitations fail with
// fault.ErrEmailUnverified and change nothing, Invite and InviteMany of the
// address leave the membership pending (an invitation with a token), and
// AddMember and UpsertMembership refuse to make the user a member. Users
// stored before this rule existed start unverified: a host that verified
// every address at sign-up calls System.VerifyEmail for them (or sets
// provisioning_users.email_verified_at itself).
//
// A user changes their own address with UpdateCurrentUser: the new address
// waits in user.User.PendingEmail, and the Notifier, when it is an
// EmailChangeNotifier, receives a code for it (256 bits from crypto/rand,
// only its SHA-256 hash stored, valid for WithEmailChangeTTL, one use) and
// tells the old address. ConfirmEmail with the code makes the new address
// the user's, verified. Without an EmailChangeNotifier the change fails
// with fault.ErrEmailChangeUnavailable and only the host changes addresses
// (System.VerifyEmail). An invitation also stops working at its expiry
// (WithInvitationTTL) on every path that accepts it.
//
// # Principals: As and System
//
// Every call is made as a principal. p.As(principal) returns a Session whose
// methods authorize first (with the principal's role in the organization),
// then validate, then run. Create one Session per request; it is cheap.
// A principal is a user (provisioning.User(id)) or an API credential
// (provisioning.Credential(id), as Provisioner.Authenticate returns it for a
// client id and secret, acting with the credential's role), with the
// request's facts (client IP, MFA). p.System() is a separate, explicitly named handle for
// trusted code: creating users at sign-up, bootstrap, background jobs. It
// is not authorized and offers only what such code needs, so an
// unauthenticated call cannot happen by accident.
//
// Bearer tokens (package token, in the same database) end with what they
// name: a credential's when the credential is deleted or expires, or when
// the client secret it logged in with ends (Principal.SecretID; a rotation's
// overlap), in every process; a user's, with
// WithUserTokensEndingWithLastMembership, when their last membership goes.
//
// Whoever is not an active member of an organization gets fault.ErrNotFound
// for its resources, so that ids of other tenants look like ids that do not
// exist. The organization's owner is its creator until TransferOwnership;
// every organization keeps exactly one owner. Nobody grants a role or a
// permission with rights they do not hold. Hosts register their own
// permission subjects with WithSubjects and check them with Session.Can.
//
// # Membership rules
//
// On top of the Commerce Layer membership come the rules of two other
// provisioning APIs, enforced by the facade and by the check: UpsertMembership
// sets a user's membership by (organization, user) and reports whether it
// created it (only the owner makes a non-member a member; a repeated call
// writes nothing); AddMember adds an existing user by id; a membership has
// several roles (RoleIDs, the primary one first, shown as RoleID) and direct
// permissions ("subject:action", "*" for any) on top; an IP allowlist per
// membership or credential (public networks only, see package allowlist)
// refuses calls from elsewhere with fault.ErrIPRefused; MFA required by the
// organization or the member refuses a principal without it with
// fault.ErrMFARequired; guests never manage the organization and lose
// access when their membership expires; every user has one default
// organization while a member anywhere (SetDefaultOrganization).
//
// # Errors
//
// Errors carry a kind from package fault. Test them with errors.Is against
// the kind sentinels (fault.ErrNotFound, fault.ErrForbidden,
// fault.ErrConflict, fault.ErrInvalid, fault.ErrUnauthenticated,
// fault.ErrBusy, fault.ErrCommitUnknown) or the named cases that match them
// (fault.ErrAlreadyExists, fault.ErrLastOwner, fault.ErrInvitationInvalid,
// ...). Bad input is a *fault.ValidationError naming each bad field:
//
//	_, err := s.Invite(ctx, in)
//	var ve *fault.ValidationError
//	switch {
//	case errors.As(err, &ve):          // ve.Fields: field, code, message
//	case errors.Is(err, fault.ErrForbidden):
//	case errors.Is(err, fault.ErrNotFound):
//	}
//
// Nothing, in the library or its callers, should inspect error strings.
//
// # Transactions and versions
//
// Each write runs in one transaction that also appends its version: the
// audit record of the change (resource type and id, event, changes as
// {field: [before, after]}, who, request id). Either both commit or neither
// does. Transient failures (serialization, deadlock, SQLite busy) are
// retried from the start; a commit whose outcome is unknown gives
// fault.ErrCommitUnknown. The call's context bounds every wait, for a row
// lock or SQLite's write lock too: once its deadline passes or it is
// cancelled, the call fails with fault.ErrBusy, which errors.Is also
// matches with context.DeadlineExceeded or context.Canceled, and nothing
// is written. Read an organization's trail with
// Session.ListVersions; tag calls with WithRequestID to find them there.
//
// Invitations reach the Notifier after their transaction committed; a
// Notifier error is logged and does not undo the invitation.
//
// After fault.ErrCommitUnknown a call may have happened. Updates, deletions
// and creations with a natural key (an invitation's email, a member's user,
// a permission's subject) are safe to retry as they are. Creations without
// one take an idempotency key: ctx = WithIdempotencyKey(ctx, uuid) makes
// CreateOrganization, CreateRole, CreateProfile and CreateCredential return,
// on a retry with the same key, what the first call created.
//
// # Security events
//
// Refused authorizations (with the check's reason), last-owner refusals and
// bad credentials are recorded as security events, durably: after the
// refused call's transaction has ended, whatever its outcome. Hosts add bad
// tokens with System.RecordSecurityEvent and read them all with
// System.ListSecurityEvents. They never hold a secret; their text is escaped.
// Those anyone can cause without authenticating (bad credentials, bad
// tokens) are sampled: at most ten a minute per client, the next one
// saying how many were left out.
//
// # Lists
//
// List calls take a filter struct with a resource.PageRequest and return a
// resource.Page ordered by id (creation order). Page.Next is the cursor of
// the following page, "" on the last one:
//
//	f := membership.Filter{OrganizationID: org.ID}
//	for {
//		page, err := s.ListMemberships(ctx, f)
//		if err != nil {
//			return err
//		}
//		// use page.Items
//		if page.Next == "" {
//			break
//		}
//		f.After = page.Next
//	}
//
// Every list of an organization's resources (ListMemberships,
// ListProfiles, ListRoles, ListPermissions, ListCredentials,
// ListAppMemberships, ListIdentityProviders, ListVersions) also lists
// across organizations: leave the filter's OrganizationID empty, and the
// list runs over the caller's organizations in one query, filtered,
// ordered, paged and counted by the database as one organization's list is.
// The caller's organizations are a user's active memberships' and an API
// credential's own, narrowed to the filter's OrganizationIDs when it names
// any; of those, the list reads only the ones where the caller may read the
// resource, each decided as that organization's own list would be. An
// organization where the caller may not read it adds nothing and is no
// error; one whose request rules refuse the call (an address outside its
// allowlist, a missing second factor) fails the whole list with that
// refusal, as its own list would. The system principal belongs to no
// organization: across organizations, it lists those of OrganizationIDs.
//
//	page, err := s.ListMemberships(ctx, membership.Filter{PageRequest: resource.PageRequest{
//		Sort: []resource.SortKey{{Field: "user_email"}}, Offset: 50, Limit: 25, Count: true}})
//
// # Identity providers
//
// An organization's owner (only the owner: an admin is refused) manages its
// SSO identity providers with Session.CreateIdentityProvider and the other
// *IdentityProvider calls; every member reads them. Each domain proves
// itself by the provider's TXT record (Session.VerifyIdentityProvider, with
// the Resolver of WithResolver). The client secret is sealed with
// AES-256-GCM under a key of the host's idp.KeyProvider (WithKeyProvider;
// there is no default key), bound to the organization, the provider and the
// field; reads show only whether it is set and its last characters, versions
// show "[changed]", and System.IdentityProviderSecret gives it back in
// clear to the host's SSO flow alone. The "[hidden]" a read shows in its
// place is never taken as a secret (idp.IsPlaceholder): an update carrying
// it keeps the secret, so a client that sends back what it read loses
// nothing, and a create refuses it. After making a new key current (the old
// one kept), run System.ReencryptIdentityProviderSecrets until it returns 0:
// it goes past the secrets that do not open and reports them in an
// *idp.UnreadableError; settle those (a new secret, or the missing key back),
// and retire the old key once System.IdentityProviderSecretKeys counts no
// provider under it.
//
// A pending provider is also verified in the background: a Verifier (which
// provisioningfx runs from start to stop) calls
// System.VerifyPendingIdentityProviders on an interval; each pass claims the
// providers that are due, with a lease, so that several processes never look
// one up at once, and retries one that does not verify after waits that
// double, with jitter, up to a cap, until its attempts are spent or an
// answer is definitive: then its status becomes error (idp.Retry,
// WithVerificationRetry). Each change of status writes a version, by the
// system.
//
// # Versions retention
//
// Versions older than the retention age (a year by default,
// DefaultVersionRetention, as Commerce Layer keeps them) are purged by
// System.PurgeVersions, in bounded batches that say whether more remain, or
// on a schedule by a Retention. Purges from several processes at once take
// disjoint versions. Each purge that deletes versions is recorded as a
// security event of kind audit.VersionsPurged and an Info log line.
//
// # Application memberships and plans
//
// Session.CreateAppMembership gives a membership, or every member of a
// profile, a role inside one application (a Dashboard-app or webapp API
// credential); a user working through it (Principal.App set to the
// credential's id) holds only those roles there, read through the profile at
// every change. Those who manage application memberships see them all, other
// members their own.
//
// An organization is on a plan of the host's catalogue (WithPlans): the
// features it grants (organization.CustomRoles, organization.IdentityProviders,
// which Commerce Layer keeps to Enterprise) and the limits it sets
// (memberships, organizations per owner, API credentials, custom roles).
// Organization.Plan is the plan in force, computed on read;
// Organization.Subscription names it (PlanType) and may set the
// organization's own limits in place of the plan's. Only the host changes
// them (System.SetPlan, System.SetSubscription; WithSubscription for new
// organizations). A call that needs a feature the plan lacks (creating a
// custom role or a permission, turning a right on, creating or changing an
// identity provider) fails with fault.ErrPlanRestricted, writes nothing and
// is recorded as a security event; a call past a limit fails with
// fault.ErrLimitReached. Taking rights away and deleting identity providers
// always work, and what an organization already holds stays. Without
// WithPlans every organization is on organization.DefaultPlan: every
// feature, no limit but its Subscription's.
//
// # Authorization questions
//
// Provisioner.Check, Can, Explain and OrganizationsWhere answer, for the
// host's own code, what a principal may do (with the reason, the deciding
// policy line, or the reverse list); System.MembersWho, who in an
// organization may do something. Provisioner.WatchPolicy
// refreshes the policy cache early after other processes' changes.
//
// # Time and ids
//
// Time comes from a Clock (WithClock) and ids from an IDGenerator
// (WithIDGenerator), so tests are deterministic. Ids are opaque, lower-case,
// time-ordered strings.
package provisioning
