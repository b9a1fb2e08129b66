package provisioning_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
)

// TestAttributeRulesReachTheFacade: rules stored through the facade (the
// organization requires a second factor, the owner may call only from
// 8.8.8.0/24) reach the check; the facade turns its attribute refusals into
// their own errors, on every call, and an owner refused by one cannot
// transfer ownership either.
func TestAttributeRulesReachTheFacade(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	owner, other := e.user(t, "owner@example.com"), e.user(t, "other@example.com")
	org, _, ro := e.org(t, owner, "Strict")
	e.member(t, e.as(owner), org.ID, other, ro.ID)
	p := e.p
	good := netip.MustParseAddr("8.8.8.7")
	setter := p.As(provisioning.Principal{Kind: "user", ID: owner.ID, MFA: true, IP: good})
	yes, ips := true, []string{"8.8.8.0/24"}
	if _, err := setter.UpdateOrganization(ctx, org.ID, organization.Update{MFARequired: &yes}); err != nil {
		t.Fatal(err)
	}
	if _, err := setter.UpdateMembership(ctx, org.OwnerMembershipID, membership.Update{AllowedIPs: &ips}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		give provisioning.Principal
		want error
	}{
		{"owner with MFA from the allowed network", provisioning.Principal{Kind: "user", ID: owner.ID, MFA: true, IP: good}, nil},
		{"owner with MFA from an IPv4-mapped allowed address", provisioning.Principal{Kind: "user", ID: owner.ID, MFA: true, IP: netip.MustParseAddr("::ffff:8.8.8.7")}, nil},
		{"owner without MFA", provisioning.Principal{Kind: "user", ID: owner.ID, IP: good}, fault.ErrMFARequired},
		{"owner from another network", provisioning.Principal{Kind: "user", ID: owner.ID, MFA: true, IP: netip.MustParseAddr("9.9.9.9")}, fault.ErrIPRefused},
		{"owner without a known address", provisioning.Principal{Kind: "user", ID: owner.ID, MFA: true}, fault.ErrIPRefused},
		{"member without MFA", provisioning.User(other.ID), fault.ErrMFARequired},
		{"member with MFA, no allowlist of its own", provisioning.Principal{Kind: "user", ID: other.ID, MFA: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.As(tt.give).GetOrganization(ctx, org.ID)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("GetOrganization: %v, want %v", err, tt.want)
			}
			if ok, err := p.Can(ctx, tt.give, org.ID, "organizations", "read"); err != nil || ok != (tt.want == nil) {
				t.Errorf("Can = %v, %v; want %v", ok, err, tt.want == nil)
			}
		})
	}
	// The owner, refused by a rule, cannot hand the organization over.
	before := e.count(t, "provisioning_versions", "1 = 1")
	err := p.As(provisioning.Principal{Kind: "user", ID: owner.ID, IP: good}).TransferOwnership(ctx, org.ID, other.Email)
	if !errors.Is(err, fault.ErrMFARequired) {
		t.Fatalf("TransferOwnership without MFA: %v, want ErrMFARequired", err)
	}
	if got := e.count(t, "provisioning_versions", "1 = 1"); got != before {
		t.Errorf("a refused transfer wrote a version")
	}
	o, _ := e.store.Organizations().Get(ctx, org.ID)
	if o.OwnerMembershipID != org.OwnerMembershipID {
		t.Fatal("the owner changed")
	}
	if err := p.As(provisioning.Principal{Kind: "user", ID: owner.ID, IP: good, MFA: true}).TransferOwnership(ctx, org.ID, other.Email); err != nil {
		t.Fatalf("TransferOwnership with MFA: %v", err)
	}
}
