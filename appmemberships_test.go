package provisioning_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/appmembership"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

// appWorld is newWorld with two applications (an orders Dashboard app and
// an integration, which is not an application users work through), and an
// application membership of the reader on the orders app, custom role.
type appWorld struct {
	*world
	ordersApp, integration *credential.Issued
	readerApp              *appmembership.AppMembership
}

func newAppWorld(t *testing.T) *appWorld {
	t.Helper()
	ctx := context.Background()
	w := &appWorld{world: newWorld(t)}
	own := w.as(w.owner)
	var err error
	w.ordersApp, err = own.CreateCredential(ctx, credential.Create{OrganizationID: w.org.ID, Name: "Orders", Kind: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	w.integration, err = own.CreateCredential(ctx, credential.Create{OrganizationID: w.org.ID, Name: "ERP", Kind: credential.Integration, RoleID: w.readOnly.ID})
	if err != nil {
		t.Fatal(err)
	}
	w.readerApp, err = own.CreateAppMembership(ctx, appmembership.Create{OrganizationID: w.org.ID,
		CredentialID: w.ordersApp.Credential.ID, MembershipID: w.readerMembership.ID, RoleID: w.custom.ID})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestCreateAppMembershipRules(t *testing.T) {
	ctx := context.Background()
	w := newAppWorld(t)
	other, err := w.as(w.stranger).CreateCredential(ctx, credential.Create{OrganizationID: w.otherOrg.ID, Name: "Theirs", Kind: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	base := func(mod func(*appmembership.Create)) appmembership.Create {
		in := appmembership.Create{OrganizationID: w.org.ID, CredentialID: w.ordersApp.Credential.ID,
			MembershipID: w.customMembership.ID, RoleID: w.readOnly.ID}
		mod(&in)
		return in
	}
	tests := []struct {
		name      string
		as        *provisioning.Session
		give      appmembership.Create
		wantField string // a validation error on this field
		wantErr   error  // or this error
	}{
		{"membership and profile", w.as(w.owner), base(func(in *appmembership.Create) { in.ProfileID = w.profile.ID }), "membership_profile", nil},
		{"neither membership nor profile", w.as(w.owner), base(func(in *appmembership.Create) { in.MembershipID = "" }), "membership", nil},
		{"credential of another organization", w.as(w.owner), base(func(in *appmembership.Create) { in.CredentialID = other.Credential.ID }), "api_credential", nil},
		{"integration credential", w.as(w.owner), base(func(in *appmembership.Create) { in.CredentialID = w.integration.Credential.ID }), "api_credential", nil},
		{"unknown role", w.as(w.owner), base(func(in *appmembership.Create) { in.RoleID = "nosuchrole" }), "role", nil},
		{"membership of another organization", w.as(w.owner), base(func(in *appmembership.Create) { in.MembershipID = w.otherOrg.OwnerMembershipID }), "membership", nil},
		{"filter key that is not a predicate", w.as(w.owner), base(func(in *appmembership.Create) { in.Filters = map[string]any{"Market ID": 1} }), "filters", nil},
		{"second one for the same holder and app", w.as(w.owner), base(func(in *appmembership.Create) { in.MembershipID = w.readerMembership.ID }), "", fault.ErrAlreadyExists},
		{"admin role by an admin who is not the owner", w.as(w.adminUser), base(func(in *appmembership.Create) { in.RoleID = w.admin.ID }), "", fault.ErrForbidden},
		{"read-only member", w.as(w.reader), base(func(*appmembership.Create) {}), "", fault.ErrForbidden},
		{"stranger", w.as(w.stranger), base(func(*appmembership.Create) {}), "", fault.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := w.fingerprint(t)
			apps := w.count(t, "provisioning_application_memberships", "1 = 1")
			_, err := tt.as.CreateAppMembership(ctx, tt.give)
			switch {
			case tt.wantField != "":
				var ve *fault.ValidationError
				if !errors.As(err, &ve) || !ve.Has(tt.wantField) {
					t.Fatalf("got %v, want a validation error on %s", err, tt.wantField)
				}
			case !errors.Is(err, tt.wantErr):
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			assertUnchanged(t, w.env, before)
			if got := w.count(t, "provisioning_application_memberships", "1 = 1"); got != apps {
				t.Errorf("%d application memberships, want %d", got, apps)
			}
		})
	}
	// The owner may give the admin role; a profile is a holder too.
	for _, in := range []appmembership.Create{
		base(func(in *appmembership.Create) { in.RoleID = w.admin.ID }),
		base(func(in *appmembership.Create) { in.MembershipID, in.ProfileID = "", w.profile.ID }),
	} {
		if _, err := w.as(w.owner).CreateAppMembership(ctx, in); err != nil {
			t.Errorf("CreateAppMembership(%+v): %v", in, err)
		}
	}
}

// TestAppMembershipsGrantInsideTheirApplication: a member's rights through
// an application are those of its application memberships (its own and its
// profile's), computed at every change, and nothing else.
func TestAppMembershipsGrantInsideTheirApplication(t *testing.T) {
	ctx := context.Background()
	w := newAppWorld(t)
	own := w.as(w.owner)
	app := w.ordersApp.Credential.ID
	through := func(id string) provisioning.Principal {
		return provisioning.Principal{Kind: "user", ID: id, App: app}
	}
	can := func(t *testing.T, who provisioning.Principal, subject string, act role.Action) bool {
		t.Helper()
		ok, err := w.p.Can(ctx, who, w.org.ID, subject, act)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	// The reader's application role (custom: read and update orders) applies
	// in the app; its read_only membership role does not.
	if !can(t, through(w.reader.ID), "orders", role.ActionUpdate) {
		t.Error("reader cannot update orders through the app it has the custom role in")
	}
	if can(t, through(w.reader.ID), "skus", role.ActionRead) {
		t.Error("reader reads skus through the app: its membership role leaked in")
	}
	if can(t, provisioning.User(w.reader.ID), "orders", role.ActionUpdate) {
		t.Error("reader updates orders outside the app")
	}
	// Through a profile: the custom member gets the profile's app role once
	// it has the profile, and loses it when the profile goes.
	if can(t, through(w.customUser.ID), "skus", role.ActionRead) {
		t.Fatal("custom member reads skus in the app before any grant")
	}
	if _, err := own.CreateAppMembership(ctx, appmembership.Create{OrganizationID: w.org.ID, CredentialID: app,
		ProfileID: w.profile.ID, RoleID: w.readOnly.ID}); err != nil {
		t.Fatal(err)
	}
	if can(t, through(w.customUser.ID), "skus", role.ActionRead) {
		t.Error("custom member reads skus in the app without the profile")
	}
	if _, err := own.UpdateMembership(ctx, w.customMembership.ID, membership.Update{ProfileID: &w.profile.ID}); err != nil {
		t.Fatal(err)
	}
	if !can(t, through(w.customUser.ID), "skus", role.ActionRead) {
		t.Error("custom member with the profile cannot read skus in the app")
	}
	empty := ""
	if _, err := own.UpdateMembership(ctx, w.customMembership.ID, membership.Update{ProfileID: &empty}); err != nil {
		t.Fatal(err)
	}
	if can(t, through(w.customUser.ID), "skus", role.ActionRead) {
		t.Error("custom member reads skus in the app after leaving the profile")
	}
	// Changing the role, then deleting the application membership.
	if _, err := own.UpdateAppMembership(ctx, w.readerApp.ID, appmembership.Update{RoleID: &w.readOnly.ID}); err != nil {
		t.Fatal(err)
	}
	if can(t, through(w.reader.ID), "orders", role.ActionUpdate) || !can(t, through(w.reader.ID), "orders", role.ActionRead) {
		t.Error("the reader's app role did not follow the update")
	}
	if err := own.DeleteAppMembership(ctx, w.readerApp.ID); err != nil {
		t.Fatal(err)
	}
	if can(t, through(w.reader.ID), "orders", role.ActionRead) {
		t.Error("the reader keeps its app role after the deletion")
	}
	// Revoking the application ends every application membership on it.
	if _, err := own.CreateAppMembership(ctx, appmembership.Create{OrganizationID: w.org.ID, CredentialID: app,
		MembershipID: w.readerMembership.ID, RoleID: w.readOnly.ID}); err != nil {
		t.Fatal(err)
	}
	if err := own.DeleteCredential(ctx, app); err != nil {
		t.Fatal(err)
	}
	if can(t, through(w.reader.ID), "orders", role.ActionRead) {
		t.Error("the reader keeps its app role after the app was revoked")
	}
}

// TestAppMembershipVisibility: those who manage application memberships see
// all of them; other members see only their own and their profile's.
func TestAppMembershipVisibility(t *testing.T) {
	ctx := context.Background()
	w := newAppWorld(t)
	own := w.as(w.owner)
	app := w.ordersApp.Credential.ID
	custom, err := own.CreateAppMembership(ctx, appmembership.Create{OrganizationID: w.org.ID, CredentialID: app,
		MembershipID: w.customMembership.ID, RoleID: w.readOnly.ID})
	if err != nil {
		t.Fatal(err)
	}
	viaProfile, err := own.CreateAppMembership(ctx, appmembership.Create{OrganizationID: w.org.ID, CredentialID: app,
		ProfileID: w.profile.ID, RoleID: w.readOnly.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := own.UpdateMembership(ctx, w.readerMembership.ID, membership.Update{ProfileID: &w.profile.ID}); err != nil {
		t.Fatal(err)
	}
	ids := func(t *testing.T, s *provisioning.Session) []string {
		t.Helper()
		page, err := s.ListAppMemberships(ctx, appmembership.Filter{OrganizationID: w.org.ID})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range page.Items {
			out = append(out, a.ID)
		}
		return out
	}
	all := []string{w.readerApp.ID, custom.ID, viaProfile.ID}
	slices.Sort(all)
	tests := []struct {
		name string
		as   *provisioning.Session
		want []string
	}{
		{"owner", own, all},
		{"admin", w.as(w.adminUser), all},
		{"reader: its own and its profile's", w.as(w.reader), sorted(w.readerApp.ID, viaProfile.ID)},
		{"custom member: its own", w.as(w.customUser), []string{custom.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ids(t, tt.as); !slices.Equal(got, tt.want) {
				t.Errorf("listed %v, want %v", got, tt.want)
			}
			for _, id := range all {
				_, err := tt.as.GetAppMembership(ctx, id)
				if visible := slices.Contains(tt.want, id); visible != (err == nil) || !visible && !errors.Is(err, fault.ErrNotFound) {
					t.Errorf("GetAppMembership(%s) = %v; visible: %v", id, err, visible)
				}
			}
		})
	}
	if _, err := w.as(w.stranger).ListAppMemberships(ctx, appmembership.Filter{OrganizationID: w.org.ID}); !errors.Is(err, fault.ErrNotFound) {
		t.Errorf("stranger lists: %v, want not found", err)
	}
}

func sorted(s ...string) []string { slices.Sort(s); return s }

func TestAppMembershipUpdateAndVersions(t *testing.T) {
	ctx := context.Background()
	w := newAppWorld(t)
	own := w.as(w.owner)
	versions := func() int { return w.count(t, "provisioning_versions", "resource_type = 'application_memberships'") }
	if got := versions(); got != 1 {
		t.Fatalf("%d versions after one creation, want 1", got)
	}
	filters := map[string]any{"market_id_in": []any{float64(202), float64(203)}}
	got, err := own.UpdateAppMembership(ctx, w.readerApp.ID, appmembership.Update{Filters: filters})
	if err != nil || resource.ChangedJSON(got.Filters, filters) {
		t.Fatalf("UpdateAppMembership(filters) = %+v, %v", got, err)
	}
	if _, err := own.UpdateAppMembership(ctx, w.readerApp.ID, appmembership.Update{Filters: filters}); err != nil {
		t.Fatal(err)
	}
	if got := versions(); got != 2 {
		t.Errorf("%d versions after an update and a no-op, want 2", got)
	}
	// A membership's application membership cannot move to a profile.
	if _, err := own.UpdateAppMembership(ctx, w.readerApp.ID, appmembership.Update{ProfileID: &w.profile.ID}); !errors.Is(err, fault.ErrInvalid) {
		t.Errorf("moving a membership's application membership to a profile: %v, want invalid", err)
	}
	if _, err := own.UpdateAppMembership(ctx, w.readerApp.ID, appmembership.Update{ClearFilters: true}); err != nil {
		t.Fatal(err)
	}
	page, err := own.ListVersions(ctx, audit.Filter{OrganizationID: w.org.ID, ResourceType: "application_memberships", ResourceID: w.readerApp.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 3 || page.Items[2].Changes["filters"][1] != nil {
		t.Errorf("versions %+v; want create, set filters, clear filters", page.Items)
	}
	// Deleting the membership deletes its application memberships (and
	// versions the membership's deletion only).
	if err := own.DeleteMembership(ctx, w.readerMembership.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := own.GetAppMembership(ctx, w.readerApp.ID); !errors.Is(err, fault.ErrNotFound) {
		t.Errorf("application membership of a deleted membership: %v, want not found", err)
	}
}

func TestAppMembershipAuthorization(t *testing.T) {
	ctx := context.Background()
	type op func(s *provisioning.Session, w *appWorld) error
	manage := map[actor]outcome{byOwner: ok, byAdmin: ok, byReader: fault.Forbidden, byCustom: fault.Forbidden, byPending: fault.NotFound, byStranger: fault.NotFound, byNobody: fault.Unauthenticated}
	tests := []struct {
		name string
		give op
		want map[actor]outcome
	}{
		{"CreateAppMembership", func(s *provisioning.Session, w *appWorld) error {
			_, err := s.CreateAppMembership(ctx, appmembership.Create{OrganizationID: w.org.ID, CredentialID: w.ordersApp.Credential.ID,
				MembershipID: w.customMembership.ID, RoleID: w.readOnly.ID})
			return err
		}, manage},
		{"GetAppMembership (the reader's)", func(s *provisioning.Session, w *appWorld) error {
			_, err := s.GetAppMembership(ctx, w.readerApp.ID)
			return err
		}, map[actor]outcome{byOwner: ok, byAdmin: ok, byReader: ok, byCustom: fault.NotFound, byPending: fault.NotFound, byStranger: fault.NotFound, byNobody: fault.Unauthenticated}},
		{"ListAppMemberships", func(s *provisioning.Session, w *appWorld) error {
			_, err := s.ListAppMemberships(ctx, appmembership.Filter{OrganizationID: w.org.ID})
			return err
		}, map[actor]outcome{byOwner: ok, byAdmin: ok, byReader: ok, byCustom: ok, byPending: fault.NotFound, byStranger: fault.NotFound, byNobody: fault.Unauthenticated}},
		{"UpdateAppMembership", func(s *provisioning.Session, w *appWorld) error {
			_, err := s.UpdateAppMembership(ctx, w.readerApp.ID, appmembership.Update{Filters: map[string]any{"name_eq": "x"}})
			return err
		}, manage},
		{"DeleteAppMembership", func(s *provisioning.Session, w *appWorld) error {
			return s.DeleteAppMembership(ctx, w.readerApp.ID)
		}, manage},
	}
	for _, tt := range tests {
		for _, a := range []actor{byOwner, byAdmin, byReader, byCustom, byPending, byStranger, byNobody} {
			t.Run(tt.name+"/"+string(a), func(t *testing.T) {
				w := newAppWorld(t)
				before := w.fingerprint(t)
				err := tt.give(w.session(a), w)
				want := tt.want[a]
				switch {
				case want == ok && err != nil:
					t.Fatalf("got %v, want success", err)
				case want != ok && fault.KindOf(err) != want:
					t.Fatalf("got %v (kind %v), want kind %v", err, fault.KindOf(err), want)
				case want != ok:
					assertUnchanged(t, w.env, before)
				}
			})
		}
	}
}
