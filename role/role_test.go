package role_test

import (
	"errors"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/internal/testkit"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

func defaultSubjects(tb testing.TB) *role.Subjects {
	tb.Helper()
	s, err := role.NewSubjects()
	if err != nil {
		tb.Fatalf("NewSubjects(): %v", err)
	}
	return s
}

func TestKindValid(t *testing.T) {
	tests := []struct {
		give role.Kind
		want bool
	}{
		{role.KindAdmin, true},
		{role.KindReadOnly, true},
		{role.KindCustom, true},
		{"", false},
		{"owner", false},
		{"Admin", false},
		{"read-only", false},
	}
	for _, tt := range tests {
		if got := tt.give.Valid(); got != tt.want {
			t.Errorf("Kind(%q).Valid() = %v, want %v", tt.give, got, tt.want)
		}
	}
}

func TestActionValid(t *testing.T) {
	tests := []struct {
		give role.Action
		want bool
	}{
		{role.ActionCreate, true},
		{role.ActionRead, true},
		{role.ActionUpdate, true},
		{role.ActionDestroy, true},
		{"", false},
		{"delete", false},
		{"can_read", false},
		{"READ", false},
		{"*", false},
	}
	for _, tt := range tests {
		if got := tt.give.Valid(); got != tt.want {
			t.Errorf("Action(%q).Valid() = %v, want %v", tt.give, got, tt.want)
		}
	}
}

func TestActionsAreTheFourValidActions(t *testing.T) {
	want := []role.Action{role.ActionCreate, role.ActionRead, role.ActionUpdate, role.ActionDestroy}
	if !slices.Equal(role.Actions, want) {
		t.Fatalf("Actions = %q, want %q", role.Actions, want)
	}
}

func TestPermissionAllows(t *testing.T) {
	tests := []struct {
		name string
		give role.Permission
		want []role.Action
	}{
		{"none", role.Permission{}, nil},
		{"create", role.Permission{CanCreate: true}, []role.Action{role.ActionCreate}},
		{"read", role.Permission{CanRead: true}, []role.Action{role.ActionRead}},
		{"update", role.Permission{CanUpdate: true}, []role.Action{role.ActionUpdate}},
		{"destroy", role.Permission{CanDestroy: true}, []role.Action{role.ActionDestroy}},
		{"read and update", role.Permission{CanRead: true, CanUpdate: true}, []role.Action{role.ActionRead, role.ActionUpdate}},
		{"all", role.Permission{CanCreate: true, CanRead: true, CanUpdate: true, CanDestroy: true}, role.Actions},
	}
	for _, tt := range tests {
		for _, a := range append(slices.Clone(role.Actions), "", "delete", "manage", "*") {
			if got := tt.give.Allows(a); got != slices.Contains(tt.want, a) {
				t.Errorf("%s: Allows(%q) = %v, want %v", tt.name, a, got, !got)
			}
		}
	}
}

func TestValidSubject(t *testing.T) {
	tests := []struct {
		give string
		want bool
	}{
		{"orders", true},
		{"sku_lists", true},
		{"a", true},
		{"v2_orders", true},
		{"2fa", true},
		{strings.Repeat("a", 64), true},
		{"", false},
		{strings.Repeat("a", 65), false},
		{"_orders", false},
		{"orders_", false},
		{"Orders", false},
		{"sku-lists", false},
		{"sku lists", false},
		{"orders,p", false},
		{"orders\n", false},
		{"user:1", false},
		{"*", false},
		{"órders", false},
	}
	for _, tt := range tests {
		if got := role.ValidSubject(tt.give); got != tt.want {
			t.Errorf("ValidSubject(%q) = %v, want %v", tt.give, got, tt.want)
		}
	}
}

// builtins returns every built-in subject, as strings.
func builtins() []string {
	var out []string
	for _, s := range slices.Concat(role.CoreSubjects(), role.ProvisioningSubjects()) {
		out = append(out, string(s))
	}
	return out
}

// Every built-in subject is itself a valid subject (it ends up as a Casbin
// policy token) and appears once.
func TestBuiltInSubjectsAreValid(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range builtins() {
		if !role.ValidSubject(s) || seen[s] {
			t.Errorf("built-in subject %q is invalid or listed twice", s)
		}
		seen[s] = true
	}
}

func TestNewSubjectsDefault(t *testing.T) {
	s := defaultSubjects(t)
	list := s.List()
	if len(list) != len(builtins()) || !sort.StringsAreSorted(list) {
		t.Fatalf("List() has %d subjects (sorted %v), want %d sorted", len(list), sort.StringsAreSorted(list), len(builtins()))
	}
	for _, v := range builtins() {
		if !s.Has(v) {
			t.Errorf("Has(%q) = false, want true", v)
		}
	}
	for _, v := range []string{"", "unicorns", "Orders", "orders ", "loyalty_points"} {
		if s.Has(v) {
			t.Errorf("Has(%q) = true, want false", v)
		}
	}
}

// TestProvisioningSubjects: the library's own resources, in their order, and
// the rules that name them: every active member reads all but versions, and a
// guest manages none of those.
func TestProvisioningSubjects(t *testing.T) {
	own := []role.Subject{role.SubjectOrganizations, role.SubjectMemberships, role.SubjectMembershipProfiles, role.SubjectRoles,
		role.SubjectPermissions, role.SubjectAPICredentials, role.SubjectApplicationMemberships, role.SubjectIdentityProviders}
	equal(t, "ProvisioningSubjects()", role.ProvisioningSubjects(), append(slices.Clone(own), role.SubjectVersions))
	equal(t, "MemberReadSubjects()", role.MemberReadSubjects(), own)
	equal(t, "GuestDeniedSubjects()", role.GuestDeniedSubjects(), own)
	for _, s := range role.CoreSubjects() {
		if slices.Contains(role.ProvisioningSubjects(), s) {
			t.Errorf("%s is both a Core API subject and a provisioning one", s)
		}
	}
}

// TestSubjectsAreImmutable: every list of subjects is the caller's copy;
// changing one changes neither the next answer nor the registry.
func TestSubjectsAreImmutable(t *testing.T) {
	lists := []struct {
		name string
		give func() []role.Subject
	}{
		{"ProvisioningSubjects", role.ProvisioningSubjects},
		{"CoreSubjects", role.CoreSubjects},
		{"MemberReadSubjects", role.MemberReadSubjects},
		{"GuestDeniedSubjects", role.GuestDeniedSubjects},
	}
	for _, tt := range lists {
		t.Run(tt.name, func(t *testing.T) {
			want := slices.Clone(tt.give())
			got := tt.give()
			got[0] = "widgets"
			_ = append(got[:1], "gadgets")
			equal(t, tt.name+"() after its answer was changed", tt.give(), want)
		})
	}
	t.Run("Subjects.List", func(t *testing.T) {
		reviews, err := role.NewSubjects("reviews")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []*role.Subjects{defaultSubjects(t), reviews} {
			want := slices.Clone(s.List())
			got := s.List()
			got[0] = "widgets"
			if !slices.Equal(s.List(), want) {
				t.Errorf("List() after its answer was changed = %v, want %v", s.List(), want)
			}
			if s.Has("widgets") || !s.Has(want[0]) {
				t.Errorf("a changed List() answer changed the registry")
			}
		}
	})
}

// equal fails the test when got is not want.
func equal(tb testing.TB, name string, got, want []role.Subject) {
	tb.Helper()
	if !slices.Equal(got, want) {
		tb.Errorf("%s = %v, want %v", name, got, want)
	}
}

func TestNewSubjectsWithValidExtras(t *testing.T) {
	s, err := role.NewSubjects("loyalty_points", "reviews", "orders")
	if err != nil {
		t.Fatalf("NewSubjects: %v", err)
	}
	for _, v := range []string{"loyalty_points", "reviews", "orders", "memberships"} {
		if !s.Has(v) {
			t.Errorf("Has(%q) = false, want true", v)
		}
	}
	if got, want := len(s.List()), len(builtins())+2; got != want {
		t.Errorf("List() has %d subjects, want %d", got, want)
	}
}

func TestNewSubjectsRefusesInvalidExtras(t *testing.T) {
	tests := []struct {
		give         []string
		wantProblems int
	}{
		{[]string{"Reviews"}, 1},
		{[]string{"reviews", ""}, 1},
		{[]string{"a,b", "good_one", "x\ny", "_x"}, 3},
		{[]string{strings.Repeat("s", 65)}, 1},
	}
	for _, tt := range tests {
		s, err := role.NewSubjects(tt.give...)
		var ve *fault.ValidationError
		if s != nil || !errors.As(err, &ve) || len(ve.Fields) != tt.wantProblems || !ve.Has("subject") {
			t.Errorf("NewSubjects(%q) = %v, %v; want nil and %d problems on subject", tt.give, s, err, tt.wantProblems)
		}
	}
}

func TestPermissionCreateValidate(t *testing.T) {
	subjects, err := role.NewSubjects("reviews")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		give         role.PermissionCreate
		wantProblems []string
	}{
		{"core subject", role.PermissionCreate{RoleID: "r1", Subject: "orders", CanRead: true}, nil},
		{"provisioning subject", role.PermissionCreate{RoleID: "r1", Subject: "memberships"}, nil},
		{"extra subject", role.PermissionCreate{RoleID: "r1", Subject: "reviews"}, nil},
		{"unknown subject", role.PermissionCreate{RoleID: "r1", Subject: "unicorns"}, []string{"subject:enum"}},
		{"subject case", role.PermissionCreate{RoleID: "r1", Subject: "Orders"}, []string{"subject:enum"}},
		{"subject injection", role.PermissionCreate{RoleID: "r1", Subject: "orders, read"}, []string{"subject:enum"}},
		{"missing subject", role.PermissionCreate{RoleID: "r1"}, []string{"subject:required"}},
		{"missing role", role.PermissionCreate{Subject: "orders"}, []string{"role:required"}},
		{"malformed role", role.PermissionCreate{RoleID: "R 1", Subject: "orders"}, []string{"role:not_found"}},
		{
			"bad reference",
			role.PermissionCreate{RoleID: "r1", Subject: "orders", CommonInput: resource.CommonInput{Reference: strings.Repeat("x", 256)}},
			[]string{"reference:too_long"},
		},
		{"nothing", role.PermissionCreate{}, []string{"role:required", "subject:required"}},
	}
	for _, tt := range tests {
		if got := testkit.Problems(t, tt.give.Validate(subjects)); !slices.Equal(got, tt.wantProblems) {
			t.Errorf("%s: Validate() = %q, want %q", tt.name, got, tt.wantProblems)
		}
	}
}

