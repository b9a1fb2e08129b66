package httpapi

import (
	"context"
	"maps"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/appmembership"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/idp"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/profile"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/user"
)

// The resource types: the subjects of the library's resources, and the
// user, which no permission names.
const (
	typeOrganizations  = string(role.SubjectOrganizations)
	typeMemberships    = string(role.SubjectMemberships)
	typeProfiles       = string(role.SubjectMembershipProfiles)
	typeRoles          = string(role.SubjectRoles)
	typePermissions    = string(role.SubjectPermissions)
	typeCredentials    = string(role.SubjectAPICredentials)
	typeAppMemberships = string(role.SubjectApplicationMemberships)
	typeProviders      = string(role.SubjectIdentityProviders)
	typeUsers          = "users"
	typeVersions       = string(role.SubjectVersions)
)

// kindOrder lists the resource types served: role.ProvisioningSubjects, in
// their order, then the user.
var kindOrder = resourceTypes()

func resourceTypes() []string {
	var out []string
	for _, s := range role.ProvisioningSubjects() {
		out = append(out, string(s))
	}
	return append(out, typeUsers)
}

// requiredRels are the relationships a create must link, per type: without
// one (absent, or null) the create is 422 naming /data/relationships/<name>.
// Those the library requires only in some cases (the role of an
// api_credential, by kind; an application_membership's membership or
// membership_profile) are its validation's to refuse.
var requiredRels = map[string][]string{
	typeMemberships:    {"organization", "role"},
	typeProfiles:       {"organization"},
	typeRoles:          {"organization"},
	typePermissions:    {"role"},
	typeCredentials:    {"organization"},
	typeAppMemberships: {"organization", "api_credential", "role"},
	typeProviders:      {"organization"},
}

// kinds returns the description of every resource type.
func kinds() map[string]*kind {
	return map[string]*kind{
		typeOrganizations: organizations.kind(), typeMemberships: memberships.kind(), typeProfiles: profiles.kind(),
		typeRoles: roles.kind(), typePermissions: permissions.kind(), typeCredentials: credentials.kind(),
		typeAppMemberships: appMemberships.kind(), typeProviders: providers.kind(), typeUsers: users.kind(),
		typeVersions: versions.kind(),
	}
}

// withCommon adds the attributes every resource has.
func withCommon(attrs map[string]any, c resource.Common) map[string]any {
	attrs["reference"] = nullable(c.Reference)
	attrs["reference_origin"] = nullable(c.ReferenceOrigin)
	attrs["metadata"] = jsonObject(c.Metadata)
	attrs["created_at"] = timeValue(c.CreatedAt)
	attrs["updated_at"] = timeValue(c.UpdatedAt)
	return attrs
}

func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// optional returns a pointer to a relationship's id when it was given.
func optional(id string, set bool) *string {
	if !set {
		return nil
	}
	return &id
}

// inOrg are the conditions of a to-many relationship inside organization org.
func inOrg(org string, kv ...string) conds {
	c := conds{"organization_id": org}
	for i := 0; i+1 < len(kv); i += 2 {
		c[kv[i]] = kv[i+1]
	}
	return c
}

// history is the versions relationship of a versionable resource.
func history[T any](typ string, org, id func(*T) string) relSpec[T] {
	return toMany("versions", typeVersions, func(v *T) conds {
		return inOrg(org(v), "resource_type", typ, "resource_id", id(v))
	})
}

// belongsTo is the organization relationship.
func belongsTo[T any](org func(*T) string) relSpec[T] {
	return toOne("organization", typeOrganizations, org)
}

