package eciapi

// The body decoder, for the tests of eciapi_test.
type AddBody = addBody

var DecodeAddMember = decodeAddMember

// Problem is a problem as the tests read it: its status and the fields of
// its invalidFields.
type Problem struct {
	Status int
	Fields []string
}

// ProblemOf returns the problem ECI's endpoints would answer err with.
func ProblemOf(err error) Problem {
	p, _ := eci.ProblemOf(err)
	out := Problem{Status: p.Status}
	for _, f := range p.InvalidFields {
		out.Fields = append(out.Fields, f.Field)
	}
	return out
}
