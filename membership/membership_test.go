package membership_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/internal/testkit"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/resource"
)

func validInvite() membership.Invite {
	return membership.Invite{OrganizationID: "org1", UserEmail: " Bob@Example.COM ", RoleID: "role1"}
}

func TestInviteValidateCanonicalisesEmail(t *testing.T) {
	tests := []struct {
		give membership.Invite
		want membership.Invite
	}{
		{
			validInvite(),
			membership.Invite{OrganizationID: "org1", UserEmail: "bob@example.com", RoleID: "role1"},
		},
		{
			membership.Invite{OrganizationID: "org1", UserEmail: "bob@BÜCHER.example", RoleID: "role1", ProfileID: "prof1", AccessScope: access.AllAccess},
			membership.Invite{OrganizationID: "org1", UserEmail: "bob@xn--bcher-kva.example", RoleID: "role1", ProfileID: "prof1", AccessScope: access.AllAccess},
		},
	}
	for _, tt := range tests {
		got, err := tt.give.Validate(membership.Env{})
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Validate(%+v) = %+v, %v; want %+v", tt.give, got, err, tt.want)
		}
	}
}

func TestInviteValidateNamesBadFields(t *testing.T) {
	tests := []struct {
		name       string
		give       func(in *membership.Invite)
		wantFields []string
	}{
		{"missing organization", func(in *membership.Invite) { in.OrganizationID = "" }, []string{"organization"}},
		{"malformed organization", func(in *membership.Invite) { in.OrganizationID = "Org 1" }, []string{"organization"}},
		{"missing email", func(in *membership.Invite) { in.UserEmail = "" }, []string{"user_email"}},
		{"display-name email", func(in *membership.Invite) { in.UserEmail = "Bob <bob@x.com>" }, []string{"user_email"}},
		{"quoted email", func(in *membership.Invite) { in.UserEmail = `"a,b"@x.com` }, []string{"user_email"}},
		{"IP literal email", func(in *membership.Invite) { in.UserEmail = "bob@[127.0.0.1]" }, []string{"user_email"}},
		{"missing role", func(in *membership.Invite) { in.RoleID = "" }, []string{"role"}},
		{"malformed role", func(in *membership.Invite) { in.RoleID = "role:1" }, []string{"role"}},
		{"bad access scope", func(in *membership.Invite) { in.AccessScope = "admin_access" }, []string{"access_scope"}},
		{"access scope case", func(in *membership.Invite) { in.AccessScope = "LIVE_ACCESS" }, []string{"access_scope"}},
		{"bad profile id", func(in *membership.Invite) { in.ProfileID = "Profile 1" }, []string{"membership_profile"}},
		{"profile id too long", func(in *membership.Invite) { in.ProfileID = strings.Repeat("p", 65) }, []string{"membership_profile"}},
		{"bad metadata", func(in *membership.Invite) { in.Metadata = resource.Metadata{"": 1} }, []string{"metadata"}},
		{
			"everything",
			func(in *membership.Invite) {
				*in = membership.Invite{UserEmail: "x", ProfileID: "P", AccessScope: "x", CommonInput: resource.CommonInput{Reference: "\x00"}}
			},
			[]string{"organization", "user_email", "role", "membership_profile", "access_scope", "reference"},
		},
	}
	for _, tt := range tests {
		in := validInvite()
		tt.give(&in)
		_, err := in.Validate(membership.Env{})
		if got := testkit.BadFields(t, err); !slices.Equal(got, tt.wantFields) {
			t.Errorf("%s: Validate() fields = %q, want %q", tt.name, got, tt.wantFields)
		}
	}
}

func TestInviteValidateAcceptsOptionalFields(t *testing.T) {
	tests := []struct {
		giveProfile string
		giveScope   access.Scope
	}{
		{"", ""},
		{"prof1", ""},
		{"", access.LiveAccess},
		{"", access.TestAccess},
		{"prof_1-a", access.AllAccess},
	}
	for _, tt := range tests {
		in := validInvite()
		in.ProfileID, in.AccessScope = tt.giveProfile, tt.giveScope
		if _, err := in.Validate(membership.Env{}); err != nil {
			t.Errorf("Invite{ProfileID: %q, AccessScope: %q}.Validate() = %v, want nil", tt.giveProfile, tt.giveScope, err)
		}
	}
}