var organizations = spec[organization.Organization]{
	typ: typeOrganizations,
	id:  func(o *organization.Organization) string { return o.ID },
	attrs: func(o *organization.Organization) map[string]any {
		a := maps.Clone(organization.CoreSettings())
		maps.Copy(a, map[string]any{
			"name": o.Name, "slug": o.Slug, "domain": o.Domain, "support_phone": nullable(o.SupportPhone),
			"support_email": nullable(o.SupportEmail), "logo_url": nullable(o.LogoURL), "favicon_url": nullable(o.FaviconURL),
			"primary_color": nullable(o.PrimaryColor), "contrast_color": nullable(o.ContrastColor),
			"gtm_id": nullable(o.GTMID), "gtm_id_test": nullable(o.GTMIDTest), "region": o.Region, "config": jsonObject(o.Config),
			"can_switch_live": o.Subscription.CanSwitchLive,
			// The plan in force, read-only: the host sets it (System.SetPlan).
			"plan": nullable(o.Plan.Name),
			"subscription_info": map[string]any{"plan_type": nullable(o.Plan.Name), "features": features(o.Plan.Features),
				"limits": map[string]any{"memberships": limit(o.Plan.Limits.Memberships), "organizations": limit(o.Plan.Limits.Organizations),
					"api_credentials": limit(o.Plan.Limits.APICredentials), "roles": limit(o.Plan.Limits.Roles)},
				"totals": map[string]any{"memberships": o.Totals.Memberships, "organizations": o.Totals.Organizations}},
		})
		return withCommon(a, o.Common)
	},
	rels: []relSpec[organization.Organization]{
		toMany("memberships", typeMemberships, func(o *organization.Organization) conds { return inOrg(o.ID) }),
		toMany("roles", typeRoles, func(o *organization.Organization) conds { return inOrg(o.ID) }),
		toMany("permissions", typePermissions, func(o *organization.Organization) conds { return inOrg(o.ID) }),
		toMany("api_credentials", typeCredentials, func(o *organization.Organization) conds { return inOrg(o.ID) }),
	},
	get: (*provisioning.Session).GetOrganization,
	list: func(s *provisioning.Session, ctx context.Context, _ string, pr resource.PageRequest) (resource.Page[organization.Organization], error) {
		return s.ListOrganizations(ctx, organization.Filter{PageRequest: pr})
	},
	create: func(in *input) action[*organization.Organization] {
		u := readOrganization(in)
		c := organization.Create{Name: deref(u.Name), SupportPhone: deref(u.SupportPhone), SupportEmail: deref(u.SupportEmail),
			LogoURL: deref(u.LogoURL), FaviconURL: deref(u.FaviconURL), PrimaryColor: deref(u.PrimaryColor),
			ContrastColor: deref(u.ContrastColor), GTMID: deref(u.GTMID), GTMIDTest: deref(u.GTMIDTest),
			Region: in.text("region"), Config: deref(u.Config), CommonInput: in.common()}
		return func(ctx context.Context, s *provisioning.Session) (*organization.Organization, error) {
			return s.CreateOrganization(ctx, c)
		}
	},
	update: func(id string, in *input) action[*organization.Organization] {
		u := readOrganization(in)
		u.CommonUpdate = in.commonUpdate()
		return func(ctx context.Context, s *provisioning.Session) (*organization.Organization, error) {
			return s.UpdateOrganization(ctx, id, u)
		}
	},
}

// features lists a plan's features, [] for none.
func features(fs []organization.Feature) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = string(f)
	}
	return out
}

// limit shows "no limit" (zero) as null.
func limit(n int) any {
	if n == 0 {
		return nil
	}
	return n
}

// readOrganization reads the settings an organization's create and update share.
func readOrganization(in *input) organization.Update {
	u := organization.Update{Name: in.str("name"), SupportPhone: in.str("support_phone"), SupportEmail: in.str("support_email"),
		LogoURL: in.str("logo_url"), FaviconURL: in.str("favicon_url"), PrimaryColor: in.str("primary_color"),
		ContrastColor: in.str("contrast_color"), GTMID: in.str("gtm_id"), GTMIDTest: in.str("gtm_id_test")}
	if cfg, ok := in.obj("config"); ok {
		u.Config = &cfg
	}
	return u
}

const viaAppMemberships = "create application memberships at POST /api/application_memberships"

