package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/provisionkit/provisioning/resource"
)

// Page sizes, as Commerce Layer pages lists: page[size] defaults to 10 and is at most 25.
const (
	DefaultPageSize = 10
	MaxPageSize     = 25
	// MaxPageNumber bounds page[number]: a page number is an OFFSET in the
	// database, whose cost grows with it (see the package documentation).
	MaxPageNumber = 100_000
	maxQueryItems = 64 // include paths, fields, sort keys, filters: each at most
	maxIncludeLen = 4  // segments of a dotted include path
)

// query is a request's parsed query string, checked for shape only: which
// resource type it fits is checked when it is bound to a kind.
type query struct {
	include includes
	fields  map[string]map[string]bool // type → field names (sparse fieldsets)
	sort    []sortKey
	number  int // page[number], 0 when absent
	size    int // page[size], 0 when absent
	filters []predicate
}

// includes is a tree of relationship paths: include=role.organization,role
// gives {role: {organization: {}}}.
type includes map[string]includes

type sortKey struct {
	field string
	desc  bool
}

// predicate is one filter: filter[q][<attr>_<matcher>]=v (attrs joined by
// _or_ combine with OR), or filter[<name>]=v, read as the predicate it
// stands for (filter[status]: status_eq; filter[ids]: id_in;
// filter[created_at_from]: created_at_gteq).
type predicate struct {
	param   string   // the parameter as sent, for error sources
	attrs   []string // the attributes, e.g. [user_email]
	matcher string   // e.g. "cont", "not_eq_all", "in_or_null"
	values  []string // one value, or the comma list of the array matchers
}

// matchers are the predicates of Commerce Layer filters, longest first so that a suffix
// match finds e.g. not_eq_or_null before eq_or_null and eq.
var matchers = func() []string {
	m := []string{"eq", "eq_or_null", "not_eq", "not_eq_or_null", "matches", "does_not_match", "matches_any",
		"matches_all", "does_not_match_any", "does_not_match_all", "lt", "lteq", "gt", "gteq", "present", "blank",
		"null", "not_null", "in", "in_or_null", "not_in", "not_in_or_null", "lt_any", "lteq_any", "gt_any",
		"gteq_any", "lt_all", "lteq_all", "gt_all", "gteq_all", "not_eq_all", "start", "not_start", "start_any",
		"start_all", "not_start_any", "not_start_all", "end", "not_end", "end_any", "end_all", "not_end_any",
		"not_end_all", "cont", "not_cont", "cont_any", "cont_all", "not_cont_all", "true", "false", "jcont"}
	slices.SortStableFunc(m, func(a, b string) int { return len(b) - len(a) })
	return m
}()

// listMatcher reports the matchers whose value is a comma list.
func listMatcher(m string) bool {
	return strings.HasSuffix(m, "_any") || strings.HasSuffix(m, "_all") || m == "in" || m == "not_in" ||
		m == "in_or_null" || m == "not_in_or_null"
}

// boolMatcher reports the matchers whose value is true or false.
func boolMatcher(m string) bool {
	return m == "true" || m == "false" || m == "present" || m == "blank" || m == "null" || m == "not_null"
}

func badParam(code, param, detail string) *apiError {
	return problem(http.StatusBadRequest, code, "Invalid parameter", detail).Param(param)
}

// parseQuery parses a raw query string (form encoding: brackets may be
// percent-encoded, + is a space). It never panics, whatever the input.
func parseQuery(raw string) (*query, error) {
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return nil, problem(http.StatusBadRequest, "BAD_REQUEST", "Malformed query string", "The query string is not valid form encoding.")
	}
	q := &query{fields: map[string]map[string]bool{}}
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the first error is the same at every run
	var errs apiErrors
	for _, k := range keys {
		v := vals[k]
		if k == "" {
			errs = append(errs, badParam("PARAM_NOT_ALLOWED", "(empty)", "A parameter has no name."))
			continue
		}
		if len(v) != 1 {
			errs = append(errs, badParam("PARAM_NOT_ALLOWED", k, "The parameter "+k+" is given more than once."))
			continue
		}
		if err := q.set(k, v[0]); err != nil {
			errs = append(errs, err)
		}
	}
	if len(q.filters) > maxQueryItems {
		errs = append(errs, badParam("PARAM_NOT_ALLOWED", "filter", "Too many filters."))
	}
	if err := errs.ErrOrNil(); err != nil {
		return nil, err
	}
	return q, nil
}

func (q *query) set(k, v string) *apiError {
	switch {
	case k == "include":
		return q.setInclude(v)
	case k == "sort":
		return q.setSort(v)
	case k == "page[number]":
		return setPage(&q.number, k, v, MaxPageNumber)
	case k == "page[size]":
		return setPage(&q.size, k, v, MaxPageSize)
	case strings.HasPrefix(k, "fields[") && strings.HasSuffix(k, "]"):
		return q.setFields(k, v)
	case strings.HasPrefix(k, "filter[q][") && strings.HasSuffix(k, "]"):
		return q.addPredicate(k, strings.TrimSuffix(strings.TrimPrefix(k, "filter[q]["), "]"), v)
	case strings.HasPrefix(k, "filter[") && strings.HasSuffix(k, "]") && !strings.Contains(k[7:len(k)-1], "["):
		return q.addNamedFilter(k, k[7:len(k)-1], v)
	}
	return badParam("PARAM_NOT_ALLOWED", k, "The parameter "+k+" is not allowed.")
}

// list splits a comma list, refusing empty items and overlong lists.
func list(param, v string) ([]string, *apiError) {
	items := strings.Split(v, ",")
	if len(items) > maxQueryItems {
		return nil, badParam("PARAM_NOT_ALLOWED", param, "The list of "+param+" is too long.")
	}
	if slices.Contains(items, "") {
		return nil, badParam("INVALID_FIELD_VALUE", param, "The list of "+param+" has an empty item.")
	}
	return items, nil
}

