package storagetest

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/idp"
	"github.com/provisionkit/provisioning/resource"
)

// idpCases are the conformance subtests of idp.Store.
var idpCases = []testCase{
	{"RoundTrip", testIDPRoundTrip},
	{"NameTaken", testIDPNameTaken},
	{"Update", testIDPUpdate},
	{"UpdateWithoutChange", testIDPUpdateWithoutChange},
	{"SetSecret", testIDPSetSecret},
	{"Delete", testIDPDelete},
	{"List", testIDPList},
	{"Filters", testIDPFilters},
	{"SealedWithOtherKey", testIDPSealedWithOtherKey},
	{"ClaimDue", testIDPClaimDue},
	{"NotFound", testIDPNotFound},
	{"ForeignKeys", testIDPForeignKeys},
}

// sealed returns a sealed secret whose bytes are made from tag: every byte
// value, so that no backend mangles binary data.
func sealed(keyID, tag string) idp.Sealed {
	ct := []byte(tag + "\x00\xff\x80\n'\"\\")
	for i := range 256 {
		ct = append(ct, byte(i))
	}
	nonce := append([]byte{0x00, 0xff, 0x80, '\\'}, tag...)[:idp.NonceSize]
	return idp.Sealed{KeyID: keyID, Nonce: nonce, Ciphertext: ct}
}

// provider builds (without storing) a provider of orgID.
func (e *env) provider(orgID, userID string, mods ...func(*idp.Provider)) *idp.Provider {
	id := e.id()
	p := &idp.Provider{ID: id, OrganizationID: orgID, UserID: userID, Name: "IdP " + id, ClientID: "client-" + id,
		Issuer: "https://issuer.example/" + id, Status: idp.Pending, Domains: []string{id + ".example.com"},
		TokenURL: "https://issuer.example/token", AuthorizeURL: "https://issuer.example/authorize",
		JWKSURL: "https://issuer.example/jwks", TXTRecord: idp.TXTPrefix + id, HasClientSecret: true, Common: common()}
	for _, m := range mods {
		m(p)
	}
	return p
}

func (e *env) newProvider(tb testing.TB, orgID, userID string, mods ...func(*idp.Provider)) *idp.Provider {
	tb.Helper()
	p := e.provider(orgID, userID, mods...)
	must(tb, e.s.IdentityProviders().Create(tb.Context(), p, sealed("k1", p.ID)))
	return p
}

func providerID(p idp.Provider) string { return p.ID }