func TestEffectiveAccessScope(t *testing.T) {
	tests := []struct {
		giveOwn      access.Scope
		giveProfile  access.Scope
		wantScope    access.Scope
		wantTestData bool
	}{
		{"", "", access.LiveAccess, false},
		{access.LiveAccess, "", access.LiveAccess, false},
		{access.TestAccess, "", access.TestAccess, true},
		{access.AllAccess, "", access.AllAccess, true},
		{"", access.LiveAccess, access.LiveAccess, false},
		{"", access.TestAccess, access.TestAccess, true},
		{"", access.AllAccess, access.AllAccess, true},
		{access.AllAccess, access.LiveAccess, access.LiveAccess, false}, // the profile wins, even when narrower
		{access.TestAccess, access.LiveAccess, access.LiveAccess, false},
		{access.LiveAccess, access.AllAccess, access.AllAccess, true},
		{access.LiveAccess, access.TestAccess, access.TestAccess, true},
		{access.AllAccess, access.AllAccess, access.AllAccess, true},
	}
	for _, tt := range tests {
		m := membership.Membership{AccessScope: tt.giveOwn, ProfileAccessScope: tt.giveProfile}
		if got := m.EffectiveAccessScope(); got != tt.wantScope {
			t.Errorf("own %q, profile %q: EffectiveAccessScope() = %q, want %q", tt.giveOwn, tt.giveProfile, got, tt.wantScope)
		}
		if got := m.TestEnabled(); got != tt.wantTestData {
			t.Errorf("own %q, profile %q: TestEnabled() = %v, want %v", tt.giveOwn, tt.giveProfile, got, tt.wantTestData)
		}
	}
}

func TestStatusValid(t *testing.T) {
	tests := []struct {
		give membership.Status
		want bool
	}{
		{membership.Pending, true},
		{membership.Active, true},
		{"", false},
		{"removed", false},
		{"Active", false},
	}
	for _, tt := range tests {
		if got := tt.give.Valid(); got != tt.want {
			t.Errorf("Status(%q).Valid() = %v, want %v", tt.give, got, tt.want)
		}
	}
}

func TestUpdateValidate(t *testing.T) {
	tests := []struct {
		name       string
		give       membership.Update
		wantFields []string
	}{
		{"nothing", membership.Update{}, nil},
		{"unlink profile and null scope", membership.Update{ProfileID: testkit.Ptr(""), AccessScope: testkit.Ptr(access.Scope(""))}, nil},
		{"valid", membership.Update{RoleID: testkit.Ptr("role2"), ProfileID: testkit.Ptr("prof2"), AccessScope: testkit.Ptr(access.TestAccess)}, nil},
		{"empty role", membership.Update{RoleID: testkit.Ptr("")}, []string{"role"}},
		{"malformed role", membership.Update{RoleID: testkit.Ptr("ROLE")}, []string{"role"}},
		{"malformed profile", membership.Update{ProfileID: testkit.Ptr("a b")}, []string{"membership_profile"}},
		{"bad scope", membership.Update{AccessScope: testkit.Ptr(access.Scope("everything"))}, []string{"access_scope"}},
		{"bad metadata", membership.Update{CommonUpdate: resource.CommonUpdate{Metadata: &resource.Metadata{"": 1}}}, []string{"metadata"}},
	}
	for _, tt := range tests {
		_, err := tt.give.Validate(membership.Env{})
		if got := testkit.BadFields(t, err); !slices.Equal(got, tt.wantFields) {
			t.Errorf("%s: Validate() fields = %q, want %q", tt.name, got, tt.wantFields)
		}
	}
}

// Email, status, owner, organization and user are not updatable at all.
func TestUpdateHasNoProtectedFields(t *testing.T) {
	for _, name := range []string{"UserEmail", "Status", "Owner", "OrganizationID", "UserID", "ID"} {
		if _, ok := reflect.TypeFor[membership.Update]().FieldByName(name); ok {
			t.Errorf("membership.Update has a %s field; it must not be mass-assignable", name)
		}
	}
}

func TestUpdateApply(t *testing.T) {
	then := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	now := then.Add(time.Second)
	base := func() membership.Membership {
		return membership.Membership{ID: "m1", OrganizationID: "org1", UserEmail: "bob@x.com", Status: membership.Active,
			RoleID: "role1", RoleIDs: []string{"role1"}, ProfileID: "prof1", AccessScope: access.LiveAccess, Common: resource.Common{CreatedAt: then, UpdatedAt: then}}
	}
	tests := []struct {
		name        string
		give        membership.Update
		wantChanges resource.Changes
		wantMember  func(m *membership.Membership)
	}{
		{"nothing", membership.Update{}, resource.Changes{}, func(m *membership.Membership) {}},
		{"same values", membership.Update{RoleID: testkit.Ptr("role1"), ProfileID: testkit.Ptr("prof1"), AccessScope: testkit.Ptr(access.LiveAccess)}, resource.Changes{}, func(m *membership.Membership) {}},
		{
			"role",
			membership.Update{RoleID: testkit.Ptr("role2")},
			resource.Changes{"role_id": {"role1", "role2"}},
			func(m *membership.Membership) { m.RoleID, m.RoleIDs, m.UpdatedAt = "role2", []string{"role2"}, now },
		},
		{
			"unlink profile",
			membership.Update{ProfileID: testkit.Ptr("")},
			resource.Changes{"membership_profile_id": {"prof1", nil}},
			func(m *membership.Membership) { m.ProfileID, m.UpdatedAt = "", now },
		},
		{
			"set scope",
			membership.Update{AccessScope: testkit.Ptr(access.TestAccess)},
			resource.Changes{"access_scope": {"live_access", "test_access"}},
			func(m *membership.Membership) { m.AccessScope, m.UpdatedAt = access.TestAccess, now },
		},
	}
	for _, tt := range tests {
		got, want := base(), base()
		tt.wantMember(&want)
		changes := tt.give.Apply(&got, now)
		if !reflect.DeepEqual(changes, tt.wantChanges) || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Apply = %+v changes %#v\nwant %+v changes %#v", tt.name, got, changes, want, tt.wantChanges)
		}
	}
}

