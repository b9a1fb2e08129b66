package provisioning_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

// securityEvents returns a function that returns the security events
// written since securityEvents was called, oldest first.
func (w *world) securityEvents(t testing.TB) func() []audit.SecurityEvent {
	t.Helper()
	all := func() []audit.SecurityEvent {
		var out []audit.SecurityEvent
		f := audit.SecurityFilter{PageRequest: resource.PageRequest{Limit: resource.MaxPageLimit}}
		for {
			page, err := w.p.System().ListSecurityEvents(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, page.Items...)
			if page.Next == "" {
				return out
			}
			f.After = page.Next
		}
	}
	before := len(all())
	return func() []audit.SecurityEvent {
		t.Helper()
		return all()[before:]
	}
}

// TestSecurityEvents: refusals are recorded, durably (the refused call's
// transaction rolled back), with who, what and why, never with a secret,
// their text escaped.
func TestSecurityEvents(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	reader := w.as(w.reader)
	tests := []struct {
		name string
		call func() error
		want audit.SecurityEvent // ID, time and request id are not compared
	}{
		{"a forbidden invitation", func() error {
			_, err := reader.Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: "x@example.com", RoleID: w.readOnly.ID})
			return err
		}, audit.SecurityEvent{Kind: audit.AuthorizationRefused, OrganizationID: w.org.ID, Who: audit.Who{Type: "user", ID: w.reader.ID},
			Operation: "provisioning.Invite", Subject: "memberships", Action: "create", Reason: "no_grant"}},
		{"another organization", func() error { _, err := w.as(w.stranger).GetOrganization(ctx, w.org.ID); return err },
			audit.SecurityEvent{Kind: audit.AuthorizationRefused, OrganizationID: w.org.ID, Who: audit.Who{Type: "user", ID: w.stranger.ID},
				Operation: "provisioning.GetOrganization", Subject: "organizations", Action: "read", Reason: "not_member"}},
		{"an organization that does not exist", func() error { _, err := reader.GetOrganization(ctx, "nosuchorg"); return err },
			audit.SecurityEvent{Kind: audit.AuthorizationRefused, OrganizationID: "nosuchorg", Who: audit.Who{Type: "user", ID: w.reader.ID},
				Operation: "provisioning.GetOrganization", Subject: "organizations", Action: "read", Reason: "no_such_organization"}},
		{"the owner's membership deleted", func() error { return w.as(w.adminUser).DeleteMembership(ctx, w.org.OwnerMembershipID) },
			audit.SecurityEvent{Kind: audit.LastOwnerRefused, OrganizationID: w.org.ID, Who: audit.Who{Type: "user", ID: w.adminUser.ID},
				Operation: "provisioning.DeleteMembership", Subject: "memberships", Reason: "last_owner", Detail: "membership " + w.org.OwnerMembershipID}},
		{"an escalation", func() error {
			_, err := w.as(w.adminUser).Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: "y@example.com", RoleID: w.admin.ID})
			return err
		}, audit.SecurityEvent{Kind: audit.AuthorizationRefused, Who: audit.Who{Type: "user", ID: w.adminUser.ID},
			Operation: "provisioning.Invite", Reason: "rule", Detail: "only the owner grants the admin role or every permission"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			since := w.securityEvents(t)
			before := w.fingerprint(t)
			if err := tt.call(); err == nil {
				t.Fatal("the call succeeded")
			}
			assertUnchanged(t, w.env, before)
			got := since()
			if len(got) != 1 {
				t.Fatalf("%d security events, want 1: %+v", len(got), got)
			}
			g := got[0]
			g.ID, g.CreatedAt, g.RequestID = "", tt.want.CreatedAt, ""
			if g != tt.want {
				t.Errorf("event\n %+v\nwant\n %+v", g, tt.want)
			}
		})
	}

	t.Run("an address outside the allowlist", func(t *testing.T) {
		ips := []string{"8.8.8.0/24"}
		if _, err := w.as(w.owner).UpdateMembership(ctx, w.readerMembership.ID, membership.Update{AllowedIPs: &ips}); err != nil {
			t.Fatal(err)
		}
		since := w.securityEvents(t)
		p := provisioning.User(w.reader.ID)
		p.IP = netip.MustParseAddr("9.9.9.9")
		if _, err := w.p.As(p).ListRoles(ctx, role.Filter{OrganizationID: w.org.ID}); !errors.Is(err, fault.ErrIPRefused) {
			t.Fatalf("ListRoles: %v, want ErrIPRefused", err)
		}
		got := since()
		if len(got) != 1 || got[0].Reason != "ip_refused" || got[0].IP != "9.9.9.9" {
			t.Errorf("events %+v, want one ip_refused from 9.9.9.9", got)
		}
	})

	t.Run("bad credentials, escaped, without the secret", func(t *testing.T) {
		issued, err := w.as(w.owner).CreateCredential(ctx, credential.Create{OrganizationID: w.org.ID, Name: "Job",
			Kind: credential.Integration, RoleID: w.readOnly.ID})
		if err != nil {
			t.Fatal(err)
		}
		since := w.securityEvents(t)
		wrong := issued.ClientSecret + "x"
		if _, err := w.p.Authenticate(ctx, issued.Credential.ClientID, wrong); !errors.Is(err, fault.ErrBadCredentials) {
			t.Fatalf("Authenticate: %v", err)
		}
		if _, err := w.p.Authenticate(ctx, "evil\n\x1b[31mid", "whatever-secret"); !errors.Is(err, fault.ErrBadCredentials) {
			t.Fatalf("Authenticate: %v", err)
		}
		got := since()
		if len(got) != 2 || got[0].Kind != audit.BadCredentials || got[0].OrganizationID != w.org.ID ||
			got[1].Detail != `client_id evil\x0a\x1b[3…` || got[1].OrganizationID != "" {
			t.Fatalf("events %+v, want two bad_credentials, the second cut and escaped", got)
		}
		dump := dumpTables(t, w.env)
		for _, secret := range []string{wrong, issued.ClientSecret, "whatever-secret"} {
			if strings.Contains(dump, secret) {
				t.Errorf("a secret is stored: %q", secret)
			}
		}
	})

	t.Run("hosts record bad tokens; kinds are checked", func(t *testing.T) {
		since := w.securityEvents(t)
		if err := w.p.System().RecordSecurityEvent(ctx, audit.SecurityEvent{Kind: "made_up"}); !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("an unknown kind: %v, want ErrInvalid", err)
		}
		if err := w.p.System().RecordSecurityEvent(ctx, audit.SecurityEvent{Kind: audit.BadToken, Detail: "prefix pvt_abc\r\n"}); err != nil {
			t.Fatal(err)
		}
		if got := since(); len(got) != 1 || got[0].Detail != `prefix pvt_abc\x0d\x0a` {
			t.Errorf("events %+v, want one bad_token, escaped", got)
		}
	})
}

