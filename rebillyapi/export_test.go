package rebillyapi

import "github.com/provisionkit/provisioning/internal/httpx/httpxtest"

// The body decoder, for the tests of rebillyapi_test.
type UpsertBody = upsertBody

var DecodeUpsert = decodeUpsert

// ProblemOf returns the problem the endpoints would answer err with.
func ProblemOf(err error) httpxtest.Problem { return httpxtest.ProblemOf(rebilly, err) }