func TestCreateValidate(t *testing.T) {
	tests := []struct {
		name         string
		give         role.Create
		wantProblems []string
	}{
		{"valid", role.Create{OrganizationID: "org1", Name: "Warehouse"}, nil},
		{"blank name", role.Create{OrganizationID: "org1", Name: " "}, []string{"name:required"}},
		{"missing organization", role.Create{Name: "Warehouse"}, []string{"organization:required"}},
	}
	for _, tt := range tests {
		if got := testkit.Problems(t, tt.give.Validate()); !slices.Equal(got, tt.wantProblems) {
			t.Errorf("%s: Validate() = %q, want %q", tt.name, got, tt.wantProblems)
		}
	}
}

func TestUpdateValidateAndApply(t *testing.T) {
	then := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	now := then.Add(time.Hour)
	tests := []struct {
		name         string
		give         role.Update
		wantProblems []string
		wantChanges  resource.Changes
		wantName     string
		wantUpdated  time.Time
	}{
		{"nothing", role.Update{}, nil, resource.Changes{}, "Warehouse", then},
		{"same name", role.Update{Name: testkit.Ptr("Warehouse")}, nil, resource.Changes{}, "Warehouse", then},
		{"rename", role.Update{Name: testkit.Ptr("Shipping")}, nil, resource.Changes{"name": {"Warehouse", "Shipping"}}, "Shipping", now},
		{"blank name", role.Update{Name: testkit.Ptr("")}, []string{"name:required"}, resource.Changes{"name": {"Warehouse", nil}}, "", now},
	}
	for _, tt := range tests {
		r := role.Role{ID: "r1", Name: "Warehouse", Kind: role.KindCustom, Common: resource.Common{CreatedAt: then, UpdatedAt: then}}
		problems := testkit.Problems(t, tt.give.Validate())
		changes := tt.give.Apply(&r, now)
		if !slices.Equal(problems, tt.wantProblems) || !reflect.DeepEqual(changes, tt.wantChanges) || r.Name != tt.wantName || !r.UpdatedAt.Equal(tt.wantUpdated) || r.Kind != role.KindCustom {
			t.Errorf("%s: Validate = %q, Apply = %#v, role %+v; want %q, %#v, name %q at %v", tt.name, problems, changes, r, tt.wantProblems, tt.wantChanges, tt.wantName, tt.wantUpdated)
		}
	}
}

