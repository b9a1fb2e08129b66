// Package authz decides, with Casbin, whether a principal may do an action on
// a subject inside an organization. It is the only package that imports
// Casbin.
//
// # Model and policy
//
// The model (model.conf, embedded) is RBAC with domains and deny lines: a
// domain is an organization ("org:<id>") or one of its applications
// ("app:<organization id>/<credential id>"); the matcher uses equality only and always compares
// the domain; the effect is "some allow and no deny". The policy is never
// edited: Lines derives it from the access.Snapshot that storage reads, with
// subjects as typed, namespaced ids ("user:<id>", "cred:<id>", "role:<id>",
// "builtin:member", "builtin:guest"), and every token is checked so that no
// value (a comma, a quote, a newline, an empty string) can change a line.
//
// Every active member may read role.MemberReadSubjects (the provisioning
// resources, not versions); the rest comes from the member's roles (their
// union) and direct grants ("*" meaning any): admin may do everything,
// read_only may read everything, custom may do exactly what its permissions
// flag. A guest is denied create, update and destroy on
// role.GuestDeniedSubjects whatever its roles say. A credential holds its
// role. A user acting through an application (Principal.App) holds only the
// roles of its application memberships for that application, its own or its
// profile's (computed from the snapshot, never stored).
//
// # Attribute rules
//
// Before any line, the check applies the rules that the request facts
// decide: an expired membership or credential is refused (Expired; the
// member is then no member), a client address outside the allowlist
// (IPRefused), a user without a second factor where the organization or the
// membership requires one (MFARequired). Decision.Reason tells which rule or
// line decided.
//
// # Speed and freshness
//
// An Authorizer keeps one shard per organization, tagged with the
// organization's policy revision. A shard is built by resolving each
// principal's roles with Casbin's role manager and indexing the p lines of
// what it reaches as bit masks per object, one row per principal. The cache
// indexes every row by (organization, principal), its key carrying the
// revision: a check is one hash probe, a key comparison and a few bit tests,
// with no lock and no allocation, reading a few cache lines whatever the
// number of organizations or of policy lines (index.go tells why the layout
// is what it is, row.go how a row is encoded). Tests hold the shards to the
// answers of one stock enforcer loaded with every organization's lines.
// Check reads the current revision from the store at every call and rebuilds
// the organization's shard when it changed, so a change committed by any
// process is seen by the next check; Watch refreshes early (LISTEN/NOTIFY
// where the store offers it, polling elsewhere), without being needed for
// correctness. Decide is the in-memory half, for callers that read the
// revision themselves.
//
// # Host questions
//
// Explain tells which membership, profile, application membership, role,
// permission and policy line decided (with a stock enforcer's EnforceEx);
// Members and Organizations answer the reverse questions a page at a time;
// Rights.Covers applies Kubernetes' escalation rule (nobody grants what they
// do not hold; a wildcard is covered only by a wildcard).
//
// Quick start:
//
//	a := authz.New() // or authz.New(authz.WithMaxOrganizations(1000))
//	d, err := a.Check(ctx, store, access.User(userID), orgID, "memberships", role.ActionCreate)
//	if err != nil {
//		return err // any error denies
//	}
//	if !d.Allowed {
//		return fmt.Errorf("refused: %s", d.Reason)
//	}
//
// System principals are not decided here: the caller handles them before
// calling Check.
package authz
