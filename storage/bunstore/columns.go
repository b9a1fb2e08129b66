package bunstore

// The allowlists of the lists: the attributes, by their wire names, that a
// list's conditions and sort keys may name, and the column each stands for.
// Nothing else reaches SQL from a list request but bound values. The
// attributes of a related resource (Commerce Layer's organization_name_start,
// role_kind_eq) are correlated subqueries on its primary key.

// related returns the column of a related resource's attribute: attr of
// the row of table whose id is fk.
func related(table, attr, fk string) column {
	return column{"(SELECT rel." + attr + " FROM " + table + " AS rel WHERE rel.id = " + fk + ")", textCol}
}

var organizationColumns = commonColumns("o", columns{
	"name": {"o.name", textCol}, "slug": {"o.slug", textCol}, "domain": {"o.domain", textCol},
	"support_phone": {"o.support_phone", textCol}, "support_email": {"o.support_email", textCol},
	"logo_url": {"o.logo_url", textCol}, "favicon_url": {"o.favicon_url", textCol},
	"primary_color": {"o.primary_color", textCol}, "contrast_color": {"o.contrast_color", textCol},
	"gtm_id": {"o.gtm_id", textCol}, "gtm_id_test": {"o.gtm_id_test", textCol}, "region": {"o.region", textCol},
	"config": {"o.config", jsonCol}, "mfa_required": {"o.mfa_required", boolCol},
	"can_switch_live": {"o.can_switch_live", boolCol},
})

var membershipColumns = commonColumns("m", columns{
	"user_email": {"m.user_email", textCol}, "status": {"m.status", textCol},
	"owner":        {"COALESCE(o.owner_membership_id = m.id, FALSE)", boolCol},
	"access_scope": {"m.access_scope", textCol}, "organization_id": {"m.organization_id", textCol},
	"role_id": {"m.role_id", textCol}, "membership_profile_id": {"m.membership_profile_id", textCol},
	"user_id": {"m.user_id", textCol}, "guest": {"m.guest", boolCol}, "mfa_required": {"m.mfa_required", boolCol},
	"expires_at":        {"m.expires_at", timeCol},
	"organization_name": {"o.name", textCol}, "membership_profile_name": {"mp.name", textCol},
	"role_name": related("provisioning_roles", "name", "m.role_id"),
	"role_kind": related("provisioning_roles", "kind", "m.role_id"),
})

var profileColumns = commonColumns("mp", columns{
	"name": {"mp.name", textCol}, "access_scope": {"mp.access_scope", textCol},
	"organization_id":   {"mp.organization_id", textCol},
	"organization_name": related("provisioning_organizations", "name", "mp.organization_id"),
})

var roleColumns = commonColumns("r", columns{
	"name": {"r.name", textCol}, "kind": {"r.kind", textCol}, "organization_id": {"r.organization_id", textCol},
	"organization_name": related("provisioning_organizations", "name", "r.organization_id"),
})

var permissionColumns = commonColumns("p", columns{
	"subject": {"p.subject", textCol}, "can_create": {"p.can_create", boolCol}, "can_read": {"p.can_read", boolCol},
	"can_update": {"p.can_update", boolCol}, "can_destroy": {"p.can_destroy", boolCol},
	"restrictions": {"p.restrictions", jsonCol}, "role_id": {"p.role_id", textCol},
	"organization_id": {"p.organization_id", textCol},
	"role_name":       related("provisioning_roles", "name", "p.role_id"),
	"role_kind":       related("provisioning_roles", "kind", "p.role_id"),
})

var credentialColumns = commonColumns("ac", columns{
	"name": {"ac.name", textCol}, "kind": {"ac.kind", textCol}, "redirect_uri": {"ac.redirect_uri", textCol},
	"client_id": {"ac.client_id", textCol}, "scopes": {"ac.scopes", textCol}, "expires_in": {"ac.expires_in", intCol},
	"mode": {"ac.mode", textCol}, "custom": {"ac.custom", boolCol}, "role_id": {"ac.role_id", textCol},
	"organization_id": {"ac.organization_id", textCol}, "expires_at": {"ac.expires_at", timeCol},
	"last_used_at":      {"ac.last_used_at", timeCol},
	"role_name":         related("provisioning_roles", "name", "ac.role_id"),
	"organization_name": related("provisioning_organizations", "name", "ac.organization_id"),
})

var appMembershipColumns = commonColumns("am", columns{
	"filters": {"am.filters", jsonCol}, "api_credential_id": {"am.api_credential_id", textCol},
	"membership_id": {"am.membership_id", textCol}, "membership_profile_id": {"am.membership_profile_id", textCol},
	"role_id": {"am.role_id", textCol}, "organization_id": {"am.organization_id", textCol},
	"api_credential_name": related("provisioning_api_credentials", "name", "am.api_credential_id"),
	"role_name":           related("provisioning_roles", "name", "am.role_id"),
})

var identityProviderColumns = commonColumns("ip", columns{
	"name": {"ip.name", textCol}, "client_id": {"ip.client_id", textCol}, "issuer": {"ip.issuer", textCol},
	"status": {"ip.status", textCol}, "domains": {"ip.domains", textCol}, "token_url": {"ip.token_url", textCol},
	"authorize_url": {"ip.authorize_url", textCol}, "jwks_url": {"ip.jwks_url", textCol},
	"txt_record": {"ip.txt_record", textCol}, "disabled_at": {"ip.disabled_at", timeCol},
	"organization_id": {"ip.organization_id", textCol}, "user_id": {"ip.user_id", textCol},
	"organization_name": related("provisioning_organizations", "name", "ip.organization_id"),
})

var versionColumns = commonColumns("v", columns{
	"resource_type": {"v.resource_type", textCol}, "resource_id": {"v.resource_id", textCol},
	"event": {"v.event", textCol}, "changes": {"v.changes", jsonCol}, "who_type": {"v.who_type", textCol},
	"who_id": {"v.who_id", textCol}, "request_id": {"v.request_id", textCol},
	"organization_id": {"v.organization_id", textCol},
})
