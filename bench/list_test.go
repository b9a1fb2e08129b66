package bench_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/authz"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/resource"
)

// BenchmarkListPage lists a page of 25 of the big organization's members,
// filtered by status and role, in creation order: the first page and the
// 4,000th (the last), through the facade with the cursor, through the
// facade with a page number (an offset), and with the raw bun keyset query
// the cursor makes.
func BenchmarkListPage(b *testing.B) {
	for _, name := range datasetBackends() {
		b.Run(name, func(b *testing.B) {
			ds := openDataset(b, name)
			cache := authz.New()
			p, err := provisioning.New(ds.store, provisioning.WithAuthorizer(cache))
			if err != nil {
				b.Fatal(err)
			}
			s := p.As(provisioning.User(ds.bigOwner))
			ctx := context.Background()
			filter := func(pr resource.PageRequest) membership.Filter {
				return membership.Filter{OrganizationID: ds.bigOrg, Status: membership.Active, RoleID: ds.bigRO, PageRequest: pr}
			}
			// The cursor of page 4,000: the id of the last item of page 3,999.
			var lastOf3999 string
			if err := ds.db.NewSelect().Table("provisioning_memberships").Column("id").
				Where("organization_id = ? AND status = 'active' AND role_id = ?", ds.bigOrg, ds.bigRO).
				OrderExpr("id").Limit(1).Offset(3999*25-1).Scan(ctx, &lastOf3999); err != nil {
				b.Fatal(err)
			}
			cursor := resource.Cursor(lastOf3999)
			// The organization's policy is loaded once, before anything is
			// timed (BenchmarkColdStart times that).
			if _, err := s.ListMemberships(ctx, filter(resource.PageRequest{Limit: 1})); err != nil {
				b.Fatal(err)
			}
			waitCached(cache, ds.bigOrg) // answered from a slice until then
			for _, pg := range []struct {
				name  string
				pr    resource.PageRequest
				after string
				wantN int
			}{
				{"page=1", resource.PageRequest{Limit: 25}, "", 25},
				{"page=4000", resource.PageRequest{Limit: 25, After: cursor}, lastOf3999, 25},
			} {
				b.Run("cursor/"+pg.name, func(b *testing.B) {
					for b.Loop() {
						page, err := s.ListMemberships(ctx, filter(pg.pr))
						if err != nil || len(page.Items) != pg.wantN {
							b.Fatalf("%d items, %v", len(page.Items), err)
						}
					}
				})
				b.Run("rawbun/"+pg.name, func(b *testing.B) {
					for b.Loop() {
						var rows []rawMembership
						q := ds.db.NewSelect().Model(&rows).
							Where("m.organization_id = ? AND m.status = 'active' AND m.role_id = ?", ds.bigOrg, ds.bigRO)
						if pg.after != "" {
							q = q.Where("m.id > ?", pg.after)
						}
						if err := q.OrderExpr("m.id").Limit(26).Scan(ctx); err != nil || len(rows) < pg.wantN {
							b.Fatalf("%d rows, %v", len(rows), err)
						}
					}
				})
			}
			for _, number := range []int{1, 4000} {
				b.Run(fmt.Sprintf("offset/page=%d", number), func(b *testing.B) {
					for b.Loop() {
						page, err := s.ListMemberships(ctx, filter(resource.PageRequest{Limit: 25, Offset: (number - 1) * 25}))
						if err != nil || len(page.Items) != 25 {
							b.Fatalf("%d items, %v", len(page.Items), err)
						}
					}
				})
			}
		})
	}
}
