package provisioning_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/role"
)

// An admin creates an integration API credential; its secret is shown once.
// A job authenticates with the client id and secret and works with the
// credential's role; after a rotation without overlap the old secret fails.
func ExampleProvisioner_Authenticate() {
	ctx := context.Background()
	e := newExample()
	defer e.Close()

	is, err := e.owner.CreateCredential(ctx, credential.Create{OrganizationID: e.org.ID, Name: "Reporting job",
		Kind: credential.Integration, RoleID: exampleRole(e.owner, e.org.ID, role.KindReadOnly)})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("secret:", strings.HasPrefix(is.ClientSecret, "pvk_test_"), credential.CheckSecret(is.ClientSecret))
	fmt.Println("printed:", strings.Replace(fmt.Sprint(is), is.Credential.ID, "<id>", 1)) // never the secret

	job, err := e.p.Authenticate(ctx, is.Credential.ClientID, is.ClientSecret)
	if err != nil {
		log.Fatal(err)
	}
	ok, _ := e.p.As(job).Can(ctx, e.org.ID, "orders", role.ActionRead)
	fmt.Println("reads orders:", ok)
	ok, _ = e.p.As(job).Can(ctx, e.org.ID, "orders", role.ActionUpdate)
	fmt.Println("updates orders:", ok)

	if _, err := e.owner.RotateCredential(ctx, is.Credential.ID, 0); err != nil {
		log.Fatal(err)
	}
	_, err = e.p.Authenticate(ctx, is.Credential.ClientID, is.ClientSecret)
	fmt.Println("old secret:", errors.Is(err, fault.ErrBadCredentials))
	// Output:
	// secret: true true
	// printed: credential <id> (client secret [redacted])
	// reads orders: true
	// updates orders: false
	// old secret: true
}
