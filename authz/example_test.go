package authz_test

import (
	"context"
	"fmt"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/authz"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
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

func (s oneOrg) Organizations(_ context.Context, p access.Principal, after string, _ int) ([]string, error) {
	for _, m := range s.snap.Members {
		if p.Kind == access.KindUser && m.UserID == p.ID && s.snap.OrganizationID > after {
			return []string{s.snap.OrganizationID}, nil
		}
	}
	return nil, nil
}

func exampleStore() oneOrg {
	return oneOrg{&access.Snapshot{
		OrganizationID: "org1",
		Revision:       "7f3a",
		OwnerUserID:    "ann",
		Roles: []access.RoleGrant{
			{ID: "admin1", Kind: role.KindAdmin},
			{ID: "support", Kind: role.KindCustom},
		},
		Permissions: []role.Permission{{RoleID: "support", Subject: "customers", CanRead: true, CanUpdate: true}},
		Members: []access.Member{
			{UserID: "ann", RoleIDs: []string{"admin1"}},
			{UserID: "bob", RoleIDs: []string{"support"}},
			{UserID: "cy", RoleIDs: []string{"support"}, Guest: true},
		},
	}}
}

func ExampleAuthorizer_Check() {
	store := exampleStore()
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
		fmt.Printf("%s %s %s: allowed=%v member=%v owner=%v (%s)\n", q.user, q.act, q.subject, d.Allowed, d.Member, d.Owner, d.Reason)
	}
	// Output:
	// ann create memberships: allowed=true member=true owner=true (granted)
	// bob update customers: allowed=true member=true owner=false (granted)
	// bob destroy customers: allowed=false member=true owner=false (no_grant)
	// bob read memberships: allowed=true member=true owner=false (granted)
	// eve read memberships: allowed=false member=false owner=false (not_member)
}

func ExampleAuthorizer_Explain() {
	store := exampleStore()
	a := authz.New()
	ctx := context.Background()
	for _, user := range []string{"bob", "cy"} {
		ex, err := a.Explain(ctx, store, access.User(user), "org1", "customers", role.ActionUpdate)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(user, ex)
	}
	ex, _ := a.Explain(ctx, store, access.User("cy"), "org1", "memberships", role.ActionDestroy)
	fmt.Println("cy", ex)
	// Output:
	// bob granted (revision 7f3a) by [role:support, org:org1, customers, update, allow] role=support
	// cy granted (revision 7f3a) by [role:support, org:org1, customers, update, allow] role=support
	// cy denied (revision 7f3a) by [builtin:guest, org:org1, memberships, destroy, deny]
}

func ExampleAuthorizer_Members() {
	store := exampleStore()
	a := authz.New()
	page, err := a.Members(context.Background(), store, "org1", "customers", role.ActionUpdate, resource.PageRequest{Limit: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(page.Items, page.Next != "")
	page, _ = a.Members(context.Background(), store, "org1", "customers", role.ActionUpdate, resource.PageRequest{After: page.Next, Limit: 1})
	fmt.Println(page.Items, page.Next != "")
	// Output:
	// [ann] true
	// [bob] true
}
