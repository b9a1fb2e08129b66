package httpapi

import (
	"context"

	"github.com/provisionkit/provisioning/resource"
)

// collect serves a list: the items of the page l asks for and the number
// of items of the whole (narrowed) list, in one facade call, where the
// database filters, sorts, skips the offset and counts. A list by
// organization without one (l.org "") runs across the caller's
// organizations: the facade decides which, as it does for one.
func (c *call) collect(ctx context.Context, k *kind, l listing) ([]object, int, error) {
	p, err := c.listPage(ctx, k, l.org, l.pr)
	return p.Items, p.Total, err
}

// all returns every item of a relationship's list (fixed: its conditions),
// by keyset pages: the linkage and included resources of a to-many include.
func (c *call) all(ctx context.Context, k *kind, fixed conds) ([]object, error) {
	org, where, _ := fixed.bind(k, "", nil, nil)
	var out []object
	pr := resource.PageRequest{Where: where, Limit: resource.MaxPageLimit}
	for {
		p, err := k.list(c.s, ctx, org, pr)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Items...)
		if p.Next == "" {
			return out, nil
		}
		pr.After = p.Next
	}
}