func testIDPRoundTrip(t *testing.T, e *env) {
	tn := e.newTenant(t)
	tests := []struct {
		name string
		give func(*idp.Provider)
	}{
		{"every field set, times not in UTC", func(p *idp.Provider) {
			p.Name, p.Status = "Acme “SSO” Ünïcode", idp.Verified
			p.Domains = []string{"a.example.com", "xn--bcher-kva.example", "c.example.org"}
			p.AuthorizeOrganization, p.ClientSecretLast4 = "org_76gsfs5gd", "ab✓d"
			p.DisabledAt = t0.Add(time.Minute).In(zone)
			p.Common = resource.Common{Reference: "ext-1", ReferenceOrigin: "crm", Metadata: richMetadata(),
				CreatedAt: t0.In(zone), UpdatedAt: t0.Add(time.Microsecond).In(zone)}
		}},
		{"optional fields null", func(p *idp.Provider) { p.UserID = "" }},
		{"empty metadata", func(p *idp.Provider) { p.Metadata = resource.Metadata{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			give := e.provider(tn.org.ID, tn.owner.ID, tt.give)
			secret := sealed("key-2026.1", give.ID)
			in := *give
			must(t, e.s.IdentityProviders().Create(t.Context(), &in, secret))
			want := *give
			want.Common = utcCommon(give.Common)
			if !want.DisabledAt.IsZero() {
				want.DisabledAt = want.DisabledAt.UTC()
			}
			got, err := e.s.IdentityProviders().Get(t.Context(), give.ID)
			must(t, err)
			wantEqual(t, "Get", *got, want)
			gotSecret, err := e.s.IdentityProviders().Secret(t.Context(), give.ID)
			must(t, err)
			wantSealed(t, "Secret", gotSecret, secret)
		})
	}
}

func wantSealed(tb testing.TB, what string, got, want idp.Sealed) {
	tb.Helper()
	if got.KeyID != want.KeyID || !bytes.Equal(got.Nonce, want.Nonce) || !bytes.Equal(got.Ciphertext, want.Ciphertext) {
		tb.Errorf("%s:\n got %q %x %x\nwant %q %x %x", what, got.KeyID, got.Nonce, got.Ciphertext, want.KeyID, want.Nonce, want.Ciphertext)
	}
}

// testIDPNameTaken: a name is unique across organizations, exactly.
func testIDPNameTaken(t *testing.T, e *env) {
	a, b := e.newTenant(t), e.newTenant(t)
	p := e.newProvider(t, a.org.ID, a.owner.ID)
	dup := e.provider(b.org.ID, b.owner.ID, func(d *idp.Provider) { d.Name = p.Name })
	wantTaken(t, "Create with a name taken in another organization", e.s.IdentityProviders().Create(t.Context(), dup, sealed("k1", dup.ID)), "name")
	_, err := e.s.IdentityProviders().Get(t.Context(), dup.ID)
	wantIs(t, "Get of the refused provider", err, fault.ErrNotFound)

	other := e.newProvider(t, b.org.ID, b.owner.ID)
	renamed := *other
	renamed.Name = p.Name
	wantTaken(t, "Update to a taken name", e.s.IdentityProviders().Update(t.Context(), &renamed), "name")
	for _, name := range []string{p.Name + " ", "idp " + p.Name[4:]} {
		near := e.provider(b.org.ID, b.owner.ID, func(d *idp.Provider) { d.Name = name })
		must(t, e.s.IdentityProviders().Create(t.Context(), near, sealed("k1", near.ID)))
	}
}

// testIDPUpdate: Update writes every attribute but the id, organization,
// creator, TXT record, creation time and the sealed secret.
func testIDPUpdate(t *testing.T, e *env) {
	tn := e.newTenant(t)
	p := e.newProvider(t, tn.org.ID, tn.owner.ID, func(p *idp.Provider) {
		p.AuthorizeOrganization, p.Reference, p.Metadata = "org_1", "ref", resource.Metadata{"k": "v"}
	})
	before, err := e.s.IdentityProviders().Secret(t.Context(), p.ID)
	must(t, err)
	other := e.newTenant(t)
	give := *p
	give.Name, give.ClientID, give.Issuer, give.Status = "Renamed "+p.ID, "new-client", "https://new.example", idp.Verified
	give.Domains = []string{"x.example", "y.example"}
	give.TokenURL, give.AuthorizeURL, give.JWKSURL = "https://new.example/t", "https://new.example/a", "https://new.example/j"
	give.AuthorizeOrganization, give.DisabledAt, give.ClientSecretLast4 = "", t0.Add(time.Hour).In(zone), "wxyz"
	give.Reference, give.ReferenceOrigin, give.Metadata = "", "origin", nil
	give.UpdatedAt = t0.Add(2 * time.Hour).In(zone)
	// Read-only attributes: Update must leave them as they are.
	give.OrganizationID, give.UserID, give.TXTRecord, give.CreatedAt = other.org.ID, other.owner.ID, "changed", t0.Add(-time.Hour)
	must(t, e.s.IdentityProviders().Update(t.Context(), &give))

	want := give
	want.OrganizationID, want.UserID, want.TXTRecord, want.CreatedAt = p.OrganizationID, p.UserID, p.TXTRecord, p.CreatedAt
	want.UpdatedAt, want.DisabledAt = give.UpdatedAt.UTC(), give.DisabledAt.UTC()
	got, err := e.s.IdentityProviders().Get(t.Context(), p.ID)
	must(t, err)
	wantEqual(t, "Get after Update", *got, want)
	after, err := e.s.IdentityProviders().Secret(t.Context(), p.ID)
	must(t, err)
	wantSealed(t, "Secret after Update", after, before)

	// Enabling again stores a null disabled_at.
	got.DisabledAt = time.Time{}
	must(t, e.s.IdentityProviders().Update(t.Context(), got))
	again, err := e.s.IdentityProviders().Get(t.Context(), p.ID)
	must(t, err)
	if !again.DisabledAt.IsZero() {
		t.Errorf("DisabledAt = %v after clearing it, want zero", again.DisabledAt)
	}
}

func testIDPUpdateWithoutChange(t *testing.T, e *env) {
	tn := e.newTenant(t)
	p := e.newProvider(t, tn.org.ID, tn.owner.ID)
	same := *p
	must(t, e.s.IdentityProviders().Update(t.Context(), &same))
	s, err := e.s.IdentityProviders().Secret(t.Context(), p.ID)
	must(t, err)
	must(t, e.s.IdentityProviders().SetSecret(t.Context(), p.ID, s))
}

// testIDPSetSecret: SetSecret replaces the sealed secret and nothing else.
func testIDPSetSecret(t *testing.T, e *env) {
	tn := e.newTenant(t)
	p := e.newProvider(t, tn.org.ID, tn.owner.ID)
	next := sealed("k2", "next-"+p.ID)
	must(t, e.s.IdentityProviders().SetSecret(t.Context(), p.ID, next))
	got, err := e.s.IdentityProviders().Secret(t.Context(), p.ID)
	must(t, err)
	wantSealed(t, "Secret after SetSecret", got, next)
	after, err := e.s.IdentityProviders().Get(t.Context(), p.ID)
	must(t, err)
	wantEqual(t, "Get after SetSecret", *after, *p)
}

func testIDPDelete(t *testing.T, e *env) {
	tn := e.newTenant(t)
	p := e.newProvider(t, tn.org.ID, tn.owner.ID)
	keep := e.newProvider(t, tn.org.ID, tn.owner.ID)
	must(t, e.s.IdentityProviders().Delete(t.Context(), p.ID))
	_, err := e.s.IdentityProviders().Get(t.Context(), p.ID)
	wantIs(t, "Get after Delete", err, fault.ErrNotFound)
	_, err = e.s.IdentityProviders().Secret(t.Context(), p.ID)
	wantIs(t, "Secret after Delete", err, fault.ErrNotFound)
	wantIs(t, "second Delete", e.s.IdentityProviders().Delete(t.Context(), p.ID), fault.ErrNotFound)
	_, err = e.s.IdentityProviders().Get(t.Context(), keep.ID)
	must(t, err)
	// The name is free again.
	again := e.provider(tn.org.ID, tn.owner.ID, func(a *idp.Provider) { a.Name = p.Name })
	must(t, e.s.IdentityProviders().Create(t.Context(), again, sealed("k1", again.ID)))
}

// testIDPList: keyset pages of one organization, by id.
func testIDPList(t *testing.T, e *env) {
	tn, other := e.newTenant(t), e.newTenant(t)
	var want []string
	for range 7 {
		want = append(want, e.newProvider(t, tn.org.ID, tn.owner.ID).ID)
	}
	e.newProvider(t, other.org.ID, other.owner.ID)
	for _, limit := range []int{1, 3, 7, 100} {
		ids, _ := walk(t, limit, func(pr resource.PageRequest) (resource.Page[idp.Provider], error) {
			return e.s.IdentityProviders().List(t.Context(), idp.Filter{OrganizationID: tn.org.ID, PageRequest: pr})
		}, providerID)
		wantEqual(t, fmt.Sprintf("ids with limit %d", limit), ids, want)
	}
	page, err := e.s.IdentityProviders().List(t.Context(), idp.Filter{OrganizationID: tn.org.ID})
	must(t, err)
	for _, p := range page.Items {
		if !p.HasClientSecret || len(p.Domains) != 1 {
			t.Errorf("listed provider %s: HasClientSecret %v, domains %q", p.ID, p.HasClientSecret, p.Domains)
		}
	}
}

// testIDPFilters: name and status are exact; a domain matches a whole
// entry of the list, never a part of one.
func testIDPFilters(t *testing.T, e *env) {
	tn := e.newTenant(t)
	suffix := "-" + tn.org.ID + ".example"
	d := func(s string) string { return s + suffix }
	only := e.newProvider(t, tn.org.ID, tn.owner.ID, func(p *idp.Provider) { p.Domains = []string{d("example")} })
	first := e.newProvider(t, tn.org.ID, tn.owner.ID, func(p *idp.Provider) {
		p.Domains, p.Status = []string{d("example"), d("b"), d("c")}, idp.Verified
	})
	middle := e.newProvider(t, tn.org.ID, tn.owner.ID, func(p *idp.Provider) { p.Domains = []string{d("a"), d("example"), d("c")} })
	last := e.newProvider(t, tn.org.ID, tn.owner.ID, func(p *idp.Provider) {
		p.Domains, p.Status = []string{d("a"), d("example")}, idp.Failed
	})
	near := e.newProvider(t, tn.org.ID, tn.owner.ID, func(p *idp.Provider) {
		p.Domains = []string{d("sub.example"), d("xample"), d("example") + "x", "x" + d("example")}
	})
	all := []string{only.ID, first.ID, middle.ID, last.ID, near.ID}
	tests := []struct {
		name string
		give idp.Filter
		want []string
	}{
		{"none", idp.Filter{}, all},
		{"domain anywhere in the list", idp.Filter{Domain: d("example")}, []string{only.ID, first.ID, middle.ID, last.ID}},
		{"domain in the middle only", idp.Filter{Domain: d("b")}, []string{first.ID}},
		{"domain part of an entry", idp.Filter{Domain: "example" + suffix[:3]}, []string{}},
		{"sub-domain", idp.Filter{Domain: d("sub.example")}, []string{near.ID}},
		{"status", idp.Filter{Status: idp.Verified}, []string{first.ID}},
		{"status error", idp.Filter{Status: idp.Failed}, []string{last.ID}},
		{"name", idp.Filter{Name: middle.Name}, []string{middle.ID}},
		{"name in other case", idp.Filter{Name: "idp " + middle.ID}, []string{}},
		{"domain and status", idp.Filter{Domain: d("a"), Status: idp.Failed}, []string{last.ID}},
	}
	for _, tt := range tests {
		f := tt.give
		f.OrganizationID = tn.org.ID
		page, err := e.s.IdentityProviders().List(t.Context(), f)
		must(t, err)
		wantEqual(t, tt.name, idsOf(page.Items, providerID), tt.want)
	}
}

// testIDPSealedWithOtherKey: the providers sealed with another key, by id,
// page by page from after an id; and the count of providers by key.
func testIDPSealedWithOtherKey(t *testing.T, e *env) {
	ctx := t.Context()
	tn := e.newTenant(t)
	key, old := "key-"+tn.org.ID, "old-"+tn.org.ID
	var stale []string
	for i := range 5 {
		p := e.newProvider(t, tn.org.ID, tn.owner.ID)
		k := key
		if i%2 == 1 {
			k = old
			stale = append(stale, p.ID)
		}
		must(t, e.s.IdentityProviders().SetSecret(ctx, p.ID, sealed(k, p.ID)))
	}
	var ids []string
	for after := ""; ; {
		page, err := e.s.IdentityProviders().SealedWithOtherKey(ctx, key, after, 2)
		must(t, err)
		if len(page) > 2 {
			t.Fatalf("SealedWithOtherKey with limit 2 = %q", page)
		}
		if len(page) == 0 {
			break
		}
		ids, after = append(ids, page...), page[len(page)-1]
	}
	for _, id := range stale {
		if !slices.Contains(ids, id) {
			t.Errorf("SealedWithOtherKey misses %s", id)
		}
	}
	if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
		t.Errorf("SealedWithOtherKey ids not in order, or repeated: %q", ids)
	}
	for _, id := range ids {
		s, err := e.s.IdentityProviders().Secret(ctx, id)
		must(t, err)
		if s.KeyID == key {
			t.Errorf("SealedWithOtherKey lists %s, sealed with %s", id, key)
		}
	}
	rest, err := e.s.IdentityProviders().SealedWithOtherKey(ctx, key, stale[0], 1000)
	must(t, err)
	if slices.Contains(rest, stale[0]) || !slices.Contains(rest, stale[1]) {
		t.Errorf("SealedWithOtherKey after %s = %q, want those after it only", stale[0], rest)
	}
	one, err := e.s.IdentityProviders().SealedWithOtherKey(ctx, key, "", 1)
	must(t, err)
	if len(one) != 1 {
		t.Errorf("SealedWithOtherKey with limit 1 = %q", one)
	}
	counts, err := e.s.IdentityProviders().SecretKeys(ctx)
	must(t, err)
	if counts[key] != 3 || counts[old] != 2 {
		t.Errorf("SecretKeys = %v; want %s: 3, %s: 2", counts, key, old)
	}
	must(t, e.s.IdentityProviders().SetSecret(ctx, stale[0], sealed(key, stale[0])))
	counts, err = e.s.IdentityProviders().SecretKeys(ctx)
	must(t, err)
	if counts[key] != 4 || counts[old] != 1 {
		t.Errorf("SecretKeys after a re-sealing = %v; want %s: 4, %s: 1", counts, key, old)
	}
}

