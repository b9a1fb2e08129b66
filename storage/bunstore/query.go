package bunstore

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
)

// colKind is how a column's values are read from a condition's text.
type colKind uint8

const (
	textCol colKind = iota
	timeCol
	boolCol
	intCol
	jsonCol
)

// column is an attribute a list may filter or sort by: a SQL expression
// of the list's query (a constant of this package, never input) and the
// kind of its values.
type column struct {
	expr string
	kind colKind
}

// columns is a list's allowlist: wire attribute name → column.
type columns map[string]column

// commonColumns returns the columns every resource has, on alias.
func commonColumns(alias string, more columns) columns {
	c := columns{
		"id":               {alias + ".id", textCol},
		"reference":        {alias + ".reference", textCol},
		"reference_origin": {alias + ".reference_origin", textCol},
		"metadata":         {alias + ".metadata", jsonCol},
		"created_at":       {alias + ".created_at", timeCol},
		"updated_at":       {alias + ".updated_at", timeCol},
	}
	for k, v := range more {
		c[k] = v
	}
	return c
}

// where adds the request's conditions to q, each field through cols, each
// value a bound parameter. A field or a value that does not fit is a
// *fault.ValidationError naming the condition.
func (b base) where(q *bun.SelectQuery, pr resource.PageRequest, cols columns) (*bun.SelectQuery, error) {
	for i, c := range pr.Where {
		sql, args, err := b.condition(c, cols)
		if err != nil {
			return nil, fault.InvalidField("list", "filter["+strconv.Itoa(i)+"]", "not_allowed", err.Error())
		}
		q = q.Where(sql, args...)
	}
	return q, nil
}

// condError is a condition that does not fit the list's columns.
type condError string

func (e condError) Error() string { return string(e) }

// condition renders one condition: its fields OR-combined, each field's
// values combined by the condition's mode.
func (b base) condition(c resource.Condition, cols columns) (string, []any, error) {
	var parts []string
	var args []any
	for _, f := range c.Fields {
		col, ok := cols[f]
		if !ok {
			return "", nil, condError("cannot filter by " + strconv.Quote(f))
		}
		sql, a, err := b.fieldCondition(col, c)
		if err != nil {
			return "", nil, condError(f + ": " + err.Error())
		}
		if c.OrNull {
			sql = "(" + sql + " OR " + col.expr + " IS NULL)"
		}
		parts = append(parts, sql)
		args = append(args, a...)
	}
	return "(" + strings.Join(parts, " OR ") + ")", args, nil
}

// fieldCondition renders c on one column.
func (b base) fieldCondition(col column, c resource.Condition) (string, []any, error) {
	switch c.Op {
	case resource.In, resource.NotIn:
		vals, err := typed(col, c.Values)
		if err != nil {
			return "", nil, err
		}
		op := "IN"
		if c.Op == resource.NotIn {
			op = "NOT IN"
		}
		return col.expr + " " + op + " (?)", []any{bun.List(vals)}, nil
	case resource.Present, resource.Blank, resource.Null, resource.NotNull, resource.True, resource.False:
		return flagCondition(col, c.Op, resource.Flag(c.Values[0]))
	}
	join := " AND "
	if c.Mode == resource.Any {
		join = " OR "
	}
	var parts []string
	var args []any
	for _, v := range c.Values {
		sql, a, err := b.atom(col, c.Op, v)
		if err != nil {
			return "", nil, err
		}
		parts = append(parts, sql)
		args = append(args, a...)
	}
	return "(" + strings.Join(parts, join) + ")", args, nil
}

// comparisons are the operators of the ordered predicates.
var comparisons = map[resource.Op]string{resource.Eq: "=", resource.NotEq: "<>", resource.Lt: "<",
	resource.Lteq: "<=", resource.Gt: ">", resource.Gteq: ">="}

// atom renders one value of a single-value predicate.
func (b base) atom(col column, op resource.Op, v string) (string, []any, error) {
	if sym, ok := comparisons[op]; ok {
		if col.kind == jsonCol || col.kind == boolCol && sym != "=" && sym != "<>" {
			return "", nil, condError("does not compare that way")
		}
		val, err := typedValue(col, v)
		if err != nil {
			return "", nil, err
		}
		return col.expr + " " + sym + " ?", []any{val}, nil
	}
	if op == resource.JCont {
		return b.jcont(col, v)
	}
	if col.kind != textCol {
		return "", nil, condError("is not text")
	}
	pattern, negate := likePattern(op, v)
	sql := "LOWER(" + col.expr + ") LIKE LOWER(?) ESCAPE '!'"
	if op == resource.Matches || op == resource.DoesNotMatch {
		sql = col.expr + " LIKE ?"
	}
	if negate {
		sql = "NOT (" + sql + ")"
	}
	return sql, []any{pattern}, nil
}