var memberships = spec[membership.Membership]{
	typ: typeMemberships,
	id:  func(m *membership.Membership) string { return m.ID },
	attrs: func(m *membership.Membership) map[string]any {
		return withCommon(map[string]any{"user_email": m.UserEmail, "user_first_name": nullable(m.UserFirstName),
			"user_last_name": nullable(m.UserLastName), "status": m.Status, "owner": m.Owner,
			"test_enabled": m.TestEnabled(), "access_scope": nullable(string(m.AccessScope))}, m.Common)
	},
	rels: []relSpec[membership.Membership]{
		belongsTo(func(m *membership.Membership) string { return m.OrganizationID }),
		toOne("role", typeRoles, func(m *membership.Membership) string { return m.RoleID }),
		toOne("membership_profile", typeProfiles, func(m *membership.Membership) string { return m.ProfileID }),
		toMany("application_memberships", typeAppMemberships, func(m *membership.Membership) conds {
			return inOrg(m.OrganizationID, "membership_id", m.ID)
		}),
		history(typeMemberships, func(m *membership.Membership) string { return m.OrganizationID }, func(m *membership.Membership) string { return m.ID }),
	},
	get: (*provisioning.Session).GetMembership,
	list: func(s *provisioning.Session, ctx context.Context, org string, pr resource.PageRequest) (resource.Page[membership.Membership], error) {
		return s.ListMemberships(ctx, membership.Filter{OrganizationID: org, PageRequest: pr})
	},
	orgScoped: true,
	create: func(in *input) action[*membership.Membership] {
		org, _ := in.one("organization", typeOrganizations)
		roleID, _ := in.one("role", typeRoles)
		prof, _ := in.one("membership_profile", typeProfiles)
		in.none("application_memberships", viaAppMemberships)
		inv := membership.Invite{OrganizationID: org, UserEmail: in.text("user_email"), RoleID: roleID, ProfileID: prof,
			AccessScope: access.Scope(in.text("access_scope")), CommonInput: in.common()}
		return func(ctx context.Context, s *provisioning.Session) (*membership.Membership, error) {
			return s.Invite(ctx, inv)
		}
	},
	update: func(id string, in *input) action[*membership.Membership] {
		u := membership.Update{RoleID: optional(in.one("role", typeRoles)), ProfileID: optional(in.one("membership_profile", typeProfiles)),
			CommonUpdate: in.commonUpdate()}
		if sc := in.str("access_scope"); sc != nil {
			u.AccessScope = (*access.Scope)(sc)
		}
		in.none("application_memberships", viaAppMemberships)
		return func(ctx context.Context, s *provisioning.Session) (*membership.Membership, error) {
			return s.UpdateMembership(ctx, id, u)
		}
	},
	del: (*provisioning.Session).DeleteMembership,
}

var profiles = spec[profile.Profile]{
	typ: typeProfiles,
	id:  func(p *profile.Profile) string { return p.ID },
	attrs: func(p *profile.Profile) map[string]any {
		return withCommon(map[string]any{"name": p.Name, "test_enabled": p.TestEnabled(), "access_scope": nullable(string(p.AccessScope))}, p.Common)
	},
	rels: []relSpec[profile.Profile]{
		belongsTo(func(p *profile.Profile) string { return p.OrganizationID }),
		toMany("application_memberships", typeAppMemberships, func(p *profile.Profile) conds {
			return inOrg(p.OrganizationID, "membership_profile_id", p.ID)
		}),
	},
	get: (*provisioning.Session).GetProfile,
	list: func(s *provisioning.Session, ctx context.Context, org string, pr resource.PageRequest) (resource.Page[profile.Profile], error) {
		return s.ListProfiles(ctx, profile.Filter{OrganizationID: org, PageRequest: pr})
	},
	orgScoped: true,
	create: func(in *input) action[*profile.Profile] {
		org, _ := in.one("organization", typeOrganizations)
		in.none("application_memberships", viaAppMemberships)
		c := profile.Create{OrganizationID: org, Name: in.text("name"), AccessScope: access.Scope(in.text("access_scope")), CommonInput: in.common()}
		return func(ctx context.Context, s *provisioning.Session) (*profile.Profile, error) {
			return s.CreateProfile(ctx, c)
		}
	},
	update: func(id string, in *input) action[*profile.Profile] {
		u := profile.Update{Name: in.str("name"), CommonUpdate: in.commonUpdate()}
		if sc := in.str("access_scope"); sc != nil {
			u.AccessScope = (*access.Scope)(sc)
		}
		in.none("application_memberships", viaAppMemberships)
		return func(ctx context.Context, s *provisioning.Session) (*profile.Profile, error) {
			return s.UpdateProfile(ctx, id, u)
		}
	},
	del: (*provisioning.Session).DeleteProfile,
}