func TestPermissionUpdateApply(t *testing.T) {
	then := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	now := then.Add(time.Hour)
	base := func() role.Permission {
		return role.Permission{ID: "p1", RoleID: "r1", Subject: "orders", CanRead: true, Common: resource.Common{CreatedAt: then, UpdatedAt: then}}
	}
	tests := []struct {
		name        string
		give        role.PermissionUpdate
		wantChanges resource.Changes
		wantPerm    func(p *role.Permission)
	}{
		{"nothing", role.PermissionUpdate{}, resource.Changes{}, func(p *role.Permission) {}},
		{"same flags", role.PermissionUpdate{CanRead: testkit.Ptr(true), CanCreate: testkit.Ptr(false)}, resource.Changes{}, func(p *role.Permission) {}},
		{
			"grant create",
			role.PermissionUpdate{CanCreate: testkit.Ptr(true)},
			resource.Changes{"can_create": {false, true}},
			func(p *role.Permission) { p.CanCreate, p.UpdatedAt = true, now },
		},
		{
			"revoke read, grant update and destroy",
			role.PermissionUpdate{CanRead: testkit.Ptr(false), CanUpdate: testkit.Ptr(true), CanDestroy: testkit.Ptr(true)},
			resource.Changes{"can_read": {true, false}, "can_update": {false, true}, "can_destroy": {false, true}},
			func(p *role.Permission) { p.CanRead, p.CanUpdate, p.CanDestroy, p.UpdatedAt = false, true, true, now },
		},
		{
			"reference",
			role.PermissionUpdate{CommonUpdate: resource.CommonUpdate{Reference: testkit.Ptr("x")}},
			resource.Changes{"reference": {nil, "x"}},
			func(p *role.Permission) { p.Reference, p.UpdatedAt = "x", now },
		},
	}
	for _, tt := range tests {
		got, want := base(), base()
		tt.wantPerm(&want)
		changes := tt.give.Apply(&got, now)
		if !reflect.DeepEqual(changes, tt.wantChanges) || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Apply = %+v changes %#v\nwant %+v changes %#v", tt.name, got, changes, want, tt.wantChanges)
		}
	}
}

