package provisioning_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/authz"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

// hostWorld is an organization whose host application registered its own
// subject "projects": a custom role "Project lead" may update projects.
type hostWorld struct {
	*env
	org            *organization.Organization
	owner, lead    provisioning.Principal
	reader, nobody provisioning.Principal
	leadRole       *role.Role
	leadMembership *membership.Membership
	perm           *role.Permission
}

func newHostWorld(t testing.TB) *hostWorld {
	t.Helper()
	ctx := context.Background()
	e := newEnv(t, provisioning.WithSubjects("projects"))
	owner := e.user(t, "owner@example.com")
	org, _, ro := e.org(t, owner, "Host")
	own := e.as(owner)
	lead, err := own.CreateRole(ctx, role.Create{OrganizationID: org.ID, Name: "Project lead"})
	if err != nil {
		t.Fatal(err)
	}
	perm, err := own.CreatePermission(ctx, role.PermissionCreate{RoleID: lead.ID, Subject: "projects", CanRead: true, CanUpdate: true})
	if err != nil {
		t.Fatal(err)
	}
	leadUser, reader, nobody := e.user(t, "lead@example.com"), e.user(t, "reader@example.com"), e.user(t, "nobody@example.com")
	m := e.member(t, own, org.ID, leadUser, lead.ID)
	e.member(t, own, org.ID, reader, ro.ID)
	return &hostWorld{env: e, org: org, owner: provisioning.User(owner.ID), lead: provisioning.User(leadUser.ID),
		reader: provisioning.User(reader.ID), nobody: provisioning.User(nobody.ID), leadRole: lead, leadMembership: m, perm: perm}
}

func TestProvisionerCan(t *testing.T) {
	ctx := context.Background()
	w := newHostWorld(t)
	tests := []struct {
		name       string
		give       provisioning.Principal
		giveOrg    string
		giveAct    role.Action
		want       bool
		wantReason authz.Reason
	}{
		{"owner updates projects", w.owner, w.org.ID, role.ActionUpdate, true, authz.Granted},
		{"lead updates projects", w.lead, w.org.ID, role.ActionUpdate, true, authz.Granted},
		{"lead may not destroy projects", w.lead, w.org.ID, role.ActionDestroy, false, authz.NoGrant},
		{"reader reads projects", w.reader, w.org.ID, role.ActionRead, true, authz.Granted},
		{"reader may not update projects", w.reader, w.org.ID, role.ActionUpdate, false, authz.NoGrant},
		{"non-member", w.nobody, w.org.ID, role.ActionRead, false, authz.NotMember},
		{"organization that does not exist", w.owner, "nosuchorg", role.ActionRead, false, authz.NotMember},
		{"malformed organization id", w.owner, "Not An Id", role.ActionRead, false, authz.NotMember},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := w.p.Can(ctx, tt.give, tt.giveOrg, "projects", tt.giveAct)
			if err != nil || got != tt.want {
				t.Fatalf("Can = %v, %v; want %v", got, err, tt.want)
			}
			d, err := w.p.Check(ctx, tt.give, tt.giveOrg, "projects", tt.giveAct)
			if err != nil || d.Allowed != tt.want || d.Reason != tt.wantReason {
				t.Fatalf("Check = %+v, %v; want allowed %v, reason %s", d, err, tt.want, tt.wantReason)
			}
		})
	}
}