// TestBadLoginsAreSampled: a flood of bad logins writes at most ten events
// a minute for one client id; the first one after says how many were left
// out. Events of authenticated principals are never sampled.
func TestBadLoginsAreSampled(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	since := w.securityEvents(t)
	for range 25 {
		if _, err := w.p.Authenticate(ctx, "flood-client", "wrong"); !errors.Is(err, fault.ErrBadCredentials) {
			t.Fatal(err)
		}
	}
	if got := since(); len(got) != 10 {
		t.Fatalf("%d events for 25 bad logins in a minute, want 10", len(got))
	}
	w.clock.Advance(time.Minute)
	if _, err := w.p.Authenticate(ctx, "flood-client", "wrong"); !errors.Is(err, fault.ErrBadCredentials) {
		t.Fatal(err)
	}
	got := since()
	if len(got) != 11 || got[10].Detail != "client_id flood-cl… (15 more not recorded)" {
		t.Fatalf("after a minute: %d events, the last %q; want 11, saying 15 were left out", len(got), got[len(got)-1].Detail)
	}
	// Refusals of authenticated principals are all recorded.
	since = w.securityEvents(t)
	for range 25 {
		if _, err := w.as(w.stranger).GetOrganization(ctx, w.org.ID); !errors.Is(err, fault.ErrNotFound) {
			t.Fatal(err)
		}
	}
	if got := since(); len(got) != 25 {
		t.Errorf("%d events for 25 refused calls, want 25", len(got))
	}
}
