package allowlist_test

import (
	"fmt"
	"net/netip"

	"github.com/provisionkit/provisioning/allowlist"
)

func Example() {
	list, err := allowlist.Parse("allowed_ips", []string{"153.12.32.33", "201.54.122.7/24", "76.*.*.*", "::ffff:8.8.8.8", "8.8.8.8"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(allowlist.Strings(list))
	for _, client := range []string{"201.54.122.200", "::ffff:76.1.2.3", "10.0.0.1"} {
		fmt.Println(client, allowlist.Allows(list, netip.MustParseAddr(client)))
	}
	// Output:
	// [8.8.8.8 76.0.0.0/8 153.12.32.33 201.54.122.0/24]
	// 201.54.122.200 true
	// ::ffff:76.1.2.3 true
	// 10.0.0.1 false
}

func ExampleParse_refused() {
	_, err := allowlist.Parse("allowed_ips", []string{"8.8.8.8", "172.0.0.0/8", "fe80::1%eth0"})
	fmt.Println(err)

	_, err = allowlist.Parse("allowed_ips", []string{})
	fmt.Println(err)

	list, err := allowlist.Parse("allowed_ips", nil)
	fmt.Println(list == nil, err, allowlist.Allows(list, netip.MustParseAddr("10.0.0.1")))
	// Output:
	// allowlist.Parse: invalid input: allowed_ips[1] 172.0.0.0/8 overlaps the non-public range 172.16.0.0/12 (private-use, RFC 1918); only public addresses may be listed; allowed_ips[2] must not have an IPv6 zone (%...)
	// allowlist.Parse: invalid input: allowed_ips must list at least one address; use null to remove the restriction
	// true <nil> true
}
