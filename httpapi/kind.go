package httpapi

import (
	"context"
	"maps"
	"slices"
	"strconv"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
)

// object is one domain value the engine serves, by pointer
// (*membership.Membership, ...).
type object = any

// conds are the equality conditions of a to-many relationship's list, keyed
// by wire attribute: organization_id (the library's filter field) and the
// attributes that link the items (role_id, resource_id, ...).
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
	// list is the facade's list call, in organization org (ignored by the
	// lists that are not orgScoped); pr carries the conditions, sort keys
	// and page, which storage checks against its allowlist of the list.
	list   func(s *provisioning.Session, ctx context.Context, org string, pr resource.PageRequest) (resource.Page[object], error)
	create func(in *input) action[object]
	update func(id string, in *input) action[object]
	del    func(s *provisioning.Session, ctx context.Context, id string) error
	// orgScoped: the library lists by organization; without an
	// organization_id condition the facade lists across the caller's
	// organizations.
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
	list      func(s *provisioning.Session, ctx context.Context, org string, pr resource.PageRequest) (resource.Page[T], error)
	create    func(in *input) action[*T]            // reads the body, returns the call
	update    func(id string, in *input) action[*T] // idem
	del       func(s *provisioning.Session, ctx context.Context, id string) error
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
		attrNames: map[string]bool{}, fieldRels: map[string]string{}}
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
	if sp.list != nil {
		k.list = func(s *provisioning.Session, ctx context.Context, org string, pr resource.PageRequest) (resource.Page[object], error) {
			p, err := sp.list(s, ctx, org, pr)
			out := resource.Page[object]{Items: make([]object, len(p.Items)), Next: p.Next, Total: p.Total}
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

// listing is a query bound to a kind's list: the library's page request
// (conditions, sort keys, offset, limit, count) and the organization of its
// filter struct.
type listing struct {
	org string // the filter's OrganizationID; "" for the caller's organizations
	pr  resource.PageRequest
	// params names the query parameter of each condition of pr.Where, for
	// the library's refusals (filter[i]); "" for a relationship's own.
	params       []string
	number, size int // page[number] and page[size]
}

// bindList maps the query onto k's list: every predicate onto a condition,
// the sort keys, page[number] and page[size] onto an offset and a limit
// with a count. Nothing is checked against an allowlist here: storage
// refuses what the list does not allow, and the refusal names the
// parameter (see inQuery). fixed are a relationship's conditions.
func (q *query) bindList(k *kind, fixed conds) listing {
	l := listing{org: fixed["organization_id"], number: max(q.number, 1), size: q.size}
	if l.size == 0 {
		l.size = DefaultPageSize
	}
	for _, p := range q.filters {
		c := p.condition()
		l.pr.Where = append(l.pr.Where, c)
		l.params = append(l.params, p.param)
		if l.org == "" && k.orgScoped && names(c, "organization_id") {
			l.org = c.Values[0] // also in Where: a second organization_id_eq narrows to nothing
		}
	}
	l.org, l.pr.Where, l.params = fixed.bind(k, l.org, l.pr.Where, l.params)
	for _, s := range q.sort {
		l.pr.Sort = append(l.pr.Sort, resource.SortKey{Field: s.field, Desc: s.desc})
	}
	l.pr.Offset, l.pr.Limit, l.pr.Count = (l.number-1)*l.size, l.size, true
	return l
}

// names reports whether c is attr_eq with one value (filter[attr] too).
func names(c resource.Condition, attr string) bool {
	return len(c.Fields) == 1 && c.Fields[0] == attr && c.Op == resource.Eq && c.Mode == resource.One &&
		!c.OrNull && len(c.Values) == 1
}

// bind adds a relationship's conditions to a list of k: organization_id as
// the organization of the library's filter (when k lists by organization),
// the others as equality conditions after where, without a parameter.
func (cs conds) bind(k *kind, org string, where []resource.Condition, params []string) (string, []resource.Condition, []string) {
	for _, f := range slices.Sorted(maps.Keys(cs)) {
		if f == "organization_id" && k.orgScoped {
			org = cs[f]
			continue
		}
		where = append(where, resource.Condition{Fields: []string{f}, Op: resource.Eq, Values: []string{cs[f]}})
		params = append(params, "")
	}
	return org, where, params
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
	return errs.ErrOrNil()
}

// errNotListable answers list-only parameters on other endpoints.
func errNotListable(param string) *apiError {
	return badParam("PARAM_NOT_ALLOWED", param, "The parameter "+param+" applies to lists only.")
}
