package provisioning_test

import (
	"context"
	"fmt"
	"log"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/idp"
)

// exampleDNS answers TXT lookups from a map, as DNS would once the host's
// customer published the records.
type exampleDNS map[string][]string

func (d exampleDNS) LookupTXT(_ context.Context, name string) ([]string, error) { return d[name], nil }

// The owner creates an identity provider, publishes its TXT record on every
// domain and verifies them; the host's SSO flow alone reads the secret back.
func ExampleSession_CreateIdentityProvider() {
	ctx := context.Background()
	keys, err := idp.NewStaticKeys("2026-01", map[string][]byte{"2026-01": idp.NewKey()}) // or idp.ParseStaticKeys(os.Getenv(...)), or a KMS
	if err != nil {
		log.Panic(err)
	}
	dns := exampleDNS{}
	ex := newExample(provisioning.WithKeyProvider(keys), provisioning.WithResolver(dns))
	defer ex.close()

	sso, err := ex.owner.CreateIdentityProvider(ctx, idp.Create{OrganizationID: ex.org.ID, Name: "Acme SSO",
		ClientID: "acme-dashboard", ClientSecret: "a-long-client-secret-1234", Issuer: "https://login.acme.example",
		Domains: []string{"Acme.example", "dev.acme.example"}, TokenURL: "https://login.acme.example/oauth/token",
		AuthorizeURL: "https://login.acme.example/oauth/authorize", JWKSURL: "https://login.acme.example/jwks"})
	if err != nil {
		log.Panic(err)
	}
	fmt.Println(sso.Status, idp.FormatDomains(sso.Domains), sso.HasClientSecret, sso.ClientSecretLast4)

	for _, d := range sso.Domains {
		dns[d] = []string{sso.TXTRecord}
	}
	sso, checks, err := ex.owner.VerifyIdentityProvider(ctx, sso.ID)
	if err != nil {
		log.Panic(err)
	}
	fmt.Println(sso.Status, len(checks))

	_, secret, err := ex.p.System().IdentityProviderSecret(ctx, sso.ID)
	if err != nil {
		log.Panic(err)
	}
	fmt.Println(secret, len(string(secret)))
	// Output:
	// pending acme.example,dev.acme.example true 1234
	// verified 2
	// [redacted] 25
}