// A null access scope must be recorded as null (nil) in a version's changes,
// like every other nullable string. resource.SetField only maps "" of type
// string to nil, so an access.Scope("") is recorded as "" instead.
func TestUpdateApplyRecordsNullScopeAsNil(t *testing.T) {
	tests := []struct {
		giveBefore  access.Scope
		giveAfter   access.Scope
		wantChanges resource.Changes
	}{
		{access.LiveAccess, "", resource.Changes{"access_scope": {"live_access", nil}}},
		{"", access.AllAccess, resource.Changes{"access_scope": {nil, "all_access"}}},
	}
	for _, tt := range tests {
		m := membership.Membership{AccessScope: tt.giveBefore}
		if got := (membership.Update{AccessScope: testkit.Ptr(tt.giveAfter)}).Apply(&m, time.Now()); !reflect.DeepEqual(got, tt.wantChanges) {
			t.Errorf("scope %q → %q: changes = %#v, want %#v", tt.giveBefore, tt.giveAfter, got, tt.wantChanges)
		}
	}
}

func TestFilterValidate(t *testing.T) {
	tests := []struct {
		name       string
		give       membership.Filter
		wantFields []string
		wantEmail  string
	}{
		{"empty", membership.Filter{OrganizationID: "org1"}, nil, ""},
		{"statuses", membership.Filter{Status: membership.Pending}, nil, ""},
		{"canonical email", membership.Filter{UserEmail: " Bob@BÜCHER.example"}, nil, "bob@xn--bcher-kva.example"},
		{"valid cursor", membership.Filter{PageRequest: resource.PageRequest{After: resource.Cursor("m1"), Limit: 1000}}, nil, ""},
		{"bad status", membership.Filter{Status: "removed"}, []string{"status"}, ""},
		{"bad email", membership.Filter{UserEmail: "Bob <bob@x.com>"}, []string{"user_email"}, "Bob <bob@x.com>"},
		{"bad cursor", membership.Filter{PageRequest: resource.PageRequest{After: "garbage!"}}, []string{"page"}, ""},
		{
			"all bad",
			membership.Filter{Status: "x", UserEmail: "x", PageRequest: resource.PageRequest{After: "!"}},
			[]string{"status", "user_email", "page"},
			"x",
		},
	}
	for _, tt := range tests {
		got, err := tt.give.Validate()
		if fields := testkit.BadFields(t, err); !slices.Equal(fields, tt.wantFields) || got.UserEmail != tt.wantEmail {
			t.Errorf("%s: Validate() = email %q fields %q; want email %q fields %q", tt.name, got.UserEmail, fields, tt.wantEmail, tt.wantFields)
		}
	}
}

// TestIsGuestAndEffectiveMFA: a guest by its flag (which wins) or by a home
// organization elsewhere; the second factor required by the organization or
// the member, unless the user's is disabled.
func TestIsGuestAndEffectiveMFA(t *testing.T) {
	tests := []struct {
		name      string
		give      membership.Membership
		giveOrg   bool
		wantGuest bool
		wantMFA   bool
	}{
		{"at home", membership.Membership{UserID: "u", Default: true}, false, false, false},
		{"home elsewhere", membership.Membership{UserID: "u"}, false, true, false},
		{"flagged at home", membership.Membership{UserID: "u", Default: true, Guest: true}, false, true, false},
		{"pending, no user", membership.Membership{}, false, false, false},
		{"pending, flagged", membership.Membership{Guest: true}, false, true, false},
		{"organization requires", membership.Membership{UserID: "u", Default: true}, true, false, true},
		{"member requires", membership.Membership{UserID: "u", Default: true, MFARequired: true}, false, false, true},
		{"both, user's off", membership.Membership{UserID: "u", Default: true, MFARequired: true, UserMFADisabled: true}, true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.give.IsGuest(); got != tt.wantGuest {
				t.Errorf("IsGuest = %v; want %v", got, tt.wantGuest)
			}
			if got := tt.give.EffectiveMFA(tt.giveOrg); got != tt.wantMFA {
				t.Errorf("EffectiveMFA(%v) = %v; want %v", tt.giveOrg, got, tt.wantMFA)
			}
		})
	}
}
