package authz_test

import (
	"slices"
	"testing"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/authz"
	"github.com/provisionkit/provisioning/role"
)

// TestPolicyCoversTheVocabulary: the lines every member reads with are
// exactly on role.MemberReadSubjects, and a guest's deny lines exactly on
// role.GuestDeniedSubjects for create, update and destroy, in the
// organization's domain and in an application's.
func TestPolicyCoversTheVocabulary(t *testing.T) {
	s := &access.Snapshot{OrganizationID: "acme", Revision: "1",
		Roles:          []access.RoleGrant{{ID: "r-ro", Kind: role.KindReadOnly}},
		Members:        []access.Member{{UserID: "u-gina", RoleIDs: []string{"r-ro"}, Guest: true}},
		Credentials:    []access.Credential{{ID: "c-app"}},
		AppMemberships: []access.AppMembership{{ID: "am-gina", CredentialID: "c-app", RoleID: "r-ro", UserID: "u-gina"}},
	}
	p, _, err := authz.Lines(s)
	if err != nil {
		t.Fatal(err)
	}
	reads := map[string][]string{}  // domain → subjects builtin:member reads
	denied := map[string][]string{} // domain/action → subjects builtin:guest is denied
	for _, l := range p {           // [sub, dom, obj, act, eft]
		switch l[0] {
		case "builtin:member":
			if l[3] != string(role.ActionRead) || l[4] != "allow" {
				t.Errorf("member line %v", l)
			}
			reads[l[1]] = append(reads[l[1]], l[2])
		case "builtin:guest":
			if l[4] != "deny" {
				t.Errorf("guest line %v", l)
			}
			denied[l[1]+" "+l[3]] = append(denied[l[1]+" "+l[3]], l[2])
		}
	}
	names := func(subjects []role.Subject) []string {
		out := make([]string, len(subjects))
		for i, s := range subjects {
			out[i] = string(s)
		}
		return out
	}
	want := map[string][]string{"org:acme": names(role.MemberReadSubjects())}
	if !equalSets(reads, want) {
		t.Errorf("member reads %v, want %v", reads, want)
	}
	want = map[string][]string{}
	for _, dom := range []string{"org:acme", "app:acme/c-app"} {
		for _, a := range []role.Action{role.ActionCreate, role.ActionUpdate, role.ActionDestroy} {
			want[dom+" "+string(a)] = names(role.GuestDeniedSubjects())
		}
	}
	if !equalSets(denied, want) {
		t.Errorf("guest denied %v, want %v", denied, want)
	}
}

// equalSets reports whether got and want hold the same keys with the same
// values, in any order.
func equalSets(got, want map[string][]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, w := range want {
		g := slices.Sorted(slices.Values(got[k]))
		if !slices.Equal(g, slices.Sorted(slices.Values(w))) {
			return false
		}
	}
	return true
}
