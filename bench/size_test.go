package bench_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/casbin/casbin/v2"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/authz"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

// BenchmarkBySize measures, for organizations of 88, 1,000, 10,000 and
// 100,400 memberships of the large dataset, what should not grow with the
// organization:
//
//   - check: a read-only member asks whether it may read memberships. Ours
//     through the facade (Session.Can: one read of the policy revision,
//     then the in-memory decision) and the decision alone
//     (Authorizer.Decide); the baseline is a stock Casbin Enforcer holding
//     that organization's lines only, asked the same question again and
//     again (the most favourable stock setup: one enforcer per organization,
//     its g() memo warm).
//   - page: the last page of 25 of the organization's memberships, in
//     creation order: ours with the cursor and with a page number (an SQL
//     OFFSET, the JSON:API page-number path), and the raw bun keyset query.
func BenchmarkBySize(b *testing.B) {
	for _, name := range datasetBackends() {
		b.Run(name, func(b *testing.B) {
			ds := openDataset(b, name)
			ctx := context.Background()
			cache := authz.New()
			p, err := provisioning.New(ds.store, provisioning.WithAuthorizer(cache))
			if err != nil {
				b.Fatal(err)
			}
			for i, size := range []int{membersOf(len(sizedOrgs)), sizedOrgs[2], sizedOrgs[1], sizedOrgs[0]} {
				org := orgID([]int{len(sizedOrgs), 2, 1, 0}[i])
				var member string
				if err := ds.db.NewSelect().Table("provisioning_memberships").Column("user_id").
					Where("organization_id = ? AND role_id = ? AND status = 'active'", org, roleID(orgIndex(org), 1)).
					OrderExpr("id").Limit(1).Scan(ctx, &member); err != nil {
					b.Fatal(err)
				}
				s := p.As(provisioning.User(member))
				if ok, err := s.Can(ctx, org, "memberships", role.ActionRead); err != nil || !ok {
					b.Fatalf("%s: read-only member cannot read: %v", org, err)
				}
				waitCached(cache, org) // a large organization loads in the background
				b.Run(fmt.Sprintf("check/org=%d/ours-facade", size), func(b *testing.B) {
					for b.Loop() {
						if ok, err := s.Can(ctx, org, "memberships", role.ActionRead); err != nil || !ok {
							b.Fatal(ok, err)
						}
					}
				})
				a := authz.New()
				rev, err := ds.store.Access().Revision(ctx, org)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := a.Check(ctx, ds.store.Access(), provisioning.User(member), org, "memberships", role.ActionRead); err != nil {
					b.Fatal(err)
				}
				waitCached(a, org)
				b.Run(fmt.Sprintf("check/org=%d/ours-decide", size), func(b *testing.B) {
					for b.Loop() {
						if d, ok := a.Decide(provisioning.User(member), org, rev, "memberships", role.ActionRead); !ok || !d.Allowed {
							b.Fatal(d, ok)
						}
					}
				})
				b.Run(fmt.Sprintf("check/org=%d/stock-enforcer-per-org", size), func(b *testing.B) {
					snap, err := ds.store.Access().Snapshot(ctx, org)
					if err != nil {
						b.Fatal(err)
					}
					pl, gl, err := authz.Lines(snap)
					if err != nil {
						b.Fatal(err)
					}
					var lines [][]string
					for _, l := range pl {
						lines = append(lines, append([]string{"p"}, l...))
					}
					for _, l := range gl {
						lines = append(lines, append([]string{"g"}, l...))
					}
					e, err := casbin.NewEnforcer(stockModel(b), &arrayAdapter{rules: lines})
					if err != nil {
						b.Fatal(err)
					}
					for b.Loop() {
						if ok, err := e.Enforce("user:"+member, "org:"+org, "memberships", "read"); err != nil || !ok {
							b.Fatal(ok, err)
						}
					}
				})

				// The last page: the cursor is the id of the item before it.
				n := size - 25
				var before string
				if err := ds.db.NewSelect().Table("provisioning_memberships").Column("id").Where("organization_id = ?", org).
					OrderExpr("id").Limit(1).Offset(int64(n-1)).Scan(ctx, &before); err != nil {
					b.Fatal(err)
				}
				owner := p.As(provisioning.User(ownerAmong(orgIndex(org))))
				list := func(pr resource.PageRequest) {
					page, err := owner.ListMemberships(ctx, membership.Filter{OrganizationID: org, PageRequest: pr})
					if err != nil || len(page.Items) != 25 {
						b.Fatalf("%d items, %v", len(page.Items), err)
					}
				}
				if _, err := owner.ListMemberships(ctx, membership.Filter{OrganizationID: org}); err != nil {
					b.Fatal(err)
				}
				b.Run(fmt.Sprintf("page/org=%d/ours-cursor", size), func(b *testing.B) {
					for b.Loop() {
						list(resource.PageRequest{Limit: 25, After: resource.Cursor(before)})
					}
				})
				b.Run(fmt.Sprintf("page/org=%d/ours-offset", size), func(b *testing.B) {
					for b.Loop() {
						list(resource.PageRequest{Limit: 25, Offset: n})
					}
				})
				b.Run(fmt.Sprintf("page/org=%d/rawbun-keyset", size), func(b *testing.B) {
					for b.Loop() {
						var rows []rawMembership
						if err := ds.db.NewSelect().Model(&rows).Where("m.organization_id = ? AND m.id > ?", org, before).
							OrderExpr("m.id").Limit(26).Scan(ctx); err != nil || len(rows) != 25 {
							b.Fatalf("%d rows, %v", len(rows), err)
						}
					}
				})
			}
		})
	}
}

// orgIndex is the index of an organization id of the dataset.
func orgIndex(id string) int {
	var i int
	if _, err := fmt.Sscanf(id, "o%06d", &i); err != nil {
		panic(err)
	}
	return i
}