var roles = spec[role.Role]{
	typ: typeRoles,
	id:  func(r *role.Role) string { return r.ID },
	attrs: func(r *role.Role) map[string]any {
		return withCommon(map[string]any{"name": r.Name, "kind": r.Kind}, r.Common)
	},
	rels: []relSpec[role.Role]{
		belongsTo(func(r *role.Role) string { return r.OrganizationID }),
		toMany("permissions", typePermissions, func(r *role.Role) conds { return inOrg(r.OrganizationID, "role_id", r.ID) }),
		toMany("memberships", typeMemberships, func(r *role.Role) conds { return inOrg(r.OrganizationID, "role_id", r.ID) }),
		toMany("api_credentials", typeCredentials, func(r *role.Role) conds { return inOrg(r.OrganizationID, "role_id", r.ID) }),
		history(typeRoles, func(r *role.Role) string { return r.OrganizationID }, func(r *role.Role) string { return r.ID }),
	},
	get: (*provisioning.Session).GetRole,
	list: func(s *provisioning.Session, ctx context.Context, org string, pr resource.PageRequest) (resource.Page[role.Role], error) {
		return s.ListRoles(ctx, role.Filter{OrganizationID: org, PageRequest: pr})
	},
	orgScoped: true,
	create: func(in *input) action[*role.Role] {
		org, _ := in.one("organization", typeOrganizations)
		c := role.Create{OrganizationID: org, Name: in.text("name"), CommonInput: in.common()}
		return func(ctx context.Context, s *provisioning.Session) (*role.Role, error) { return s.CreateRole(ctx, c) }
	},
	// _add_missing_base_permissions runs after the other changes, in its own
	// transaction (the facade has no call that does both at once).
	update: func(id string, in *input) action[*role.Role] {
		u := role.Update{Name: in.str("name"), CommonUpdate: in.commonUpdate()}
		addBase := deref(in.flag("_add_missing_base_permissions"))
		return func(ctx context.Context, s *provisioning.Session) (*role.Role, error) {
			if !addBase {
				return s.UpdateRole(ctx, id, u)
			}
			if u.Name != nil || !u.CommonUpdate.Empty() {
				if _, err := s.UpdateRole(ctx, id, u); err != nil {
					return nil, err
				}
			}
			return s.AddMissingBasePermissions(ctx, id)
		}
	},
}

var permissions = spec[role.Permission]{
	typ: typePermissions,
	id:  func(p *role.Permission) string { return p.ID },
	attrs: func(p *role.Permission) map[string]any {
		return withCommon(map[string]any{"can_create": p.CanCreate, "can_read": p.CanRead, "can_update": p.CanUpdate,
			"can_destroy": p.CanDestroy, "subject": p.Subject, "restrictions": jsonObject(p.Restrictions)}, p.Common)
	},
	rels: []relSpec[role.Permission]{
		belongsTo(func(p *role.Permission) string { return p.OrganizationID }),
		toOne("role", typeRoles, func(p *role.Permission) string { return p.RoleID }),
		history(typePermissions, func(p *role.Permission) string { return p.OrganizationID }, func(p *role.Permission) string { return p.ID }),
	},
	get: (*provisioning.Session).GetPermission,
	list: func(s *provisioning.Session, ctx context.Context, org string, pr resource.PageRequest) (resource.Page[role.Permission], error) {
		return s.ListPermissions(ctx, role.PermissionFilter{OrganizationID: org, PageRequest: pr})
	},
	orgScoped: true,
	create: func(in *input) action[*role.Permission] {
		roleID, _ := in.one("role", typeRoles)
		f := readFlags(in)
		c := role.PermissionCreate{RoleID: roleID, Subject: in.text("subject"), CanCreate: deref(f.CanCreate), CanRead: deref(f.CanRead),
			CanUpdate: deref(f.CanUpdate), CanDestroy: deref(f.CanDestroy), CommonInput: in.common()}
		return func(ctx context.Context, s *provisioning.Session) (*role.Permission, error) {
			return s.CreatePermission(ctx, c)
		}
	},
	update: func(id string, in *input) action[*role.Permission] {
		u := readFlags(in)
		u.CommonUpdate = in.commonUpdate()
		return func(ctx context.Context, s *provisioning.Session) (*role.Permission, error) {
			return s.UpdatePermission(ctx, id, u)
		}
	},
}

