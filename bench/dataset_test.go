package bench_test

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/provisionkit/provisioning/storage/bunstore"
	"github.com/provisionkit/provisioning/storage/postgres"
	"github.com/provisionkit/provisioning/storage/sqlite"
	"github.com/provisionkit/provisioning/storage/storagetest"
)

// The large dataset of the scale benchmarks: 1,000,000 memberships over 10,000
// organizations, one of which (the big one) holds 100,400. It is built once
// and kept, SQLite under bench-data/ (ignored by git) and PostgreSQL in a
// schema of its own, each marked complete with the generator's version:
// -bench.rebuild builds them again.
//
// The big organization: the owner (admin), 100,000 active read-only members
// (the filtered list of the list benchmarks: exactly 4,000 pages of 25) and
// 399 others spread among them (199 pending, 200 active with a custom role),
// so that the filter has something to filter out. Two more hold 10,000 and
// 1,000, for the costs against organization size; the other 9,997 hold 88
// or 89 memberships each: the owner, then members
// whose roles cycle through the organization's five (admin, read_only and
// three custom roles with two permissions each), one in ten pending. Active
// members are users of a pool of 400,000; each user's default organization
// is the first that holds it. Ids are in creation order, as the library's
// are, so that a list sorted by creation is a list sorted by id.
const (
	datasetVersion     = "2"
	datasetOrgs        = 10_000
	datasetMemberships = 1_000_000
	bigOrgMembers      = 100_400
	bigOrgListed       = 100_000 // active, read-only
	datasetUsers       = 400_000
)

var rebuild = flag.Bool("bench.rebuild", false, "build the large benchmark dataset again")

// dataset names the rows of the large dataset the benchmarks ask about.
type dataset struct {
	db         *bun.DB
	store      *bunstore.Store
	bigOrg     string // the organization of 100,400 memberships
	bigRO      string // its read_only role
	bigOwner   string // the user who owns it
	smallOrg   string // an organization of 90
	smallOwner string
	orgs       int
}

func orgID(i int) string             { return fmt.Sprintf("o%06d", i) }
func roleID(org, k int) string       { return fmt.Sprintf("r%06d%d", org, k) }
func userID(u int) string            { return fmt.Sprintf("u%07d", u) }
func userEmail(u int) string         { return fmt.Sprintf("user%07d@example.com", u) }
func membershipID(n int) string      { return fmt.Sprintf("m%08d", n) }
func permissionID(org, k int) string { return fmt.Sprintf("p%06d%d", org, k) }

var datasetT0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Rows of the large dataset: the library's columns, the rest left to their
// defaults.
type (
	dsOrg struct {
		bun.BaseModel  `bun:"table:provisioning_organizations"`
		ID             string    `bun:"id,pk"`
		Name           string    `bun:"name"`
		Slug           string    `bun:"slug"`
		Domain         string    `bun:"domain"`
		Region         string    `bun:"region"`
		PolicyRevision string    `bun:"policy_revision"`
		CreatedAt      time.Time `bun:"created_at"`
		UpdatedAt      time.Time `bun:"updated_at"`
	}
	dsRole struct {
		bun.BaseModel  `bun:"table:provisioning_roles"`
		ID             string    `bun:"id,pk"`
		OrganizationID string    `bun:"organization_id"`
		Name           string    `bun:"name"`
		Kind           string    `bun:"kind"`
		CreatedAt      time.Time `bun:"created_at"`
		UpdatedAt      time.Time `bun:"updated_at"`
	}
	dsPermission struct {
		bun.BaseModel  `bun:"table:provisioning_permissions"`
		ID             string    `bun:"id,pk"`
		OrganizationID string    `bun:"organization_id"`
		RoleID         string    `bun:"role_id"`
		Subject        string    `bun:"subject"`
		CanCreate      bool      `bun:"can_create"`
		CanRead        bool      `bun:"can_read"`
		CanUpdate      bool      `bun:"can_update"`
		CanDestroy     bool      `bun:"can_destroy"`
		CreatedAt      time.Time `bun:"created_at"`
		UpdatedAt      time.Time `bun:"updated_at"`
	}
	dsUser struct {
		bun.BaseModel `bun:"table:provisioning_users"`
		ID            string    `bun:"id,pk"`
		Email         string    `bun:"email"`
		DefaultOrgID  string    `bun:"default_organization_id,nullzero"`
		CreatedAt     time.Time `bun:"created_at"`
		UpdatedAt     time.Time `bun:"updated_at"`
	}
	dsMembership struct {
		bun.BaseModel       `bun:"table:provisioning_memberships"`
		ID                  string    `bun:"id,pk"`
		OrganizationID      string    `bun:"organization_id"`
		UserID              string    `bun:"user_id,nullzero"`
		UserEmail           string    `bun:"user_email"`
		Status              string    `bun:"status"`
		RoleID              string    `bun:"role_id"`
		InvitationTokenHash string    `bun:"invitation_token_hash,nullzero"`
		InvitationExpiresAt time.Time `bun:"invitation_expires_at,nullzero"`
		CreatedAt           time.Time `bun:"created_at"`
		UpdatedAt           time.Time `bun:"updated_at"`
	}
	dsMarker struct {
		bun.BaseModel `bun:"table:bench_dataset"`
		Version       string `bun:"version,pk"`
	}
)