func TestPermissionUpdateValidate(t *testing.T) {
	tests := []struct {
		give         role.PermissionUpdate
		wantProblems []string
	}{
		{role.PermissionUpdate{CanRead: testkit.Ptr(true)}, nil},
		{role.PermissionUpdate{CommonUpdate: resource.CommonUpdate{Metadata: &resource.Metadata{"": 1}}}, []string{"metadata:format"}},
	}
	for _, tt := range tests {
		if got := testkit.Problems(t, tt.give.Validate()); !slices.Equal(got, tt.wantProblems) {
			t.Errorf("Validate() = %q, want %q", got, tt.wantProblems)
		}
	}
}

// Subject and role of a permission are immutable: PermissionUpdate has no such fields.
func TestPermissionUpdateHasNoImmutableFields(t *testing.T) {
	for _, name := range []string{"Subject", "RoleID", "OrganizationID", "Restrictions"} {
		if _, ok := reflect.TypeFor[role.PermissionUpdate]().FieldByName(name); ok {
			t.Errorf("role.PermissionUpdate has a %s field; it must be immutable", name)
		}
	}
	if _, ok := reflect.TypeFor[role.Update]().FieldByName("Kind"); ok {
		t.Error("role.Update has a Kind field; the kind is fixed")
	}
}