func readFlags(in *input) role.PermissionUpdate {
	return role.PermissionUpdate{CanCreate: in.flag("can_create"), CanRead: in.flag("can_read"),
		CanUpdate: in.flag("can_update"), CanDestroy: in.flag("can_destroy")}
}

// apiCredential is an API credential with, in the response to its
// creation only, its client secret (the library keeps only its hash).
type apiCredential struct {
	credential.Credential
	secret string
}

func wrapCredential(c *credential.Credential, err error) (*apiCredential, error) {
	if err != nil {
		return nil, err
	}
	return &apiCredential{Credential: *c}, nil
}

var credentials = spec[apiCredential]{
	typ: typeCredentials,
	id:  func(c *apiCredential) string { return c.ID },
	attrs: func(c *apiCredential) map[string]any {
		return withCommon(map[string]any{"name": c.Name, "kind": c.Kind, "confidential": c.Confidential,
			"redirect_uri": nullable(c.RedirectURI), "client_id": c.ClientID, "client_secret": nullable(c.secret),
			"scopes": nullable(c.Scopes), "expires_in": c.ExpiresIn, "mode": c.Mode, "custom": c.Custom}, c.Common)
	},
	rels: []relSpec[apiCredential]{
		belongsTo(func(c *apiCredential) string { return c.OrganizationID }),
		toOne("role", typeRoles, func(c *apiCredential) string { return c.RoleID }),
	},
	get: func(s *provisioning.Session, ctx context.Context, id string) (*apiCredential, error) {
		return wrapCredential(s.GetCredential(ctx, id))
	},
	list: func(s *provisioning.Session, ctx context.Context, org string, pr resource.PageRequest) (resource.Page[apiCredential], error) {
		p, err := s.ListCredentials(ctx, credential.Filter{OrganizationID: org, PageRequest: pr})
		out := resource.Page[apiCredential]{Next: p.Next, Total: p.Total, Items: make([]apiCredential, len(p.Items))}
		for i, it := range p.Items {
			out.Items[i] = apiCredential{Credential: it}
		}
		return out, err
	},
	orgScoped: true,
	create: func(in *input) action[*apiCredential] {
		org, _ := in.one("organization", typeOrganizations)
		roleID, _ := in.one("role", typeRoles)
		c := credential.Create{OrganizationID: org, Name: in.text("name"), Kind: credential.Kind(in.text("kind")),
			RedirectURI: in.text("redirect_uri"), ExpiresIn: deref(in.number("expires_in")), Mode: credential.Mode(in.text("mode")),
			Custom: deref(in.flag("custom")), RoleID: roleID, CommonInput: in.common()}
		return func(ctx context.Context, s *provisioning.Session) (*apiCredential, error) {
			is, err := s.CreateCredential(ctx, c)
			if err != nil {
				return nil, err
			}
			return &apiCredential{Credential: *is.Credential, secret: is.ClientSecret}, nil
		}
	},
	update: func(id string, in *input) action[*apiCredential] {
		u := credential.Update{Name: in.str("name"), RedirectURI: in.str("redirect_uri"), ExpiresIn: in.number("expires_in"),
			RoleID: optional(in.one("role", typeRoles)), CommonUpdate: in.commonUpdate()}
		return func(ctx context.Context, s *provisioning.Session) (*apiCredential, error) {
			return wrapCredential(s.UpdateCredential(ctx, id, u))
		}
	},
	del: (*provisioning.Session).DeleteCredential,
}

