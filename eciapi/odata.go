package eciapi

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/provisionkit/provisioning/internal/httpx"
	"github.com/provisionkit/provisioning/membership"
)

// The OData-style query options of the member list. No Go OData library
// is on the module proxy this project draws from, so this is a small
// parser of the subset the list supports, with a fuzz test:
//
//	$filter   comparisons field op literal, op one of eq ne gt ge lt le
//	          (booleans: eq ne), startswith(field,'x'), endswith(field,'x'),
//	          contains(field,'x'), combined with and, or, not and
//	          parentheses; literals 'strings' ('' is a quote), true, false,
//	          null, integers, and date-times (RFC 3339, bare or quoted)
//	$orderby  field [asc|desc], comma-separated
//	$select   top-level members, comma-separated
//	$top      0 to MaxTop (default DefaultTop); $skip 0 or more
//	$count    true or false: @odata.count, the matches before $top/$skip
//	$expand   user (the embedded user in full) and roles (always there)
//
// Anything else (another function, operator or option, a field that is
// not listed, a literal of the wrong type) is a 400 ProblemDetails that
// names it.

// MaxTop is the largest $top; DefaultTop the page without one.
const (
	MaxTop     = 1000
	DefaultTop = 100
)

// maxFilterLen and maxFilterDepth bound a $filter.
const (
	maxFilterLen   = 2048
	maxFilterDepth = 32
)

// fieldKind is the type of a member field.
type fieldKind int

const (
	kindString fieldKind = iota
	kindBool
	kindInt
	kindTime
)

// row is one member as the options see it.
type row struct {
	m   *membership.Membership
	doc *memberJSON
}

// memberField is a field of the member the options name.
type memberField struct {
	kind fieldKind
	get  func(r *row) any // string, bool, int64, time.Time, or nil for null
}

func str(f func(r *row) string) memberField {
	return memberField{kindString, func(r *row) any { return f(r) }}
}

func flag(f func(r *row) bool) memberField {
	return memberField{kindBool, func(r *row) any { return f(r) }}
}

func stamp(f func(r *row) time.Time) memberField {
	return memberField{kindTime, func(r *row) any {
		if t := f(r); !t.IsZero() {
			return t.UTC().Truncate(time.Second)
		}
		return nil
	}}
}

// memberFields are the fields $filter and $orderby accept.
var memberFields = map[string]memberField{
	"id":                      str(func(r *row) string { return r.doc.ID }),
	"userId":                  str(func(r *row) string { return r.doc.UserID }),
	"organizationId":          {kindInt, func(r *row) any { return int64(r.doc.OrganizationID) }},
	"organizationName":        str(func(r *row) string { return r.doc.OrganizationName }),
	"organizationDisplayName": str(func(r *row) string { return r.doc.OrganizationDisplayName }),
	"isGuest":                 flag(func(r *row) bool { return r.doc.IsGuest }),
	"isMfaRequired":           flag(func(r *row) bool { return r.doc.IsMfaRequired }),
	"isMembershipMfaRequired": flag(func(r *row) bool { return r.doc.IsMembershipMfaRequired }),
	"created":                 stamp(func(r *row) time.Time { return r.m.CreatedAt }),
	"modified":                stamp(func(r *row) time.Time { return r.m.UpdatedAt }),
	"user/emailAddress":       str(func(r *row) string { return r.m.UserEmail }),
	"user/givenName":          str(func(r *row) string { return r.m.UserFirstName }),
	"user/familyName":         str(func(r *row) string { return r.m.UserLastName }),
	"user/isMfaDisabled":      flag(func(r *row) bool { return r.m.UserMFADisabled }),
}

// selectable are the members $select accepts.
var selectable = []string{"id", "userId", "organizationId", "organizationName", "organizationDisplayName", "isGuest",
	"isMfaRequired", "isMembershipMfaRequired", "roles", "created", "createdBy", "modified", "modifiedBy", "user"}

// listQuery is the parsed options of a list.
type listQuery struct {
	filter     node // nil: every member
	orderBy    []orderKey
	selects    []string // nil: every member
	top, skip  int
	count      bool
	expandUser bool
}

type orderKey struct {
	field string
	desc  bool
}

// badQuery is a 400 naming the option at fault.
func badQuery(option, format string, args ...any) error {
	return httpx.NewError(http.StatusBadRequest, "INVALID_QUERY", "Bad Request",
		option+": "+fmt.Sprintf(format, args...)).Param(option)
}

// optionNames are the options, which may also be given without the $.
var optionNames = []string{"$filter", "$orderby", "$select", "$top", "$skip", "$count", "$expand"}