// likePattern returns the LIKE pattern of a text predicate and whether it
// is negated. The value's own %, _ and ! are escaped with !, except for
// Matches, whose value is a pattern.
func likePattern(op resource.Op, v string) (string, bool) {
	lit := strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(v)
	switch op {
	case resource.Cont, resource.NotCont:
		return "%" + lit + "%", op == resource.NotCont
	case resource.Start, resource.NotStart:
		return lit + "%", op == resource.NotStart
	case resource.End, resource.NotEnd:
		return "%" + lit, op == resource.NotEnd
	}
	return v, op == resource.DoesNotMatch
}

// flagCondition renders Present, Blank, Null, NotNull, True and False;
// yes false asks for the negation.
func flagCondition(col column, op resource.Op, yes bool) (string, []any, error) {
	var sql string
	switch op {
	case resource.Present, resource.Blank:
		if col.kind != textCol {
			return "", nil, condError("is not text")
		}
		sql = "(" + col.expr + " IS NOT NULL AND " + col.expr + " <> '')"
		yes = yes == (op == resource.Present)
	case resource.Null, resource.NotNull:
		sql = col.expr + " IS NULL"
		yes = yes == (op == resource.Null)
	default: // True, False
		if col.kind != boolCol {
			return "", nil, condError("is not a boolean")
		}
		return col.expr + " = ?", []any{yes == (op == resource.True)}, nil
	}
	if !yes {
		sql = "NOT " + sql
	}
	return sql, nil, nil
}

// jcont renders "the JSON object column contains the object v": PostgreSQL
// and MySQL compare whole documents; SQLite compares each top-level member,
// which must be a string, a number, a boolean or null.
func (b base) jcont(col column, v string) (string, []any, error) {
	if col.kind != jsonCol {
		return "", nil, condError("is not a JSON object")
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(v), &obj); err != nil || obj == nil {
		return "", nil, condError("jcont takes a JSON object")
	}
	switch b.s.dialect {
	case dialect.PG:
		return "CAST(" + col.expr + " AS jsonb) @> CAST(? AS jsonb)", []any{v}, nil
	case dialect.MySQL:
		return "JSON_CONTAINS(" + col.expr + ", ?)", []any{v}, nil
	}
	parts := []string{col.expr + " IS NOT NULL"}
	var args []any
	for k, val := range obj {
		path := "$." + strconv.Quote(k)
		switch x := val.(type) {
		case nil:
			parts = append(parts, "json_type("+col.expr+", ?) = 'null'")
			args = append(args, path)
		case bool, float64, string:
			if bv, ok := x.(bool); ok {
				x = map[bool]int{false: 0, true: 1}[bv]
			}
			parts = append(parts, "json_extract("+col.expr+", ?) = ?")
			args = append(args, path, x)
		default:
			return "", nil, condError("jcont on SQLite takes an object of strings, numbers, booleans and nulls")
		}
	}
	return "(" + strings.Join(parts, " AND ") + ")", args, nil
}

// typed reads the values of a list predicate.
func typed(col column, vs []string) ([]any, error) {
	out := make([]any, len(vs))
	for i, v := range vs {
		val, err := typedValue(col, v)
		if err != nil {
			return nil, err
		}
		out[i] = val
	}
	return out, nil
}

// typedValue reads one value for col.
func typedValue(col column, v string) (any, error) {
	switch col.kind {
	case timeCol:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", time.DateOnly} {
			if t, err := time.Parse(layout, v); err == nil {
				return t.UTC(), nil
			}
		}
		return nil, condError("takes a time (RFC 3339 or a date)")
	case boolCol:
		switch v {
		case "true", "1", "t":
			return true, nil
		case "false", "0", "f":
			return false, nil
		}
		return nil, condError("takes true or false")
	case intCol:
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, condError("takes an integer")
		}
		return n, nil
	case jsonCol:
		return nil, condError("is a JSON object: use jcont")
	}
	return v, nil
}

// inOrganizations narrows q, a list of organizations' resources, to the
// list's organizations on column col (a constant of this package): the one
// organization, or, when one is "", any organization of set. An empty set
// returns nil, the list known to be empty (see page): never a query without
// the organizations' condition, which would list every organization's.
func inOrganizations(q *bun.SelectQuery, col, one string, set []string) *bun.SelectQuery {
	switch {
	case one != "":
		return q.Where(col+" = ?", one)
	case len(set) == 0:
		return nil
	case len(set) == 1:
		return q.Where(col+" = ?", set[0])
	}
	return q.Where(col+" IN (?)", bun.List(set))
}

// order adds the request's sort keys to q, then the id; it fails on an
// attribute that is not in cols.
func order(q *bun.SelectQuery, pr resource.PageRequest, cols columns, alias string) (*bun.SelectQuery, error) {
	for i, k := range pr.Sort {
		col, ok := cols[k.Field]
		if !ok || col.kind == jsonCol {
			return nil, fault.InvalidField("list", "sort["+strconv.Itoa(i)+"]", "not_allowed", "cannot sort by "+strconv.Quote(k.Field))
		}
		dir := " ASC"
		if k.Desc {
			dir = " DESC"
		}
		q = q.OrderExpr(col.expr + dir)
	}
	return q.OrderExpr(alias + ".id ASC"), nil
}
