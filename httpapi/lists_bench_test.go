package httpapi

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/storage/bunstore"
	"github.com/provisionkit/provisioning/storage/storagetest"
	"github.com/provisionkit/provisioning/user"
)

// BenchmarkListAcrossOrganizations serves GET /api/memberships without an
// organization, sorted by email, for a user of benchOrgs organizations of
// benchMembers memberships each: the first page and a deep one (an offset
// of 75% of the list), as the handler served it before (one facade call per
// organization, each reading up to offset+size items, merged in Go:
// mergeBefore, kept here as the baseline) and as it does now (one facade
// call, one query, the database sorting and skipping the offset: collect).
// Both answer the same page, checked before timing.
func BenchmarkListAcrossOrganizations(b *testing.B) {
	const benchOrgs, benchMembers, size = 20, 100, 25
	for _, backend := range []string{"sqlite", "postgres"} {
		open, ok := storagetest.Backends()[backend]
		if !ok {
			continue
		}
		b.Run(backend, func(b *testing.B) {
			ctx := context.Background()
			store, err := bunstore.New(open(b))
			if err != nil {
				b.Fatal(err)
			}
			if err := store.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			p, err := provisioning.New(store)
			if err != nil {
				b.Fatal(err)
			}
			u, err := p.System().CreateUser(ctx, user.Create{Email: "owner@example.com", EmailVerified: true})
			if err != nil {
				b.Fatal(err)
			}
			s := p.As(provisioning.User(u.ID))
			for o := range benchOrgs {
				org, err := s.CreateOrganization(ctx, organization.Create{Name: fmt.Sprintf("Org %02d", o)})
				if err != nil {
					b.Fatal(err)
				}
				ro, err := s.ListRoles(ctx, role.Filter{OrganizationID: org.ID, Kind: role.KindReadOnly})
				if err != nil || len(ro.Items) != 1 {
					b.Fatalf("read-only role: %v", err)
				}
				invites := make([]membership.Invite, benchMembers)
				for i := range invites { // interleaved across organizations by email
					invites[i] = membership.Invite{UserEmail: fmt.Sprintf("m%04d@acme.test", i*benchOrgs+o), RoleID: ro.Items[0].ID}
				}
				if _, err := s.InviteMany(ctx, org.ID, invites); err != nil {
					b.Fatal(err)
				}
			}
			k := memberships.kind()
			c := &call{h: &Handler{}, s: s, pr: provisioning.User(u.ID)}
			total := benchOrgs * (benchMembers + 1) // and the owner's membership in each
			for _, offset := range []int{0, total * 3 / 4} {
				pr := resource.PageRequest{Sort: []resource.SortKey{{Field: "user_email"}}, Offset: offset, Limit: size, Count: true}
				before := func() ([]object, int, error) {
					orgs, err := c.organizationsBefore(ctx)
					if err != nil {
						return nil, 0, err
					}
					return c.mergeBefore(ctx, k, orgs, pr)
				}
				after := func() ([]object, int, error) { return c.collect(ctx, k, listing{pr: pr}) }
				got, n, err := after()
				if err != nil || n != total || len(got) != size {
					b.Fatalf("offset %d: %d items of %d, %v; want %d of %d", offset, len(got), n, err, size, total)
				}
				was, _, err := before()
				if err != nil || !slices.EqualFunc(got, was, func(x, y object) bool { return k.id(x) == k.id(y) }) {
					b.Fatalf("offset %d: the one query and the merge answer different pages (%v)", offset, err)
				}
				for _, run := range []struct {
					name string
					fn   func() ([]object, int, error)
				}{{"merge", before}, {"one-query", after}} {
					b.Run(fmt.Sprintf("offset=%d/%s", offset, run.name), func(b *testing.B) {
						for b.Loop() {
							if _, _, err := run.fn(); err != nil {
								b.Fatal(err)
							}
						}
					})
				}
			}
		})
	}
}

