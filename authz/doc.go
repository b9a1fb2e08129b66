// Package authz decides, with Casbin, whether a principal may do an action on
// a subject inside an organization. It is the only package that imports
// Casbin.
//
// The model (model.conf, embedded and parsed afresh for every enforcer) is
// RBAC with domains, the domain being the organization ("org:<id>"); its
// matcher uses equality only and always compares the domain. The policy is
// never edited: Lines derives it from the access.Snapshot that storage reads,
// with subjects as namespaced ids ("user:<id>", "role:<id>",
// "builtin:member"), and an in-memory read-only adapter loads it as arrays,
// never as CSV text.
//
// An Authorizer keeps one shard per organization, tagged with the
// organization's policy revision. A shard is built by loading the lines into
// a fresh Casbin enforcer and reading back each subject's roles (resolved by
// Casbin's role manager) and each role's grants; a check is then a few map
// lookups that apply the model's matcher, and its cost grows neither with the
// number of organizations nor with the number of policy lines. A test holds the
// shards to the answers of one stock enforcer loaded with every
// organization's lines. Every Check reads the current revision from the
// store and rebuilds the organization's shard when it changed, so a change
// committed by any process is seen by the next check.
//
// Every active member may read the provisioning resources (organizations,
// memberships, membership_profiles, roles, permissions, api_credentials,
// application_memberships, identity_providers; not versions); the rest comes
// from the member's role: admin may do everything, read_only may read
// everything, custom may do exactly what its permissions flag.
//
// Quick start:
//
//	a := authz.New() // or authz.New(authz.WithMaxOrganizations(1000))
//	d, err := a.Check(ctx, store, access.User(userID), orgID, "memberships", role.ActionCreate)
//	if err != nil {
//		return err // any error denies
//	}
//	if !d.Allowed {
//		return fault.E("membership.Invite", fault.Forbidden, nil)
//	}
//
// System principals are not decided here: the caller handles them before
// calling Check.
package authz
