package provisioning_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/role"
)

// TestCheckerAnswersAsCan: a Checker's answers are Session.Can's, for every
// kind of principal and question.
func TestCheckerAnswersAsCan(t *testing.T) {
	ctx := context.Background()
	w := newHostWorld(t)
	for _, pr := range []provisioning.Principal{w.owner, w.lead, w.reader, w.nobody} {
		for _, org := range []string{w.org.ID, "nosuchorg"} {
			s := w.p.As(pr)
			c, err := s.Checker(ctx, org)
			if err != nil {
				t.Fatalf("Checker(%s) as %s: %v", org, pr.ID, err)
			}
			sameAnswers(t, s, c, org)
			if _, err := c.Can(ctx, "unicorns", role.ActionRead); !errors.Is(err, fault.ErrInvalid) {
				t.Errorf("Can on an unregistered subject: %v, want invalid", err)
			}
		}
	}
	if _, err := w.p.As(w.owner).Checker(ctx, ""); !errors.Is(err, fault.ErrInvalid) {
		t.Errorf("Checker of a blank organization: %v, want invalid", err)
	}
	if _, err := w.p.As(provisioning.Principal{}).Checker(ctx, w.org.ID); !errors.Is(err, fault.ErrUnauthenticated) {
		t.Errorf("Checker without a principal: %v, want unauthenticated", err)
	}
}

// sameAnswers checks that c, made by s for org, answers every question as
// s.Can does, with the same error.
func sameAnswers(t *testing.T, s *provisioning.Session, c *provisioning.Checker, org string) {
	t.Helper()
	ctx := context.Background()
	for _, subj := range []string{"projects", "memberships", "versions", "orders"} {
		for _, act := range role.Actions {
			want, wantErr := s.Can(ctx, org, subj, act)
			got, err := c.Can(ctx, subj, act)
			if got != want || fault.KindOf(err) != fault.KindOf(wantErr) || errors.Is(err, fault.ErrIPRefused) != errors.Is(wantErr, fault.ErrIPRefused) ||
				errors.Is(err, fault.ErrMFARequired) != errors.Is(wantErr, fault.ErrMFARequired) || (err == nil) != (wantErr == nil) {
				t.Errorf("%+v in %s: Checker.Can(%s, %s) = %v, %v; Session.Can = %v, %v", s.Principal(), org, subj, act, got, err, want, wantErr)
			}
		}
	}
}

// TestCheckerAttributeRules: under an address allowlist and a second factor
// required, which a Checker applies once when it is made, its answers and
// errors are still Session.Can's, with and without the request's facts.
func TestCheckerAttributeRules(t *testing.T) {
	ctx := context.Background()
	w := newHostWorld(t)
	ips, mfa := []string{"9.9.9.0/24"}, true
	if _, err := w.p.As(w.owner).UpdateMembership(ctx, w.leadMembership.ID, membership.Update{AllowedIPs: &ips, MFARequired: &mfa}); err != nil {
		t.Fatal(err)
	}
	in, out := netip.MustParseAddr("9.9.9.9"), netip.MustParseAddr("8.8.8.8")
	for _, pr := range []provisioning.Principal{
		{Kind: access.KindUser, ID: w.lead.ID, IP: in, MFA: true},
		{Kind: access.KindUser, ID: w.lead.ID, IP: in},
		{Kind: access.KindUser, ID: w.lead.ID, IP: out, MFA: true},
		{Kind: access.KindUser, ID: w.lead.ID, MFA: true},
	} {
		s := w.p.As(pr)
		c, err := s.Checker(ctx, w.org.ID)
		if err != nil {
			t.Fatalf("Checker as %+v: %v", pr, err)
		}
		sameAnswers(t, s, c, w.org.ID)
	}
	if ok, err := w.p.As(provisioning.Principal{Kind: access.KindUser, ID: w.lead.ID, IP: in, MFA: true}).Can(ctx, w.org.ID, "projects", role.ActionUpdate); !ok || err != nil {
		t.Errorf("the lead, from an allowed address with a second factor: %v, %v; want allowed", ok, err)
	}
}

// TestCheckerRevocation: a Checker answers at the revision it read, and
// the next one, the next request's, sees a revocation committed since.
func TestCheckerRevocation(t *testing.T) {
	ctx := context.Background()
	w := newHostWorld(t)
	lead := w.p.As(w.lead)
	before, err := lead.Checker(ctx, w.org.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := before.Can(ctx, "projects", role.ActionUpdate); !ok || err != nil {
		t.Fatalf("before the revocation: %v, %v; want true", ok, err)
	}
	off := false
	if _, err := w.p.As(w.owner).UpdatePermission(ctx, w.perm.ID, role.PermissionUpdate{CanUpdate: &off}); err != nil {
		t.Fatal(err)
	}
	if ok, err := before.Can(ctx, "projects", role.ActionUpdate); !ok || err != nil {
		t.Errorf("the Checker made before the revocation: %v, %v; want its revision's answer, true", ok, err)
	}
	after, err := lead.Checker(ctx, w.org.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := after.Can(ctx, "projects", role.ActionUpdate); ok || err != nil {
		t.Errorf("the next Checker: %v, %v; want the revocation seen, false", ok, err)
	}
	if ok, err := after.Can(ctx, "projects", role.ActionRead); !ok || err != nil {
		t.Errorf("the next Checker, what was not revoked: %v, %v; want true", ok, err)
	}
}

// BenchmarkChecker: a request's questions through one Checker (its
// revision read once), 1 against 100 of them, and 100 through Session.Can
// (a read each) for comparison. The policy is in memory before the timer.
func BenchmarkChecker(b *testing.B) {
	ctx := context.Background()
	w := newHostWorld(b)
	lead := w.p.As(w.lead)
	if ok, err := lead.Can(ctx, w.org.ID, "projects", role.ActionRead); !ok || err != nil {
		b.Fatal(ok, err)
	}
	subjects := []string{"projects", "memberships", "roles", "organizations"}
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("checker/questions=%d", n), func(b *testing.B) {
			for b.Loop() {
				c, err := lead.Checker(ctx, w.org.ID)
				if err != nil {
					b.Fatal(err)
				}
				for i := range n {
					if ok, err := c.Can(ctx, subjects[i%len(subjects)], role.ActionRead); !ok || err != nil {
						b.Fatal(ok, err)
					}
				}
			}
		})
	}
	// One question of a Checker already made: the cost that the 100 ÷ 1
	// ratio adds per question, apart from the revision read.
	b.Run("question", func(b *testing.B) {
		c, err := lead.Checker(ctx, w.org.ID)
		if err != nil {
			b.Fatal(err)
		}
		i := 0
		for b.Loop() {
			if ok, err := c.Can(ctx, subjects[i%len(subjects)], role.ActionRead); !ok || err != nil {
				b.Fatal(ok, err)
			}
			i++
		}
	})
	b.Run("session-can/questions=100", func(b *testing.B) {
		for b.Loop() {
			for i := range 100 {
				if ok, err := lead.Can(ctx, w.org.ID, subjects[i%len(subjects)], role.ActionRead); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		}
	})
}
