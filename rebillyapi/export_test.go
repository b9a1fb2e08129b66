package rebillyapi

// The body decoder, for the tests of rebillyapi_test.
type UpsertBody = upsertBody

var DecodeUpsert = decodeUpsert

// Problem is a problem as the tests read it: its status and the fields of
// its invalidFields.
type Problem struct {
	Status int
	Fields []string
}

// ProblemOf returns the problem Rebilly's endpoints would answer err with.
func ProblemOf(err error) Problem {
	p, _ := rebilly.ProblemOf(err)
	out := Problem{Status: p.Status}
	for _, f := range p.InvalidFields {
		out.Fields = append(out.Fields, f.Field)
	}
	return out
}
