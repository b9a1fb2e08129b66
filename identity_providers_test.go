package provisioning_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/uptrace/bun"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/idp"
	"github.com/provisionkit/provisioning/internal/testkit"
	"github.com/provisionkit/provisioning/storage/storagetest"
)

// The clear-text secrets the tests create; none may be stored or read back.
const (
	idpSecret1 = "first-Secret-0123456789"
	idpSecret2 = "second-Secret-9876543210"
)

// idpDNS is a fake resolver: TXT records by domain; an unknown domain is
// not found.
type idpDNS struct {
	mu      sync.Mutex
	answers map[string]idpAnswer
	lookups int
}

type idpAnswer struct {
	txt []string
	err error
}

func (d *idpDNS) LookupTXT(_ context.Context, name string) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lookups++
	a, ok := d.answers[name]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	return a.txt, a.err
}

func (d *idpDNS) set(name string, a idpAnswer) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.answers == nil {
		d.answers = map[string]idpAnswer{}
	}
	d.answers[name] = a
}

// publish puts the provider's TXT record on each of its domains.
func (d *idpDNS) publish(p *idp.Provider) {
	for _, dom := range p.Domains {
		d.set(dom, idpAnswer{txt: []string{"v=spf1 -all", p.TXTRecord}})
	}
}

// idpWorld is a world whose Provisioner has keys and a fake resolver.
type idpWorld struct {
	*world
	dns *idpDNS
}

func newIDPWorld(t testing.TB) *idpWorld {
	t.Helper()
	return idpWorldOf(t, newWorld(t))
}

// newIDPWorldOn is newIDPWorld on db.
func newIDPWorldOn(t testing.TB, db *bun.DB) *idpWorld {
	t.Helper()
	return idpWorldOf(t, newWorldOn(t, db))
}

// onIDPBackends runs test on a fresh idpWorld of each backend.
func onIDPBackends(t *testing.T, test func(t *testing.T, w *idpWorld)) {
	t.Helper()
	for name, open := range map[string]storagetest.Opener{"sqlite": storagetest.SQLite, "postgres": storagetest.Postgres, "mysql": storagetest.MySQL} {
		t.Run(name, func(t *testing.T) { test(t, newIDPWorldOn(t, open(t))) })
	}
}

func idpWorldOf(t testing.TB, w *world) *idpWorld {
	t.Helper()
	iw := &idpWorld{world: w, dns: &idpDNS{}}
	iw.useKeys(t, idpKeys(t, "k1"))
	return iw
}

// useKeys replaces the Provisioner by one over the same store with kp (nil:
// no KeyProvider).
func (w *idpWorld) useKeys(t testing.TB, kp idp.KeyProvider) {
	t.Helper()
	opts := []provisioning.Option{provisioning.WithClock(w.clock), provisioning.WithNotifier(w.mail), provisioning.WithResolver(w.dns)}
	if kp != nil {
		opts = append(opts, provisioning.WithKeyProvider(kp))
	}
	p, err := provisioning.New(w.store, opts...)
	if err != nil {
		t.Fatal(err)
	}
	w.p = p
}