func testIDPNotFound(t *testing.T, e *env) {
	ctx := t.Context()
	tn := e.newTenant(t)
	ghost := e.provider(tn.org.ID, tn.owner.ID)
	tests := []struct {
		name string
		give func() error
	}{
		{"Get", func() error { _, err := e.s.IdentityProviders().Get(ctx, ghost.ID); return err }},
		{"Get malformed id", func() error { _, err := e.s.IdentityProviders().Get(ctx, "NOT AN ID"); return err }},
		{"Secret", func() error { _, err := e.s.IdentityProviders().Secret(ctx, ghost.ID); return err }},
		{"Update", func() error { return e.s.IdentityProviders().Update(ctx, ghost) }},
		{"SetSecret", func() error { return e.s.IdentityProviders().SetSecret(ctx, ghost.ID, sealed("k1", ghost.ID)) }},
		{"Delete", func() error { return e.s.IdentityProviders().Delete(ctx, ghost.ID) }},
	}
	for _, tt := range tests {
		wantIs(t, tt.name, tt.give(), fault.ErrNotFound)
	}
}

// testIDPForeignKeys: a provider refers to an existing organization and user.
func testIDPForeignKeys(t *testing.T, e *env) {
	tn := e.newTenant(t)
	tests := []struct {
		name string
		give *idp.Provider
	}{
		{"unknown organization", e.provider(e.id(), tn.owner.ID)},
		{"unknown user", e.provider(tn.org.ID, e.id())},
	}
	for _, tt := range tests {
		err := e.s.IdentityProviders().Create(t.Context(), tt.give, sealed("k1", tt.give.ID))
		wantIs(t, tt.name, err, fault.ErrDangling)
	}
}
