package profile_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/internal/testkit"
	"github.com/provisionkit/provisioning/profile"
	"github.com/provisionkit/provisioning/resource"
)

func TestCreateValidate(t *testing.T) {
	tests := []struct {
		name         string
		give         profile.Create
		wantProblems []string
	}{
		{"valid live", profile.Create{OrganizationID: "org1", Name: "Support", AccessScope: access.LiveAccess}, nil},
		{"valid all", profile.Create{OrganizationID: "org1", Name: "Developers", AccessScope: access.AllAccess}, nil},
		{"missing scope", profile.Create{OrganizationID: "org1", Name: "Support"}, []string{"access_scope:required"}},
		{"unknown scope", profile.Create{OrganizationID: "org1", Name: "Support", AccessScope: "root_access"}, []string{"access_scope:enum"}},
		{"missing name", profile.Create{OrganizationID: "org1", AccessScope: access.TestAccess}, []string{"name:required"}},
		{"blank name", profile.Create{OrganizationID: "org1", Name: "  ", AccessScope: access.TestAccess}, []string{"name:required"}},
		{"padded name", profile.Create{OrganizationID: "org1", Name: "Support ", AccessScope: access.TestAccess}, []string{"name:format"}},
		{"long name", profile.Create{OrganizationID: "org1", Name: strings.Repeat("n", 256), AccessScope: access.TestAccess}, []string{"name:too_long"}},
		{"missing organization", profile.Create{Name: "Support", AccessScope: access.LiveAccess}, []string{"organization:required"}},
		{"malformed organization", profile.Create{OrganizationID: "ORG", Name: "Support", AccessScope: access.LiveAccess}, []string{"organization:not_found"}},
		{
			"bad metadata",
			profile.Create{OrganizationID: "org1", Name: "Support", AccessScope: access.LiveAccess, CommonInput: resource.CommonInput{Metadata: resource.Metadata{"": 1}}},
			[]string{"metadata:format"},
		},
		{"nothing", profile.Create{}, []string{"organization:required", "name:required", "access_scope:required"}},
	}
	for _, tt := range tests {
		if got := testkit.Problems(t, tt.give.Validate()); !slices.Equal(got, tt.wantProblems) {
			t.Errorf("%s: Validate() = %q, want %q", tt.name, got, tt.wantProblems)
		}
	}
}

func TestCreateNew(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	c := profile.Create{OrganizationID: "org1", Name: "Support", AccessScope: access.TestAccess, CommonInput: resource.CommonInput{Reference: "r"}}
	want := &profile.Profile{ID: "p1", OrganizationID: "org1", Name: "Support", AccessScope: access.TestAccess,
		Common: resource.Common{Reference: "r", CreatedAt: now, UpdatedAt: now}}
	if got := c.New("p1", now); !reflect.DeepEqual(got, want) {
		t.Fatalf("New = %+v, want %+v", got, want)
	}
}

func TestUpdateValidate(t *testing.T) {
	tests := []struct {
		name         string
		give         profile.Update
		wantProblems []string
	}{
		{"nothing", profile.Update{}, nil},
		{"valid", profile.Update{Name: testkit.Ptr("Ops"), AccessScope: testkit.Ptr(access.AllAccess)}, nil},
		{"blank name", profile.Update{Name: testkit.Ptr("")}, []string{"name:required"}},
		{"scope cannot be null", profile.Update{AccessScope: testkit.Ptr(access.Scope(""))}, []string{"access_scope:enum"}},
		{"unknown scope", profile.Update{AccessScope: testkit.Ptr(access.Scope("sandbox"))}, []string{"access_scope:enum"}},
		{"bad reference", profile.Update{CommonUpdate: resource.CommonUpdate{Reference: testkit.Ptr("\n")}}, []string{"reference:format"}},
	}
	for _, tt := range tests {
		if got := testkit.Problems(t, tt.give.Validate()); !slices.Equal(got, tt.wantProblems) {
			t.Errorf("%s: Validate() = %q, want %q", tt.name, got, tt.wantProblems)
		}
	}
}

func TestUpdateApply(t *testing.T) {
	then := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	now := then.Add(time.Hour)
	base := func() profile.Profile {
		return profile.Profile{ID: "p1", OrganizationID: "org1", Name: "Support", AccessScope: access.LiveAccess,
			Common: resource.Common{CreatedAt: then, UpdatedAt: then}}
	}
	tests := []struct {
		name        string
		give        profile.Update
		wantChanges resource.Changes
		wantProfile func(p *profile.Profile)
	}{
		{"nothing", profile.Update{}, resource.Changes{}, func(p *profile.Profile) {}},
		{"same values", profile.Update{Name: testkit.Ptr("Support"), AccessScope: testkit.Ptr(access.LiveAccess)}, resource.Changes{}, func(p *profile.Profile) {}},
		{
			"name",
			profile.Update{Name: testkit.Ptr("Help desk")},
			resource.Changes{"name": {"Support", "Help desk"}},
			func(p *profile.Profile) { p.Name, p.UpdatedAt = "Help desk", now },
		},
		{
			"scope",
			profile.Update{AccessScope: testkit.Ptr(access.AllAccess)},
			resource.Changes{"access_scope": {"live_access", "all_access"}},
			func(p *profile.Profile) { p.AccessScope, p.UpdatedAt = access.AllAccess, now },
		},
		{
			"metadata",
			profile.Update{CommonUpdate: resource.CommonUpdate{Metadata: &resource.Metadata{"a": "b"}}},
			resource.Changes{"metadata": {nil, map[string]any{"a": "b"}}},
			func(p *profile.Profile) { p.Metadata, p.UpdatedAt = resource.Metadata{"a": "b"}, now },
		},
	}
	for _, tt := range tests {
		got, want := base(), base()
		tt.wantProfile(&want)
		changes := tt.give.Apply(&got, now)
		if !reflect.DeepEqual(changes, tt.wantChanges) || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Apply = %+v changes %#v\nwant %+v changes %#v", tt.name, got, changes, want, tt.wantChanges)
		}
	}
}

func TestProfileTestEnabled(t *testing.T) {
	tests := []struct {
		give access.Scope
		want bool
	}{
		{access.LiveAccess, false},
		{access.TestAccess, true},
		{access.AllAccess, true},
		{"", false},
	}
	for _, tt := range tests {
		if got := (profile.Profile{AccessScope: tt.give}).TestEnabled(); got != tt.want {
			t.Errorf("Profile{AccessScope: %q}.TestEnabled() = %v, want %v", tt.give, got, tt.want)
		}
	}
}
