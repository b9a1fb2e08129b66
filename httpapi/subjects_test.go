package httpapi_test

import (
	"slices"
	"testing"

	"github.com/provisionkit/provisioning/httpapi"
	"github.com/provisionkit/provisioning/role"
)

// TestResourceTypesAreTheVocabulary: the handler describes and serves
// exactly the library's subjects (role.ProvisioningSubjects, in their order)
// and the user.
func TestResourceTypesAreTheVocabulary(t *testing.T) {
	var want []string
	for _, s := range role.ProvisioningSubjects() {
		want = append(want, string(s))
	}
	want = append(want, "users")
	described, served := httpapi.ResourceTypes()
	if !slices.Equal(served, want) {
		t.Errorf("served types %v, want %v", served, want)
	}
	if !slices.Equal(described, slices.Sorted(slices.Values(want))) {
		t.Errorf("described types %v, want %v", described, want)
	}
}
