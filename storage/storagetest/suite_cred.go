package storagetest

import (
	"cmp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

// credentialCases are the subtests of the credential store.
var credentialCases = []testCase{
	{"RoundTrip", testCredRoundTrip},
	{"ClientIDTaken", testCredClientIDTaken},
	{"Update", testCredUpdate},
	{"List", testCredList},
	{"Revoke", testCredRevoke},
	{"Secrets", testCredSecrets},
	{"Login", testCredLogin},
	{"Touch", testCredTouch},
	{"ForeignKeys", testCredForeignKeys},
	{"Snapshot", testCredSnapshot},
	{"Organizations", testCredOrganizations},
}

// credentialValue builds (without storing) a credential of orgID with a
// fresh id and client id.
func (e *env) credentialValue(orgID, roleID string, mods ...func(*credential.Credential)) *credential.Credential {
	id := e.id()
	c := &credential.Credential{ID: id, OrganizationID: orgID, Name: "Credential " + id, Kind: credential.Integration,
		Confidential: true, ClientID: "client-" + id, ExpiresIn: credential.MinExpiresIn, Mode: credential.Test,
		RoleID: roleID, Common: common()}
	for _, m := range mods {
		m(c)
	}
	return c
}

// secretValue builds (without storing) a secret of a credential whose hash is that of plain.
func (e *env) secretValue(credID, plain string) *credential.Secret {
	return &credential.Secret{ID: e.id(), CredentialID: credID, Hash: credential.HashSecret(plain), CreatedAt: t0}
}

// newCredential stores a credential with one secret, "secret-<id>".
func (e *env) newCredential(tb testing.TB, orgID, roleID string, mods ...func(*credential.Credential)) *credential.Credential {
	tb.Helper()
	c := e.credentialValue(orgID, roleID, mods...)
	must(tb, e.s.Credentials().Create(tb.Context(), c, e.secretValue(c.ID, "secret-"+c.ID)))
	return c
}

func credID(c credential.Credential) string { return c.ID }

func testCredRoundTrip(t *testing.T, e *env) {
	tn := e.newTenant(t)
	tests := []struct {
		name string
		give func(id string) credential.Credential
	}{
		{"every field set", func(id string) credential.Credential {
			return credential.Credential{ID: id, OrganizationID: tn.org.ID, Name: "Integration ✓ 🎉", Kind: credential.Integration,
				Confidential: true, RedirectURI: "https://app.example/cb?x=1", ClientID: "Cl13nt" + id, Scopes: "market:all market:9",
				ExpiresIn: credential.MaxExpiresIn, Mode: credential.Live, Custom: true, RoleID: tn.admin.ID, CreatorUserID: tn.owner.ID,
				ExpiresAt: t0.Add(time.Hour).In(zone), LastUsedAt: t0.Add(time.Minute).In(zone),
				Common: resource.Common{Reference: "r", ReferenceOrigin: "o", Metadata: richMetadata(), CreatedAt: t0.In(zone), UpdatedAt: t0.In(zone)}}
		}},
		{"sales channel without role, creator or expiry", func(id string) credential.Credential {
			return credential.Credential{ID: id, OrganizationID: tn.org.ID, Name: "Shop", Kind: credential.SalesChannel,
				ClientID: "c" + id, ExpiresIn: 14400, Mode: credential.Test, Common: common()}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			give := tt.give(e.id())
			in := give
			sec := e.secretValue(give.ID, "s")
			must(t, e.s.Credentials().Create(t.Context(), &in, sec))
			want := give
			want.Common = utcCommon(give.Common)
			want.ExpiresAt, want.LastUsedAt = utcOrZero(give.ExpiresAt), utcOrZero(give.LastUsedAt)
			got, err := e.s.Credentials().Get(t.Context(), give.ID)
			must(t, err)
			wantEqual(t, "Get", *got, want)
			secrets, err := e.s.Credentials().Secrets(t.Context(), give.ID)
			must(t, err)
			wantEqual(t, "Secrets", secrets, []credential.Secret{*sec})
		})
	}
}

func utcOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func testCredClientIDTaken(t *testing.T, e *env) {
	tn := e.newTenant(t)
	c := e.newCredential(t, tn.org.ID, tn.admin.ID)
	dup := e.credentialValue(tn.org.ID, tn.admin.ID, func(d *credential.Credential) { d.ClientID = c.ClientID })
	err := e.s.Credentials().Create(t.Context(), dup, e.secretValue(dup.ID, "x"))
	wantTaken(t, "Create with a taken client id", err, "client_id")
	_, err = e.s.Credentials().Get(t.Context(), dup.ID)
	wantIs(t, "Get of the refused credential", err, fault.ErrNotFound)
	secrets, err := e.s.Credentials().Secrets(t.Context(), dup.ID)
	must(t, err)
	wantEqual(t, "secrets of the refused credential", len(secrets), 0)
	// Client ids are compared exactly.
	for _, probe := range []string{strings.ToUpper(c.ClientID), c.ClientID + " "} {
		other := e.credentialValue(tn.org.ID, tn.admin.ID, func(d *credential.Credential) { d.ClientID = probe })
		must(t, e.s.Credentials().Create(t.Context(), other, e.secretValue(other.ID, "y")))
	}
}

// testCredUpdate: the writable fields change; kind, mode, custom, client id,
// scopes, organization, creator, revocation, last use and creation time do not.
func testCredUpdate(t *testing.T, e *env) {
	tn, other := e.newTenant(t), e.newTenant(t)
	ro := e.newRole(t, tn.org.ID, role.KindReadOnly)
	c := e.newCredential(t, tn.org.ID, tn.admin.ID, func(c *credential.Credential) {
		c.RedirectURI, c.ExpiresAt, c.Reference = "https://a.example/cb", t0.Add(time.Hour), "r"
	})
	give := *c
	give.Name, give.RedirectURI, give.ExpiresIn, give.RoleID, give.ExpiresAt = "Renamed", "", 86400, ro.ID, time.Time{}
	give.Reference, give.Metadata, give.UpdatedAt = "", resource.Metadata{"a": "b"}, t0.Add(time.Hour).In(zone)
	// Fixed fields.
	give.Kind, give.Mode, give.Custom, give.ClientID, give.Scopes = credential.Webapp, credential.Live, true, "changed", "x"
	give.OrganizationID, give.CreatorUserID, give.RevokedAt, give.LastUsedAt, give.CreatedAt = other.org.ID, tn.owner.ID, t0, t0, t0.Add(-time.Hour)
	must(t, e.s.Credentials().Update(t.Context(), &give))
	want := *c
	want.Name, want.RedirectURI, want.ExpiresIn, want.RoleID, want.ExpiresAt = "Renamed", "", 86400, ro.ID, time.Time{}
	want.Reference, want.Metadata, want.UpdatedAt = "", resource.Metadata{"a": "b"}, t0.Add(time.Hour)
	got, err := e.s.Credentials().Get(t.Context(), c.ID)
	must(t, err)
	wantEqual(t, "Get after Update", *got, want)
	// Setting an expiry back.
	give = *got
	give.ExpiresAt = t0.Add(2 * time.Hour).In(zone)
	must(t, e.s.Credentials().Update(t.Context(), &give))
	got, err = e.s.Credentials().Get(t.Context(), c.ID)
	must(t, err)
	wantEqual(t, "expiry after Update", got.ExpiresAt, t0.Add(2*time.Hour))
	missing := e.credentialValue(tn.org.ID, "")
	wantIs(t, "Update of a missing credential", e.s.Credentials().Update(t.Context(), missing), fault.ErrNotFound)
}

func testCredList(t *testing.T, e *env) {
	tn, other := e.newTenant(t), e.newTenant(t)
	ro := e.newRole(t, tn.org.ID, role.KindReadOnly)
	a := e.newCredential(t, tn.org.ID, tn.admin.ID, func(c *credential.Credential) { c.Name = "Shared" })
	b := e.newCredential(t, tn.org.ID, "", func(c *credential.Credential) { c.Kind, c.Confidential = credential.SalesChannel, false })
	c := e.newCredential(t, tn.org.ID, ro.ID, func(c *credential.Credential) { c.Mode = credential.Live })
	d := e.newCredential(t, tn.org.ID, ro.ID)
	revoked := e.newCredential(t, tn.org.ID, ro.ID)
	must(t, e.s.Credentials().Revoke(t.Context(), revoked.ID, t0))
	e.newCredential(t, other.org.ID, other.admin.ID, func(c *credential.Credential) { c.Name = "Shared" })
	all := []string{a.ID, b.ID, c.ID, d.ID}
	tests := []struct {
		name string
		give credential.Filter
		want []string
	}{
		{"none", credential.Filter{OrganizationID: tn.org.ID}, all},
		{"kind", credential.Filter{OrganizationID: tn.org.ID, Kind: credential.SalesChannel}, []string{b.ID}},
		{"mode", credential.Filter{OrganizationID: tn.org.ID, Mode: credential.Live}, []string{c.ID}},
		{"name", credential.Filter{OrganizationID: tn.org.ID, Name: "Shared"}, []string{a.ID}},
		{"client id", credential.Filter{OrganizationID: tn.org.ID, ClientID: d.ClientID}, []string{d.ID}},
		{"role", credential.Filter{OrganizationID: tn.org.ID, RoleID: ro.ID}, []string{c.ID, d.ID}},
		{"revoked client id", credential.Filter{OrganizationID: tn.org.ID, ClientID: revoked.ClientID}, []string{}},
		{"unknown organization", credential.Filter{OrganizationID: e.id()}, []string{}},
	}
	for _, tt := range tests {
		p, err := e.s.Credentials().List(t.Context(), tt.give)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		wantEqual(t, tt.name, idsOf(p.Items, credID), tt.want)
	}
	ids, sizes := walk(t, 3, func(r resource.PageRequest) (resource.Page[credential.Credential], error) {
		return e.s.Credentials().List(t.Context(), credential.Filter{OrganizationID: tn.org.ID, PageRequest: r})
	}, credID)
	wantEqual(t, "paged ids", ids, all)
	wantEqual(t, "page sizes", sizes, []int{3, 1})
	got, err := e.s.Credentials().List(t.Context(), credential.Filter{OrganizationID: tn.org.ID, Kind: credential.SalesChannel})
	must(t, err)
	wantEqual(t, "listed credential", got.Items, []credential.Credential{*b})
}

// testCredRevoke: a revoked credential keeps its row (and secrets) but Get,
// List, Update and a second Revoke do not find it; Login still reads it,
// with its revocation time.
func testCredRevoke(t *testing.T, e *env) {
	tn := e.newTenant(t)
	c := e.newCredential(t, tn.org.ID, tn.admin.ID)
	at := t0.Add(time.Hour).In(zone)
	must(t, e.s.Credentials().Revoke(t.Context(), c.ID, at))
	_, err := e.s.Credentials().Get(t.Context(), c.ID)
	wantIs(t, "Get after Revoke", err, fault.ErrNotFound)
	wantIs(t, "Update after Revoke", e.s.Credentials().Update(t.Context(), c), fault.ErrNotFound)
	wantIs(t, "second Revoke", e.s.Credentials().Revoke(t.Context(), c.ID, at), fault.ErrNotFound)
	wantIs(t, "Revoke of a missing credential", e.s.Credentials().Revoke(t.Context(), e.id(), at), fault.ErrNotFound)
	if db, ok := bunDB(t, e.s); ok {
		n, err := db.NewSelect().TableExpr("provisioning_api_credentials").Where("id = ?", c.ID).Count(t.Context())
		must(t, err)
		wantEqual(t, "rows of the revoked credential", n, 1)
	}
	got, secrets, err := e.s.Credentials().Login(t.Context(), c.ClientID)
	must(t, err)
	wantEqual(t, "RevokedAt", got.RevokedAt, at.UTC())
	wantEqual(t, "UpdatedAt", got.UpdatedAt, at.UTC())
	wantEqual(t, "secrets of the revoked credential", len(secrets), 1)
}

// testCredSecrets: secrets come back by id, with their expiries.
func testCredSecrets(t *testing.T, e *env) {
	tn := e.newTenant(t)
	c := e.newCredential(t, tn.org.ID, tn.admin.ID)
	first, err := e.s.Credentials().Secrets(t.Context(), c.ID)
	must(t, err)
	s2 := e.secretValue(c.ID, "second")
	s2.ExpiresAt = t0.Add(time.Hour).In(zone)
	s3 := e.secretValue(c.ID, "third")
	must(t, e.s.Credentials().AddSecret(t.Context(), s3))
	must(t, e.s.Credentials().AddSecret(t.Context(), s2)) // added out of id order
	must(t, e.s.Credentials().ExpireSecret(t.Context(), first[0].ID, t0.Add(time.Minute)))
	got, err := e.s.Credentials().Secrets(t.Context(), c.ID)
	must(t, err)
	want := []credential.Secret{first[0], *s2, *s3}
	want[0].ExpiresAt, want[1].ExpiresAt = t0.Add(time.Minute), t0.Add(time.Hour)
	slices.SortFunc(want, func(a, b credential.Secret) int { return cmp.Compare(a.ID, b.ID) })
	wantEqual(t, "Secrets", got, want)
	wantIs(t, "ExpireSecret of a missing secret", e.s.Credentials().ExpireSecret(t.Context(), e.id(), t0), fault.ErrNotFound)
	none, err := e.s.Credentials().Secrets(t.Context(), e.id())
	must(t, err)
	wantEqual(t, "secrets of a missing credential", len(none), 0)
	dangling := e.secretValue(e.id(), "x")
	wantIs(t, "AddSecret of a missing credential", e.s.Credentials().AddSecret(t.Context(), dangling), fault.ErrConflict)
}

// testCredLogin: Login finds a credential by its exact client id, with its
// secrets; anything else is not found.
func testCredLogin(t *testing.T, e *env) {
	tn := e.newTenant(t)
	c := e.newCredential(t, tn.org.ID, tn.admin.ID)
	got, secrets, err := e.s.Credentials().Login(t.Context(), c.ClientID)
	must(t, err)
	wantEqual(t, "credential", *got, *c)
	if len(secrets) != 1 || !credential.VerifySecret("secret-"+c.ID, secrets[0].Hash) {
		t.Errorf("secrets = %+v, want the one of secret-%s", secrets, c.ID)
	}
	for _, probe := range []string{"", strings.ToUpper(c.ClientID), c.ClientID + " ", c.ID, "nobody", strings.Repeat("a", 129), "' OR 1=1 --"} {
		_, _, err := e.s.Credentials().Login(t.Context(), probe)
		wantIs(t, "Login("+probe+")", err, fault.ErrNotFound)
	}
}

// testCredTouch: last_used_at is written when it is older than every.
func testCredTouch(t *testing.T, e *env) {
	tn := e.newTenant(t)
	c := e.newCredential(t, tn.org.ID, tn.admin.ID)
	lastUsed := func() time.Time {
		t.Helper()
		got, err := e.s.Credentials().Get(t.Context(), c.ID)
		must(t, err)
		return got.LastUsedAt
	}
	steps := []struct {
		give time.Time
		want time.Time
	}{
		{t0, t0},                       // first use
		{t0.Add(30 * time.Second), t0}, // within the minute: kept
		{t0.Add(time.Minute), t0.Add(time.Minute)}, // a minute later: written
		{t0.Add(time.Minute + time.Second), t0.Add(time.Minute)},
		{t0.Add(3 * time.Minute).In(zone), t0.Add(3 * time.Minute)},
	}
	for i, st := range steps {
		must(t, e.s.Credentials().Touch(t.Context(), c.ID, st.give, time.Minute))
		if got := lastUsed(); !got.Equal(st.want) {
			t.Errorf("step %d: last_used_at %v, want %v", i, got, st.want)
		}
	}
	must(t, e.s.Credentials().Touch(t.Context(), e.id(), t0, time.Minute)) // a missing credential: nothing to do
}

func testCredForeignKeys(t *testing.T, e *env) {
	tn, other := e.newTenant(t), e.newTenant(t)
	missing := e.id()
	tests := []struct {
		name string
		give func(*credential.Credential)
	}{
		{"organization", func(c *credential.Credential) { c.OrganizationID = missing }},
		{"role", func(c *credential.Credential) { c.RoleID = missing }},
		{"creator", func(c *credential.Credential) { c.CreatorUserID = missing }},
	}
	for _, tt := range tests {
		c := e.credentialValue(tn.org.ID, tn.admin.ID, tt.give)
		err := e.s.Credentials().Create(t.Context(), c, e.secretValue(c.ID, "x"))
		wantIs(t, "Create with a missing "+tt.name, err, fault.ErrConflict)
		_, _, err = e.s.Credentials().Login(t.Context(), c.ClientID)
		wantIs(t, "Login of the refused credential", err, fault.ErrNotFound)
	}
	// A credential's secrets go with it.
	c := e.newCredential(t, other.org.ID, other.admin.ID)
	must(t, e.s.Credentials().AddSecret(t.Context(), e.secretValue(c.ID, "another")))
	db, ok := bunDB(t, e.s)
	if !ok {
		return
	}
	_, err := db.NewDelete().TableExpr("provisioning_api_credentials").Where("id = ?", c.ID).Exec(t.Context())
	must(t, err)
	n, err := db.NewSelect().TableExpr("provisioning_api_credential_secrets").Where("credential_id = ?", c.ID).Count(t.Context())
	must(t, err)
	wantEqual(t, "secrets left after the credential's row is deleted", n, 0)
}

// testCredSnapshot: the policy snapshot lists the credentials that are not
// revoked, with their role and expiry, and no other organization's.
func testCredSnapshot(t *testing.T, e *env) {
	tn, other := e.newTenant(t), e.newTenant(t)
	ro := e.newRole(t, tn.org.ID, role.KindReadOnly)
	a := e.newCredential(t, tn.org.ID, tn.admin.ID)
	b := e.newCredential(t, tn.org.ID, "", func(c *credential.Credential) { c.Kind = credential.Webapp })
	c := e.newCredential(t, tn.org.ID, ro.ID, func(c *credential.Credential) { c.ExpiresAt = t0.Add(time.Hour).In(zone) })
	revoked := e.newCredential(t, tn.org.ID, ro.ID)
	must(t, e.s.Credentials().Revoke(t.Context(), revoked.ID, t0))
	e.newCredential(t, other.org.ID, other.admin.ID)
	snap, err := e.s.Access().Snapshot(t.Context(), tn.org.ID)
	must(t, err)
	got := slices.SortedFunc(slices.Values(snap.Credentials), func(x, y access.Credential) int { return cmp.Compare(x.ID, y.ID) })
	wantEqual(t, "Snapshot.Credentials", got, []access.Credential{
		{ID: a.ID, RoleID: tn.admin.ID}, {ID: b.ID}, {ID: c.ID, RoleID: ro.ID, ExpiresAt: t0.Add(time.Hour)},
	})
}

// testCredOrganizations: a credential's organization is its own while it is
// not revoked, paged like a user's.
func testCredOrganizations(t *testing.T, e *env) {
	tn := e.newTenant(t)
	c := e.newCredential(t, tn.org.ID, tn.admin.ID)
	revoked := e.newCredential(t, tn.org.ID, tn.admin.ID)
	must(t, e.s.Credentials().Revoke(t.Context(), revoked.ID, t0))
	cred := func(id string) access.Principal { return access.Principal{Kind: access.KindCredential, ID: id} }
	tests := []struct {
		name      string
		give      access.Principal
		giveAfter string
		want      []string
	}{
		{"its organization", cred(c.ID), "", []string{tn.org.ID}},
		{"after an earlier id", cred(c.ID), "a", []string{tn.org.ID}},
		{"after its organization", cred(c.ID), tn.org.ID, []string{}},
		{"malformed after", cred(c.ID), "NOT AN ID", []string{}},
		{"revoked", cred(revoked.ID), "", []string{}},
		{"unknown", cred(e.id()), "", []string{}},
		{"a user with the credential's id", access.User(c.ID), "", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.s.Access().Organizations(t.Context(), tt.give, tt.giveAfter, 10)
			must(t, err)
			wantEqual(t, "ids", append([]string{}, got...), tt.want)
		})
	}
}
