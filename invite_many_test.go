package provisioning_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
)

// TestInviteMany: each invitation succeeds or fails alone, with the error
// Invite would give; what concerns the call fails it whole and creates
// nothing.
func TestInviteMany(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	_, _, otherRole := w.env.org(t, w.user(t, "elsewhere@example.com"), "Elsewhere")
	before := w.fingerprint(t)
	mails := w.mail.count()
	res, err := w.as(w.adminUser).InviteMany(ctx, w.org.ID, []membership.Invite{
		{UserEmail: "One@Example.com", RoleID: w.readOnly.ID},                        // 0: pending
		{UserEmail: "one@example.com", RoleID: w.custom.ID},                          // 1: twice in the call
		{UserEmail: "not an email", RoleID: w.readOnly.ID},                           // 2: invalid
		{UserEmail: "reader@example.com", RoleID: w.readOnly.ID},                     // 3: already a member
		{UserEmail: "two@example.com", RoleID: w.admin.ID},                           // 4: only the owner grants admin
		{UserEmail: "three@example.com", RoleID: otherRole.ID},                       // 5: a role of another organization
		{OrganizationID: w.otherOrg.ID, UserEmail: "x@example.com", RoleID: "r"},     // 6: another organization
		{UserEmail: w.stranger.Email, RoleID: w.custom.ID, OrganizationID: w.org.ID}, // 7: a user: active at once
		{UserEmail: "four@example.com", RoleID: w.custom.ID},                         // 8: pending
	})
	if err != nil {
		t.Fatal(err)
	}
	wantErrs := []struct {
		err   error
		field string
	}{
		{nil, ""}, {fault.ErrAlreadyExists, "user_email"}, {fault.ErrInvalid, "user_email"},
		{fault.ErrAlreadyExists, "user_email"}, {fault.ErrForbidden, ""}, {fault.ErrInvalid, "role"},
		{fault.ErrInvalid, "organization"}, {nil, ""}, {nil, ""},
	}
	if len(res) != len(wantErrs) {
		t.Fatalf("%d results, want %d", len(res), len(wantErrs))
	}
	for i, want := range wantErrs {
		r := res[i]
		wantErr(t, fmt.Sprintf("invitation %d", i), r.Err, want.err, want.field)
		if (r.Membership != nil) != (want.err == nil) {
			t.Errorf("invitation %d: membership %v with error %v", i, r.Membership, r.Err)
		}
	}
	if m := res[0].Membership; m.Status != membership.Pending || m.UserEmail != "one@example.com" || m.RoleID != w.readOnly.ID {
		t.Errorf("pending invitation: %+v", m)
	}
	if m := res[7].Membership; m.Status != membership.Active || m.UserID != w.stranger.ID {
		t.Errorf("invitation of an existing user: %+v", m)
	}
	after := w.fingerprint(t)
	if got := after["provisioning_memberships"] - before["provisioning_memberships"]; got != 3 {
		t.Errorf("%d memberships created, want 3", got)
	}
	if got := after["provisioning_versions"] - before["provisioning_versions"]; got != 3 {
		t.Errorf("%d versions written, want 3", got)
	}
	for _, i := range []int{0, 7, 8} {
		if _, err := w.as(w.owner).GetMembership(ctx, res[i].Membership.ID); err != nil {
			t.Errorf("invitation %d: %v", i, err)
		}
	}
	if got := w.mail.count() - mails; got != 3 {
		t.Errorf("%d invitations sent, want 3", got)
	}
	// The pending ones can be accepted with the token they were sent.
	invitee := w.user(t, "four@example.com")
	if _, err := w.as(invitee).AcceptInvitation(ctx, w.mail.last(t).Token); err != nil {
		t.Errorf("accepting a bulk invitation: %v", err)
	}
	// The escalation is recorded as Invite's would be.
	events, err := w.p.System().ListSecurityEvents(ctx, audit.SecurityFilter{OrganizationID: w.org.ID})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range events.Items {
		found = found || e.Operation == "provisioning.InviteMany" && e.Reason == "rule"
	}
	if !found {
		t.Errorf("no security event for the refused admin grant in %+v", events.Items)
	}
}

// TestInviteManyRefusesTheCall: errors that concern the call fail it whole.
func TestInviteManyRefusesTheCall(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	one := []membership.Invite{{UserEmail: "new@example.com", RoleID: w.readOnly.ID}}
	tooMany := make([]membership.Invite, provisioning.MaxInvitesPerCall+1)
	for i := range tooMany {
		tooMany[i] = membership.Invite{UserEmail: fmt.Sprintf("m%d@example.com", i), RoleID: w.readOnly.ID}
	}
	tests := []struct {
		name    string
		by      *provisioning.Session
		org     string
		invites []membership.Invite
		want    error
	}{
		{"read-only member", w.as(w.reader), w.org.ID, one, fault.ErrForbidden},
		{"pending member", w.as(w.pendingUser), w.org.ID, one, fault.ErrNotFound},
		{"stranger", w.as(w.stranger), w.org.ID, one, fault.ErrNotFound},
		{"no such organization", w.as(w.owner), "01m81z4fv7nhrefy36jvmacz5q", one, fault.ErrNotFound},
		{"unauthenticated", w.p.As(provisioning.Principal{}), w.org.ID, one, fault.ErrUnauthenticated},
		{"too many", w.as(w.owner), w.org.ID, tooMany, fault.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := w.fingerprint(t)
			res, err := tt.by.InviteMany(ctx, tt.org, tt.invites)
			if !errors.Is(err, tt.want) || res != nil {
				t.Fatalf("got %v, %v; want %v", res, err, tt.want)
			}
			assertUnchanged(t, w.env, before)
		})
	}
}

// TestInviteManyWithinThePlan: past the plan's limit each further
// invitation fails alone.
func TestInviteManyWithinThePlan(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	n := w.count(t, "provisioning_memberships", "organization_id = ?", w.org.ID)
	if _, err := w.p.System().SetSubscription(ctx, w.org.ID, organization.Subscription{Limits: organization.Limits{Memberships: n + 2}}); err != nil {
		t.Fatal(err)
	}
	res, err := w.as(w.owner).InviteMany(ctx, w.org.ID, []membership.Invite{
		{UserEmail: "a@example.com", RoleID: w.readOnly.ID}, {UserEmail: "bad", RoleID: w.readOnly.ID},
		{UserEmail: "b@example.com", RoleID: w.readOnly.ID}, {UserEmail: "c@example.com", RoleID: w.readOnly.ID},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []error{nil, fault.ErrInvalid, nil, fault.ErrLimitReached} {
		wantErr(t, fmt.Sprintf("invitation %d", i), res[i].Err, want)
	}
}
