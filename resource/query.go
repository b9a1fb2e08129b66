package resource

import (
	"strconv"

	"github.com/provisionkit/provisioning/fault"
)

// Op is the predicate of a Condition: the matchers of the Commerce Layer
// API's filter[q][<attribute>_<matcher>] (Ransack's), without their _any,
// _all and _or_null variants, which Condition's Mode and OrNull carry.
type Op string

// The predicates. Text matches (Cont, Start, End and their negations) are
// case-insensitive; Matches takes a SQL LIKE pattern as given. Present,
// Blank, Null, NotNull, True and False take one value, "true" or "false",
// that says whether the predicate or its negation is asked. JCont takes a
// JSON object that the attribute (a JSON object) must contain.
const (
	Eq           Op = "eq"
	NotEq        Op = "not_eq"
	Lt           Op = "lt"
	Lteq         Op = "lteq"
	Gt           Op = "gt"
	Gteq         Op = "gteq"
	In           Op = "in"
	NotIn        Op = "not_in"
	Cont         Op = "cont"
	NotCont      Op = "not_cont"
	Start        Op = "start"
	NotStart     Op = "not_start"
	End          Op = "end"
	NotEnd       Op = "not_end"
	Matches      Op = "matches"
	DoesNotMatch Op = "does_not_match"
	Present      Op = "present"
	Blank        Op = "blank"
	Null         Op = "null"
	NotNull      Op = "not_null"
	True         Op = "true"
	False        Op = "false"
	JCont        Op = "jcont"
)

// flagOps take "true" or "false" as their one value.
var flagOps = map[Op]bool{Present: true, Blank: true, Null: true, NotNull: true, True: true, False: true}

// knownOps are the predicates a Condition may use.
var knownOps = map[Op]bool{Eq: true, NotEq: true, Lt: true, Lteq: true, Gt: true, Gteq: true, In: true, NotIn: true,
	Cont: true, NotCont: true, Start: true, NotStart: true, End: true, NotEnd: true, Matches: true, DoesNotMatch: true,
	Present: true, Blank: true, Null: true, NotNull: true, True: true, False: true, JCont: true}

// Mode combines the values of a Condition.
type Mode string

// The modes: one value (the zero Mode), any of the values, all of them.
const (
	One Mode = ""
	Any Mode = "any"
	All Mode = "all"
)

// Condition narrows a list: for at least one of Fields (attributes by their
// wire names, combined with OR), the attribute satisfies Op against Values
// (one value; with Any, at least one of them; with All, every one; In and
// NotIn take the list), or is null when OrNull is set. Storage maps each
// field it allows onto a column through an allowlist and binds each value
// as a parameter: nothing of a Condition is ever spliced into SQL.
type Condition struct {
	Fields []string
	Op     Op
	Values []string
	Mode   Mode
	OrNull bool
}

// Limits of a list request's conditions and sort keys.
const (
	MaxConditions   = 32
	MaxConditionArg = 64  // values of one condition
	MaxValueBytes   = 512 // bytes of one value
)

// SortKey orders a list by an attribute, by its wire name.
type SortKey struct {
	Field string
	Desc  bool
}

// checkQuery validates the shape of conditions and sort keys; storage
// checks the fields and the values' types against its columns.
func (r PageRequest) checkQuery(p *fault.Problems) {
	if len(r.Where) > MaxConditions {
		p.Add("filter", "too_many", "must have at most "+strconv.Itoa(MaxConditions)+" conditions")
		return
	}
	for i, c := range r.Where {
		if msg := c.shapeProblem(); msg != "" {
			p.Add("filter["+strconv.Itoa(i)+"]", "format", msg)
		}
	}
	if len(r.Sort) > MaxConditions {
		p.Add("sort", "too_many", "must have at most "+strconv.Itoa(MaxConditions)+" keys")
	}
	for i, k := range r.Sort {
		if k.Field == "" {
			p.Add("sort["+strconv.Itoa(i)+"]", "blank", "must name an attribute")
		}
	}
	if r.Offset < 0 {
		p.Add("page", "format", "offset must not be negative")
	}
	if r.Offset > 0 && r.After != "" {
		p.Add("page", "format", "use either a cursor or an offset")
	}
	if len(r.Sort) > 0 && r.After != "" {
		p.Add("page", "format", "a sorted list pages by offset, not by cursor")
	}
}

// shapeProblem says what is wrong with the shape of c, "" when nothing.
func (c Condition) shapeProblem() string {
	switch {
	case len(c.Fields) == 0:
		return "names no attribute"
	case len(c.Fields) > MaxConditions:
		return "names too many attributes"
	case !knownOps[c.Op]:
		return "has an unknown predicate"
	case c.Mode != One && c.Mode != Any && c.Mode != All:
		return "has an unknown mode"
	case len(c.Values) == 0:
		return "has no value"
	case len(c.Values) > MaxConditionArg:
		return "has too many values"
	case (c.Op == In || c.Op == NotIn) && c.Mode != One:
		return "combines a list predicate with any or all"
	case c.Mode == One && len(c.Values) > 1 && c.Op != In && c.Op != NotIn:
		return "has several values without any or all"
	case flagOps[c.Op] && (c.Mode != One || len(c.Values) != 1 || !isFlag(c.Values[0])):
		return "takes one value, true or false"
	}
	for _, f := range c.Fields {
		if f == "" || len(f) > 64 {
			return "names a malformed attribute"
		}
	}
	for _, v := range c.Values {
		if len(v) > MaxValueBytes {
			return "has a value that is too long"
		}
	}
	return ""
}

// Flag reads the value of a Present, Blank, Null, NotNull, True or False
// condition.
func Flag(v string) bool { return v == "true" || v == "1" || v == "t" }

func isFlag(v string) bool {
	switch v {
	case "true", "false", "1", "0", "t", "f":
		return true
	}
	return false
}
