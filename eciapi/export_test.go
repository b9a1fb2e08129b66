package eciapi

import (
	"time"

	"github.com/provisionkit/provisioning/internal/httpx/httpxtest"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/resource"
)

// The body decoder, for the tests of eciapi_test.
type AddBody = addBody

var DecodeAddMember = decodeAddMember

// ProblemOf returns the problem the endpoints would answer err with.
func ProblemOf(err error) httpxtest.Problem { return httpxtest.ProblemOf(eci, err) }

// FilterNode is a parsed $filter, for the fuzz test.
type FilterNode = node

// MaxFilterLen bounds a $filter.
const MaxFilterLen = maxFilterLen

// ParseFilter parses a $filter.
var ParseFilter = parseFilter

// EvalSamples evaluates n on a few members of every kind of field value.
func EvalSamples(n node) []bool {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var out []bool
	for _, m := range []*membership.Membership{
		{ID: "m1", UserID: "u1", UserEmail: "a@example.com", UserFirstName: "A", Default: true, Common: resource.Common{CreatedAt: t0, UpdatedAt: t0}},
		{ID: "m2", UserEmail: "b'@example.com", Guest: true, MFARequired: true},
		{ID: "m3", UserID: "u3", UserMFADisabled: true, Common: resource.Common{CreatedAt: t0.Add(time.Hour)}},
	} {
		doc := &memberJSON{ID: m.ID, UserID: m.UserID, OrganizationID: 7, OrganizationName: "acme", IsGuest: m.IsGuest(),
			IsMembershipMfaRequired: m.MFARequired}
		out = append(out, n.eval(&row{m: m, doc: doc}))
	}
	return out
}
