package eciapi

import "github.com/provisionkit/provisioning/internal/httpx/httpxtest"

// The body decoder, for the tests of eciapi_test.
type AddBody = addBody

var DecodeAddMember = decodeAddMember

// ProblemOf returns the problem the endpoints would answer err with.
func ProblemOf(err error) httpxtest.Problem { return httpxtest.ProblemOf(eci, err) }