func TestProvisionerCanRefusesBadQuestions(t *testing.T) {
	ctx := context.Background()
	w := newHostWorld(t)
	tests := []struct {
		name    string
		give    provisioning.Principal
		subject string
		act     role.Action
		want    error
	}{
		{"unregistered subject", w.owner, "invoices", role.ActionRead, fault.ErrInvalid},
		{"malformed subject", w.owner, "Projects", role.ActionRead, fault.ErrInvalid},
		{"unknown action", w.owner, "projects", "own", fault.ErrInvalid},
		{"system principal", provisioning.Principal{Kind: access.KindSystem, ID: "system"}, "projects", role.ActionRead, fault.ErrInvalid},
		{"anonymous principal", provisioning.Principal{}, "projects", role.ActionRead, fault.ErrUnauthenticated},
		{"malformed principal id", provisioning.User("a,b"), "projects", role.ActionRead, fault.ErrUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := w.p.Can(ctx, tt.give, w.org.ID, tt.subject, tt.act); !errors.Is(err, tt.want) || got {
				t.Errorf("Can = %v, %v; want false, %v", got, err, tt.want)
			}
			if _, err := w.p.Explain(ctx, tt.give, w.org.ID, tt.subject, tt.act); !errors.Is(err, tt.want) {
				t.Errorf("Explain error %v, want %v", err, tt.want)
			}
			if _, err := w.p.OrganizationsWhere(ctx, tt.give, tt.subject, tt.act, resource.PageRequest{}); !errors.Is(err, tt.want) {
				t.Errorf("OrganizationsWhere error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestProvisionerExplain(t *testing.T) {
	ctx := context.Background()
	w := newHostWorld(t)
	ex, err := w.p.Explain(ctx, w.lead, w.org.ID, "projects", role.ActionUpdate)
	if err != nil {
		t.Fatal(err)
	}
	wantLine := []string{"role:" + w.leadRole.ID, "org:" + w.org.ID, "projects", "update", "allow"}
	if !ex.Allowed || ex.RoleID != w.leadRole.ID || ex.PermissionID != w.perm.ID || ex.MembershipID != w.leadMembership.ID || !slices.Equal(ex.Line, wantLine) {
		t.Errorf("Explain = %+v; want granted by %q through membership %s, permission %s", ex, wantLine, w.leadMembership.ID, w.perm.ID)
	}
	ex, err = w.p.Explain(ctx, w.lead, w.org.ID, "projects", role.ActionDestroy)
	if err != nil || ex.Allowed || ex.Reason != authz.NoGrant || ex.Line != nil {
		t.Errorf("Explain of a refusal = %+v, %v; want no_grant and no line", ex, err)
	}
}

func TestProvisionerReverseQueries(t *testing.T) {
	ctx := context.Background()
	w := newHostWorld(t)
	// A second organization where the lead is only a reader, and a third
	// where the lead is the owner.
	ownerUser, _ := w.store.Users().Get(ctx, w.owner.ID)
	leadUser, _ := w.store.Users().Get(ctx, w.lead.ID)
	second, _, ro := w.env.org(t, ownerUser, "Second")
	w.member(t, w.as(ownerUser), second.ID, leadUser, ro.ID)
	third, _, _ := w.env.org(t, leadUser, "Third")

	var got []string
	page := resource.PageRequest{Limit: 1}
	for {
		p, err := w.p.OrganizationsWhere(ctx, w.lead, "projects", role.ActionUpdate, page)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Items...)
		if p.Next == "" {
			break
		}
		page.After = p.Next
	}
	want := []string{w.org.ID, third.ID}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("OrganizationsWhere(lead, update projects) = %v, want %v", got, want)
	}

	members, err := w.p.System().MembersWho(ctx, w.org.ID, "projects", role.ActionUpdate, resource.PageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	want = []string{w.owner.ID, w.lead.ID}
	slices.Sort(want)
	if !slices.Equal(members.Items, want) || members.Next != "" {
		t.Errorf("MembersWho(update projects) = %+v, want %v", members, want)
	}
	if _, err := w.p.System().MembersWho(ctx, w.org.ID, "projects", role.ActionUpdate, resource.PageRequest{After: "garbage"}); !errors.Is(err, fault.ErrInvalid) {
		t.Errorf("MembersWho with a malformed cursor: %v, want invalid", err)
	}
	if _, err := w.p.System().MembersWho(ctx, "nosuchorg", "projects", role.ActionRead, resource.PageRequest{}); !errors.Is(err, fault.ErrNotFound) {
		t.Errorf("MembersWho of an unknown organization: %v, want not found", err)
	}
}

// TestRefusalErrors: each reason of a refused check becomes its error, so
// that a host can tell "ask for a second factor" from "forbidden".
func TestRefusalErrors(t *testing.T) {
	tests := []struct {
		give      authz.Reason
		want      error
		wantNamed error
	}{
		{authz.Granted, nil, nil},
		{authz.NotMember, fault.ErrNotFound, nil},
		{authz.Expired, fault.ErrNotFound, nil},
		{authz.IPRefused, fault.ErrForbidden, fault.ErrIPRefused},
		{authz.MFARequired, fault.ErrForbidden, fault.ErrMFARequired},
		{authz.Denied, fault.ErrForbidden, nil},
		{authz.NoGrant, fault.ErrForbidden, nil},
	}
	for _, tt := range tests {
		t.Run(string(tt.give), func(t *testing.T) {
			err := provisioning.Refusal("op", authz.Decision{Reason: tt.give, Allowed: tt.give == authz.Granted})
			if tt.want == nil {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
			for _, named := range []error{fault.ErrIPRefused, fault.ErrMFARequired} {
				if errors.Is(err, named) != (named == tt.wantNamed) {
					t.Errorf("errors.Is(%v, %v) = %v", err, named, !(named == tt.wantNamed))
				}
			}
		})
	}
}

// TestProvisionerSubjects: the registry a Provisioner holds is the built-in
// vocabulary and the host's subjects, once each, sorted; a changed List
// answer changes nothing; a malformed host subject fails New.
func TestProvisionerSubjects(t *testing.T) {
	e := newEnv(t, provisioning.WithSubjects("projects", "invoices"), provisioning.WithSubjects("projects"))
	var want []string
	for _, s := range slices.Concat(role.CoreSubjects(), role.ProvisioningSubjects()) {
		want = append(want, string(s))
	}
	want = slices.Sorted(slices.Values(append(want, "projects", "invoices")))
	got := e.p.Subjects().List()
	if !slices.Equal(got, want) {
		t.Fatalf("Subjects().List() = %v, want %v", got, want)
	}
	got[0] = "widgets"
	if again := e.p.Subjects().List(); !slices.Equal(again, want) || e.p.Subjects().Has("widgets") {
		t.Errorf("after a changed answer, Subjects().List() = %v, Has(widgets) %v", again, e.p.Subjects().Has("widgets"))
	}
	if _, err := provisioning.New(e.store, provisioning.WithSubjects("Projects")); !errors.Is(err, fault.ErrInvalid) {
		t.Errorf("New with a malformed subject: %v, want invalid", err)
	}
}
