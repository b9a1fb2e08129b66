package bench_test

import (
	"context"
	"testing"

	"github.com/provisionkit/provisioning/membership"
)

// BenchmarkGetMembership reads one membership by id and by (organization,
// email) through the facade, and with the same raw bun query: the
// membership with what the library shows of it (its user's names, its
// profile's scope, whether it is the owner's or its user's default), the
// organization's policy revision included. The facade's check is answered
// from memory: the policy is loaded before the timer starts.
func BenchmarkGetMembership(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			w := newWorld(b, be.open(b))
			ctx := context.Background()
			m, err := w.own.Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: "read@example.com", RoleID: w.ro.ID})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := w.own.GetMembership(ctx, m.ID); err != nil {
				b.Fatal(err)
			}
			raw := func(where string, args ...any) {
				var row rawMembershipView
				err := w.db.NewSelect().Model(&row).
					ColumnExpr("m.*").
					ColumnExpr("COALESCE(u.first_name, '') AS user_first_name").
					ColumnExpr("COALESCE(u.last_name, '') AS user_last_name").
					ColumnExpr("COALESCE(mp.access_scope, '') AS profile_access_scope").
					ColumnExpr("CASE WHEN o.owner_membership_id = m.id THEN 1 ELSE 0 END AS owner").
					ColumnExpr("CASE WHEN u.default_organization_id = m.organization_id THEN 1 ELSE 0 END AS is_default").
					ColumnExpr("o.policy_revision AS org_policy_revision").
					Join("JOIN provisioning_organizations AS o ON o.id = m.organization_id").
					Join("LEFT JOIN provisioning_users AS u ON u.id = m.user_id").
					Join("LEFT JOIN provisioning_membership_profiles AS mp ON mp.id = m.membership_profile_id").
					Where(where, args...).Scan(ctx)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.Run("by-id/facade", func(b *testing.B) {
				for b.Loop() {
					if _, err := w.own.GetMembership(ctx, m.ID); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("by-id/rawbun", func(b *testing.B) {
				for b.Loop() {
					raw("m.id = ?", m.ID)
				}
			})
			b.Run("by-email/facade", func(b *testing.B) {
				for b.Loop() {
					if _, err := w.own.GetMembershipByEmail(ctx, w.org.ID, "read@example.com"); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("by-email/rawbun", func(b *testing.B) {
				for b.Loop() {
					raw("m.organization_id = ? AND m.user_email = ?", w.org.ID, "read@example.com")
				}
			})
		})
	}
}

// rawMembershipView is a membership row with what the library's view of it
// adds.
type rawMembershipView struct {
	rawMembership      `bun:",extend"`
	UserFirstName      string `bun:"user_first_name,scanonly"`
	UserLastName       string `bun:"user_last_name,scanonly"`
	ProfileAccessScope string `bun:"profile_access_scope,scanonly"`
	Owner              bool   `bun:"owner,scanonly"`
	Default            bool   `bun:"is_default,scanonly"`
	OrgRevision        string `bun:"org_policy_revision,scanonly"`
}
