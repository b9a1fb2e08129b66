package provisioningfx_test

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/idp"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/provisioningfx"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/storage/bunstore"
	"github.com/provisionkit/provisioning/user"
)

// publishedDNS answers every name with one TXT record.
type publishedDNS struct{ record atomic.Value }

func (d *publishedDNS) LookupTXT(context.Context, string) ([]string, error) {
	r, _ := d.record.Load().(string)
	return []string{r}, nil
}

// eventually waits for cond, failing the test after 10 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen", what)
		}
	}
}

// TestModuleVerifiesIdentityProviders: between start and stop, the module's
// Verifier verifies a pending provider whose record is published, as the
// host's VerifierConfig says; stop ends it (TestMain checks for leaks).
func TestModuleVerifiesIdentityProviders(t *testing.T) {
	ctx := context.Background()
	dns := &publishedDNS{}
	keys, err := idp.NewStaticKeys("k1", map[string][]byte{"k1": bytes.Repeat([]byte{7}, idp.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, memoryDB(t),
		provisioningfx.Options(provisioning.WithResolver(dns), provisioning.WithKeyProvider(keys)),
		fx.Supply(provisioning.VerifierConfig{Interval: 5 * time.Millisecond}))
	owner, err := p.System().CreateUser(ctx, user.Create{Email: "owner@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	own := p.As(provisioning.User(owner.ID))
	org, err := own.CreateOrganization(ctx, organization.Create{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	prov, err := own.CreateIdentityProvider(ctx, idp.Create{OrganizationID: org.ID, Name: "Acme SSO", ClientID: "cid",
		ClientSecret: "a-client-secret", Issuer: "https://login.acme.example", Domains: []string{"acme.example"},
		TokenURL: "https://login.acme.example/token", AuthorizeURL: "https://login.acme.example/authorize",
		JWKSURL: "https://login.acme.example/jwks"})
	if err != nil {
		t.Fatal(err)
	}
	dns.record.Store(prov.TXTRecord) // before the next pass: the first one may have run already
	eventually(t, "the verification", func() bool {
		got, err := own.GetIdentityProvider(ctx, prov.ID)
		return err == nil && got.Status == idp.Verified
	})
}

// TestRetentionModulePurges: with Retention, versions past the host's
// retention age are purged between start and stop.
func TestRetentionModulePurges(t *testing.T) {
	ctx := context.Background()
	var st *bunstore.Store
	p := start(t, memoryDB(t), provisioningfx.Retention, fx.Populate(&st),
		fx.Supply(provisioning.RetentionConfig{Age: provisioning.MinVersionRetention, Interval: 5 * time.Millisecond}))
	old := time.Now().Add(-48 * time.Hour).UTC()
	if err := st.Versions().Append(ctx, &audit.Version{ID: "oldversion1", OrganizationID: "org", ResourceType: "roles",
		ResourceID: "r1", Event: audit.Update, Who: audit.Who{Type: "system", ID: "system"},
		Common: resource.Common{CreatedAt: old, UpdatedAt: old}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the purge", func() bool {
		_, err := st.Versions().Get(ctx, "oldversion1")
		return err != nil
	})
	events, err := p.System().ListSecurityEvents(ctx, audit.SecurityFilter{Kind: audit.VersionsPurged})
	if err != nil || len(events.Items) != 1 {
		t.Fatalf("purge events = %v, %v; want one", events.Items, err)
	}
}
