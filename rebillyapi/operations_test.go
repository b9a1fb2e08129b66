package rebillyapi_test

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/rebillyapi"
	"github.com/provisionkit/provisioning/role"
)

// TestOperations checks the table itself: each id once, each grant one of
// the four actions on a built-in subject, and a copy for each caller.
func TestOperations(t *testing.T) {
	subjects, err := role.NewSubjects()
	if err != nil {
		t.Fatal(err)
	}
	ops := rebillyapi.Operations()
	if len(ops) == 0 {
		t.Fatal("no operation")
	}
	seen := map[string]bool{}
	for _, op := range ops {
		if seen[op.ID] || !regexp.MustCompile(`^[A-Z][A-Za-z]+$`).MatchString(op.ID) || len(op.Grants) == 0 {
			t.Errorf("operation %+v: twice, malformed or without grants", op)
		}
		seen[op.ID] = true
		for _, g := range op.Grants {
			if !subjects.Has(g.Subject) || !role.Action(g.Action).Valid() {
				t.Errorf("%s: grant %+v is not an action on a subject", op.ID, g)
			}
		}
	}
	ops[0].ID, ops[0].Grants[0].Subject = "Changed", "changed"
	if again := rebillyapi.Operations(); again[0].ID == "Changed" || again[0].Grants[0].Subject == "changed" {
		t.Error("Operations shares its table with its callers")
	}
}

// operationsHeader opens the table of operations in the README and in the
// package documentation.
const operationsHeader = "| Rebilly operation id | the library's grants |"

// tableRows reads the rows "| `OperationId` | `subject:action`, ... |" of
// the table of operations in path (its lines start with prefix: "//\t" in
// godoc); a row of another shape ends it.
func tableRows(t *testing.T, path, prefix string) [][2]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(b), prefix+operationsHeader+"\n"+prefix+"| --- | --- |\n")
	if !ok {
		t.Fatalf("%s: no table of operations (%q)", path, operationsHeader)
	}
	row := regexp.MustCompile("^" + regexp.QuoteMeta(prefix) + "\\| `([A-Za-z]+)` \\| (.*) \\|$")
	var out [][2]string
	for _, line := range strings.Split(table, "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil {
			break
		}
		out = append(out, [2]string{m[1], m[2]})
	}
	return out
}

// TestOperationsDocumented checks that the tables of the README and of the
// package documentation are the code's, row for row.
func TestOperationsDocumented(t *testing.T) {
	var want [][2]string
	for _, op := range rebillyapi.Operations() {
		var gs []string
		for _, g := range op.Grants {
			gs = append(gs, "`"+g.Subject+":"+g.Action+"`")
		}
		want = append(want, [2]string{op.ID, strings.Join(gs, ", ")})
	}
	for _, doc := range []struct{ path, prefix string }{{"../README.md", ""}, {"doc.go", "//\t"}} {
		if got := tableRows(t, doc.path, doc.prefix); !slices.Equal(got, want) {
			t.Errorf("%s: the table of operations is\n%v\nwant (rebillyapi.Operations)\n%v", doc.path, got, want)
		}
	}
}

// TestPermissionsIn checks how a PUT's permissions become the library's.
func TestPermissionsIn(t *testing.T) {
	tests := []struct {
		name       string
		give       []string
		want       []string
		wantOrigin []int
		wantFields []string
	}{
		{"absent", nil, nil, nil, nil},
		{"none", []string{}, []string{}, nil, nil},
		{"operation ids", []string{"GetMembership", "PutMembership"},
			[]string{"memberships:read", "memberships:create", "memberships:update"}, []int{0, 1, 1}, nil},
		{"everything", []string{"*"}, []string{"*"}, []int{0}, nil},
		{"the library's form", []string{"PutRole", "orders:read"},
			[]string{"roles:update", "permissions:create", "permissions:update", "orders:read"}, []int{0, 0, 0, 1}, nil},
		{"unknown ids", []string{"GetMembership", "GetTransactionCollection", "getmembership", ""}, nil, nil,
			[]string{"permissions.1", "permissions.2", "permissions.3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, origin, err := rebillyapi.PermissionsIn(tt.give)
			p := rebillyapi.ProblemOf(err)
			if err != nil && (p.Status != 422 || !slices.Equal(p.Fields, tt.wantFields)) || err == nil && tt.wantFields != nil {
				t.Fatalf("problem %+v (%v); want 422 %v", p, err, tt.wantFields)
			}
			if err == nil && (!reflect.DeepEqual(got, tt.want) || !slices.Equal(origin, tt.wantOrigin)) {
				t.Errorf("got %#v from %v; want %#v from %v", got, origin, tt.want, tt.wantOrigin)
			}
		})
	}
}

// TestPermissionsOut checks how the library's permissions are answered,
// and that sending an answer back changes nothing.
func TestPermissionsOut(t *testing.T) {
	reads := []string{"GetOrganizationCollection", "GetOrganization", "GetMembershipCollection", "GetMembership",
		"GetRoleCollection", "GetRole", "GetApiKeyCollection", "GetApiKey"}
	tests := []struct {
		name string
		give []string // canonical, as the library stores them
		want []string
	}{
		{"none", nil, []string{}},
		{"everything", []string{"*"}, []string{"*"}},
		{"reads of memberships", []string{"memberships:read"}, []string{"GetMembershipCollection", "GetMembership"}},
		{"an operation of two grants", []string{"memberships:create", "memberships:update"}, []string{"PutMembership"}},
		{"half of an operation", []string{"memberships:create"}, []string{"memberships:create"}},
		{"roles and their permissions", []string{"permissions:read", "roles:read"}, []string{"GetRoleCollection", "GetRole"}},
		{"a wildcard action", []string{"memberships:*"},
			[]string{"GetMembershipCollection", "GetMembership", "PutMembership", "DeleteMembership", "memberships:*"}},
		{"every read", []string{"*:read"}, append(slices.Clone(reads), "*:read")},
		{"no operation", []string{"orders:*", "skus:read"}, []string{"orders:*", "skus:read"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rebillyapi.PermissionsOut(tt.give)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v; want %v", got, tt.want)
			}
			back, _, err := rebillyapi.PermissionsIn(got)
			if err != nil {
				t.Fatal(err)
			}
			in, err := membership.Upsert{OrganizationID: "org", UserID: "usr", Rules: membership.Rules{Permissions: back}}.Validate(membership.Env{})
			if err != nil || !slices.Equal(in.Permissions, tt.give) {
				t.Errorf("sent back, %v is stored as %v (%v); want %v", got, in.Permissions, err, tt.give)
			}
		})
	}
}

// TestRenumber checks that a facade error on an expanded permission names
// the body's entry it came from.
func TestRenumber(t *testing.T) {
	err := &fault.ValidationError{Fields: []fault.FieldError{{Field: "permissions[3]", Code: "format"}, {Field: "allowed_ips[3]"}, {Field: "permissions[9]"}}}
	got := rebillyapi.ProblemOf(rebillyapi.Renumber(err, []int{0, 1, 1, 2}))
	if want := []string{"permissions.2", "allowedIps.3", "permissions.9"}; !slices.Equal(got.Fields, want) {
		t.Errorf("fields %v; want %v", got.Fields, want)
	}
}