var appMemberships = spec[appmembership.AppMembership]{
	typ: typeAppMemberships,
	id:  func(a *appmembership.AppMembership) string { return a.ID },
	attrs: func(a *appmembership.AppMembership) map[string]any {
		return withCommon(map[string]any{"filters": jsonObject(a.Filters)}, a.Common)
	},
	rels: []relSpec[appmembership.AppMembership]{
		toOne("api_credential", typeCredentials, func(a *appmembership.AppMembership) string { return a.CredentialID }),
		toOne("membership", typeMemberships, func(a *appmembership.AppMembership) string { return a.MembershipID }),
		toOne("membership_profile", typeProfiles, func(a *appmembership.AppMembership) string { return a.ProfileID }),
		belongsTo(func(a *appmembership.AppMembership) string { return a.OrganizationID }),
		toOne("role", typeRoles, func(a *appmembership.AppMembership) string { return a.RoleID }),
	},
	get: (*provisioning.Session).GetAppMembership,
	list: func(s *provisioning.Session, ctx context.Context, org string, pr resource.PageRequest) (resource.Page[appmembership.AppMembership], error) {
		return s.ListAppMemberships(ctx, appmembership.Filter{OrganizationID: org, PageRequest: pr})
	},
	orgScoped: true,
	create: func(in *input) action[*appmembership.AppMembership] {
		org, _ := in.one("organization", typeOrganizations)
		cred, _ := in.one("api_credential", typeCredentials)
		m, _ := in.one("membership", typeMemberships)
		prof, _ := in.one("membership_profile", typeProfiles)
		roleID, _ := in.one("role", typeRoles)
		filters, _ := in.obj("filters")
		c := appmembership.Create{OrganizationID: org, CredentialID: cred, MembershipID: m, ProfileID: prof, RoleID: roleID,
			Filters: filters, CommonInput: in.common()}
		return func(ctx context.Context, s *provisioning.Session) (*appmembership.AppMembership, error) {
			return s.CreateAppMembership(ctx, c)
		}
	},
	update: func(id string, in *input) action[*appmembership.AppMembership] {
		filters, set := in.obj("filters")
		u := appmembership.Update{RoleID: optional(in.one("role", typeRoles)), ProfileID: optional(in.one("membership_profile", typeProfiles)),
			Filters: filters, ClearFilters: set && filters == nil, CommonUpdate: in.commonUpdate()}
		return func(ctx context.Context, s *provisioning.Session) (*appmembership.AppMembership, error) {
			return s.UpdateAppMembership(ctx, id, u)
		}
	},
	del: (*provisioning.Session).DeleteAppMembership,
}

