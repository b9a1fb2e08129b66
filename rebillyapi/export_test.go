package rebillyapi

import (
	"github.com/provisionkit/provisioning/internal/httpx/httpxtest"
	"github.com/provisionkit/provisioning/resource"
)

// The body decoder, for the tests of rebillyapi_test.
type UpsertBody = upsertBody

var DecodeUpsert = decodeUpsert

// ProblemOf returns the problem the endpoints would answer err with.
func ProblemOf(err error) httpxtest.Problem { return httpxtest.ProblemOf(rebilly, err) }

// The permissions of the wire and of the library.
var (
	PermissionsIn  = permissionsIn
	PermissionsOut = permissionsOut
	Renumber       = renumber
)

// ListQuery is a GET /memberships request as parseList reads it.
type ListQuery struct {
	OrganizationID string
	Limit, Offset  int
	Where          []resource.Condition
	Sort           []resource.SortKey
	Roles          bool
}

// ParseList reads the query of a GET /memberships.
func ParseList(rawQuery string) (ListQuery, error) {
	q, err := query(rawQuery)
	if err != nil {
		return ListQuery{}, err
	}
	lq, err := parseList(q)
	return ListQuery{lq.orgID, lq.limit, lq.offset, lq.where, lq.sort, lq.roles}, err
}

// ListRefusal is the problem of a facade refusal of the list rawQuery
// asks for.
func ListRefusal(rawQuery string, err error) httpxtest.Problem {
	q, _ := query(rawQuery)
	lq, _ := parseList(q)
	return ProblemOf(lq.named(err))
}
