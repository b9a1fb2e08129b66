package bench_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/storage/storagetest"
)

// rawMembership is the membership row as the library stores it, for the raw
// bun baseline: the same table, the same columns, the same values.
type rawMembership struct {
	bun.BaseModel       `bun:"table:provisioning_memberships,alias:m"`
	ID                  string    `bun:"id,pk"`
	OrganizationID      string    `bun:"organization_id,notnull"`
	UserID              string    `bun:"user_id,nullzero"`
	UserEmail           string    `bun:"user_email,notnull"`
	Status              string    `bun:"status,notnull"`
	RoleID              string    `bun:"role_id,notnull"`
	InvitationTokenHash string    `bun:"invitation_token_hash,nullzero"`
	InvitationExpiresAt time.Time `bun:"invitation_expires_at,nullzero"`
	ProfileID           string    `bun:"membership_profile_id,nullzero"`
	AccessScope         string    `bun:"access_scope,nullzero"`
	ExtraRoleIDs        string    `bun:"extra_role_ids,nullzero"`
	Permissions         string    `bun:"permissions,nullzero"`
	AllowedIPs          string    `bun:"allowed_ips,nullzero"`
	ExpiresAt           time.Time `bun:"expires_at,nullzero"`
	Reference           string    `bun:"reference,nullzero"`
	ReferenceOrigin     string    `bun:"reference_origin,nullzero"`
	Metadata            string    `bun:"metadata,nullzero"`
	Guest               bool      `bun:"guest,notnull"`
	MFARequired         bool      `bun:"mfa_required,notnull"`
	CreatedAt           time.Time `bun:"created_at,notnull"`
	UpdatedAt           time.Time `bun:"updated_at,notnull"`
}

// BenchmarkInvite compares inviting a member through the facade
// (authorization, validation, insert, version row, policy revision, one
// transaction) with a raw bun insert of the same membership row in its own
// transaction.
func BenchmarkInvite(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name+"/facade", func(b *testing.B) {
			w := newWorld(b, be.open(b))
			ctx := context.Background()
			b.ResetTimer()
			defer cpuPerOp(b)(b.N)
			for i := 0; i < b.N; i++ {
				_, err := w.own.Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: fmt.Sprintf("m%d@example.com", i), RoleID: w.ro.ID})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, variant := range []struct {
			name      string
			returning bool
		}{{"rawbun", true}, {"rawbun-noreturning", false}} {
			// bun reads back the columns it inserts as NULL (a RETURNING
			// clause) unless told not to; the library tells it not to, so
			// the second baseline does too.
			b.Run(be.name+"/"+variant.name, func(b *testing.B) {
				w := newWorld(b, be.open(b))
				ctx := context.Background()
				now := time.Now().UTC()
				b.ResetTimer()
				defer cpuPerOp(b)(b.N)
				for i := 0; i < b.N; i++ {
					tx, err := w.db.BeginTx(ctx, nil)
					if err != nil {
						b.Fatal(err)
					}
					row := &rawMembership{ID: fmt.Sprintf("raw%012d", i), OrganizationID: w.org.ID, UserEmail: fmt.Sprintf("m%d@example.com", i),
						Status: "pending", RoleID: w.ro.ID, InvitationTokenHash: fmt.Sprintf("%064x", i),
						InvitationExpiresAt: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now}
					q := tx.NewInsert().Model(row)
					if !variant.returning {
						q = q.Returning("NULL")
					}
					if _, err := q.Exec(ctx); err != nil {
						b.Fatal(err)
					}
					if err := tx.Commit(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkInviteMany invites through InviteMany, batch invitations a
// call: ns/op is per invitation, so that single ÷ bulk is the gain in
// throughput over Invite.
func BenchmarkInviteMany(b *testing.B) {
	for _, be := range backends() {
		for _, batch := range []int{100, 1000} {
			b.Run(fmt.Sprintf("%s/batch=%d", be.name, batch), func(b *testing.B) {
				w := newWorld(b, be.open(b))
				ctx := context.Background()
				b.ResetTimer()
				defer cpuPerOp(b)(b.N)
				for done := 0; done < b.N; {
					invites := make([]membership.Invite, min(batch, b.N-done))
					for k := range invites {
						invites[k] = membership.Invite{UserEmail: fmt.Sprintf("b%d@example.com", emails.Add(1)), RoleID: w.ro.ID}
					}
					res, err := w.own.InviteMany(ctx, w.org.ID, invites)
					if err != nil {
						b.Fatal(err)
					}
					for _, r := range res {
						if r.Err != nil {
							b.Fatal(r.Err)
						}
					}
					done += len(invites)
				}
			})
		}
	}
}

// BenchmarkScaleOut runs invitations and checks from parallel goroutines
// through one Provisioner, then through two sharing the same PostgreSQL
// (each goroutine on its own organization for the invitations, so that
// they do not queue on one organization's lock; all on one organization
// for the checks). Every call reads its organization's policy revision, so
// a change made through either instance is seen by the other's next call:
// the figures show what that freshness costs as instances are added.
func BenchmarkScaleOut(b *testing.B) {
	if os.Getenv(storagetest.PostgresEnv) == "" {
		b.Skip(storagetest.PostgresEnv + " is not set")
	}
	for _, instances := range []int{1, 2} {
		b.Run(fmt.Sprintf("postgres/instances=%d", instances), func(b *testing.B) {
			db := storagetest.Postgres(b)
			w := newWorld(b, db)
			ps := []*provisioning.Provisioner{w.p}
			if instances == 2 {
				p2, err := provisioning.New(w.store)
				if err != nil {
					b.Fatal(err)
				}
				ps = append(ps, p2)
			}
			ctx := context.Background()
			const goroutines = 8
			orgs := make([]string, goroutines)
			roles := make([]string, goroutines)
			for g := range orgs {
				o, err := w.own.CreateOrganization(ctx, organization.Create{Name: fmt.Sprintf("Scale %d", g)})
				if err != nil {
					b.Fatal(err)
				}
				ro, err := w.store.Roles().RoleOfKind(ctx, o.ID, role.KindReadOnly)
				if err != nil {
					b.Fatal(err)
				}
				orgs[g], roles[g] = o.ID, ro.ID
			}
			b.Run("invite", func(b *testing.B) {
				var next atomic.Int64
				b.SetParallelism(goroutines / runtime.GOMAXPROCS(0))
				b.RunParallel(func(pb *testing.PB) {
					g := int(next.Add(1)-1) % goroutines
					s := ps[g%len(ps)].As(provisioning.User(w.owner.ID))
					for pb.Next() {
						if _, err := s.Invite(ctx, membership.Invite{OrganizationID: orgs[g], UserEmail: fmt.Sprintf("g%d-%d@example.com", g, emails.Add(1)), RoleID: roles[g]}); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
			b.Run("check", func(b *testing.B) {
				var next atomic.Int64
				b.SetParallelism(goroutines / runtime.GOMAXPROCS(0))
				b.RunParallel(func(pb *testing.PB) {
					g := int(next.Add(1) - 1)
					s := ps[g%len(ps)].As(provisioning.User(w.owner.ID))
					for pb.Next() {
						if ok, err := s.Can(ctx, w.org.ID, "memberships", role.ActionUpdate); err != nil || !ok {
							b.Error(ok, err)
							return
						}
					}
				})
			})
		})
	}
}

// emails numbers the addresses the benchmarks invite, across the rounds a
// benchmark function is run for.
var emails atomic.Int64
