package provisioning_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/netip"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/user"
)

func ExampleSession_UpsertMembership() {
	ctx := context.Background()
	e := newExample()
	defer e.Close()
	bob, err := e.p.System().CreateUser(ctx, user.Create{Email: "bob@example.com", EmailVerified: true})
	if err != nil {
		log.Fatal(err)
	}
	in := membership.Upsert{OrganizationID: e.org.ID, UserID: bob.ID,
		RoleIDs: []string{exampleRole(e.owner, e.org.ID, role.KindReadOnly)},
		Rules: membership.Rules{
			Permissions: []string{"orders:update", "orders:*"}, // canonical: orders:*
			AllowedIPs:  []string{"8.8.8.7/24"},                // canonical: 8.8.8.0/24
			MFARequired: true,
		}}
	m, created, err := e.owner.UpsertMembership(ctx, in)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("created:", created, m.Status, m.Permissions, m.AllowedIPs, "default:", m.Default)
	_, created, err = e.owner.UpsertMembership(ctx, in) // the same state again: nothing changes
	fmt.Println("created:", created, err)

	// The check applies the rules to the request's facts.
	call := func(ip string, mfa bool) error {
		p := provisioning.Principal{Kind: access.KindUser, ID: bob.ID, IP: netip.MustParseAddr(ip), MFA: mfa}
		_, err := e.p.As(p).GetOrganization(ctx, e.org.ID)
		return err
	}
	fmt.Println(call("8.8.8.8", true))
	fmt.Println(errors.Is(call("8.8.8.8", false), fault.ErrMFARequired))
	fmt.Println(errors.Is(call("9.9.9.9", true), fault.ErrIPRefused))

	// Private networks are refused, and so is an empty list (use nil for "anywhere").
	in.AllowedIPs = []string{"10.0.0.0/8"}
	_, _, err = e.owner.UpsertMembership(ctx, in)
	fmt.Println(err)
	// Output:
	// created: true active [orders:*] [8.8.8.0/24] default: true
	// created: false <nil>
	// <nil>
	// true
	// true
	// membership.Upsert: invalid input: allowed_ips[0] 10.0.0.0/8 overlaps the non-public range 10.0.0.0/8 (private-use, RFC 1918); only public addresses may be listed
}
