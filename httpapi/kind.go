package httpapi

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
)

// object is one domain value the engine serves, by pointer
// (*membership.Membership, ...).
type object = any

// conds are equality conditions on a list, keyed by wire attribute
// (organization_id, status, ...): the fields of the library's filter structs.
type conds map[string]string

// kind describes one resource type on the wire and the facade calls that
// serve it. Every kind is made from a typed spec (see spec).
type kind struct {
	typ   string
	id    func(object) string
	attrs func(object) map[string]any
	rels  []*rel
	// attrNames are every attribute of the type, for sparse fieldsets and
	// for telling a read-only attribute from an unknown one.
	attrNames map[string]bool
	get       func(s *provisioning.Session, ctx context.Context, id string) (object, error)
	list      func(s *provisioning.Session, ctx context.Context, c conds, pr resource.PageRequest) (resource.Page[object], error)
	create    func(in *input) action[object]
	update    func(id string, in *input) action[object]
	del       func(s *provisioning.Session, ctx context.Context, id string) error
	// filters is the allowlist: a predicate (name_eq, or the named filter
	// organization_id) → the condition it sets.
	filters map[string]string
	// orgScoped: the library lists one organization at a time; without an
	// organization_id condition the list runs over the caller's organizations.
	orgScoped bool
	// fieldRels maps the library's field names that are relationships to
	// their names, for error pointers.
	fieldRels map[string]string
}

// rel is a relationship: to-one (one gives the linked id) or to-many (many
// gives the conditions of the target's list).
type rel struct {
	name   string
	target string
	one    func(object) string
	many   func(object) conds
}

// linked returns the id a to-one relationship links to, "" for none or for
// a to-many relationship.
func (r *rel) linked(v object) string {
	if r.one == nil {
		return ""
	}
	return r.one(v)
}

func (k *kind) rel(name string) *rel {
	for _, r := range k.rels {
		if r.name == name {
			return r
		}
	}
	return nil
}

// spec is the typed description of a kind.
type spec[T any] struct {
	typ       string
	id        func(*T) string
	attrs     func(*T) map[string]any
	rels      []relSpec[T]
	get       func(s *provisioning.Session, ctx context.Context, id string) (*T, error)
	list      func(s *provisioning.Session, ctx context.Context, c conds, pr resource.PageRequest) (resource.Page[T], error)
	create    func(in *input) action[*T]            // reads the body, returns the call
	update    func(id string, in *input) action[*T] // idem
	del       func(s *provisioning.Session, ctx context.Context, id string) error
	filters   []string          // attributes filterable with _eq (and filter[<attr>])
	extra     map[string]string // other predicates → conditions
	orgScoped bool
	fieldRels map[string]string // library field → relationship, beside the relationships' own names
}

type relSpec[T any] struct {
	name, target string
	one          func(*T) string
	many         func(*T) conds
}

func toOne[T any](name, target string, one func(*T) string) relSpec[T] {
	return relSpec[T]{name: name, target: target, one: one}
}

func toMany[T any](name, target string, many func(*T) conds) relSpec[T] {
	return relSpec[T]{name: name, target: target, many: many}
}

// kind erases the spec's type.
func (sp spec[T]) kind() *kind {
	k := &kind{typ: sp.typ, del: sp.del, orgScoped: sp.orgScoped,
		id:    func(v object) string { return sp.id(v.(*T)) },
		attrs: func(v object) map[string]any { return sp.attrs(v.(*T)) },
		get: func(s *provisioning.Session, ctx context.Context, id string) (object, error) {
			return nilSafe(sp.get(s, ctx, id))
		},
		attrNames: map[string]bool{}, filters: map[string]string{}, fieldRels: map[string]string{}}
	for name := range sp.attrs(new(T)) {
		k.attrNames[name] = true
	}
	for _, r := range sp.rels {
		kr := &rel{name: r.name, target: r.target}
		if r.one != nil {
			kr.one = func(v object) string { return r.one(v.(*T)) }
		}
		if r.many != nil {
			kr.many = func(v object) conds { return r.many(v.(*T)) }
		}
		k.rels = append(k.rels, kr)
		k.fieldRels[r.name] = r.name
	}
	for f, r := range sp.fieldRels {
		k.fieldRels[f] = r
	}
	for _, f := range sp.filters {
		k.filters[f+"_eq"], k.filters[f] = f, f
	}
	for p, c := range sp.extra {
		k.filters[p] = c
	}
	if sp.list != nil {
		k.list = func(s *provisioning.Session, ctx context.Context, c conds, pr resource.PageRequest) (resource.Page[object], error) {
			p, err := sp.list(s, ctx, c, pr)
			out := resource.Page[object]{Items: make([]object, len(p.Items)), Next: p.Next}
			for i := range p.Items {
				out.Items[i] = &p.Items[i]
			}
			return out, err
		}
	}
	if sp.create != nil {
		k.create = func(in *input) action[object] { return erase(sp.create(in)) }
	}
	if sp.update != nil {
		k.update = func(id string, in *input) action[object] { return erase(sp.update(id, in)) }
	}
	return k
}

