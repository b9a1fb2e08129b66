package rebillyapi_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/internal/httpx/httpxtest"
	"github.com/provisionkit/provisioning/rebillyapi"
)

// TestDecodeUpsert checks the decoder of Rebilly's body on its own: what
// it keeps, what it ignores, and the fields it names.
func TestDecodeUpsert(t *testing.T) {
	yes := true
	tests := []struct {
		name       string
		giveBody   string
		want       rebillyapi.UpsertBody
		wantStatus int
		wantFields []string
	}{
		{"all members", `{"allowedIps":["1.2.3.4"],"permissions":["*"],"roleIds":["r1","r2"],"isOwner":true}`,
			rebillyapi.UpsertBody{AllowedIPs: []string{"1.2.3.4"}, Permissions: []string{"*"}, RoleIDs: []string{"r1", "r2"}, IsOwner: &yes}, 0, nil},
		{"nulls and read-only members", `{"allowedIps":null,"permissions":null,"roleIds":null,"isOwner":null,"isDefault":"x","organization":1,"user":[],"_links":{}}`,
			rebillyapi.UpsertBody{}, 0, nil},
		{"empty lists stay empty", `{"allowedIps":[],"permissions":[]}`,
			rebillyapi.UpsertBody{AllowedIPs: []string{}, Permissions: []string{}}, 0, nil},
		{"names are case-sensitive", `{"AllowedIps":["1.2.3.4"],"roleids":["r"]}`, rebillyapi.UpsertBody{}, 0, nil},
		{"null entries", `{"allowedIps":["1.2.3.4",null],"permissions":[null]}`, rebillyapi.UpsertBody{}, 422, []string{"allowedIps.1", "permissions.0"}},
		{"wrong types", `{"allowedIps":{},"permissions":"*","roleIds":[["r"]],"isOwner":1}`, rebillyapi.UpsertBody{}, 422,
			[]string{"allowedIps", "permissions", "roleIds.0", "isOwner"}},
		{"not an object", `"x"`, rebillyapi.UpsertBody{}, 400, nil},
		{"null", `null`, rebillyapi.UpsertBody{}, 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rebillyapi.DecodeUpsert([]byte(tt.giveBody))
			p := rebillyapi.ProblemOf(err)
			if err == nil {
				p = httpxtest.Problem{}
			}
			if p.Status != tt.wantStatus || !slices.Equal(p.Fields, tt.wantFields) {
				t.Fatalf("problem %+v (%v); want %d %v", p, err, tt.wantStatus, tt.wantFields)
			}
			if err == nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("decoded %#v; want %#v", got, tt.want)
			}
		})
	}
}

// TestProblemFields checks the names of the library's fields in Rebilly's
// dialect, and the statuses of refusals and missing targets.
func TestProblemFields(t *testing.T) {
	tests := []struct {
		name       string
		giveErr    error
		wantStatus int
		wantFields []string
	}{
		{"rebilly lists", httpxtest.Validation("allowed_ips[12]", "permissions[0]", "role_ids", "expires_at"), 422,
			[]string{"allowedIps.12", "permissions.0", "roleIds", "expiresAt"}},
		{"rebilly role", httpxtest.Validation("role"), 422, []string{"roleIds"}},
		{"missing organization", httpxtest.ValidationCode("organization", "not_found"), 404, nil},
		{"user of another code", httpxtest.ValidationCode("user", "taken"), 422, []string{"user"}},
		{"forbidden", errForbidden(), 403, nil},
		{"plan restricted", errPlanRestricted(), 403, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rebillyapi.ProblemOf(tt.giveErr)
			if got.Status != tt.wantStatus || !slices.Equal(got.Fields, tt.wantFields) {
				t.Errorf("got %+v; want %d %v", got, tt.wantStatus, tt.wantFields)
			}
		})
	}
}

func errForbidden() error { return fault.E("test", fault.Forbidden, nil) }

func errPlanRestricted() error { return fault.E("test", fault.Forbidden, fault.ErrPlanRestricted) }
