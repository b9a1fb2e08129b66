package authz_test

import (
	"context"
	"fmt"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/authz"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/role"
)

// oneOrg is an access.Store holding a single snapshot; storage implements
// the real one, reading the snapshot in one transaction.
type oneOrg struct{ snap *access.Snapshot }

func (s oneOrg) Revision(_ context.Context, orgID string) (string, error) {
	if orgID != s.snap.OrganizationID {
		return "", fault.ErrNotFound
	}
	return s.snap.Revision, nil
}

func (s oneOrg) Snapshot(ctx context.Context, orgID string) (*access.Snapshot, error) {
	if _, err := s.Revision(ctx, orgID); err != nil {
		return nil, err
	}
	return s.snap, nil
}

func ExampleAuthorizer_Check() {
	store := oneOrg{&access.Snapshot{
		OrganizationID: "org1",
		Revision:       "7f3a",
		OwnerUserID:    "ann",
		Roles: []access.RoleGrant{
			{ID: "admin1", Kind: role.KindAdmin},
			{ID: "support", Kind: role.KindCustom},
		},
		Permissions: []role.Permission{{RoleID: "support", Subject: "customers", CanRead: true, CanUpdate: true}},
		Members: []access.Member{
			{UserID: "ann", RoleID: "admin1"},
			{UserID: "bob", RoleID: "support"},
		},
	}}
	a := authz.New()
	ctx := context.Background()
	for _, q := range []struct {
		user, subject string
		act           role.Action
	}{
		{"ann", "memberships", role.ActionCreate},
		{"bob", "customers", role.ActionUpdate},
		{"bob", "customers", role.ActionDestroy},
		{"bob", "memberships", role.ActionRead},
		{"eve", "memberships", role.ActionRead},
	} {
		d, err := a.Check(ctx, store, access.User(q.user), "org1", q.subject, q.act)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s %s %s: allowed=%v member=%v owner=%v\n", q.user, q.act, q.subject, d.Allowed, d.Member, d.Owner)
	}
	// Output:
	// ann create memberships: allowed=true member=true owner=true
	// bob update customers: allowed=true member=true owner=false
	// bob destroy customers: allowed=false member=true owner=false
	// bob read memberships: allowed=true member=true owner=false
	// eve read memberships: allowed=false member=false owner=false
}
