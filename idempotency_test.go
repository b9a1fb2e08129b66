package provisioning_test

import (
	"context"
	"sync"
	"testing"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/profile"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/storage/storagetest"
)

// TestIdempotencyKeys: a keyed creation retried (as after an unknown
// outcome) returns what the first one created and creates nothing more.
func TestIdempotencyKeys(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	own := w.as(w.owner)
	keyed := provisioning.WithIdempotencyKey(ctx, "9f1c2a44-key-one")
	count := func(table, where string, args ...any) int { return w.count(t, table, where, args...) }

	tests := []struct {
		name   string
		create func(ctx context.Context) (string, error)
		rows   func() int
	}{
		{"CreateRole", func(ctx context.Context) (string, error) {
			r, err := own.CreateRole(ctx, role.Create{OrganizationID: w.org.ID, Name: "Keyed"})
			if err != nil {
				return "", err
			}
			return r.ID, nil
		}, func() int { return count("provisioning_roles", "name = 'Keyed'") }},
		{"CreateProfile", func(ctx context.Context) (string, error) {
			p, err := own.CreateProfile(ctx, profile.Create{OrganizationID: w.org.ID, Name: "Keyed", AccessScope: access.LiveAccess})
			if err != nil {
				return "", err
			}
			return p.ID, nil
		}, func() int { return count("provisioning_membership_profiles", "name = 'Keyed'") }},
		{"CreateCredential", func(ctx context.Context) (string, error) {
			c, err := own.CreateCredential(ctx, credential.Create{OrganizationID: w.org.ID, Name: "Keyed", Kind: credential.Webapp})
			if err != nil {
				return "", err
			}
			return c.Credential.ID, nil
		}, func() int { return count("provisioning_api_credentials", "name = 'Keyed'") }},
		{"CreateOrganization", func(ctx context.Context) (string, error) {
			o, err := own.CreateOrganization(ctx, organization.Create{Name: "Keyed Org"})
			if err != nil {
				return "", err
			}
			return o.ID, nil
		}, func() int { return count("provisioning_organizations", "name = 'Keyed Org'") }},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := provisioning.WithIdempotencyKey(ctx, "key-"+tt.name)
			first, err := tt.create(ctx)
			if err != nil {
				t.Fatal(err)
			}
			versions := count("provisioning_versions", "1 = 1")
			again, err := tt.create(ctx)
			if err != nil || again != first {
				t.Fatalf("the retry: %s, %v; want %s", again, err, first)
			}
			if got := count("provisioning_versions", "1 = 1"); got != versions {
				t.Errorf("the retry wrote %d versions", got-versions)
			}
			if n := tt.rows(); n != 1 {
				t.Errorf("%d rows after the retry, want 1", n)
			}
			other, err := tt.create(provisioning.WithIdempotencyKey(ctx, "another key"+string(rune('a'+i))))
			if err != nil || other == first {
				t.Errorf("another key: %s, %v; want a new resource", other, err)
			}
		})
	}

	// The key is the principal's own: another principal's same key is another key.
	if _, err := own.CreateRole(keyed, role.Create{OrganizationID: w.org.ID, Name: "Mine"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.as(w.adminUser).CreateRole(keyed, role.Create{OrganizationID: w.org.ID, Name: "Theirs"}); err != nil {
		t.Fatalf("the same key by another principal: %v", err)
	}
	// A key is scoped by organization too: the same key elsewhere creates
	// there, and never returns what the caller created in another
	// organization (which it may not see any more).
	other, _, _ := w.env.org(t, w.adminUser, "Admin's own")
	if err := own.DeleteMembership(ctx, w.adminMembership.ID); err != nil {
		t.Fatal(err)
	}
	theirs, err := w.as(w.adminUser).CreateRole(keyed, role.Create{OrganizationID: other.ID, Name: "Elsewhere"})
	if err != nil || theirs.OrganizationID != other.ID || theirs.Name != "Elsewhere" {
		t.Fatalf("the same key in another organization: %+v, %v; want a new role there", theirs, err)
	}
	// A key names one operation.
	_, err = own.CreateProfile(keyed, profile.Create{OrganizationID: w.org.ID, Name: "P", AccessScope: access.LiveAccess})
	wantErr(t, "a key used for another operation", err, fault.ErrInvalid, "idempotency_key")
	_, err = own.CreateRole(provisioning.WithIdempotencyKey(ctx, "bad\nkey"), role.Create{OrganizationID: w.org.ID, Name: "X"})
	wantErr(t, "a key with a control character", err, fault.ErrInvalid, "idempotency_key")
	// A creation that failed left no key: its retry creates.
	failed := provisioning.WithIdempotencyKey(ctx, "first-fails")
	_, err = own.CreateRole(failed, role.Create{OrganizationID: w.org.ID, Name: " "})
	wantErr(t, "an invalid creation", err, fault.ErrInvalid, "name")
	if _, err := own.CreateRole(failed, role.Create{OrganizationID: w.org.ID, Name: "Second try"}); err != nil {
		t.Errorf("the retry of a failed creation: %v", err)
	}
}

// TestIdempotencyKeysUnderRaces: concurrent calls with one key, through
// two Provisioner instances on one database, create once.
func TestIdempotencyKeysUnderRaces(t *testing.T) {
	openers := map[string]storagetest.Opener{"sqlite": storagetest.SQLite, "postgres": storagetest.Postgres,
		"mysql": storagetest.MySQL}
	for name, open := range openers {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			a, b := newEnvOn(t, db), newEnvOn(t, db)
			owner := a.user(t, "raced-owner@example.com")
			org, _, _ := a.org(t, owner, "Raced")
			ctx := provisioning.WithIdempotencyKey(context.Background(), "raced-key")
			var wg sync.WaitGroup
			ids := make([]string, 20)
			errs := make([]error, 20)
			for i := range ids {
				wg.Add(1)
				go func() {
					defer wg.Done()
					inst := a
					if i%2 == 1 {
						inst = b
					}
					r, err := inst.as(owner).CreateRole(ctx, role.Create{OrganizationID: org.ID, Name: "Raced"})
					if err == nil {
						ids[i] = r.ID
					}
					errs[i] = err
				}()
			}
			wg.Wait()
			for i := range ids {
				if errs[i] != nil || ids[i] != ids[0] {
					t.Errorf("call %d: %s, %v; want %s", i, ids[i], errs[i], ids[0])
				}
			}
			if n := a.count(t, "provisioning_roles", "organization_id = ? AND name = 'Raced'", org.ID); n != 1 {
				t.Errorf("%d roles, want 1", n)
			}
		})
	}
}
