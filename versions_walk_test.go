package provisioning_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/appmembership"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/idp"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/profile"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/user"
)

// mutatingPrefixes name the calls that change something.
var mutatingPrefixes = []string{"Create", "Update", "Delete", "Invite", "Accept", "Resend", "Transfer",
	"Rotate", "Set", "Add", "Verify", "Reencrypt", "Purge"}

// TestEveryMutatingCallWritesOneVersion walks every mutating call of Session
// and System: each success writes exactly one version (one per item for the
// bulk calls), and gives the organizations it touches a new policy
// revision exactly when it changes what authorization decides there; each
// refusal writes no version and moves no revision. A guard fails when a
// mutating call is missing from the walk, so a new call cannot skip it.
func TestEveryMutatingCallWritesOneVersion(t *testing.T) {
	ctx := context.Background()
	w := newIDPWorld(t)
	own := w.as(w.owner)
	reader := w.as(w.reader)
	n := "Renamed"
	yes := true
	versions := func() int { return w.count(t, "provisioning_versions", "1 = 1") }
	revisions := func() map[string]string {
		var rows []struct {
			ID             string `bun:"id"`
			PolicyRevision string `bun:"policy_revision"`
		}
		if err := w.db.NewSelect().Table("provisioning_organizations").Column("id", "policy_revision").Scan(ctx, &rows); err != nil {
			t.Fatal(err)
		}
		out := make(map[string]string, len(rows))
		for _, r := range rows {
			out[r.ID] = r.PolicyRevision
		}
		return out
	}
	// moved names the organizations, of those in before, whose revision changed.
	moved := func(before map[string]string) []string {
		var out []string
		for id, rev := range revisions() {
			if was, ok := before[id]; ok && was != rev {
				out = append(out, id)
			}
		}
		return out
	}
	// The calls that, as walked below, change what authorization decides in
	// an organization that exists already: a new member or principal, a
	// role, a granted right, a member's or credential's role, an owner. The
	// others (a name, a pending invitation, a user, an identity provider, a
	// permission that grants nothing, a new organization) keep every revision.
	bumps := map[string]bool{"InviteMany": true /* an existing user, active at once */, "AcceptInvitation": true,
		"AddMember": true, "UpsertMembership": true, "CreateRole": true, "CreatePermission": true, "UpdatePermission": true,
		"CreateCredential": true, "CreateAppMembership": true, "UpdateAppMembership": true, "DeleteAppMembership": true,
		"DeleteCredential": true, "DeleteMembership": true, "DeleteProfile": true, "TransferOwnership": true}
	bumps["SetUserMFADisabled"] = true // in every organization of the user

	// Fixtures the calls below work on.
	app, err := own.CreateCredential(ctx, credential.Create{OrganizationID: w.org.ID, Name: "Orders", Kind: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	am, err := own.CreateAppMembership(ctx, appmembership.Create{OrganizationID: w.org.ID, CredentialID: app.Credential.ID,
		MembershipID: w.readerMembership.ID, RoleID: w.readOnly.ID})
	if err != nil {
		t.Fatal(err)
	}
	prov := w.provider(t, "Walk SSO")
	w.dns.publish(prov)
	pending, err := own.Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: "walk@example.com", RoleID: w.readOnly.ID})
	if err != nil {
		t.Fatal(err)
	}
	token := w.mail.last(t).Token
	walker := w.p.System().As(provisioning.User(w.user(t, "walk@example.com").ID))
	adder, upserted := w.user(t, "add@example.com"), w.user(t, "upsert@example.com")
	if _, err := w.as(adder).CreateOrganization(ctx, organization.Create{Name: "Adder's"}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		method string
		give   func() error // succeeds, writing want versions
		want   int
		refuse func() error // is refused, writing none
	}{
		{"CreateOrganization", func() error {
			_, err := own.CreateOrganization(ctx, organization.Create{Name: "Walked"})
			return err
		}, 6 /* one per resource it creates: the organization, 2 roles, the owner's membership, 2 credentials */, func() error {
			_, err := own.CreateOrganization(ctx, organization.Create{Name: " "})
			return err
		}},
		{"UpdateOrganization", func() error {
			_, err := own.UpdateOrganization(ctx, w.org.ID, organization.Update{Name: &n})
			return err
		}, 1, func() error {
			_, err := reader.UpdateOrganization(ctx, w.org.ID, organization.Update{Name: &n})
			return err
		}},
		{"Invite", func() error {
			_, err := own.Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: "v@example.com", RoleID: w.readOnly.ID})
			return err
		}, 1, func() error {
			_, err := reader.Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: "r@example.com", RoleID: w.readOnly.ID})
			return err
		}},
		{"InviteMany", func() error {
			// Three created (one of an existing user, active at once, whose
			// default organization does not change: it has one), one refused.
			res, err := own.InviteMany(ctx, w.org.ID, []membership.Invite{{UserEmail: "m1@example.com", RoleID: w.readOnly.ID},
				{UserEmail: "m2@example.com", RoleID: w.readOnly.ID}, {UserEmail: "m1@example.com", RoleID: w.readOnly.ID},
				{UserEmail: w.stranger.Email, RoleID: w.readOnly.ID}})
			if err == nil && (res[2].Err == nil || res[0].Err != nil || res[1].Err != nil || res[3].Err != nil) {
				return fmt.Errorf("results %+v", res)
			}
			return err
		}, 3, func() error {
			_, err := reader.InviteMany(ctx, w.org.ID, []membership.Invite{{UserEmail: "r@example.com", RoleID: w.readOnly.ID}})
			return err
		}},
		{"ResendInvitation", func() error { return own.ResendInvitation(ctx, pending.ID) }, 1,
			func() error { return reader.ResendInvitation(ctx, pending.ID) }},
		{"AcceptInvitation", func() error { _, err := walker.AcceptInvitation(ctx, w.mail.last(t).Token); return err },
			2, /* the membership, and the walker's default organization: it had none */
			func() error { _, err := walker.AcceptInvitation(ctx, token+"x"); return err }},
		{"AcceptPendingInvitations", func() error { _, err := walker.AcceptPendingInvitations(ctx); return err }, 0,
			func() error { _, err := w.p.As(provisioning.Principal{}).AcceptPendingInvitations(ctx); return err }},
		{"AddMember", func() error {
			_, err := own.AddMember(ctx, membership.Add{OrganizationID: w.org.ID, UserID: adder.ID})
			return err
		}, 1 /* the adder's default organization is its own, from before */, func() error {
			_, err := reader.AddMember(ctx, membership.Add{OrganizationID: w.org.ID, UserID: upserted.ID})
			return err
		}},
		{"SetDefaultOrganization", func() error {
			_, err := w.as(adder).SetDefaultOrganization(ctx, w.org.ID)
			return err
		}, 1, func() error {
			_, err := w.as(adder).SetDefaultOrganization(ctx, w.otherOrg.ID)
			return err
		}},
		{"UpsertMembership", func() error {
			_, _, err := own.UpsertMembership(ctx, membership.Upsert{OrganizationID: w.org.ID, UserID: upserted.ID,
				RoleIDs: []string{w.readOnly.ID}})
			return err
		}, 2 /* the membership, and the user's first default organization */, func() error {
			_, _, err := reader.UpsertMembership(ctx, membership.Upsert{OrganizationID: w.org.ID, UserID: upserted.ID,
				RoleIDs: []string{w.readOnly.ID}})
			return err
		}},
		{"UpdateMembership", func() error {
			scope := access.AllAccess
			_, err := own.UpdateMembership(ctx, w.readerMembership.ID, membership.Update{AccessScope: &scope})
			return err
		}, 1, func() error {
			scope := access.TestAccess
			_, err := reader.UpdateMembership(ctx, w.customMembership.ID, membership.Update{AccessScope: &scope})
			return err
		}},
		{"CreateProfile", func() error {
			_, err := own.CreateProfile(ctx, profile.Create{OrganizationID: w.org.ID, Name: "X", AccessScope: access.LiveAccess})
			return err
		}, 1, func() error {
			_, err := reader.CreateProfile(ctx, profile.Create{OrganizationID: w.org.ID, Name: "Y", AccessScope: access.LiveAccess})
			return err
		}},
		{"UpdateProfile", func() error { _, err := own.UpdateProfile(ctx, w.profile.ID, profile.Update{Name: &n}); return err }, 1,
			func() error { _, err := reader.UpdateProfile(ctx, w.profile.ID, profile.Update{Name: &n}); return err }},
		{"CreateRole", func() error {
			_, err := own.CreateRole(ctx, role.Create{OrganizationID: w.org.ID, Name: "X"})
			return err
		}, 1, func() error {
			_, err := reader.CreateRole(ctx, role.Create{OrganizationID: w.org.ID, Name: "Y"})
			return err
		}},
		{"UpdateRole", func() error { _, err := own.UpdateRole(ctx, w.custom.ID, role.Update{Name: &n}); return err }, 1,
			func() error { _, err := reader.UpdateRole(ctx, w.custom.ID, role.Update{Name: &n}); return err }},
		{"CreatePermission", func() error {
			_, err := own.CreatePermission(ctx, role.PermissionCreate{RoleID: w.custom.ID, Subject: "skus", CanRead: true})
			return err
		}, 1, func() error {
			_, err := reader.CreatePermission(ctx, role.PermissionCreate{RoleID: w.custom.ID, Subject: "tags", CanRead: true})
			return err
		}},
		{"UpdatePermission", func() error {
			_, err := own.UpdatePermission(ctx, w.permission.ID, role.PermissionUpdate{CanCreate: &yes})
			return err
		}, 1, func() error {
			_, err := reader.UpdatePermission(ctx, w.permission.ID, role.PermissionUpdate{CanDestroy: &yes})
			return err
		}},
		{"AddMissingBasePermissions", func() error { _, err := own.AddMissingBasePermissions(ctx, w.custom.ID); return err }, -1,
			func() error { _, err := reader.AddMissingBasePermissions(ctx, w.custom.ID); return err }},
		{"CreateCredential", func() error {
			_, err := own.CreateCredential(ctx, credential.Create{OrganizationID: w.org.ID, Name: "ERP", Kind: credential.Integration, RoleID: w.readOnly.ID})
			return err
		}, 1, func() error {
			_, err := reader.CreateCredential(ctx, credential.Create{OrganizationID: w.org.ID, Name: "ERP", Kind: credential.Integration, RoleID: w.readOnly.ID})
			return err
		}},
		{"UpdateCredential", func() error {
			_, err := own.UpdateCredential(ctx, app.Credential.ID, credential.Update{Name: &n})
			return err
		}, 1, func() error {
			_, err := reader.UpdateCredential(ctx, app.Credential.ID, credential.Update{Name: &n})
			return err
		}},
		{"RotateCredential", func() error { _, err := own.RotateCredential(ctx, app.Credential.ID, 0); return err }, 1,
			func() error { _, err := reader.RotateCredential(ctx, app.Credential.ID, 0); return err }},
		{"CreateAppMembership", func() error {
			_, err := own.CreateAppMembership(ctx, appmembership.Create{OrganizationID: w.org.ID, CredentialID: app.Credential.ID,
				ProfileID: w.profile.ID, RoleID: w.readOnly.ID})
			return err
		}, 1, func() error {
			_, err := reader.CreateAppMembership(ctx, appmembership.Create{OrganizationID: w.org.ID, CredentialID: app.Credential.ID,
				MembershipID: w.customMembership.ID, RoleID: w.readOnly.ID})
			return err
		}},
		{"UpdateAppMembership", func() error {
			_, err := own.UpdateAppMembership(ctx, am.ID, appmembership.Update{Filters: map[string]any{"name_eq": "x"}})
			return err
		}, 1, func() error {
			_, err := reader.UpdateAppMembership(ctx, am.ID, appmembership.Update{Filters: map[string]any{"name_eq": "y"}})
			return err
		}},
		{"DeleteAppMembership", func() error { return own.DeleteAppMembership(ctx, am.ID) }, 1,
			func() error { return reader.DeleteAppMembership(ctx, am.ID) }},
		{"CreateIdentityProvider", func() error {
			_, err := own.CreateIdentityProvider(ctx, idpCreate(w.org.ID, "Second SSO"))
			return err
		}, 1, func() error {
			_, err := reader.CreateIdentityProvider(ctx, idpCreate(w.org.ID, "Third SSO"))
			return err
		}},
		{"UpdateIdentityProvider", func() error {
			_, err := own.UpdateIdentityProvider(ctx, prov.ID, idp.Update{Name: &n})
			return err
		}, 1, func() error {
			_, err := reader.UpdateIdentityProvider(ctx, prov.ID, idp.Update{Disable: true})
			return err
		}},
		{"VerifyIdentityProvider", func() error { _, _, err := own.VerifyIdentityProvider(ctx, prov.ID); return err }, 1,
			func() error { _, _, err := reader.VerifyIdentityProvider(ctx, prov.ID); return err }},
		{"VerifyPendingIdentityProviders", func() error {
			bg := w.provider(t, "Background SSO", "bg.example")
			w.dns.publish(bg)
			_, err := w.p.System().VerifyPendingIdentityProviders(ctx, 10)
			return err
		}, 2, /* the new provider's creation and its verification; "Second SSO" stays pending: no version */
			func() error { _, err := w.p.System().VerifyPendingIdentityProviders(ctx, 0); return err }},
		{"ReencryptIdentityProviderSecret", func() error {
			w.useKeys(t, idpKeys(t, "k2", "k1"))
			_, err := w.p.System().ReencryptIdentityProviderSecret(ctx, prov.ID)
			return err
		}, 1, func() error {
			_, err := w.p.System().ReencryptIdentityProviderSecret(ctx, "nosuchprovider")
			return err
		}},
		{"ReencryptIdentityProviderSecrets", func() error {
			w.useKeys(t, idpKeys(t, "k3", "k2", "k1"))
			_, err := w.p.System().ReencryptIdentityProviderSecrets(ctx, 10)
			return err
		}, -1, func() error {
			cancelled, cancel := context.WithCancel(ctx)
			cancel()
			_, err := w.p.System().ReencryptIdentityProviderSecrets(cancelled, 10)
			return err
		}},
		// A purge writes no version (it is recorded as a security event);
		// none is a year old here, so none goes either.
		{"PurgeVersions", func() error {
			_, _, err := w.p.System().PurgeVersions(ctx, provisioning.DefaultVersionRetention, 100)
			return err
		}, 0, func() error { _, _, err := w.p.System().PurgeVersions(ctx, time.Hour, 100); return err }},
		{"DeleteIdentityProvider", func() error { return w.as(w.owner).DeleteIdentityProvider(ctx, prov.ID) }, 1,
			func() error { return w.as(w.reader).DeleteIdentityProvider(ctx, prov.ID) }},
		{"DeleteCredential", func() error { return w.as(w.owner).DeleteCredential(ctx, app.Credential.ID) }, 1,
			func() error { return w.as(w.reader).DeleteCredential(ctx, app.Credential.ID) }},
		{"DeleteMembership", func() error { return w.as(w.owner).DeleteMembership(ctx, w.customMembership.ID) },
			2, /* the membership, and the member's default organization, which it was */
			func() error { return w.as(w.reader).DeleteMembership(ctx, w.adminMembership.ID) }},
		{"DeleteProfile", func() error { return w.as(w.owner).DeleteProfile(ctx, w.profile.ID) }, 1,
			func() error { return w.as(w.reader).DeleteProfile(ctx, w.profile.ID) }},
		{"TransferOwnership", func() error { return w.as(w.owner).TransferOwnership(ctx, w.org.ID, w.adminUser.Email) }, 1,
			func() error { return w.as(w.reader).TransferOwnership(ctx, w.org.ID, w.reader.Email) }},
		{"SetSubscription", func() error {
			_, err := w.p.System().SetSubscription(ctx, w.org.ID, organization.Subscription{PlanType: "growth"})
			return err
		}, 1, func() error {
			_, err := w.p.System().SetSubscription(ctx, w.org.ID, organization.Subscription{PlanType: "No Good"})
			return err
		}},
		{"SetPlan", func() error {
			_, err := w.p.System().SetPlan(ctx, w.org.ID, "enterprise")
			return err
		}, 1, func() error {
			_, err := w.p.System().SetPlan(ctx, w.org.ID, "No Good")
			return err
		}},
		{"CreateUser", func() error {
			_, err := w.p.System().CreateUser(ctx, user.Create{Email: "new@example.com"})
			return err
		}, 1,
			func() error { _, err := w.p.System().CreateUser(ctx, user.Create{Email: "not an email"}); return err }},
		{"UpdateCurrentUser", func() error {
			_, err := w.as(w.reader).UpdateCurrentUser(ctx, user.Update{FirstName: &n})
			return err
		}, 1, func() error {
			bad := "Not/AZone"
			_, err := w.as(w.reader).UpdateCurrentUser(ctx, user.Update{TimeZone: &bad})
			return err
		}},
		// The request of an email change and its confirmation: one each.
		{"ConfirmEmail", func() error {
			next := "reader.next@example.com"
			if _, err := w.as(w.reader).UpdateCurrentUser(ctx, user.Update{Email: &next}); err != nil {
				return err
			}
			_, err := w.as(w.reader).ConfirmEmail(ctx, w.mail.lastChange(t).Code)
			return err
		}, 2, func() error { _, err := w.as(w.reader).ConfirmEmail(ctx, "wrong"); return err }},
		{"SetUserMFADisabled", func() error {
			_, err := w.p.System().SetUserMFADisabled(ctx, w.reader.ID, true)
			return err
		}, 1, func() error { _, err := w.p.System().SetUserMFADisabled(ctx, "nobody", true); return err }},
		{"VerifyEmail", func() error {
			_, err := w.p.System().VerifyEmail(ctx, w.reader.ID, "reader.verified@example.com")
			return err
		}, 1, func() error { _, err := w.p.System().VerifyEmail(ctx, w.reader.ID, w.owner.Email); return err }},
	}

	walked := map[string]bool{}
	for _, tt := range tests {
		walked[tt.method] = true
		before, revs := versions(), revisions()
		if err := tt.refuse(); err == nil {
			t.Errorf("%s: the refused call succeeded", tt.method)
		}
		if got := versions() - before; got != 0 {
			t.Errorf("%s refused wrote %d versions, want 0", tt.method, got)
		}
		if m := moved(revs); len(m) != 0 {
			t.Errorf("%s refused moved the policy revision of %v", tt.method, m)
		}
		before, revs = versions(), revisions()
		if err := tt.give(); err != nil {
			t.Fatalf("%s: %v", tt.method, err)
		}
		if m := moved(revs); (len(m) != 0) != bumps[tt.method] {
			t.Errorf("%s moved the policy revision of %v; want a new revision: %v", tt.method, m, bumps[tt.method])
		}
		got := versions() - before
		switch {
		case tt.want < 0: // bulk: one per item, at least one here
			if got < 1 {
				t.Errorf("%s wrote %d versions, want one per item changed", tt.method, got)
			}
		case got != tt.want:
			t.Errorf("%s wrote %d versions, want %d", tt.method, got, tt.want)
		}
	}

	for name := range bumps {
		if !walked[name] {
			t.Errorf("%s is said to bump the policy revision but is not walked", name)
		}
	}
	// The guard: every mutating call of Session and System is walked.
	for _, typ := range []reflect.Type{reflect.TypeOf(&provisioning.Session{}), reflect.TypeOf(&provisioning.System{})} {
		for i := range typ.NumMethod() {
			name := typ.Method(i).Name
			for _, prefix := range mutatingPrefixes {
				if strings.HasPrefix(name, prefix) && !walked[name] {
					t.Errorf("%s.%s changes something but is not walked here", typ.Elem().Name(), name)
				}
			}
		}
	}
}