// parseListQuery reads the options of a list; an option given twice, or one
// that is not known, is refused.
func parseListQuery(q url.Values) (listQuery, error) {
	lq := listQuery{top: DefaultTop}
	opts := map[string]string{}
	for name, vs := range q {
		key := name
		if !strings.HasPrefix(key, "$") {
			key = "$" + key
		}
		if !slices.Contains(optionNames, key) {
			return lq, badQuery(name, "is not a supported option (supported: %s)", strings.Join(optionNames, ", "))
		}
		if _, dup := opts[key]; dup || len(vs) != 1 {
			return lq, badQuery(key, "is given more than once")
		}
		opts[key] = vs[0]
	}
	var err error
	if v, ok := opts["$filter"]; ok {
		if lq.filter, err = parseFilter(v); err != nil {
			return lq, err
		}
	}
	if v, ok := opts["$orderby"]; ok {
		if lq.orderBy, err = parseOrderBy(v); err != nil {
			return lq, err
		}
	}
	if v, ok := opts["$select"]; ok {
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			if !slices.Contains(selectable, f) {
				return lq, badQuery("$select", "%q is not a member (members: %s)", f, strings.Join(selectable, ", "))
			}
			if !slices.Contains(lq.selects, f) {
				lq.selects = append(lq.selects, f)
			}
		}
	}
	if v, ok := opts["$top"]; ok {
		if lq.top, err = strconv.Atoi(v); err != nil || lq.top < 0 || lq.top > MaxTop {
			return lq, badQuery("$top", "must be an integer from 0 to %d", MaxTop)
		}
	}
	if v, ok := opts["$skip"]; ok {
		if lq.skip, err = strconv.Atoi(v); err != nil || lq.skip < 0 {
			return lq, badQuery("$skip", "must be an integer, 0 or more")
		}
	}
	if v, ok := opts["$count"]; ok {
		if lq.count, err = strconv.ParseBool(v); err != nil || v != "true" && v != "false" {
			return lq, badQuery("$count", "must be true or false")
		}
	}
	if v, ok := opts["$expand"]; ok {
		if lq.expandUser, err = parseExpand(v); err != nil {
			return lq, err
		}
	}
	return lq, nil
}

// parseExpand reads $expand: user and roles; it reports whether user is.
func parseExpand(v string) (bool, error) {
	user := false
	for _, e := range strings.Split(v, ",") {
		switch e = strings.TrimSpace(e); e {
		case "user":
			user = true
		case "roles":
		default:
			return false, badQuery("$expand", "%q cannot be expanded (user, roles)", e)
		}
	}
	return user, nil
}

