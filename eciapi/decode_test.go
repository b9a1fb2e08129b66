package eciapi_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/provisionkit/provisioning/eciapi"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/internal/httpx/httpxtest"
)

// TestDecodeAddMember checks the decoder of ECI's body on its own.
func TestDecodeAddMember(t *testing.T) {
	tests := []struct {
		name       string
		giveBody   string
		want       eciapi.AddBody
		wantStatus int
		wantFields []string
	}{
		{"both", `{"userId":"u1","isMfaRequired":true,"other":null}`, eciapi.AddBody{UserID: "u1", MFARequired: true}, 0, nil},
		{"40 characters", `{"userId":"` + strings.Repeat("é", 40) + `","isMfaRequired":false}`, eciapi.AddBody{UserID: strings.Repeat("é", 40)}, 0, nil},
		{"41 characters", `{"userId":"` + strings.Repeat("a", 41) + `","isMfaRequired":false}`, eciapi.AddBody{}, 400, []string{"userId"}},
		{"nulls", `{"userId":null,"isMfaRequired":null}`, eciapi.AddBody{}, 400, []string{"userId", "isMfaRequired"}},
		{"wrong types", `{"userId":["u"],"isMfaRequired":0}`, eciapi.AddBody{}, 400, []string{"userId", "isMfaRequired"}},
		{"not an object", `[]`, eciapi.AddBody{}, 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := eciapi.DecodeAddMember([]byte(tt.giveBody))
			p := eciapi.ProblemOf(err)
			if err == nil {
				p = httpxtest.Problem{}
			}
			if p.Status != tt.wantStatus || !slices.Equal(p.Fields, tt.wantFields) {
				t.Fatalf("problem %+v (%v); want %d %v", p, err, tt.wantStatus, tt.wantFields)
			}
			if err == nil && got != tt.want {
				t.Errorf("decoded %#v; want %#v", got, tt.want)
			}
		})
	}
}

// TestProblemFields checks the names of the library's fields in ECI's
// dialect, and the statuses of refusals and missing targets.
func TestProblemFields(t *testing.T) {
	tests := []struct {
		name       string
		giveErr    error
		wantStatus int
		wantFields []string
	}{
		{"eci fields", httpxtest.Validation("mfa_required", "role_ids[1]"), 400, []string{"isMfaRequired", "roleIds.1"}},
		{"missing user", httpxtest.ValidationCode("user", "not_found"), 404, nil},
		{"plan restricted", fault.E("test", fault.Forbidden, fault.ErrPlanRestricted), 403, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := eciapi.ProblemOf(tt.giveErr)
			if got.Status != tt.wantStatus || !slices.Equal(got.Fields, tt.wantFields) {
				t.Errorf("got %+v; want %d %v", got, tt.wantStatus, tt.wantFields)
			}
		})
	}
}