// membersOf returns how many memberships organization i holds.
func membersOf(i int) int {
	switch {
	case i < len(sizedOrgs):
		return sizedOrgs[i]
	case i < len(sizedOrgs)+8_864: // 8,864 × 89 + 1,133 × 88 = 888,600
		return 89
	}
	return 88
}

// sizedOrgs are the sizes of the first organizations: the big one, and two
// between it and the rest, for the costs against organization size.
var sizedOrgs = []int{bigOrgMembers, 10_000, 1_000}

// generate calls the emit functions with every row, in batches, in the
// order the foreign keys need.
func generate(ctx context.Context, db bun.IDB) error {
	const batch = 1000
	var orgs []dsOrg
	var roles []dsRole
	var perms []dsPermission
	for i := range datasetOrgs {
		t := datasetT0.Add(time.Duration(i) * time.Second)
		orgs = append(orgs, dsOrg{ID: orgID(i), Name: fmt.Sprintf("Org %d", i), Slug: fmt.Sprintf("org-%d", i),
			Domain: fmt.Sprintf("org-%d.example.com", i), Region: "eu-west-1", PolicyRevision: "rev0", CreatedAt: t, UpdatedAt: t})
		for k, kind := range []string{"admin", "read_only", "custom", "custom", "custom"} {
			roles = append(roles, dsRole{ID: roleID(i, k), OrganizationID: orgID(i), Name: fmt.Sprintf("Role %d", k), Kind: kind, CreatedAt: t, UpdatedAt: t})
		}
		subjects := []string{"orders", "skus", "customers", "prices", "shipments", "markets"}
		for k := range 6 { // two permissions for each custom role
			perms = append(perms, dsPermission{ID: permissionID(i, k), OrganizationID: orgID(i), RoleID: roleID(i, 2+k/2),
				Subject: subjects[(i+k)%len(subjects)], CanRead: true, CanUpdate: k%2 == 0, CanCreate: k%3 == 0, CreatedAt: t, UpdatedAt: t})
		}
	}
	if err := insertAll(ctx, db, orgs, batch); err != nil {
		return err
	}
	if err := insertAll(ctx, db, roles, batch); err != nil {
		return err
	}
	if err := insertAll(ctx, db, perms, batch); err != nil {
		return err
	}

	// Memberships, and which users they make active members.
	defaults := make([]string, datasetUsers) // each user's first organization
	nextUser := 0
	var ms []dsMembership
	n := 0
	flush := func(force bool) error {
		if len(ms) >= 5*batch || force && len(ms) > 0 {
			if err := insertAll(ctx, db, ms, batch); err != nil {
				return err
			}
			ms = ms[:0]
		}
		return nil
	}
	// Users go first: memberships refer to them.
	var users []dsUser
	userOrgs := func() error {
		for i := range datasetOrgs {
			for k := range membersOf(i) {
				if _, active := memberShape(i, k); active {
					u := nextUser % datasetUsers
					if defaults[u] == "" {
						defaults[u] = orgID(i)
					}
					nextUser++
				}
			}
		}
		for u := range datasetUsers {
			users = append(users, dsUser{ID: userID(u), Email: userEmail(u), DefaultOrgID: defaults[u], CreatedAt: datasetT0, UpdatedAt: datasetT0})
		}
		return insertAll(ctx, db, users, batch)
	}
	if err := userOrgs(); err != nil {
		return err
	}
	nextUser = 0
	for i := range datasetOrgs {
		for k := range membersOf(i) {
			roleK, active := memberShape(i, k)
			t := datasetT0.Add(time.Duration(n) * time.Millisecond)
			m := dsMembership{ID: membershipID(n), OrganizationID: orgID(i), RoleID: roleID(i, roleK), CreatedAt: t, UpdatedAt: t}
			if active {
				u := nextUser % datasetUsers
				nextUser++
				m.Status, m.UserID, m.UserEmail = "active", userID(u), userEmail(u)
			} else {
				m.Status, m.UserEmail = "pending", fmt.Sprintf("invitee%08d@example.com", n)
				m.InvitationTokenHash, m.InvitationExpiresAt = fmt.Sprintf("%064x", n), t.Add(72*time.Hour)
			}
			ms = append(ms, m)
			n++
			if err := flush(false); err != nil {
				return err
			}
		}
	}
	if err := flush(true); err != nil {
		return err
	}
	if n != datasetMemberships {
		return fmt.Errorf("generated %d memberships, want %d", n, datasetMemberships)
	}
	// Each organization's first membership is its owner's.
	_, err := db.NewRaw(`UPDATE provisioning_organizations SET owner_membership_id =
		(SELECT MIN(m.id) FROM provisioning_memberships AS m WHERE m.organization_id = provisioning_organizations.id)`).Exec(ctx)
	return err
}