// action is a facade call made from a request body, run once the body was
// read whole (see input.finish).
type action[T any] func(ctx context.Context, s *provisioning.Session) (T, error)

func erase[T any](a action[*T]) action[object] {
	return func(ctx context.Context, s *provisioning.Session) (object, error) { return nilSafe(a(ctx, s)) }
}

// nilSafe keeps a nil *T from becoming a non-nil object.
func nilSafe[T any](v *T, err error) (object, error) {
	if v == nil || err != nil {
		return nil, err
	}
	return v, nil
}

func isNotFound(err error) bool { return err != nil && fault.KindOf(err) == fault.NotFound }

// listing is a query bound to a kind's list.
type listing struct {
	conds  conds
	empty  bool // two conditions on one field contradict each other
	window window
}

// bindList checks the query against k's list: filters through the
// allowlist, sort keys, page; the fixed conditions (of a relationship) are
// ANDed with the filters.
func (q *query) bindList(k *kind, fixed conds) (listing, error) {
	l := listing{conds: conds{}}
	var errs apiErrors
	set := func(c, v string) {
		if old, ok := l.conds[c]; ok && old != v {
			l.empty = true
		}
		l.conds[c] = v
	}
	for c, v := range fixed {
		set(c, v)
	}
	for _, p := range q.filters {
		c, err := k.condition(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		set(c, p.values[0])
	}
	desc, err := k.sortOrder(q.sort)
	if err != nil {
		errs = append(errs, err)
	}
	l.window = window{number: max(q.number, 1), size: q.size, desc: desc}
	if l.window.size == 0 {
		l.window.size = DefaultPageSize
	}
	return l, errs.errOrNil()
}

// condition maps a predicate onto the library's filter through the
// allowlist. What the library cannot filter by is refused, never filtered
// in memory.
func (k *kind) condition(p predicate) (string, *apiError) {
	key := p.attrs[0]
	if p.matcher != "" {
		key += "_" + p.matcher
	}
	c, ok := k.filters[key]
	if ok && len(p.attrs) == 1 && len(p.values) == 1 {
		return c, nil
	}
	return "", badParam("FILTER_NOT_ALLOWED", p.param, "The library cannot filter "+k.typ+" by "+strconv.Quote(p.param)+"; "+k.filterHint())
}

// filterHint lists the filters k supports.
func (k *kind) filterHint() string {
	var qs []string
	for f := range k.filters {
		if slices.ContainsFunc(matchers, func(m string) bool { return strings.HasSuffix(f, "_"+m) }) {
			qs = append(qs, f)
		}
	}
	if len(qs) == 0 {
		return "it takes no filter."
	}
	slices.Sort(qs)
	return "supported: filter[q][x] for x in " + strings.Join(qs, ", ") + " (also filter[<attribute>] for each _eq)."
}

// sortOrder checks the sort keys: the library lists by id, which is
// creation order, so id and created_at are the sortable fields. It reports
// whether the order is descending.
func (k *kind) sortOrder(keys []sortKey) (bool, *apiError) {
	for _, s := range keys {
		if s.field != "id" && s.field != "created_at" {
			return false, badParam("INVALID_SORT_CRITERIA", "sort", "The library cannot sort "+k.typ+" by "+strconv.Quote(s.field)+
				"; lists are sorted by id or created_at (creation order), ascending or descending.")
		}
	}
	if len(keys) == 0 {
		return false, nil
	}
	return keys[0].desc, nil
}

// bindShape checks include and fields against k (every endpoint).
func (q *query) bindShape(kinds map[string]*kind, k *kind) error {
	var errs apiErrors
	var walk func(k *kind, inc includes, path string)
	walk = func(k *kind, inc includes, path string) {
		for name, sub := range inc {
			r := k.rel(name)
			if r == nil {
				errs = append(errs, badParam("INVALID_INCLUDE", "include", strconv.Quote(path+name)+" is not a relationship of "+k.typ+"."))
				continue
			}
			walk(kinds[r.target], sub, path+name+".")
		}
	}
	walk(k, q.include, "")
	for typ, names := range q.fields {
		fk := kinds[typ]
		if fk == nil {
			errs = append(errs, badParam("INVALID_FIELD", "fields["+typ+"]", strconv.Quote(typ)+" is not a resource type."))
			continue
		}
		for n := range names {
			if n != "id" && !fk.attrNames[n] && fk.rel(n) == nil {
				errs = append(errs, badParam("INVALID_FIELD", "fields["+typ+"]", strconv.Quote(n)+" is not a field of "+typ+"."))
			}
		}
	}
	return errs.errOrNil()
}

// errNotListable answers list-only parameters on other endpoints.
func errNotListable(param string) *apiError {
	return badParam("PARAM_NOT_ALLOWED", param, "The parameter "+param+" applies to lists only.")
}
