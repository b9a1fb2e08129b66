package provisioning_test

import (
	"context"
	"errors"
	"testing"

	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
)

// TestInvitationFlow walks the main path: create an organization, invite a
// newcomer (pending, token mailed), the newcomer signs up and accepts, lists
// show both members, and the audit trail records each step.
func TestInvitationFlow(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	owner := e.user(t, "Owner@Example.com")
	org, admin, readOnly := e.org(t, owner, "The Blue Brand")
	if org.Slug != "the-blue-brand" || org.Domain != "the-blue-brand.commercelayer.io" || org.Region != "eu-west-1" {
		t.Fatalf("derived attributes: %+v", org)
	}
	if admin.Name != "Admin" || readOnly.Name != "Read-only" {
		t.Fatalf("built-in roles: %q %q", admin.Name, readOnly.Name)
	}

	m, err := e.as(owner).Invite(ctx, membership.Invite{OrganizationID: org.ID, UserEmail: " New.Comer@EXAMPLE.com ", RoleID: readOnly.ID})
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != membership.Pending || m.UserEmail != "new.comer@example.com" || m.Owner {
		t.Fatalf("invited membership: %+v", m)
	}
	inv := e.mail.last(t)
	if inv.Email != "new.comer@example.com" || inv.Token == "" || inv.MembershipID != m.ID {
		t.Fatalf("invitation: %+v", inv)
	}

	newcomer := e.user(t, "new.comer@example.com")
	if _, err := e.as(newcomer).GetMembership(ctx, m.ID); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("pending invitee reads the membership: %v, want not found", err)
	}
	accepted, err := e.as(newcomer).AcceptInvitation(ctx, inv.Token)
	if err != nil {
		t.Fatal(err)
	}
	if accepted.Status != membership.Active || accepted.UserID != newcomer.ID || accepted.UserFirstName != "First" {
		t.Fatalf("accepted membership: %+v", accepted)
	}
	if _, err := e.as(newcomer).AcceptInvitation(ctx, inv.Token); !errors.Is(err, fault.ErrInvitationInvalid) {
		t.Fatalf("second acceptance: %v, want ErrInvitationInvalid", err)
	}

	page, err := e.as(newcomer).ListMemberships(ctx, membership.Filter{OrganizationID: org.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 2 || page.Next != "" {
		t.Fatalf("list: %d items, next %q", len(page.Items), page.Next)
	}

	versions, err := e.as(owner).ListVersions(ctx, audit.Filter{OrganizationID: org.ID})
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	for _, v := range versions.Items {
		events = append(events, v.ResourceType+":"+string(v.Event))
	}
	want := []string{"organizations:create", "roles:create", "roles:create", "memberships:create",
		"api_credentials:create", "api_credentials:create", "memberships:create", "memberships:accept"}
	if len(events) != len(want) {
		t.Fatalf("versions %v, want %v", events, want)
	}
	for i := range want {
		if events[i] != want[i] {
			t.Fatalf("versions %v, want %v", events, want)
		}
	}
	if _, err := e.as(newcomer).ListVersions(ctx, audit.Filter{OrganizationID: org.ID}); err != nil {
		t.Fatalf("read_only member reads versions: %v", err)
	}
}
