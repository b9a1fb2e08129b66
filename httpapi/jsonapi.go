package httpapi

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"time"

	"github.com/provisionkit/provisioning/internal/httpx"
)

// MediaType is the JSON:API media type of every request and response body.
const MediaType = httpx.JSONAPIMediaType

// resourceObject is a JSON:API resource object of a response.
type resourceObject struct {
	ID            string                   `json:"id"`
	Type          string                   `json:"type"`
	Links         map[string]string        `json:"links"`
	Attributes    map[string]any           `json:"attributes"`
	Relationships map[string]*relationship `json:"relationships"`
}

type identifier struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// relationship is a relationship object: links always, data (linkage) only
// for the included relationships, as Commerce Layer does.
type relationship struct {
	Links map[string]string `json:"links"`
	Data  *linkage          `json:"data,omitempty"`
}

// linkage is the data of a relationship: null or one identifier (to-one),
// an array (to-many).
type linkage struct {
	one  *identifier
	many []identifier
	list bool
}

func (l linkage) MarshalJSON() ([]byte, error) {
	if l.list {
		if l.many == nil {
			return []byte("[]"), nil
		}
		return json.Marshal(l.many)
	}
	return json.Marshal(l.one)
}

// document is a top-level response document.
type document struct {
	Data     any               `json:"data"`
	Included []*resourceObject `json:"included,omitempty"`
	Meta     map[string]any    `json:"meta,omitempty"`
	Links    map[string]string `json:"links,omitempty"`
}

// timeValue formats a time as the wire does (UTC, milliseconds); zero is null.
func timeValue(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// nullable makes "" null.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// jsonObject maps a JSON object; nil is null.
func jsonObject(m map[string]any) any {
	if m == nil {
		return nil
	}
	return m
}

// encoder builds the resource objects of one response, with the included
// resources the include tree asks for, each once.
type encoder struct {
	c        *call
	objects  map[identifier]*resourceObject
	included []*resourceObject
	fetched  map[identifier]object
}

func newEncoder(c *call) *encoder {
	return &encoder{c: c, objects: map[identifier]*resourceObject{}, fetched: map[identifier]object{}}
}

// primary encodes the primary data: it is never repeated in included.
func (e *encoder) primary(ctx context.Context, k *kind, items []object) ([]*resourceObject, error) {
	out := make([]*resourceObject, len(items))
	for i, v := range items {
		ro := e.build(k, v)
		e.objects[identifier{k.typ, ro.ID}] = ro
		out[i] = ro
	}
	for i, v := range items {
		if err := e.fill(ctx, k, v, out[i], e.c.q.include); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// build makes a resource object with the fields the sparse fieldset keeps.
func (e *encoder) build(k *kind, v object) *resourceObject {
	id := k.id(v)
	self := e.c.base + "/api/" + k.typ + "/" + id
	keep := e.c.q.fields[k.typ]
	attrs := k.attrs(v)
	for name := range attrs {
		if keep != nil && !keep[name] {
			delete(attrs, name)
		}
	}
	rels := make(map[string]*relationship, len(k.rels))
	for _, r := range k.rels {
		if keep == nil || keep[r.name] {
			rels[r.name] = &relationship{Links: map[string]string{
				"self": self + "/relationships/" + r.name, "related": self + "/" + r.name}}
		}
	}
	return &resourceObject{ID: id, Type: k.typ, Links: map[string]string{"self": self}, Attributes: attrs, Relationships: rels}
}

// fill sets the linkage of the relationships in inc on ro and includes
// their resources, recursively.
func (e *encoder) fill(ctx context.Context, k *kind, v object, ro *resourceObject, inc includes) error {
	for name, sub := range inc {
		r := k.rel(name)
		target := e.c.h.kinds[r.target]
		related, err := e.related(ctx, r, target, v)
		if err != nil {
			return err
		}
		l := &linkage{list: r.many != nil}
		if id := r.linked(v); id != "" {
			l.one = &identifier{target.typ, id}
		}
		for _, rv := range related {
			id := identifier{target.typ, target.id(rv)}
			if l.list {
				l.many = append(l.many, id)
			}
			obj, ok := e.objects[id]
			if !ok {
				obj = e.build(target, rv)
				e.objects[id] = obj
				e.included = append(e.included, obj)
			}
			if err := e.fill(ctx, target, rv, obj, sub); err != nil {
				return err
			}
		}
		if rel, ok := ro.Relationships[name]; ok {
			rel.Data = l
		}
	}
	return nil
}

// related fetches what relationship r of v links to: every item of a
// to-many one, the one item (or none) of a to-one one. A to-one resource the
// caller may not read is linked to nothing.
func (e *encoder) related(ctx context.Context, r *rel, target *kind, v object) ([]object, error) {
	if r.many != nil {
		return e.c.all(ctx, target, r.many(v))
	}
	id := r.one(v)
	if id == "" {
		return nil, nil
	}
	key := identifier{target.typ, id}
	if rv, ok := e.fetched[key]; ok {
		return []object{rv}, nil
	}
	rv, err := target.get(e.c.s, ctx, id)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	e.fetched[key] = rv
	return []object{rv}, nil
}

// pageLinks returns the first, prev, next and last links of a page of a
// list, keeping the request's other parameters.
func pageLinks(base string, u *url.URL, number, size, pages int) map[string]string {
	link := func(n int) string {
		q := u.Query()
		q.Set("page[number]", strconv.Itoa(n))
		q.Set("page[size]", strconv.Itoa(size))
		return base + u.Path + "?" + q.Encode()
	}
	last := max(pages, 1)
	out := map[string]string{"first": link(1), "last": link(last)}
	if number > 1 {
		out["prev"] = link(min(number-1, last))
	}
	if number < pages {
		out["next"] = link(number + 1)
	}
	return out
}
