package httpapi

import (
	"context"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/resource"
)

// window is the page of a list a request asks for: page[number] and
// page[size] over the list in ascending or descending id order. size -1
// asks for every item.
type window struct {
	number, size int
	desc         bool
}

// stream yields the items of a list in ascending id order; ok is false
// after the last one.
type stream func(ctx context.Context) (v object, ok bool, err error)

// pages streams a list by walking its keyset pages, the largest the
// library serves at a time.
func pages(list func(ctx context.Context, pr resource.PageRequest) (resource.Page[object], error)) stream {
	var buf []object
	next, done := "", false
	return func(ctx context.Context) (object, bool, error) {
		for len(buf) == 0 {
			if done {
				return nil, false, nil
			}
			p, err := list(ctx, resource.PageRequest{After: next, Limit: resource.MaxPageLimit})
			if err != nil {
				return nil, false, err
			}
			buf, next, done = p.Items, p.Next, p.Next == ""
		}
		v := buf[0]
		buf = buf[1:]
		return v, true, nil
	}
}

// merge streams the union of streams in ascending id order (each is
// ascending already): a list over several organizations.
func merge(id func(object) string, streams []stream) stream {
	heads := make([]object, len(streams))
	live := make([]bool, len(streams))
	started := false
	return func(ctx context.Context) (object, bool, error) {
		if !started {
			started = true
			for i, s := range streams {
				v, ok, err := s(ctx)
				if err != nil {
					return nil, false, err
				}
				heads[i], live[i] = v, ok
			}
		}
		best := -1
		for i := range streams {
			if live[i] && (best < 0 || id(heads[i]) < id(heads[best])) {
				best = i
			}
		}
		if best < 0 {
			return nil, false, nil
		}
		v := heads[best]
		next, ok, err := streams[best](ctx)
		if err != nil {
			return nil, false, err
		}
		heads[best], live[best] = next, ok
		return v, true, nil
	}
}

// take walks the whole stream, counting its items, and keeps those of the
// window. Ascending, it keeps the window's items as they pass; descending,
// the last number*size items (a ring), whose oldest are the page.
func take(ctx context.Context, s stream, w window) ([]object, int, error) {
	if w.size < 0 {
		w = window{number: 1, size: int(^uint(0) >> 1)}
	}
	lo := (w.number - 1) * w.size
	var kept []object
	total, start := 0, 0
	keep := w.number * w.size
	for {
		v, ok, err := s(ctx)
		if err != nil {
			return nil, 0, err
		}
		if !ok {
			break
		}
		switch {
		case !w.desc && total >= lo && total < lo+w.size:
			kept = append(kept, v)
		case w.desc && len(kept) < keep:
			kept = append(kept, v)
		case w.desc:
			kept[start] = v
			start = (start + 1) % len(kept)
		}
		total++
	}
	if !w.desc {
		return kept, total, nil
	}
	kept = append(kept[start:], kept[:start]...) // oldest first: ascending indexes total-len(kept) ...
	first := total - len(kept)
	from, to := max(total-keep, 0)-first, total-lo-first
	if to <= 0 {
		return nil, total, nil
	}
	page := kept[from:to]
	for i, j := 0, len(page)-1; i < j; i, j = i+1, j-1 {
		page[i], page[j] = page[j], page[i]
	}
	return page, total, nil
}

// collect lists k with conditions c: the window's items and the total.
// The total (meta.record_count) and page numbers walk the whole list: the
// library counts nothing and pages by keyset (see the package documentation).
func (c *call) collect(ctx context.Context, k *kind, cs conds, w window) ([]object, int, error) {
	list := func(cs conds) stream {
		return pages(func(ctx context.Context, pr resource.PageRequest) (resource.Page[object], error) {
			return k.list(c.s, ctx, cs, pr)
		})
	}
	if !k.orgScoped || cs["organization_id"] != "" {
		return take(ctx, list(cs), w)
	}
	orgs, err := c.organizations(ctx)
	if err != nil {
		return nil, 0, err
	}
	streams := make([]stream, len(orgs))
	for i, org := range orgs {
		scoped := conds{"organization_id": org}
		for f, v := range cs {
			scoped[f] = v
		}
		streams[i] = list(scoped)
	}
	return take(ctx, merge(k.id, streams), w)
}

// organizations returns the ids of the caller's organizations: a user's
// active memberships', an API credential's own.
func (c *call) organizations(ctx context.Context) ([]string, error) {
	pr := c.s.Principal()
	if pr.Kind == access.KindCredential {
		cred, err := c.s.GetCredential(ctx, pr.ID)
		if err != nil {
			return nil, err
		}
		return []string{cred.OrganizationID}, nil
	}
	s := pages(func(ctx context.Context, p resource.PageRequest) (resource.Page[object], error) {
		page, err := c.s.ListOrganizations(ctx, organization.Filter{PageRequest: p})
		out := resource.Page[object]{Next: page.Next}
		for _, o := range page.Items {
			out.Items = append(out.Items, o.ID)
		}
		return out, err
	})
	var ids []string
	for {
		v, ok, err := s(ctx)
		if err != nil || !ok {
			return ids, err
		}
		ids = append(ids, v.(string))
	}
}