// idpKeys returns static keys named by ids, the first current; a key's
// bytes derive from its id.
func idpKeys(t testing.TB, ids ...string) *idp.StaticKeys {
	t.Helper()
	m := map[string][]byte{}
	for _, id := range ids {
		m[id] = bytes.Repeat([]byte(id), idp.KeySize/len(id)+1)[:idp.KeySize]
	}
	k, err := idp.NewStaticKeys(ids[0], m)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func idpCreate(orgID, name string, domains ...string) idp.Create {
	if len(domains) == 0 {
		domains = []string{"acme.example", "dev.acme.example"}
	}
	return idp.Create{OrganizationID: orgID, Name: name, ClientID: "client-" + name, ClientSecret: idpSecret1,
		Issuer: "https://login.acme.example", Domains: domains, TokenURL: "https://login.acme.example/token",
		AuthorizeURL: "https://login.acme.example/authorize", JWKSURL: "https://login.acme.example/jwks"}
}

// provider creates a provider in the world's organization as its owner.
func (w *idpWorld) provider(t testing.TB, name string, domains ...string) *idp.Provider {
	t.Helper()
	p, err := w.as(w.owner).CreateIdentityProvider(context.Background(), idpCreate(w.org.ID, name, domains...))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// verifiedProviders creates n providers ("SSO 0", ...), each on its own
// domain, and verifies them, so that their secrets open for the SSO flow.
func (w *idpWorld) verifiedProviders(t testing.TB, n int) []*idp.Provider {
	t.Helper()
	var ps []*idp.Provider
	for i := range n {
		p := w.provider(t, fmt.Sprintf("SSO %d", i), fmt.Sprintf("d%d.example", i))
		w.dns.publish(p)
		if _, _, err := w.as(w.owner).VerifyIdentityProvider(context.Background(), p.ID); err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	return ps
}

// rows returns every row of table, each column as text (binary columns in
// hex and base64 too), in the table's order.
func (w *idpWorld) rows(t testing.TB, table string) []string {
	t.Helper()
	rs, err := w.db.QueryContext(context.Background(), "SELECT * FROM "+table)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i, v := range vals {
			if raw, ok := v.([]byte); ok {
				fmt.Fprintf(&b, "%s=%s|%x|%s;", cols[i], raw, raw, base64.StdEncoding.EncodeToString(raw))
				continue
			}
			fmt.Fprintf(&b, "%s=%v;", cols[i], v)
		}
		out = append(out, b.String())
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// snapshot is what tells whether a refused call changed anything: the
// row counts of the world, every column of every provider, and the number
// of DNS lookups made.
func (w *idpWorld) snapshot(t testing.TB) string {
	t.Helper()
	w.dns.mu.Lock()
	lookups := w.dns.lookups
	w.dns.mu.Unlock()
	return fmt.Sprint(w.fingerprint(t), w.rows(t, "provisioning_identity_providers"), lookups)
}

func (w *idpWorld) versions(t testing.TB) int {
	t.Helper()
	return w.count(t, "provisioning_versions", "resource_type = ?", "identity_providers")
}

// TestIdentityProviderAuthorization: only the organization's owner writes
// identity providers (an admin who is not the owner is refused); every
// member reads them; strangers and pending invitees see nothing; a refused
// call changes nothing.
func TestIdentityProviderAuthorization(t *testing.T) {
	ctx := context.Background()
	name := "Renamed SSO"
	type op func(s *provisioning.Session, w *idpWorld, p *idp.Provider) error
	write := map[actor]outcome{byOwner: ok, byAdmin: fault.Forbidden, byReader: fault.Forbidden, byCustom: fault.Forbidden,
		byPending: fault.NotFound, byStranger: fault.NotFound, byNobody: fault.Unauthenticated}
	read := map[actor]outcome{byOwner: ok, byAdmin: ok, byReader: ok, byCustom: ok,
		byPending: fault.NotFound, byStranger: fault.NotFound, byNobody: fault.Unauthenticated}
	tests := []struct {
		giveOp string
		give   op
		want   map[actor]outcome
	}{
		{"Create", func(s *provisioning.Session, w *idpWorld, _ *idp.Provider) error {
			_, err := s.CreateIdentityProvider(ctx, idpCreate(w.org.ID, "New SSO"))
			return err
		}, write},
		{"Get", func(s *provisioning.Session, _ *idpWorld, p *idp.Provider) error {
			_, err := s.GetIdentityProvider(ctx, p.ID)
			return err
		}, read},
		{"List", func(s *provisioning.Session, w *idpWorld, _ *idp.Provider) error {
			_, err := s.ListIdentityProviders(ctx, idp.Filter{OrganizationID: w.org.ID})
			return err
		}, read},
		{"Update", func(s *provisioning.Session, _ *idpWorld, p *idp.Provider) error {
			_, err := s.UpdateIdentityProvider(ctx, p.ID, idp.Update{Name: &name})
			return err
		}, write},
		{"UpdateSecret", func(s *provisioning.Session, _ *idpWorld, p *idp.Provider) error {
			sec := idp.Secret(idpSecret2)
			_, err := s.UpdateIdentityProvider(ctx, p.ID, idp.Update{ClientSecret: &sec})
			return err
		}, write},
		{"Disable", func(s *provisioning.Session, _ *idpWorld, p *idp.Provider) error {
			_, err := s.UpdateIdentityProvider(ctx, p.ID, idp.Update{Disable: true})
			return err
		}, write},
		{"Verify", func(s *provisioning.Session, _ *idpWorld, p *idp.Provider) error {
			_, _, err := s.VerifyIdentityProvider(ctx, p.ID)
			return err
		}, write},
		{"Delete", func(s *provisioning.Session, _ *idpWorld, p *idp.Provider) error {
			return s.DeleteIdentityProvider(ctx, p.ID)
		}, write},
	}
	for _, tt := range tests {
		for _, a := range []actor{byOwner, byAdmin, byReader, byCustom, byPending, byStranger, byNobody} {
			t.Run(tt.giveOp+"/"+string(a), func(t *testing.T) {
				w := newIDPWorld(t)
				p := w.provider(t, "Acme SSO")
				w.dns.publish(p)
				before := w.snapshot(t)
				err := tt.give(w.session(a), w, p)
				want := tt.want[a]
				if got := kindOrOK(err); got != want {
					t.Fatalf("%s as %s: got %s (%v), want %s", tt.giveOp, a, kindName(got), err, kindName(want))
				}
				if after := w.snapshot(t); want != ok && after != before {
					t.Errorf("refused call changed the database:\n%s\nwas\n%s", after, before)
				}
			})
		}
	}
}

// TestIdentityProviderOwnerFollowsTransfer: the right to write follows the
// ownership, not the admin role.
func TestIdentityProviderOwnerFollowsTransfer(t *testing.T) {
	ctx := context.Background()
	w := newIDPWorld(t)
	p := w.provider(t, "Acme SSO")
	if err := w.as(w.owner).TransferOwnership(ctx, w.org.ID, w.adminUser.Email); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		as      *provisioning.Session
		wantErr error
	}{
		{"former owner, still an admin", w.as(w.owner), fault.ErrForbidden},
		{"new owner", w.as(w.adminUser), nil},
	}
	for i, tt := range tests {
		n := fmt.Sprintf("Name %d", i)
		_, err := tt.as.UpdateIdentityProvider(ctx, p.ID, idp.Update{Name: &n})
		if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
			t.Errorf("%s: Update = %v, want %v", tt.name, err, tt.wantErr)
		}
	}
}

// TestIdentityProviderNameIsUnique: a name is unique across organizations;
// a taken one is fault.ErrAlreadyExists on "name", on create and rename.
func TestIdentityProviderNameIsUnique(t *testing.T) {
	ctx := context.Background()
	w := newIDPWorld(t)
	taken := w.provider(t, "Acme SSO")
	mine := w.provider(t, "Mine")
	other := w.as(w.stranger)
	tests := []struct {
		name      string
		give      func() error
		wantTaken bool
	}{
		{"same name in another organization", func() error {
			_, err := other.CreateIdentityProvider(ctx, idpCreate(w.otherOrg.ID, taken.Name))
			return err
		}, true},
		{"same name in the same organization", func() error {
			_, err := w.as(w.owner).CreateIdentityProvider(ctx, idpCreate(w.org.ID, taken.Name))
			return err
		}, true},
		{"rename to a taken name", func() error {
			_, err := w.as(w.owner).UpdateIdentityProvider(ctx, mine.ID, idp.Update{Name: &taken.Name})
			return err
		}, true},
		{"another case is another name", func() error {
			_, err := other.CreateIdentityProvider(ctx, idpCreate(w.otherOrg.ID, strings.ToUpper(taken.Name)))
			return err
		}, false},
		{"a deleted provider's name is free", func() error {
			if err := w.as(w.owner).DeleteIdentityProvider(ctx, mine.ID); err != nil {
				return err
			}
			_, err := other.CreateIdentityProvider(ctx, idpCreate(w.otherOrg.ID, mine.Name))
			return err
		}, false},
	}
	for _, tt := range tests {
		before := w.versions(t)
		err := tt.give()
		var fe *fault.Error
		switch {
		case !tt.wantTaken && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.wantTaken && (!errors.Is(err, fault.ErrAlreadyExists) || !errors.As(err, &fe) || fe.Field != "name"):
			t.Errorf("%s: %v, want fault.ErrAlreadyExists on name", tt.name, err)
		case tt.wantTaken && w.versions(t) != before:
			t.Errorf("%s: a refused call wrote a version", tt.name)
		}
	}
}

// TestIdentityProviderSecretIsNeverReadable: the client secret comes back
// from no call but IdentityProviderSecret, appears in no version, and is
// stored nowhere in clear: every column of every table is searched, as
// text, hex and base64.
func TestIdentityProviderSecretIsNeverReadable(t *testing.T) {
	ctx := context.Background()
	w := newIDPWorld(t)
	own := w.as(w.owner)
	p := w.provider(t, "Acme SSO")
	if !p.HasClientSecret || p.ClientSecretLast4 != "6789" {
		t.Errorf("created provider: HasClientSecret %v, last4 %q", p.HasClientSecret, p.ClientSecretLast4)
	}
	sec := idp.Secret(idpSecret2)
	n := "Renamed"
	if _, err := own.UpdateIdentityProvider(ctx, p.ID, idp.Update{ClientSecret: &sec, Name: &n}); err != nil {
		t.Fatal(err)
	}
	w.useKeys(t, idpKeys(t, "k2", "k1"))
	if _, err := w.p.System().ReencryptIdentityProviderSecrets(ctx, 10); err != nil {
		t.Fatal(err)
	}
	got, err := own.GetIdentityProvider(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	page, err := own.ListIdentityProviders(ctx, idp.Filter{OrganizationID: w.org.ID})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := own.ListVersions(ctx, audit.Filter{OrganizationID: w.org.ID, ResourceType: "identity_providers"})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs.Items) != 3 {
		t.Fatalf("%d versions, want 3 (create, update, re-encryption)", len(vs.Items))
	}
	wantSecretChanges := []any{[2]any{nil, idp.SecretChanged}, [2]any{idp.SecretHidden, idp.SecretChanged}, [2]any{idp.SecretHidden, "[reencrypted]"}}
	for i, v := range vs.Items {
		if c := v.Changes["client_secret"]; c != wantSecretChanges[i] {
			t.Errorf("version %d (%s): client_secret change = %v, want %v", i, v.Event, c, wantSecretChanges[i])
		}
	}
	var tables []string
	if err := w.db.NewSelect().Table("sqlite_master").Column("name").Where("type = 'table'").Scan(ctx, &tables); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(tables, "provisioning_identity_providers") || !slices.Contains(tables, "provisioning_versions") {
		t.Fatalf("tables %q", tables)
	}
	var stored []string
	for _, table := range tables {
		stored = append(stored, w.rows(t, table)...)
	}
	read := fmt.Sprintf("%+v %+v %+v", *got, page, vs)
	for _, secret := range []string{idpSecret1, idpSecret2} {
		forms := []string{secret, hex.EncodeToString([]byte(secret)), base64.StdEncoding.EncodeToString([]byte(secret)), secret[:len(secret)-4]}
		for _, form := range forms {
			if strings.Contains(read, form) {
				t.Errorf("a read shows the secret (%q)", form)
			}
			for _, row := range stored {
				if strings.Contains(row, form) {
					t.Errorf("a row holds the secret (%q): %s", form, row)
				}
			}
		}
	}
	// The secret is there, sealed: the SSO flow opens it.
	w.dns.publish(got)
	if _, _, err := own.VerifyIdentityProvider(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	_, clear, err := w.p.System().IdentityProviderSecret(ctx, p.ID)
	if err != nil || string(clear) != idpSecret2 {
		t.Errorf("IdentityProviderSecret = %v, want the second secret", err)
	}
}

// TestIdentityProviderSecretForSSO: IdentityProviderSecret fails closed: a
// provider must be enabled and verified.
func TestIdentityProviderSecretForSSO(t *testing.T) {
	ctx := context.Background()
	w := newIDPWorld(t)
	own := w.as(w.owner)
	pending := w.provider(t, "Pending")
	verified := w.provider(t, "Verified", "v.example")
	w.dns.publish(verified)
	if _, _, err := own.VerifyIdentityProvider(ctx, verified.ID); err != nil {
		t.Fatal(err)
	}
	disabled := w.provider(t, "Disabled", "d.example")
	w.dns.publish(disabled)
	if _, _, err := own.VerifyIdentityProvider(ctx, disabled.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := own.UpdateIdentityProvider(ctx, disabled.ID, idp.Update{Disable: true}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		give    string
		wantErr error
	}{
		{"verified and enabled", verified.ID, nil},
		{"pending", pending.ID, fault.ErrConflict},
		{"disabled", disabled.ID, fault.ErrConflict},
		{"unknown", "nosuchidp", fault.ErrNotFound},
	}
	for _, tt := range tests {
		p, secret, err := w.p.System().IdentityProviderSecret(ctx, tt.give)
		if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
			t.Errorf("%s: IdentityProviderSecret = %v, want %v", tt.name, err, tt.wantErr)
			continue
		}
		if err == nil && (string(secret) != idpSecret1 || p.ID != tt.give) {
			t.Errorf("%s: got provider %s and another secret", tt.name, p.ID)
		}
	}
}

// TestIdentityProviderSecretTransplant: a sealed secret copied to another
// provider, of another organization or of the same one, or altered, does
// not open: fault.ErrSecretCorrupt, for the SSO flow and re-encryption alike,
// and the row is left as it is.
func TestIdentityProviderSecretTransplant(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		tamper func(t *testing.T, w *idpWorld, victim *idp.Provider)
	}{
		{"copied from another organization", func(t *testing.T, w *idpWorld, victim *idp.Provider) {
			in := idpCreate(w.otherOrg.ID, "Stranger SSO")
			in.ClientSecret = idpSecret2
			src, err := w.as(w.stranger).CreateIdentityProvider(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			idpCopySecret(t, w, src.ID, victim.ID)
		}},
		{"copied from a provider of the same organization", func(t *testing.T, w *idpWorld, victim *idp.Provider) {
			src := w.provider(t, "Sibling")
			idpCopySecret(t, w, src.ID, victim.ID)
		}},
		{"ciphertext altered", func(t *testing.T, w *idpWorld, victim *idp.Provider) {
			s, err := w.store.IdentityProviders().Secret(ctx, victim.ID)
			if err != nil {
				t.Fatal(err)
			}
			s.Ciphertext[3] ^= 0x20
			if err := w.store.IdentityProviders().SetSecret(ctx, victim.ID, s); err != nil {
				t.Fatal(err)
			}
		}},
		{"nonce altered", func(t *testing.T, w *idpWorld, victim *idp.Provider) {
			s, err := w.store.IdentityProviders().Secret(ctx, victim.ID)
			if err != nil {
				t.Fatal(err)
			}
			s.Nonce[0] ^= 1
			if err := w.store.IdentityProviders().SetSecret(ctx, victim.ID, s); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newIDPWorld(t)
			victim := w.provider(t, "Victim")
			w.dns.publish(victim)
			if _, _, err := w.as(w.owner).VerifyIdentityProvider(ctx, victim.ID); err != nil {
				t.Fatal(err)
			}
			tt.tamper(t, w, victim)
			_, _, err := w.p.System().IdentityProviderSecret(ctx, victim.ID)
			if !errors.Is(err, fault.ErrSecretCorrupt) || fault.KindOf(err) != fault.Internal {
				t.Errorf("IdentityProviderSecret = %v, want fault.ErrSecretCorrupt", err)
			}
			w.useKeys(t, idpKeys(t, "k2", "k1"))
			before := w.snapshot(t)
			if _, err := w.p.System().ReencryptIdentityProviderSecret(ctx, victim.ID); !errors.Is(err, fault.ErrSecretCorrupt) {
				t.Errorf("ReencryptIdentityProviderSecret = %v, want fault.ErrSecretCorrupt", err)
			}
			if after := w.snapshot(t); after != before {
				t.Errorf("a failed re-encryption changed the database")
			}
		})
	}
}

func idpCopySecret(t *testing.T, w *idpWorld, from, to string) {
	t.Helper()
	s, err := w.store.IdentityProviders().Secret(context.Background(), from)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.store.IdentityProviders().SetSecret(context.Background(), to, s); err != nil {
		t.Fatal(err)
	}
}

// TestIdentityProviderWithoutKeyProvider: without a KeyProvider there is no
// default key: every call that seals or opens a secret fails with
// idp.ErrNoKeyProvider and changes nothing; the rest works.
func TestIdentityProviderWithoutKeyProvider(t *testing.T) {
	ctx := context.Background()
	w := newIDPWorld(t)
	p := w.provider(t, "Made with keys")
	w.useKeys(t, nil)
	own := w.as(w.owner)
	sec := idp.Secret(idpSecret2)
	n := "Renamed"
	tests := []struct {
		name      string
		give      func() error
		wantNoKey bool
	}{
		{"create", func() error { _, err := own.CreateIdentityProvider(ctx, idpCreate(w.org.ID, "No keys")); return err }, true},
		{"update the secret", func() error {
			_, err := own.UpdateIdentityProvider(ctx, p.ID, idp.Update{ClientSecret: &sec})
			return err
		}, true},
		{"SSO secret", func() error { _, _, err := w.p.System().IdentityProviderSecret(ctx, p.ID); return err }, true},
		{"re-encrypt", func() error { _, err := w.p.System().ReencryptIdentityProviderSecrets(ctx, 10); return err }, true},
		{"update the name", func() error { _, err := own.UpdateIdentityProvider(ctx, p.ID, idp.Update{Name: &n}); return err }, false},
		{"read", func() error { _, err := own.GetIdentityProvider(ctx, p.ID); return err }, false},
	}
	for _, tt := range tests {
		before := w.snapshot(t)
		err := tt.give()
		switch {
		case tt.wantNoKey && (!errors.Is(err, idp.ErrNoKeyProvider) || fault.KindOf(err) != fault.Internal):
			t.Errorf("%s: %v, want idp.ErrNoKeyProvider", tt.name, err)
		case tt.wantNoKey && w.snapshot(t) != before:
			t.Errorf("%s: the refused call changed the database", tt.name)
		case !tt.wantNoKey && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

// TestIdentityProviderKeyRotation: after a new key becomes current, the
// old secrets still open; re-encryption moves them, in batches, to the new
// key, with one version each, so that the old key can be retired.
func TestIdentityProviderKeyRotation(t *testing.T) {
	ctx := context.Background()
	w := newIDPWorld(t)
	ps := w.verifiedProviders(t, 3)
	opens := func(what string) {
		t.Helper()
		for _, p := range ps {
			if _, s, err := w.p.System().IdentityProviderSecret(ctx, p.ID); err != nil || string(s) != idpSecret1 {
				t.Errorf("%s: secret of %s: %v", what, p.Name, err)
			}
		}
	}
	// Retiring k1 before re-encryption loses the secrets.
	w.useKeys(t, idpKeys(t, "k2"))
	if _, _, err := w.p.System().IdentityProviderSecret(ctx, ps[0].ID); err == nil {
		t.Errorf("a secret sealed with k1 opens without k1")
	}
	w.useKeys(t, idpKeys(t, "k2", "k1"))
	opens("k2 current, k1 kept")
	versions := w.versions(t)
	for _, want := range []int{2, 1, 0} {
		n, err := w.p.System().ReencryptIdentityProviderSecrets(ctx, 2)
		if err != nil || n != want {
			t.Errorf("ReencryptIdentityProviderSecrets = %d, %v; want %d", n, err, want)
		}
	}
	if got := w.versions(t) - versions; got != 3 {
		t.Errorf("re-encryption wrote %d versions, want 3", got)
	}
	for _, p := range ps {
		if s, err := w.store.IdentityProviders().Secret(ctx, p.ID); err != nil || s.KeyID != "k2" {
			t.Errorf("secret of %s sealed with %q (%v), want k2", p.Name, s.KeyID, err)
		}
	}
	if done, err := w.p.System().ReencryptIdentityProviderSecret(ctx, ps[0].ID); done || err != nil {
		t.Errorf("re-encrypting a current secret = %v, %v; want false, nil", done, err)
	}
	w.useKeys(t, idpKeys(t, "k2"))
	opens("k1 retired")
}

// TestIdentityProviderReencryptionSkipsUnreadable: with unreadable secrets
// sorting first (one altered in the table, one sealed with a key the
// KeyProvider lacks), a re-encryption of one secret at a time goes past
// them: each call re-seals one healthy secret and reports the unreadable
// ones (count and ids, fault.ErrSecretCorrupt for the altered one), writing
// nothing for them; it answers 0 only once no secret that opens is left
// under the old key, and the count by key then shows what remains there.
// Settling those two lets the old key go with no secret lost.
func TestIdentityProviderReencryptionSkipsUnreadable(t *testing.T) {
	onIDPBackends(t, func(t *testing.T, w *idpWorld) {
		ctx := context.Background()
		ps := w.verifiedProviders(t, 4)
		slices.SortFunc(ps, func(a, b *idp.Provider) int { return strings.Compare(a.ID, b.ID) })
		corrupt, keyless, healthy := ps[0], ps[1], ps[2:]
		if _, err := w.db.NewUpdate().Table("provisioning_identity_providers").Set("client_secret_ciphertext = ?", []byte("not a sealed secret")).
			Where("id = ?", corrupt.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := w.db.NewUpdate().Table("provisioning_identity_providers").Set("client_secret_key_id = ?", "k0").
			Where("id = ?", keyless.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		w.useKeys(t, idpKeys(t, "k2", "k1"))
		unreadable := func() []string {
			return slices.DeleteFunc(w.rows(t, "provisioning_identity_providers"), func(r string) bool {
				return !strings.HasPrefix(r, "id="+corrupt.ID+";") && !strings.HasPrefix(r, "id="+keyless.ID+";")
			})
		}
		before, versions := unreadable(), w.versions(t)
		for i, want := range []int{1, 1, 0} {
			n, err := w.p.System().ReencryptIdentityProviderSecrets(ctx, 1)
			var bad *idp.UnreadableError
			if n != want || !errors.As(err, &bad) || !slices.Equal(bad.IDs, []string{corrupt.ID, keyless.ID}) || len(bad.Errs) != 2 ||
				!errors.Is(err, fault.ErrSecretCorrupt) || !errors.Is(bad.Errs[0], fault.ErrSecretCorrupt) {
				t.Fatalf("call %d: ReencryptIdentityProviderSecrets = %d, %v; want %d and the unreadable %s, %s", i+1, n, err, want, corrupt.ID, keyless.ID)
			}
		}
		if got := w.versions(t) - versions; got != 2 {
			t.Errorf("re-encryption wrote %d versions, want 2", got)
		}
		if after := unreadable(); !slices.Equal(after, before) {
			t.Errorf("the unreadable rows changed:\n%q\n%q", before, after)
		}
		keys, err := w.p.System().IdentityProviderSecretKeys(ctx)
		if err != nil || !maps.Equal(keys, map[string]int{"k2": 2, "k1": 1, "k0": 1}) {
			t.Errorf("IdentityProviderSecretKeys = %v, %v; want k2: 2, k1: 1, k0: 1", keys, err)
		}
		// Settle them: a new secret for the altered one, the other deleted.
		sec := idp.Secret(idpSecret2)
		if _, err := w.as(w.owner).UpdateIdentityProvider(ctx, corrupt.ID, idp.Update{ClientSecret: &sec}); err != nil {
			t.Fatal(err)
		}
		if err := w.as(w.owner).DeleteIdentityProvider(ctx, keyless.ID); err != nil {
			t.Fatal(err)
		}
		if n, err := w.p.System().ReencryptIdentityProviderSecrets(ctx, 1); n != 0 || err != nil {
			t.Errorf("ReencryptIdentityProviderSecrets once settled = %d, %v; want 0, nil", n, err)
		}
		if keys, err := w.p.System().IdentityProviderSecretKeys(ctx); err != nil || !maps.Equal(keys, map[string]int{"k2": 3}) {
			t.Errorf("IdentityProviderSecretKeys once settled = %v, %v; want k2: 3", keys, err)
		}
		w.useKeys(t, idpKeys(t, "k2"))
		for _, tt := range []struct {
			give *idp.Provider
			want string
		}{{corrupt, idpSecret2}, {healthy[0], idpSecret1}, {healthy[1], idpSecret1}} {
			if _, s, err := w.p.System().IdentityProviderSecret(ctx, tt.give.ID); err != nil || string(s) != tt.want {
				t.Errorf("k1 retired: secret of %s: %v", tt.give.Name, err)
			}
		}
	})
}

// TestIdentityProviderPlaceholderSecret: the placeholder a read shows in
// place of the client secret never becomes the secret through the library:
// an update carrying it keeps the secret (alone it changes nothing and
// writes no version; with another field only that field changes, even
// without a KeyProvider), and a create carrying it is refused on
// client_secret, changing nothing.
func TestIdentityProviderPlaceholderSecret(t *testing.T) {
	onIDPBackends(t, func(t *testing.T, w *idpWorld) {
		ctx := context.Background()
		own := w.as(w.owner)
		p := w.verifiedProviders(t, 1)[0]
		secretIs := func(what, want string) {
			t.Helper()
			if _, s, err := w.p.System().IdentityProviderSecret(ctx, p.ID); err != nil || string(s) != want {
				t.Errorf("%s: the secret is no longer %q (%v)", what, want, err)
			}
		}
		for _, give := range []idp.Secret{idp.SecretHidden, idp.SecretChanged, idp.SecretReencrypted, "[redacted]"} {
			before := w.snapshot(t)
			if _, err := own.UpdateIdentityProvider(ctx, p.ID, idp.Update{ClientSecret: &give}); err != nil {
				t.Errorf("update with %s: %v", give, err)
			}
			if w.snapshot(t) != before {
				t.Errorf("update with %s alone changed the database", string(give))
			}
			secretIs("update with "+string(give), idpSecret1)
		}
		hidden, name := idp.Secret(idp.SecretHidden), "Renamed SSO"
		versions := w.versions(t)
		got, err := own.UpdateIdentityProvider(ctx, p.ID, idp.Update{Name: &name, ClientSecret: &hidden})
		if err != nil || got.Name != name || w.versions(t) != versions+1 {
			t.Errorf("update of the name with the placeholder: %v, %v", got, err)
		}
		secretIs("update of the name", idpSecret1)
		before := w.snapshot(t)
		in := idpCreate(w.org.ID, "Copied SSO")
		in.ClientSecret = idp.SecretHidden
		if _, err := own.CreateIdentityProvider(ctx, in); !slices.Equal(testkit.BadFields(t, err), []string{"client_secret"}) {
			t.Errorf("create with the placeholder: %v; want invalid client_secret", err)
		}
		if w.snapshot(t) != before {
			t.Errorf("the refused create changed the database")
		}
		w.useKeys(t, nil)
		name = "Renamed again"
		if _, err := w.as(w.owner).UpdateIdentityProvider(ctx, p.ID, idp.Update{Name: &name, ClientSecret: &hidden}); err != nil {
			t.Errorf("update of the name with the placeholder, no KeyProvider: %v", err)
		}
	})
}

// TestVerifyIdentityProvider: the status follows the TXT records of every
// domain; a change of status writes one version, no change none; a change
// of domains sets it back to pending.
func TestVerifyIdentityProvider(t *testing.T) {
	ctx := context.Background()
	dnsErr := func(timeout bool) error {
		return &net.DNSError{Err: "i/o timeout", Name: "b.example", IsTimeout: timeout, IsTemporary: timeout}
	}
	tests := []struct {
		name         string
		give         func(d *idpDNS, p *idp.Provider)
		wantStatus   idp.Status
		wantVersions int
	}{
		{"every domain carries the record", func(d *idpDNS, p *idp.Provider) { d.publish(p) }, idp.Verified, 1},
		{"one domain without the record", func(d *idpDNS, p *idp.Provider) {
			d.publish(p)
			d.set("b.example", idpAnswer{txt: []string{"google-site-verification=x"}})
		}, idp.Pending, 0},
		{"one domain does not exist", func(d *idpDNS, p *idp.Provider) {
			d.publish(p)
			d.set("b.example", idpAnswer{err: &net.DNSError{Err: "no such host", Name: "b.example", IsNotFound: true}})
		}, idp.Failed, 1},
		{"one lookup times out", func(d *idpDNS, p *idp.Provider) {
			d.publish(p)
			d.set("b.example", idpAnswer{err: dnsErr(true)})
		}, idp.Failed, 1},
		{"one lookup fails", func(d *idpDNS, p *idp.Provider) {
			d.publish(p)
			d.set("b.example", idpAnswer{err: errors.New("connection refused")})
		}, idp.Failed, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newIDPWorld(t)
			p := w.provider(t, "Acme SSO", "a.example", "b.example")
			tt.give(w.dns, p)
			before := w.versions(t)
			got, checks, err := w.as(w.owner).VerifyIdentityProvider(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tt.wantStatus || len(checks) != 2 {
				t.Errorf("status %s with %d checks, want %s with 2", got.Status, len(checks), tt.wantStatus)
			}
			stored, err := w.as(w.reader).GetIdentityProvider(ctx, p.ID)
			if err != nil || stored.Status != tt.wantStatus {
				t.Errorf("stored status %v (%v), want %s", stored, err, tt.wantStatus)
			}
			if n := w.versions(t) - before; n != tt.wantVersions {
				t.Errorf("%d versions, want %d", n, tt.wantVersions)
			}
		})
	}
}

func TestIdentityProviderDomainsChangeResetsStatus(t *testing.T) {
	ctx := context.Background()
	w := newIDPWorld(t)
	own := w.as(w.owner)
	p := w.provider(t, "Acme SSO", "a.example", "b.example")
	w.dns.publish(p)
	tests := []struct {
		name       string
		give       []string // nil: verify instead
		wantStatus idp.Status
		wantChange bool
	}{
		{"verify", nil, idp.Verified, true},
		{"same domains in another form", []string{"A.EXAMPLE", "b.example", "a.example"}, idp.Verified, false},
		{"a new domain", []string{"a.example", "b.example", "c.example"}, idp.Pending, true},
		{"verify without the record on the new domain", nil, idp.Failed, true},
		{"drop the new domain", []string{"a.example", "b.example"}, idp.Pending, true},
		{"verify again", nil, idp.Verified, true},
	}
	for _, tt := range tests {
		before := w.versions(t)
		var got *idp.Provider
		var err error
		if tt.give == nil {
			got, _, err = own.VerifyIdentityProvider(ctx, p.ID)
		} else {
			got, err = own.UpdateIdentityProvider(ctx, p.ID, idp.Update{Domains: &tt.give})
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got.Status != tt.wantStatus {
			t.Errorf("%s: status %s, want %s", tt.name, got.Status, tt.wantStatus)
		}
		if changed := w.versions(t) != before; changed != tt.wantChange {
			t.Errorf("%s: wrote a version %v, want %v", tt.name, changed, tt.wantChange)
		}
	}
}

// TestVerifyIdentityProviderDropsAStaleResult: domains changed while the
// lookups ran are not marked with their outcome.
func TestVerifyIdentityProviderDropsAStaleResult(t *testing.T) {
	ctx := context.Background()
	w := newIDPWorld(t)
	p := w.provider(t, "Acme SSO", "a.example")
	w.dns.publish(p)
	hook := &idpHookDNS{idpDNS: w.dns, before: func() {
		d := []string{"b.example"}
		if _, err := w.as(w.owner).UpdateIdentityProvider(ctx, p.ID, idp.Update{Domains: &d}); err != nil {
			t.Error(err)
		}
	}}
	p2, err := provisioning.New(w.store, provisioning.WithClock(w.clock), provisioning.WithResolver(hook),
		provisioning.WithKeyProvider(idpKeys(t, "k1")))
	if err != nil {
		t.Fatal(err)
	}
	got, checks, err := p2.As(provisioning.User(w.owner.ID)).VerifyIdentityProvider(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != idp.Pending || checks != nil || !slices.Equal(got.Domains, []string{"b.example"}) {
		t.Errorf("after a concurrent change: status %s, domains %q, checks %v; want pending, b.example, none", got.Status, got.Domains, checks)
	}
}

// idpHookDNS runs before once, before its first lookup.
type idpHookDNS struct {
	*idpDNS
	once   sync.Once
	before func()
}

func (h *idpHookDNS) LookupTXT(ctx context.Context, name string) ([]string, error) {
	h.once.Do(h.before)
	return h.idpDNS.LookupTXT(ctx, name)
}

// TestIdentityProviderDisableEnable: _disable sets disabled_at, _enable
// clears it; repeating one changes nothing; both at once are invalid.
func TestIdentityProviderDisableEnable(t *testing.T) {
	ctx := context.Background()
	w := newIDPWorld(t)
	own := w.as(w.owner)
	p := w.provider(t, "Acme SSO")
	now := w.clock.Now()
	tests := []struct {
		name         string
		give         idp.Update
		wantErr      error
		wantDisabled bool
		wantVersions int
	}{
		{"disable", idp.Update{Disable: true}, nil, true, 1},
		{"disable again", idp.Update{Disable: true}, nil, true, 0},
		{"both", idp.Update{Disable: true, Enable: true}, fault.ErrInvalid, true, 0},
		{"enable", idp.Update{Enable: true}, nil, false, 1},
		{"enable again", idp.Update{Enable: true}, nil, false, 0},
	}
	for _, tt := range tests {
		before := w.versions(t)
		_, err := own.UpdateIdentityProvider(ctx, p.ID, tt.give)
		if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.wantErr)
		}
		got, err := own.GetIdentityProvider(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Disabled() != tt.wantDisabled || tt.wantDisabled && !got.DisabledAt.Equal(now) {
			t.Errorf("%s: disabled_at %v, want disabled %v at %v", tt.name, got.DisabledAt, tt.wantDisabled, now)
		}
		if n := w.versions(t) - before; n != tt.wantVersions {
			t.Errorf("%s: %d versions, want %d", tt.name, n, tt.wantVersions)
		}
	}
}

// TestIdentityProviderMutationsWriteOneVersion: each successful mutation
// writes exactly one version of the provider; each failed one none.
func TestIdentityProviderMutationsWriteOneVersion(t *testing.T) {
	ctx := context.Background()
	w := newIDPWorld(t)
	own := w.as(w.owner)
	p := w.provider(t, "Acme SSO", "a.example")
	w.dns.publish(p)
	other := w.provider(t, "Other")
	sec := idp.Secret(idpSecret2)
	n := "Renamed"
	bad := []string{"not a domain"}
	var created *idp.Provider
	tests := []struct {
		name    string
		give    func() error
		want    int // versions
		wantErr bool
	}{
		{"create", func() (err error) {
			created, err = own.CreateIdentityProvider(ctx, idpCreate(w.org.ID, "New"))
			return err
		}, 1, false},
		{"update", func() error { _, err := own.UpdateIdentityProvider(ctx, p.ID, idp.Update{Name: &n}); return err }, 1, false},
		{"update secret", func() error {
			_, err := own.UpdateIdentityProvider(ctx, p.ID, idp.Update{ClientSecret: &sec})
			return err
		}, 1, false},
		{"update several fields with the secret", func() error {
			o := "org_1"
			_, err := own.UpdateIdentityProvider(ctx, p.ID, idp.Update{ClientSecret: &sec, AuthorizeOrganization: &o, Disable: true})
			return err
		}, 1, false},
		{"enable", func() error { _, err := own.UpdateIdentityProvider(ctx, p.ID, idp.Update{Enable: true}); return err }, 1, false},
		{"verify", func() error { _, _, err := own.VerifyIdentityProvider(ctx, p.ID); return err }, 1, false},
		{"re-encrypt", func() error {
			w.useKeys(t, idpKeys(t, "k2", "k1"))
			_, err := w.p.System().ReencryptIdentityProviderSecret(ctx, p.ID)
			return err
		}, 1, false},
		{"delete", func() error { return w.as(w.owner).DeleteIdentityProvider(ctx, created.ID) }, 1, false},
		{"no-op update", func() error {
			_, err := w.as(w.owner).UpdateIdentityProvider(ctx, p.ID, idp.Update{Name: &n})
			return err
		}, 0, false},
		{"invalid create", func() error {
			_, err := w.as(w.owner).CreateIdentityProvider(ctx, idpCreate(w.org.ID, "Bad", "not a domain"))
			return err
		}, 0, true},
		{"create with a taken name", func() error {
			_, err := w.as(w.owner).CreateIdentityProvider(ctx, idpCreate(w.org.ID, other.Name))
			return err
		}, 0, true},
		{"rename to a taken name", func() error {
			_, err := w.as(w.owner).UpdateIdentityProvider(ctx, p.ID, idp.Update{Name: &other.Name})
			return err
		}, 0, true},
		{"invalid update", func() error {
			_, err := w.as(w.owner).UpdateIdentityProvider(ctx, p.ID, idp.Update{Domains: &bad, ClientSecret: &sec})
			return err
		}, 0, true},
		{"update by an admin", func() error {
			_, err := w.as(w.adminUser).UpdateIdentityProvider(ctx, p.ID, idp.Update{ClientSecret: &sec})
			return err
		}, 0, true},
		{"delete an unknown one", func() error { return w.as(w.owner).DeleteIdentityProvider(ctx, "nosuchidp") }, 0, true},
	}
	for _, tt := range tests {
		before := w.count(t, "provisioning_versions", "1 = 1")
		err := tt.give()
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: error %v, want an error %v", tt.name, err, tt.wantErr)
		}
		if got := w.count(t, "provisioning_versions", "1 = 1") - before; got != tt.want {
			t.Errorf("%s wrote %d versions, want %d", tt.name, got, tt.want)
		}
		if tt.want == 1 && w.count(t, "provisioning_versions", "resource_type = ? AND id = (SELECT MAX(id) FROM provisioning_versions)", "identity_providers") != 1 {
			t.Errorf("%s: the last version is not of identity_providers", tt.name)
		}
	}
}

// TestListIdentityProviders: lists stay inside the organization and filter
// by name, status and (canonical) domain.
func TestListIdentityProviders(t *testing.T) {
	ctx := context.Background()
	w := newIDPWorld(t)
	own := w.as(w.owner)
	a := w.provider(t, "A", "a.example", "shared.example")
	b := w.provider(t, "B", "bücher.example", "shared.example")
	w.dns.publish(b)
	if _, _, err := own.VerifyIdentityProvider(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.as(w.stranger).CreateIdentityProvider(ctx, idpCreate(w.otherOrg.ID, "Stranger", "shared.example")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		give     idp.Filter
		want     []string
		wantKind outcome
	}{
		{"all of the organization", idp.Filter{}, []string{a.ID, b.ID}, ok},
		{"name", idp.Filter{Name: "B"}, []string{b.ID}, ok},
		{"status", idp.Filter{Status: idp.Pending}, []string{a.ID}, ok},
		{"domain", idp.Filter{Domain: "SHARED.example"}, []string{a.ID, b.ID}, ok},
		{"IDNA domain", idp.Filter{Domain: "Bücher.example"}, []string{b.ID}, ok},
		{"unknown status", idp.Filter{Status: "done"}, nil, fault.Invalid},
		{"bad domain", idp.Filter{Domain: "%"}, nil, fault.Invalid},
	}
	for _, tt := range tests {
		f := tt.give
		f.OrganizationID = w.org.ID
		page, err := w.as(w.reader).ListIdentityProviders(ctx, f)
		if got := kindOrOK(err); got != tt.wantKind {
			t.Errorf("%s: %v, want %s", tt.name, err, kindName(tt.wantKind))
			continue
		}
		var ids []string
		for _, p := range page.Items {
			ids = append(ids, p.ID)
		}
		if !slices.Equal(ids, tt.want) {
			t.Errorf("%s: ids %q, want %q", tt.name, ids, tt.want)
		}
	}
}

// TestCreateIdentityProvider: the created provider is pending, owned by its
// creator, with a TXT record of its own and canonical domains.
func TestCreateIdentityProvider(t *testing.T) {
	ctx := context.Background()
	w := newIDPWorld(t)
	in := idpCreate(w.org.ID, "Acme SSO", "Acme.Example", "bücher.example", "acme.example")
	in.AuthorizeOrganization = "org_76gsfs5gd"
	p, err := w.as(w.owner).CreateIdentityProvider(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	q := w.provider(t, "Other")
	got, err := w.as(w.reader).GetIdentityProvider(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"status pending", got.Status == idp.Pending},
		{"owned by its creator", got.UserID == w.owner.ID},
		{"organization id", got.OrganizationID == w.org.ID},
		{"authorize organization", got.AuthorizeOrganization == "org_76gsfs5gd"},
		{"canonical domains", slices.Equal(got.Domains, []string{"acme.example", "xn--bcher-kva.example"})},
		{"TXT record", strings.HasPrefix(got.TXTRecord, idp.TXTPrefix) && len(got.TXTRecord) > len(idp.TXTPrefix)+20},
		{"TXT record of its own", got.TXTRecord != q.TXTRecord},
		{"secret set", got.HasClientSecret && got.ClientSecretLast4 == "6789"},
		{"enabled", !got.Disabled()},
		{"read equals created", fmt.Sprint(*got) == fmt.Sprint(*p)},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: %+v", c.name, *got)
		}
	}
	bad := idpCreate(w.org.ID, "Bad")
	bad.TokenURL = "http://login.acme.example/token"
	_, err = w.as(w.owner).CreateIdentityProvider(ctx, bad)
	var ve *fault.ValidationError
	if !errors.As(err, &ve) || !ve.Has("token_url") {
		t.Errorf("create with an http token URL: %v, want a validation error on token_url", err)
	}
	_, err = w.as(w.owner).CreateIdentityProvider(ctx, idpCreate("nosuchorg", "Nowhere"))
	if !errors.Is(err, fault.ErrNotFound) {
		t.Errorf("create in an unknown organization: %v, want not found", err)
	}
}