var providers = spec[idp.Provider]{
	typ: typeProviders,
	id:  func(p *idp.Provider) string { return p.ID },
	attrs: func(p *idp.Provider) map[string]any {
		secret := any(nil)
		if p.HasClientSecret {
			secret = idp.SecretHidden // never returned in clear after creation
		}
		return withCommon(map[string]any{"name": p.Name, "client_id": p.ClientID, "client_secret": secret, "issuer": p.Issuer,
			"status": p.Status, "domains": idp.FormatDomains(p.Domains), "token_url": p.TokenURL, "authorize_url": p.AuthorizeURL,
			"jwks_url": p.JWKSURL, "txt_record": p.TXTRecord, "organization": nullable(p.AuthorizeOrganization),
			"disabled_at": timeValue(p.DisabledAt)}, p.Common)
	},
	rels: []relSpec[idp.Provider]{toOne("user", typeUsers, func(p *idp.Provider) string { return p.UserID })},
	get:  (*provisioning.Session).GetIdentityProvider,
	list: func(s *provisioning.Session, ctx context.Context, org string, pr resource.PageRequest) (resource.Page[idp.Provider], error) {
		return s.ListIdentityProviders(ctx, idp.Filter{OrganizationID: org, PageRequest: pr})
	},
	orgScoped: true,
	// The provider's organization is a relationship of our own (the wire's
	// "organization" is a string attribute for the IdP's authorize call).
	fieldRels: map[string]string{"organization_id": "organization"},
	create: func(in *input) action[*idp.Provider] {
		org, _ := in.one("organization", typeOrganizations)
		in.flag("_enable") // a new provider is enabled unless _disable
		c := idp.Create{OrganizationID: org, Name: in.text("name"), ClientID: in.text("client_id"),
			ClientSecret: idp.Secret(in.text("client_secret")), Issuer: in.text("issuer"), Domains: idp.ParseDomains(in.text("domains")),
			TokenURL: in.text("token_url"), AuthorizeURL: in.text("authorize_url"), JWKSURL: in.text("jwks_url"),
			AuthorizeOrganization: in.text("organization"), Disable: deref(in.flag("_disable")), CommonInput: in.common()}
		return func(ctx context.Context, s *provisioning.Session) (*idp.Provider, error) {
			return s.CreateIdentityProvider(ctx, c)
		}
	},
	update: func(id string, in *input) action[*idp.Provider] {
		u := idp.Update{Name: in.str("name"), ClientID: in.str("client_id"), Issuer: in.str("issuer"), TokenURL: in.str("token_url"),
			AuthorizeURL: in.str("authorize_url"), JWKSURL: in.str("jwks_url"), AuthorizeOrganization: in.str("organization"),
			Disable: deref(in.flag("_disable")), Enable: deref(in.flag("_enable")), CommonUpdate: in.commonUpdate()}
		if sec := in.str("client_secret"); sec != nil {
			u.ClientSecret = (*idp.Secret)(sec)
		}
		if ds := in.str("domains"); ds != nil {
			d := idp.ParseDomains(*ds)
			u.Domains = &d
		}
		return func(ctx context.Context, s *provisioning.Session) (*idp.Provider, error) {
			return s.UpdateIdentityProvider(ctx, id, u)
		}
	},
	del: (*provisioning.Session).DeleteIdentityProvider,
}

var users = spec[user.User]{
	typ: typeUsers,
	id:  func(u *user.User) string { return u.ID },
	attrs: func(u *user.User) map[string]any {
		return withCommon(map[string]any{"email": u.Email, "first_name": nullable(u.FirstName), "last_name": nullable(u.LastName),
			"time_zone": nullable(u.TimeZone), "otp_required_for_login": u.OTPRequiredForLogin,
			"email_verified": u.EmailVerified(), "email_verified_at": timeValue(u.EmailVerifiedAt),
			"pending_email": nullable(u.PendingEmail), "pending_email_expires_at": timeValue(u.PendingEmailExpiresAt)}, u.Common)
	},
	get: (*provisioning.Session).GetUser, // oneself, or a fellow member where the caller reads memberships
	update: func(_ string, in *input) action[*user.User] {
		u := user.Update{Email: in.str("email"), FirstName: in.str("first_name"), LastName: in.str("last_name"),
			TimeZone: in.str("time_zone"), CommonUpdate: in.commonUpdate()}
		return func(ctx context.Context, s *provisioning.Session) (*user.User, error) {
			return s.UpdateCurrentUser(ctx, u)
		}
	},
}

var versions = spec[audit.Version]{
	typ: typeVersions,
	id:  func(v *audit.Version) string { return v.ID },
	attrs: func(v *audit.Version) map[string]any {
		return withCommon(map[string]any{"resource_type": v.ResourceType, "resource_id": v.ResourceID, "event": v.Event,
			"changes": v.Changes, "who": who(v.Who)}, v.Common)
	},
	get: (*provisioning.Session).GetVersion,
	list: func(s *provisioning.Session, ctx context.Context, org string, pr resource.PageRequest) (resource.Page[audit.Version], error) {
		return s.ListVersions(ctx, audit.Filter{OrganizationID: org, PageRequest: pr})
	},
	orgScoped: true,
}

// who shows the author of a version as the wire does.
func who(w audit.Who) map[string]any {
	key := map[string]string{"user": "user", "credential": "application", "system": "worker"}[w.Type]
	if key == "" {
		key = w.Type
	}
	return map[string]any{key: map[string]any{"id": w.ID}}
}