func parseOrderBy(v string) ([]orderKey, error) {
	var keys []orderKey
	for _, part := range strings.Split(v, ",") {
		words := strings.Fields(part)
		if len(words) == 0 || len(words) > 2 {
			return nil, badQuery("$orderby", "%q is not a field followed by asc or desc", strings.TrimSpace(part))
		}
		if _, ok := memberFields[words[0]]; !ok {
			return nil, badQuery("$orderby", "%q is not a field that sorts (fields: %s)", words[0], fieldList())
		}
		k := orderKey{field: words[0]}
		if len(words) == 2 {
			switch words[1] {
			case "asc":
			case "desc":
				k.desc = true
			default:
				return nil, badQuery("$orderby", "%q is neither asc nor desc", words[1])
			}
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// fieldList names the fields of $filter and $orderby, sorted.
func fieldList() string {
	var names []string
	for n := range memberFields {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// apply filters, sorts and pages rows; it returns the page and the count
// of the matches.
func (lq listQuery) apply(rows []*row) ([]*row, int) {
	var out []*row
	for _, r := range rows {
		if lq.filter == nil || lq.filter.eval(r) {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b *row) int {
		for _, k := range lq.orderBy {
			f := memberFields[k.field]
			c := compare(f.get(a), f.get(b))
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return cmp.Compare(a.doc.ID, b.doc.ID)
	})
	n := len(out)
	out = out[min(lq.skip, n):]
	return out[:min(lq.top, len(out))], n
}

// compare orders two values of one field; null sorts first.
func compare(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	switch x := a.(type) {
	case string:
		return strings.Compare(x, b.(string))
	case int64:
		return cmp.Compare(x, b.(int64))
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case time.Time:
		return x.Compare(b.(time.Time))
	}
	return 0
}

// node is a $filter expression.
type node interface {
	eval(r *row) bool
	String() string
}

type (
	andNode struct{ l, r node }
	orNode  struct{ l, r node }
	notNode struct{ x node }
	cmpNode struct {
		field string
		op    string
		lit   any // as memberField.get returns, or nil for null
	}
	funcNode struct {
		fn, field, arg string
	}
)

func (n andNode) eval(r *row) bool { return n.l.eval(r) && n.r.eval(r) }
func (n orNode) eval(r *row) bool  { return n.l.eval(r) || n.r.eval(r) }
func (n notNode) eval(r *row) bool { return !n.x.eval(r) }

// String prints the filter with only the parentheses its precedence needs
// (not, then and, then or): what it prints parses to a filter that prints
// the same.
func (n andNode) String() string { return tight(n.l) + " and " + tight(n.r) }
func (n orNode) String() string  { return n.l.String() + " or " + n.r.String() }
func (n notNode) String() string {
	switch n.x.(type) {
	case andNode, orNode:
		return "not (" + n.x.String() + ")"
	}
	return "not " + n.x.String()
}

// tight prints an operand of and: an or in parentheses.
func tight(n node) string {
	if _, ok := n.(orNode); ok {
		return "(" + n.String() + ")"
	}
	return n.String()
}

func (n cmpNode) eval(r *row) bool {
	v := memberFields[n.field].get(r)
	if v == nil || n.lit == nil { // null equals only null, and orders nothing
		switch n.op {
		case "eq":
			return v == nil && n.lit == nil
		case "ne":
			return v != nil || n.lit != nil
		}
		return false
	}
	c := compare(v, n.lit)
	switch n.op {
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	}
	return c <= 0 // le
}

func (n cmpNode) String() string {
	var lit string
	switch v := n.lit.(type) {
	case nil:
		lit = "null"
	case string:
		lit = quote(v)
	case bool:
		lit = strconv.FormatBool(v)
	case int64:
		lit = strconv.FormatInt(v, 10)
	case time.Time:
		lit = v.Format(time.RFC3339)
	}
	return n.field + " " + n.op + " " + lit
}

func (n funcNode) eval(r *row) bool {
	v, _ := memberFields[n.field].get(r).(string)
	switch n.fn {
	case "startswith":
		return strings.HasPrefix(v, n.arg)
	case "endswith":
		return strings.HasSuffix(v, n.arg)
	}
	return strings.Contains(v, n.arg)
}

func (n funcNode) String() string { return n.fn + "(" + n.field + "," + quote(n.arg) + ")" }

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// token is a lexeme of $filter: ( ) , a 'string' (quoted set), or a word.
type token struct {
	text   string
	quoted bool
	pos    int
}

func lex(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '(' || c == ')' || c == ',':
			out = append(out, token{text: string(c), pos: i})
			i++
		case c == '\'':
			var b strings.Builder
			j := i + 1
			for ; ; j++ {
				if j >= len(s) {
					return nil, badQuery("$filter", "the string at %d is not closed", i)
				}
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j++
						continue
					}
					break
				}
				b.WriteByte(s[j])
			}
			out = append(out, token{text: b.String(), quoted: true, pos: i})
			i = j + 1
		case isWordByte(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			out = append(out, token{text: s[i:j], pos: i})
			i = j
		default:
			return nil, badQuery("$filter", "unexpected %q at %d", s[i:i+1], i)
		}
	}
	return out, nil
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_/.:+-", c) >= 0
}

// parser is a recursive-descent parser of $filter:
//
//	or   = and {"or" and}
//	and  = unary {"and" unary}
//	unary = "not" unary | "(" or ")" | func "(" field "," string ")" | field op literal
type parser struct {
	toks  []token
	i     int
	depth int
}

func parseFilter(s string) (node, error) {
	if len(s) > maxFilterLen {
		return nil, badQuery("$filter", "is longer than %d bytes", maxFilterLen)
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if t, ok := p.peek(); ok {
		return nil, badQuery("$filter", "unexpected %q at %d", t.text, t.pos)
	}
	return n, nil
}

func (p *parser) peek() (token, bool) {
	if p.i < len(p.toks) {
		return p.toks[p.i], true
	}
	return token{}, false
}

// next returns the next token; the end of the filter is an error.
func (p *parser) next(want string) (token, error) {
	t, ok := p.peek()
	if !ok {
		return t, badQuery("$filter", "ends where %s was expected", want)
	}
	p.i++
	return t, nil
}

// word reports whether the next token is the unquoted word w, and takes it.
func (p *parser) word(w string) bool {
	if t, ok := p.peek(); ok && !t.quoted && t.text == w {
		p.i++
		return true
	}
	return false
}

func (p *parser) or() (node, error) {
	return p.chain("or", p.and, func(l, r node) node { return orNode{l, r} })
}

func (p *parser) and() (node, error) {
	return p.chain("and", p.unary, func(l, r node) node { return andNode{l, r} })
}

// chain parses operands joined by the word op, left to right.
func (p *parser) chain(op string, operand func() (node, error), join func(l, r node) node) (node, error) {
	l, err := operand()
	for err == nil && p.word(op) {
		var r node
		if r, err = operand(); err == nil {
			l = join(l, r)
		}
	}
	return l, err
}

// punct takes the punctuation mark want, or refuses what stands there.
func (p *parser) punct(want, context string) error {
	c, err := p.next("'" + want + "'")
	if err == nil && (c.quoted || c.text != want) {
		err = badQuery("$filter", "unexpected %q at %d where '%s' was expected%s", c.text, c.pos, want, context)
	}
	return err
}

// filterFuncs are the functions of $filter.
var filterFuncs = []string{"startswith", "endswith", "contains"}

// filterOps are the comparison operators of $filter.
var filterOps = []string{"eq", "ne", "gt", "ge", "lt", "le"}

func (p *parser) unary() (node, error) {
	if p.depth++; p.depth > maxFilterDepth {
		return nil, badQuery("$filter", "nests deeper than %d", maxFilterDepth)
	}
	defer func() { p.depth-- }()
	if p.word("not") {
		x, err := p.unary()
		return notNode{x}, err
	}
	t, err := p.next("an expression")
	if err != nil {
		return nil, err
	}
	if t.quoted || t.text == ")" || t.text == "," {
		return nil, badQuery("$filter", "unexpected %q at %d where a field was expected", t.text, t.pos)
	}
	if t.text == "(" {
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		return n, p.punct(")", "")
	}
	if nt, ok := p.peek(); ok && !nt.quoted && nt.text == "(" {
		return p.call(t)
	}
	return p.comparison(t)
}

// call parses fn(field,'text') after fn.
func (p *parser) call(fn token) (node, error) {
	if !slices.Contains(filterFuncs, fn.text) {
		return nil, badQuery("$filter", "the function %q is not supported (supported: %s)", fn.text, strings.Join(filterFuncs, ", "))
	}
	p.i++ // (
	f, err := p.next("a field")
	if err != nil {
		return nil, err
	}
	if err := checkField(f, kindString, fn.text); err != nil {
		return nil, err
	}
	takes := " (" + fn.text + " takes a field and a string)"
	if err := p.punct(",", takes); err != nil {
		return nil, err
	}
	arg, err := p.next("a string")
	if err != nil {
		return nil, err
	}
	if !arg.quoted {
		return nil, badQuery("$filter", "%s takes a 'string', not %q", fn.text, arg.text)
	}
	if err := p.punct(")", takes); err != nil {
		return nil, err
	}
	return funcNode{fn: fn.text, field: f.text, arg: arg.text}, nil
}

// checkField refuses a token that is not a field of the kind wanted.
func checkField(t token, want fieldKind, by string) error {
	f, ok := memberFields[t.text]
	switch {
	case t.quoted || !ok:
		return badQuery("$filter", "%q is not a field (fields: %s)", t.text, fieldList())
	case f.kind != want:
		return badQuery("$filter", "%s takes a string field; %s is not one", by, t.text)
	}
	return nil
}

// comparison parses "field op literal" after field.
func (p *parser) comparison(field token) (node, error) {
	f, ok := memberFields[field.text]
	if !ok {
		return nil, badQuery("$filter", "%q is not a field (fields: %s)", field.text, fieldList())
	}
	op, err := p.next("an operator")
	if err != nil {
		return nil, err
	}
	if op.quoted || !slices.Contains(filterOps, op.text) {
		return nil, badQuery("$filter", "the operator %q is not supported (supported: %s)", op.text, strings.Join(filterOps, ", "))
	}
	t, err := p.next("a literal")
	if err != nil {
		return nil, err
	}
	lit, err := literal(f.kind, t)
	if err != nil {
		return nil, badQuery("$filter", "%s takes %v, not %q", field.text, err, t.text)
	}
	ordered := op.text != "eq" && op.text != "ne"
	if ordered && (lit == nil || f.kind == kindBool) {
		return nil, badQuery("$filter", "%s %s %s does not compare (only eq and ne do)", field.text, op.text, t.text)
	}
	return cmpNode{field: field.text, op: op.text, lit: lit}, nil
}

// literal reads a token as a value of kind k (nil for null), or says what
// k takes.
func literal(k fieldKind, t token) (any, error) {
	if !t.quoted && t.text == "null" {
		return nil, nil
	}
	switch k {
	case kindString:
		if t.quoted {
			return t.text, nil
		}
		return nil, fmt.Errorf("a 'string' or null")
	case kindBool:
		if !t.quoted && (t.text == "true" || t.text == "false") {
			return t.text == "true", nil
		}
		return nil, fmt.Errorf("true or false")
	case kindInt:
		if n, err := strconv.ParseInt(t.text, 10, 32); err == nil && !t.quoted {
			return n, nil
		}
		return nil, fmt.Errorf("a 32-bit integer")
	}
	if v, err := time.Parse(time.RFC3339, t.text); err == nil {
		return v.UTC().Truncate(time.Second), nil
	}
	return nil, fmt.Errorf("an RFC 3339 date-time")
}