// memberShape returns the role (0 admin, 1 read_only, 2–4 custom) of
// organization i's k-th membership, and whether it is active.
func memberShape(i, k int) (roleK int, active bool) {
	switch {
	case k == 0:
		return 0, true // the owner
	case i == 0 && k%251 == 0 && k/251%2 == 0:
		return 1, false // 200 pending
	case i == 0 && k%251 == 0:
		return 2 + k%3, true // 199 with a custom role
	case i == 0:
		return 1, true
	}
	return k % 5, k%10 != 9
}

func insertAll[T any](ctx context.Context, db bun.IDB, rows []T, batch int) error {
	for len(rows) > 0 {
		chunk := rows[:min(batch, len(rows))]
		if _, err := db.NewInsert().Model(&chunk).Exec(ctx); err != nil {
			return err
		}
		rows = rows[len(chunk):]
	}
	return nil
}

// openDataset opens (building it the first time) the large dataset on the
// backend name: "sqlite" or "postgres".
func openDataset(tb testing.TB, name string) *dataset {
	tb.Helper()
	ctx := context.Background()
	var db *bun.DB
	var err error
	switch name {
	case "sqlite":
		dir := filepath.Join("..", "bench-data")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		path := filepath.Join(dir, "dataset-v"+datasetVersion+".db")
		if *rebuild {
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				_ = os.Remove(p)
			}
		}
		db, err = sqlite.Open(ctx, path)
	case "postgres":
		dsn := os.Getenv(storagetest.PostgresEnv)
		if dsn == "" {
			tb.Skip(storagetest.PostgresEnv + " is not set")
		}
		db, err = openSchema(ctx, dsn, "bench_dataset_v"+datasetVersion)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	st, err := bunstore.New(db)
	if err != nil {
		tb.Fatal(err)
	}
	if err := ensureDataset(ctx, tb, db, st); err != nil {
		tb.Fatal(err)
	}
	return &dataset{db: db, store: st, bigOrg: orgID(0), bigRO: roleID(0, 1), bigOwner: ownerAmong(0),
		smallOrg: orgID(4321), smallOwner: ownerAmong(4321), orgs: datasetOrgs}
}

// ensureDataset builds the dataset unless the marker says it is complete.
func ensureDataset(ctx context.Context, tb testing.TB, db *bun.DB, st *bunstore.Store) error {
	if _, err := db.NewCreateTable().Model((*dsMarker)(nil)).IfNotExists().Exec(ctx); err != nil {
		return err
	}
	if err := st.Migrate(ctx); err != nil { // a dataset built before a migration gets it
		return err
	}
	var marker dsMarker
	err := db.NewSelect().Model(&marker).Where("version = ?", datasetVersion).Scan(ctx)
	if err == nil && !*rebuild {
		return nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	start := time.Now()
	tb.Logf("building the dataset (%d memberships, %d organizations): once, then kept", datasetMemberships, datasetOrgs)
	err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewDelete().Model((*dsMarker)(nil)).Where("1 = 1").Exec(ctx); err != nil {
			return err
		}
		if err := generate(ctx, tx); err != nil {
			return err
		}
		_, err := tx.NewInsert().Model(&dsMarker{Version: datasetVersion}).Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("building the dataset (drop it with -bench.rebuild if a run was cut): %w", err)
	}
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
		return err
	}
	tb.Logf("dataset built in %s", time.Since(start).Round(time.Second))
	return nil
}

// openSchema opens dsn with its search path set to schema, created if need be.
func openSchema(ctx context.Context, dsn, schema string) (*bun.DB, error) {
	admin, err := postgres.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	if *rebuild {
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			return nil, err
		}
	}
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+schema); err != nil {
		return nil, err
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return postgres.Open(ctx, u.String())
}