// mergeBefore is how a list over several organizations was served before
// the facade listed across organizations in one query: the facade lists one
// organization at a time. The total is the sum of each organization's
// count. The page is a merge of the organizations' lists, each in the
// list's order from the database, of which the merge reads at most
// offset+size items per organization (pages of up to
// resource.MaxPageLimit): a walk linear in the offset, in Go, where the
// one-organization list has an OFFSET query. The merge compares the values
// of the sort keys as Go does (byte order, nulls first), then ids, which
// may differ from the database's collation: the pages then interleave the
// organizations differently from a single sorted query, but every item is
// still on exactly one page and the counts are exact.
func (c *call) mergeBefore(ctx context.Context, k *kind, orgs []string, pr resource.PageRequest) ([]object, int, error) {
	need := pr.Offset + pr.Limit
	streams := make([]*orgList, len(orgs))
	total := 0
	for i, org := range orgs {
		streams[i] = &orgList{k: k, org: org, pr: pr, left: need}
		if err := streams[i].fill(ctx, c, true); err != nil {
			return nil, 0, err
		}
		total += streams[i].total
	}
	var page []object
	for n := 0; n < need; n++ {
		best := -1
		for i, s := range streams {
			if len(s.buf) > 0 && (best < 0 || compareKeys(s.buf[0].keys, streams[best].buf[0].keys, pr.Sort) < 0) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		s := streams[best]
		v := s.buf[0]
		s.buf = s.buf[1:]
		if len(s.buf) == 0 {
			if err := s.fill(ctx, c, false); err != nil {
				return nil, 0, err
			}
		}
		if n >= pr.Offset {
			page = append(page, v.obj)
		}
	}
	return page, total, nil
}

// orgList reads one organization's part of a merged list, in order, by
// offset pages.
type orgList struct {
	k     *kind
	org   string
	pr    resource.PageRequest // the list's conditions and sort keys
	next  int                  // the offset of the next page
	left  int                  // items the merge may still need from here
	done  bool
	buf   []keyed
	total int // the organization's count
}

// keyed is an item and the values the merge compares: the sort keys', then
// the id.
type keyed struct {
	obj  object
	keys []any
}

// fill reads the next page of l (counting the list with count).
func (l *orgList) fill(ctx context.Context, c *call, count bool) error {
	if l.done || l.left <= 0 {
		l.done = true
		return nil
	}
	size := min(l.left, resource.MaxPageLimit)
	p, err := c.listPage(ctx, l.k, l.org, resource.PageRequest{Where: l.pr.Where, Sort: l.pr.Sort, Offset: l.next, Limit: size, Count: count})
	if err != nil {
		return err
	}
	if count {
		l.total = p.Total
	}
	for _, v := range p.Items {
		l.buf = append(l.buf, keyed{obj: v, keys: sortValues(l.k, v, l.pr.Sort)})
	}
	l.next += len(p.Items)
	l.left -= len(p.Items)
	l.done = len(p.Items) < size
	return nil
}

// sortValues returns the values of v the merge compares: each sort key's
// (its attribute on the wire, or the id a relationship links to for
// <relationship>_id; nil when v has neither), then the id.
func sortValues(k *kind, v object, keys []resource.SortKey) []any {
	out := make([]any, 0, len(keys)+1)
	var attrs map[string]any
	for _, key := range keys {
		if attrs == nil {
			attrs = k.attrs(v)
		}
		val, ok := attrs[key.Field]
		if !ok && key.Field == "id" {
			val = k.id(v)
		} else if r := k.rel(strings.TrimSuffix(key.Field, "_id")); !ok && r != nil && r.one != nil {
			val = nullable(r.one(v))
		}
		out = append(out, val)
	}
	return append(out, k.id(v))
}

// compareKeys orders two items of a merged list: by the sort keys (each
// ascending or descending), then by id, ascending, as storage does.
func compareKeys(a, b []any, keys []resource.SortKey) int {
	for i, key := range keys {
		if d := compareValues(a[i], b[i]); d != 0 {
			if key.Desc {
				return -d
			}
			return d
		}
	}
	return compareValues(a[len(a)-1], b[len(b)-1])
}

// compareValues orders two attribute values: null first, then false before
// true, numbers by value, text (and times, which the wire writes in one
// fixed format) by bytes.
func compareValues(a, b any) int {
	if a == nil || b == nil {
		return cmp.Compare(nonNil(a), nonNil(b))
	}
	x, y := reflect.ValueOf(a), reflect.ValueOf(b)
	switch {
	case x.Kind() == reflect.Bool && y.Kind() == reflect.Bool:
		return cmp.Compare(boolInt(x.Bool()), boolInt(y.Bool()))
	case x.CanInt() && y.CanInt():
		return cmp.Compare(x.Int(), y.Int())
	case x.CanFloat() && y.CanFloat():
		return cmp.Compare(x.Float(), y.Float())
	case x.Kind() == reflect.String && y.Kind() == reflect.String:
		return strings.Compare(x.String(), y.String())
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

func nonNil(v any) int {
	if v == nil {
		return 0
	}
	return 1
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// organizationsBefore returns the ids of the caller's organizations, as
// the merge read them.
func (c *call) organizationsBefore(ctx context.Context) ([]string, error) {
	var ids []string
	pr := resource.PageRequest{Limit: resource.MaxPageLimit}
	for {
		page, err := c.s.OrganizationIDs(ctx, pr)
		if err != nil {
			return nil, err
		}
		ids = append(ids, page.Items...)
		if page.Next == "" {
			return ids, nil
		}
		pr.After = page.Next
	}
}