func (q *query) setInclude(v string) *apiError {
	paths, err := list("include", v)
	if err != nil {
		return err
	}
	q.include = includes{}
	for _, p := range paths {
		segs := strings.Split(p, ".")
		if len(segs) > maxIncludeLen || slices.Contains(segs, "") {
			return badParam("INVALID_INCLUDE", "include", "The include path "+strconv.Quote(p)+" is not valid.")
		}
		node := q.include
		for _, s := range segs {
			if node[s] == nil {
				node[s] = includes{}
			}
			node = node[s]
		}
	}
	return nil
}

func (q *query) setSort(v string) *apiError {
	keys, err := list("sort", v)
	if err != nil {
		return err
	}
	for _, k := range keys {
		desc := strings.HasPrefix(k, "-")
		q.sort = append(q.sort, sortKey{field: strings.TrimPrefix(k, "-"), desc: desc})
	}
	return nil
}

func setPage(dst *int, k, v string, maxV int) *apiError {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxV {
		return badParam("INVALID_PAGE_VALUE", k, k+" must be a whole number from 1 to "+strconv.Itoa(maxV)+".")
	}
	*dst = n
	return nil
}

func (q *query) setFields(k, v string) *apiError {
	typ := k[len("fields[") : len(k)-1]
	names, err := list(k, v)
	if err != nil {
		return err
	}
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[n] = true
	}
	q.fields[typ] = set
	return nil
}

// addPredicate parses filter[q][<attr>_<matcher>]: the longest matcher
// suffix names the matcher, the rest the attributes.
func (q *query) addPredicate(param, key, v string) *apiError {
	for _, m := range matchers {
		attr, ok := strings.CutSuffix(key, "_"+m)
		if !ok || attr == "" {
			continue
		}
		attrs := strings.Split(attr, "_or_")
		if slices.Contains(attrs, "") {
			break
		}
		values, err := predicateValues(param, m, v)
		if err != nil {
			return err
		}
		q.filters = append(q.filters, predicate{param: param, attrs: attrs, matcher: m, values: values})
		return nil
	}
	return badParam("FILTER_NOT_ALLOWED", param, "The filter "+strconv.Quote(key)+" has no known predicate (see filter[q] in the documentation).")
}

func predicateValues(param, m, v string) ([]string, *apiError) {
	switch {
	case listMatcher(m):
		return list(param, v)
	case boolMatcher(m):
		if _, err := strconv.ParseBool(v); err != nil {
			return nil, badParam("INVALID_FILTER_VALUE", param, "The filter "+param+" takes true or false.")
		}
	case m == "jcont":
		var obj map[string]any
		if err := DecodeJSON([]byte(v), &obj); err != nil || obj == nil {
			why := "The filter " + param + " takes a JSON object."
			if dup := (*DuplicateKeyError)(nil); errors.As(err, &dup) {
				why = "The filter " + param + " gives the member " + dup.Pointer + " more than once."
			}
			return nil, badParam("INVALID_FILTER_VALUE", param, why)
		}
	}
	return []string{v}, nil
}

// namedFilters are the filter[<name>] parameters of JSONAPI::Resources that
// are not filter[<attribute>] (status_eq): name → attribute and matcher.
var namedFilters = map[string][2]string{
	"ids":             {"id", "in"},
	"created_at_from": {"created_at", "gteq"},
	"created_at_to":   {"created_at", "lt"},
	"updated_at_from": {"updated_at", "gteq"},
	"updated_at_to":   {"updated_at", "lt"},
}

// addNamedFilter parses the JSONAPI::Resources filters filter[<name>]=v:
// filter[<attribute>] is <attribute>_eq (organization_id, role_id, status,
// ...), the others are those of namedFilters.
func (q *query) addNamedFilter(param, name, v string) *apiError {
	if name == "" {
		return badParam("FILTER_NOT_ALLOWED", param, "The filter "+param+" is not allowed.")
	}
	attr, m := name, "eq"
	if nf, ok := namedFilters[name]; ok {
		attr, m = nf[0], nf[1]
	}
	values, err := predicateValues(param, m, v)
	if err != nil {
		return err
	}
	q.filters = append(q.filters, predicate{param: param, attrs: []string{attr}, matcher: m, values: values})
	return nil
}

// condition maps the predicate onto the library's condition: the matcher's
// _or_null suffix is OrNull, its _any or _all suffix the Mode, the rest the
// predicate; the attributes pass as they are named (storage's allowlist of
// each list decides which it takes).
func (p predicate) condition() resource.Condition {
	m, orNull := strings.CutSuffix(p.matcher, "_or_null")
	mode := resource.One
	if base, ok := strings.CutSuffix(m, "_any"); ok {
		m, mode = base, resource.Any
	} else if base, ok := strings.CutSuffix(m, "_all"); ok {
		m, mode = base, resource.All
	}
	values := p.values
	if boolMatcher(m) { // parsed by predicateValues: TRUE, 1, t... become true
		b, _ := strconv.ParseBool(values[0])
		values = []string{strconv.FormatBool(b)}
	}
	return resource.Condition{Fields: p.attrs, Op: resource.Op(m), Values: values, Mode: mode, OrNull: orNull}
}

// listParams reports whether the query has parameters only lists take.
func (q *query) listParam() string {
	switch {
	case len(q.filters) > 0:
		return q.filters[0].param
	case q.sort != nil:
		return "sort"
	case q.number != 0:
		return "page[number]"
	case q.size != 0:
		return "page[size]"
	}
	return ""
}
