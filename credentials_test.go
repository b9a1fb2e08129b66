package provisioning_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/internal/testkit"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/storage/bunstore"
	"github.com/provisionkit/provisioning/storage/sqlite"
	"github.com/provisionkit/provisioning/storage/storagetest"
)

// newCred creates a credential of orgID as s, failing the test on error.
func newCred(t testing.TB, s *provisioning.Session, orgID string, kind credential.Kind, roleID string, mods ...func(*credential.Create)) *credential.Issued {
	t.Helper()
	in := credential.Create{OrganizationID: orgID, Name: string(kind) + " credential", Kind: kind, RoleID: roleID}
	for _, m := range mods {
		m(&in)
	}
	is, err := s.CreateCredential(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return is
}

// credWorld is the world of the authorization tests with API credentials:
// integration credentials of the organization with the admin and the
// read_only role, a webapp credential (no role) and an admin credential of
// the other organization.
type credWorld struct {
	*world
	adminCred, readerCred, webappCred, foreignCred *credential.Issued
}

func newCredWorld(t testing.TB) *credWorld {
	t.Helper()
	w := &credWorld{world: newWorld(t)}
	own := w.as(w.owner)
	w.adminCred = newCred(t, own, w.org.ID, credential.Integration, w.admin.ID)
	w.readerCred = newCred(t, own, w.org.ID, credential.Integration, w.readOnly.ID)
	w.webappCred = newCred(t, own, w.org.ID, credential.Webapp, "")
	otherAdmin, err := w.store.Roles().RoleOfKind(context.Background(), w.otherOrg.ID, role.KindAdmin)
	if err != nil {
		t.Fatal(err)
	}
	w.foreignCred = newCred(t, w.as(w.stranger), w.otherOrg.ID, credential.Integration, otherAdmin.ID)
	return w
}

// The credential actors.
const (
	byAdminCred   actor = "admin_credential"
	byReaderCred  actor = "read_only_credential"
	byWebappCred  actor = "webapp_credential"
	byForeignCred actor = "other_organization_credential"
)

var credActors = []actor{byOwner, byAdmin, byReader, byCustom, byPending, byStranger, byNobody,
	byAdminCred, byReaderCred, byWebappCred, byForeignCred}

func (w *credWorld) session(a actor) *provisioning.Session {
	switch a {
	case byAdminCred:
		return w.p.As(provisioning.Credential(w.adminCred.Credential.ID))
	case byReaderCred:
		return w.p.As(provisioning.Credential(w.readerCred.Credential.ID))
	case byWebappCred:
		return w.p.As(provisioning.Credential(w.webappCred.Credential.ID))
	case byForeignCred:
		return w.p.As(provisioning.Credential(w.foreignCred.Credential.ID))
	}
	return w.world.session(a)
}

// credFingerprint extends fingerprint with the credential tables.
func (e *env) credFingerprint(t testing.TB) map[string]int {
	t.Helper()
	out := e.fingerprint(t)
	out["credentials"] = e.count(t, "provisioning_api_credentials", "1 = 1")
	out["credentials updated"] = e.count(t, "provisioning_api_credentials", "updated_at > created_at")
	out["credentials revoked"] = e.count(t, "provisioning_api_credentials", "revoked_at IS NOT NULL")
	out["secrets"] = e.count(t, "provisioning_api_credential_secrets", "1 = 1")
	out["secrets expiring"] = e.count(t, "provisioning_api_credential_secrets", "expires_at IS NOT NULL")
	return out
}

func assertCredUnchanged(t testing.TB, e *env, before map[string]int) {
	t.Helper()
	after := e.credFingerprint(t)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("refused call changed %s: %d rows, was %d", k, after[k], v)
		}
	}
}

// TestCredentialAuthorization checks each credential call, and a few calls
// made by credentials, for each actor: admins manage credentials, members
// read them; a credential acts with its role (admin manages, read_only
// reads, no role does nothing) inside its organization and sees nothing of
// another; only the owner hands out the admin role; a refused call changes
// nothing.
func TestCredentialAuthorization(t *testing.T) {
	ctx := context.Background()
	type op func(s *provisioning.Session, w *credWorld) error
	const F, NF, U = fault.Forbidden, fault.NotFound, fault.Unauthenticated
	// credRow is a row for the credential actors only (the users' outcomes
	// of the call are TestAuthorization's).
	credRow := func(o ...outcome) map[actor]outcome {
		return map[actor]outcome{byAdminCred: o[0], byReaderCred: o[1], byWebappCred: o[2], byForeignCred: o[3]}
	}
	// row is a row for every actor, in the order of credActors: users
	// (owner, admin, read_only, custom, pending, stranger, nobody), then
	// credentials (admin, read_only, webapp, the other organization's).
	row := func(o ...outcome) map[actor]outcome {
		m := map[actor]outcome{}
		for i, a := range credActors {
			m[a] = o[i]
		}
		return m
	}
	tests := []struct {
		giveOp string
		give   op
		read   bool // changes nothing: one world serves every actor
		want   map[actor]outcome
	}{
		{"CreateCredential", func(s *provisioning.Session, w *credWorld) error {
			_, err := s.CreateCredential(ctx, credential.Create{OrganizationID: w.org.ID, Name: "Bot", Kind: credential.Integration, RoleID: w.readOnly.ID})
			return err
		}, false, row(ok, ok, F, F, NF, NF, U, ok, F, F, NF)},
		{"CreateAdminCredential", func(s *provisioning.Session, w *credWorld) error {
			_, err := s.CreateCredential(ctx, credential.Create{OrganizationID: w.org.ID, Name: "Bot", Kind: credential.Integration, RoleID: w.admin.ID})
			return err
		}, false, row(ok, F, F, F, NF, NF, U, F, F, F, NF)},
		{"GetCredential", func(s *provisioning.Session, w *credWorld) error {
			_, err := s.GetCredential(ctx, w.readerCred.Credential.ID)
			return err
		}, true, row(ok, ok, ok, ok, NF, NF, U, ok, ok, F, NF)},
		{"ListCredentials", func(s *provisioning.Session, w *credWorld) error {
			_, err := s.ListCredentials(ctx, credential.Filter{OrganizationID: w.org.ID})
			return err
		}, true, row(ok, ok, ok, ok, NF, NF, U, ok, ok, F, NF)},
		{"UpdateCredential", func(s *provisioning.Session, w *credWorld) error {
			n := "Renamed"
			_, err := s.UpdateCredential(ctx, w.readerCred.Credential.ID, credential.Update{Name: &n})
			return err
		}, false, row(ok, ok, F, F, NF, NF, U, ok, F, F, NF)},
		{"UpdateCredentialToAdmin", func(s *provisioning.Session, w *credWorld) error {
			_, err := s.UpdateCredential(ctx, w.readerCred.Credential.ID, credential.Update{RoleID: &w.admin.ID})
			return err
		}, false, row(ok, F, F, F, NF, NF, U, F, F, F, NF)},
		{"RotateCredential", func(s *provisioning.Session, w *credWorld) error {
			_, err := s.RotateCredential(ctx, w.readerCred.Credential.ID, time.Hour)
			return err
		}, false, row(ok, ok, F, F, NF, NF, U, ok, F, F, NF)},
		{"RotateAdminCredential", func(s *provisioning.Session, w *credWorld) error {
			_, err := s.RotateCredential(ctx, w.adminCred.Credential.ID, 0)
			return err
		}, false, row(ok, F, F, F, NF, NF, U, F, F, F, NF)},
		{"DeleteCredential", func(s *provisioning.Session, w *credWorld) error {
			return s.DeleteCredential(ctx, w.readerCred.Credential.ID)
		}, false, row(ok, ok, F, F, NF, NF, U, ok, F, F, NF)},
		{"GetOrganization", func(s *provisioning.Session, w *credWorld) error {
			_, err := s.GetOrganization(ctx, w.org.ID)
			return err
		}, true, row(ok, ok, ok, ok, NF, NF, U, ok, ok, F, NF)},
		{"UpdateOrganization", func(s *provisioning.Session, w *credWorld) error {
			n := "Renamed"
			_, err := s.UpdateOrganization(ctx, w.org.ID, organization.Update{Name: &n})
			return err
		}, false, credRow(ok, F, F, NF)},
		{"Invite", func(s *provisioning.Session, w *credWorld) error {
			_, err := s.Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: "x@example.com", RoleID: w.readOnly.ID})
			return err
		}, false, credRow(ok, F, F, NF)},
		{"ListMemberships", func(s *provisioning.Session, w *credWorld) error {
			_, err := s.ListMemberships(ctx, membership.Filter{OrganizationID: w.org.ID})
			return err
		}, true, row(ok, ok, ok, ok, NF, NF, U, ok, ok, F, NF)},
		{"ListVersions", func(s *provisioning.Session, w *credWorld) error {
			_, err := s.ListVersions(ctx, audit.Filter{OrganizationID: w.org.ID})
			return err
		}, true, row(ok, ok, ok, F, NF, NF, U, ok, ok, F, NF)},
	}
	for _, tt := range tests {
		var shared *credWorld
		if tt.read {
			shared = newCredWorld(t)
		}
		for _, a := range credActors {
			want, tested := tt.want[a]
			if !tested {
				continue
			}
			t.Run(tt.giveOp+"/"+string(a), func(t *testing.T) {
				t.Parallel() // each world has its own database; a shared one is only read
				w := shared
				if w == nil {
					w = newCredWorld(t)
				}
				before := w.credFingerprint(t)
				err := tt.give(w.session(a), w)
				if got := kindOrOK(err); got != want {
					t.Fatalf("%s as %s: got %s (%v), want %s", tt.giveOp, a, kindName(got), err, kindName(want))
				}
				if want != ok {
					assertCredUnchanged(t, w.env, before)
				}
			})
		}
	}
}

// TestCredentialValidation: the kind decides the role rule (required for
// integration, refused for sales_channel and webapp, optional otherwise),
// confidential and the default token lifetime; expires_in is bounded;
// mode is test (default) or live; redirect_uri is an absolute https URL
// (http for the loopback host only). Bad input names its field and stores
// nothing; good input gets the defaults.
func TestCredentialValidation(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	own := w.as(w.owner)
	otherAdmin := w.otherAdmin(t)
	type want struct {
		confidential bool
		expiresIn    int
		mode         credential.Mode
	}
	tests := []struct {
		name       string
		give       func(*credential.Create)
		wantFields []string // nil: success
		want       want     // on success
	}{
		{"integration with a role", func(c *credential.Create) {}, nil, want{true, 7200, credential.Test}},
		{"integration without a role", func(c *credential.Create) { c.RoleID = "" }, []string{"role"}, want{}},
		{"sales_channel without a role", func(c *credential.Create) { c.Kind, c.RoleID = credential.SalesChannel, "" }, nil, want{false, 14400, credential.Test}},
		{"sales_channel with a role", func(c *credential.Create) { c.Kind = credential.SalesChannel }, []string{"role"}, want{}},
		{"webapp without a role", func(c *credential.Create) { c.Kind, c.RoleID = credential.Webapp, "" }, nil, want{true, 7200, credential.Test}},
		{"webapp with a role", func(c *credential.Create) { c.Kind = credential.Webapp }, []string{"role"}, want{}},
		{"resources with a role", func(c *credential.Create) { c.Kind = credential.Resources }, nil, want{true, 7200, credential.Test}},
		{"resources without a role", func(c *credential.Create) { c.Kind, c.RoleID = credential.Resources, "" }, nil, want{true, 7200, credential.Test}},
		{"custom fork of a dashboard app", func(c *credential.Create) { c.Kind, c.Custom = "orders", true }, nil, want{true, 7200, credential.Test}},
		{"unknown kind", func(c *credential.Create) { c.Kind = "robot" }, []string{"kind"}, want{}},
		{"blank kind", func(c *credential.Create) { c.Kind = "" }, []string{"kind"}, want{}},
		{"blank name", func(c *credential.Create) { c.Name = " " }, []string{"name"}, want{}},
		{"role of another organization", func(c *credential.Create) { c.RoleID = otherAdmin.ID }, []string{"role"}, want{}},
		{"expires_in below the minimum", func(c *credential.Create) { c.ExpiresIn = 7199 }, []string{"expires_in"}, want{}},
		{"expires_in at the minimum", func(c *credential.Create) { c.ExpiresIn = 7200 }, nil, want{true, 7200, credential.Test}},
		{"expires_in at the maximum", func(c *credential.Create) { c.ExpiresIn = 31536000 }, nil, want{true, 31536000, credential.Test}},
		{"expires_in above the maximum", func(c *credential.Create) { c.ExpiresIn = 31536001 }, []string{"expires_in"}, want{}},
		{"negative expires_in", func(c *credential.Create) { c.ExpiresIn = -1 }, []string{"expires_in"}, want{}},
		{"sales_channel with its own expires_in", func(c *credential.Create) { c.Kind, c.RoleID, c.ExpiresIn = credential.SalesChannel, "", 9000 }, nil, want{false, 9000, credential.Test}},
		{"live mode", func(c *credential.Create) { c.Mode = credential.Live }, nil, want{true, 7200, credential.Live}},
		{"unknown mode", func(c *credential.Create) { c.Mode = "production" }, []string{"mode"}, want{}},
		{"https redirect", func(c *credential.Create) { c.RedirectURI = "https://app.example/callback?x=1" }, nil, want{true, 7200, credential.Test}},
		{"http localhost redirect", func(c *credential.Create) { c.RedirectURI = "http://localhost:3000/cb" }, nil, want{true, 7200, credential.Test}},
		{"http loopback redirect", func(c *credential.Create) { c.RedirectURI = "http://127.0.0.1:8080/cb" }, nil, want{true, 7200, credential.Test}},
		{"http redirect", func(c *credential.Create) { c.RedirectURI = "http://app.example/cb" }, []string{"redirect_uri"}, want{}},
		{"http redirect to a localhost look-alike", func(c *credential.Create) { c.RedirectURI = "http://localhost.evil.example/cb" }, []string{"redirect_uri"}, want{}},
		{"relative redirect", func(c *credential.Create) { c.RedirectURI = "/callback" }, []string{"redirect_uri"}, want{}},
		{"redirect with another scheme", func(c *credential.Create) { c.RedirectURI = "ftp://app.example/cb" }, []string{"redirect_uri"}, want{}},
		{"script redirect", func(c *credential.Create) { c.RedirectURI = "javascript:alert(1)" }, []string{"redirect_uri"}, want{}},
		{"redirect with user info", func(c *credential.Create) { c.RedirectURI = "https://user:pw@app.example/cb" }, []string{"redirect_uri"}, want{}},
		{"redirect with a fragment", func(c *credential.Create) { c.RedirectURI = "https://app.example/cb#x" }, []string{"redirect_uri"}, want{}},
		{"expiry in the past", func(c *credential.Create) { c.ExpiresAt = w.clock.Now().Add(-time.Second) }, []string{"expires_at"}, want{}},
		{"expiry in the future", func(c *credential.Create) { c.ExpiresAt = w.clock.Now().Add(time.Hour) }, nil, want{true, 7200, credential.Test}},
		{"expiry in nanoseconds and another zone", func(c *credential.Create) {
			c.ExpiresAt = w.clock.Now().Add(time.Hour + time.Nanosecond).In(time.FixedZone("X", 3600))
		}, nil, want{true, 7200, credential.Test}},
	}
	for _, k := range credential.DashboardKinds {
		tests = append(tests,
			struct {
				name       string
				give       func(*credential.Create)
				wantFields []string
				want       want
			}{"dashboard app " + string(k) + " with a role", func(c *credential.Create) { c.Kind = k }, nil, want{true, 7200, credential.Test}},
			struct {
				name       string
				give       func(*credential.Create)
				wantFields []string
				want       want
			}{"dashboard app " + string(k) + " without a role", func(c *credential.Create) { c.Kind, c.RoleID = k, "" }, nil, want{true, 7200, credential.Test}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := credential.Create{OrganizationID: w.org.ID, Name: "Bot", Kind: credential.Integration, RoleID: w.readOnly.ID}
			tt.give(&in)
			before := w.credFingerprint(t)
			is, err := own.CreateCredential(ctx, in)
			if got := testkit.BadFields(t, err); !slices.Equal(got, tt.wantFields) {
				t.Fatalf("bad fields %v (%v), want %v", got, err, tt.wantFields)
			}
			if tt.wantFields != nil {
				assertCredUnchanged(t, w.env, before)
				return
			}
			c := is.Credential
			got := want{c.Confidential, c.ExpiresIn, c.Mode}
			if got != tt.want || c.Kind != in.Kind || c.Custom != in.Custom || c.RoleID != in.RoleID {
				t.Fatalf("created %+v, want %+v", c, tt.want)
			}
			stored, err := own.GetCredential(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(stored, c) {
				t.Fatalf("stored %+v, want %+v", stored, c)
			}
		})
	}
}

func (w *world) otherAdmin(t testing.TB) *role.Role {
	t.Helper()
	r, err := w.store.Roles().RoleOfKind(context.Background(), w.otherOrg.ID, role.KindAdmin)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCredentialUpdateValidation: updates follow the credential's kind;
// kind, mode and custom have no update.
func TestCredentialUpdateValidation(t *testing.T) {
	ctx := context.Background()
	w := newCredWorld(t)
	own := w.as(w.owner)
	tests := []struct {
		name       string
		giveID     string
		give       credential.Update
		wantFields []string
	}{
		{"integration loses its role", w.readerCred.Credential.ID, credential.Update{RoleID: testkit.Ptr("")}, []string{"role"}},
		{"integration changes role", w.readerCred.Credential.ID, credential.Update{RoleID: &w.custom.ID}, nil},
		{"webapp gets a role", w.webappCred.Credential.ID, credential.Update{RoleID: &w.readOnly.ID}, []string{"role"}},
		{"webapp keeps no role", w.webappCred.Credential.ID, credential.Update{RoleID: testkit.Ptr("")}, nil},
		{"expires_in too low", w.readerCred.Credential.ID, credential.Update{ExpiresIn: testkit.Ptr(60)}, []string{"expires_in"}},
		{"expires_in too high", w.readerCred.Credential.ID, credential.Update{ExpiresIn: testkit.Ptr(credential.MaxExpiresIn + 1)}, []string{"expires_in"}},
		{"expires_in", w.readerCred.Credential.ID, credential.Update{ExpiresIn: testkit.Ptr(86400)}, nil},
		{"http redirect", w.webappCred.Credential.ID, credential.Update{RedirectURI: testkit.Ptr("http://app.example/cb")}, []string{"redirect_uri"}},
		{"https redirect", w.webappCred.Credential.ID, credential.Update{RedirectURI: testkit.Ptr("https://app.example/cb")}, nil},
		{"blank name", w.readerCred.Credential.ID, credential.Update{Name: testkit.Ptr("")}, []string{"name"}},
		{"expiry in the past", w.readerCred.Credential.ID, credential.Update{ExpiresAt: testkit.Ptr(w.clock.Now().Add(-time.Hour))}, []string{"expires_at"}},
		{"role of another organization", w.readerCred.Credential.ID, credential.Update{RoleID: &w.otherAdmin(t).ID}, []string{"role"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := w.credFingerprint(t)
			_, err := own.UpdateCredential(ctx, tt.giveID, tt.give)
			if got := testkit.BadFields(t, err); !slices.Equal(got, tt.wantFields) {
				t.Fatalf("bad fields %v (%v), want %v", got, err, tt.wantFields)
			}
			if tt.wantFields != nil {
				assertCredUnchanged(t, w.env, before)
			}
		})
	}
}

// TestSecretFormat: a secret is pvk_<mode>_ then 43 random base62 digits
// (256 bits) and 6 digits of checksum; CheckSecret tells a well-formed one
// from any change to it, offline; only a hash with its algorithm is kept.
func TestSecretFormat(t *testing.T) {
	format := regexp.MustCompile(`^pvk_(test|live)_[0-9A-Za-z]{49}$`)
	good := credential.NewSecret(credential.Live)
	body := good[len("pvk_live_"):]
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	tests := []struct {
		name string
		give string
		want bool
	}{
		{"live secret", good, true},
		{"test secret", credential.NewSecret(credential.Test), true},
		{"a random digit changed", flip(good, len("pvk_live_")+10), false},
		{"a checksum digit changed", flip(good, len(good)-1), false},
		{"two digits swapped", "pvk_live_" + body[1:2] + body[0:1] + body[2:], body[0] == body[1]},
		{"another prefix", "xyz_live_" + body, false},
		{"another mode", "pvk_prod_" + body, false},
		{"no mode", "pvk_" + body, false},
		{"truncated", good[:len(good)-1], false},
		{"one digit more", good + "0", false},
		{"not base62", "pvk_live_" + body[:20] + "-" + body[21:], false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		if got := credential.CheckSecret(tt.give); got != tt.want {
			t.Errorf("%s: CheckSecret(%q) = %v, want %v", tt.name, tt.give, got, tt.want)
		}
	}
	seen := map[string]bool{}
	for i := range 2000 {
		m := []credential.Mode{credential.Test, credential.Live}[i%2]
		s := credential.NewSecret(m)
		if !format.MatchString(s) || !strings.HasPrefix(s, "pvk_"+string(m)+"_") || !credential.CheckSecret(s) {
			t.Fatalf("secret %q is not of the format", s)
		}
		if seen[s[9:9+credential.SecretRandomLen]] {
			t.Fatalf("random part of %q seen twice", s)
		}
		seen[s[9:9+credential.SecretRandomLen]] = true
	}
	hash := credential.HashSecret(good)
	if !regexp.MustCompile(`^sha256\$[0-9a-f]{64}$`).MatchString(hash) || strings.Contains(hash, body) {
		t.Errorf("HashSecret = %q, want sha256$<hex>", hash)
	}
	if !credential.VerifySecret(good, hash) || credential.VerifySecret(flip(good, 12), hash) || credential.VerifySecret(good, "md5$"+hash[7:]) {
		t.Error("VerifySecret does not tell the secret from others")
	}

	// The facade issues secrets of this format, of the credential's mode.
	w := newWorld(t)
	for _, m := range []credential.Mode{credential.Test, credential.Live} {
		is := newCred(t, w.as(w.owner), w.org.ID, credential.Integration, w.readOnly.ID, func(c *credential.Create) { c.Mode = m })
		if !credential.CheckSecret(is.ClientSecret) || !strings.HasPrefix(is.ClientSecret, "pvk_"+string(m)+"_") {
			t.Errorf("issued secret %q for mode %s", is.ClientSecret, m)
		}
	}
}

// TestAuthenticate: a valid client id and secret give the credential's
// principal; an unknown id, a wrong, malformed, foreign or expired secret, a
// revoked or an expired credential all give the one same error.
func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	own := w.as(w.owner)
	mk := func(mods ...func(*credential.Create)) *credential.Issued {
		return newCred(t, own, w.org.ID, credential.Integration, w.readOnly.ID, mods...)
	}
	good, other, revoked := mk(), mk(), mk()
	expiring := mk(func(c *credential.Create) { c.ExpiresAt = w.clock.Now().Add(time.Hour) })
	longOverlap, shortOverlap, noOverlap := mk(), mk(), mk()
	rotate := func(is *credential.Issued, overlap time.Duration) *credential.Issued {
		next, err := own.RotateCredential(ctx, is.Credential.ID, overlap)
		if err != nil {
			t.Fatal(err)
		}
		return next
	}
	longNext, shortNext, noNext := rotate(longOverlap, 3*time.Hour), rotate(shortOverlap, time.Hour), rotate(noOverlap, 0)
	if err := own.DeleteCredential(ctx, revoked.Credential.ID); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(2 * time.Hour) // past expiring's end and shortOverlap's overlap, within longOverlap's

	tests := []struct {
		name         string
		giveClientID string
		giveSecret   string
		wantID       string // "" for refused
	}{
		{"good", good.Credential.ClientID, good.ClientSecret, good.Credential.ID},
		{"unknown client id", credential.NewClientID(), good.ClientSecret, ""},
		{"wrong secret", good.Credential.ClientID, credential.NewSecret(credential.Test), ""},
		{"another credential's secret", good.Credential.ClientID, other.ClientSecret, ""},
		{"malformed secret", good.Credential.ClientID, good.ClientSecret[:len(good.ClientSecret)-1] + "x", ""},
		{"empty secret", good.Credential.ClientID, "", ""},
		{"huge secret", good.Credential.ClientID, strings.Repeat(good.ClientSecret, 100), ""},
		{"empty client id", "", good.ClientSecret, ""},
		{"revoked credential", revoked.Credential.ClientID, revoked.ClientSecret, ""},
		{"expired credential", expiring.Credential.ClientID, expiring.ClientSecret, ""},
		{"old secret within the overlap", longOverlap.Credential.ClientID, longOverlap.ClientSecret, longOverlap.Credential.ID},
		{"new secret, long overlap", longNext.Credential.ClientID, longNext.ClientSecret, longOverlap.Credential.ID},
		{"old secret after the overlap", shortOverlap.Credential.ClientID, shortOverlap.ClientSecret, ""},
		{"new secret, short overlap", shortNext.Credential.ClientID, shortNext.ClientSecret, shortOverlap.Credential.ID},
		{"old secret rotated without overlap", noOverlap.Credential.ClientID, noOverlap.ClientSecret, ""},
		{"new secret, no overlap", noNext.Credential.ClientID, noNext.ClientSecret, noOverlap.Credential.ID},
	}
	var refusal string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := w.p.Authenticate(ctx, tt.giveClientID, tt.giveSecret)
			if tt.wantID != "" {
				want := provisioning.Credential(tt.wantID)
				want.SecretID = secretIDOf(t, w.env, tt.wantID, tt.giveSecret)
				if err != nil || p != want {
					t.Fatalf("Authenticate = %+v, %v; want the principal of %s with the secret that matched", p, err, tt.wantID)
				}
				return
			}
			if !errors.Is(err, fault.ErrBadCredentials) || fault.KindOf(err) != fault.Unauthenticated || p != (provisioning.Principal{}) {
				t.Fatalf("Authenticate = %+v, %v; want fault.ErrBadCredentials", p, err)
			}
			if refusal == "" {
				refusal = err.Error()
			}
			if err.Error() != refusal {
				t.Errorf("error %q differs from %q", err, refusal)
			}
			if tt.giveSecret != "" && strings.Contains(err.Error(), tt.giveSecret) {
				t.Errorf("error %q shows the secret", err)
			}
		})
	}
}

// TestCredentialPrincipalHasItsRole: the principal Authenticate returns acts
// with its credential's role, read at every call.
func TestCredentialPrincipalHasItsRole(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	own := w.as(w.owner)
	is := newCred(t, own, w.org.ID, credential.Integration, w.readOnly.ID)
	p, err := w.p.Authenticate(ctx, is.Credential.ClientID, is.ClientSecret)
	if err != nil {
		t.Fatal(err)
	}
	s := w.p.As(p)
	n := "By a credential"
	if _, err := s.UpdateOrganization(ctx, w.org.ID, organization.Update{Name: &n}); !errors.Is(err, fault.ErrForbidden) {
		t.Fatalf("read_only credential updates the organization: %v", err)
	}
	if _, err := own.UpdateCredential(ctx, is.Credential.ID, credential.Update{RoleID: &w.custom.ID}); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Can(ctx, w.org.ID, "orders", role.ActionUpdate); err != nil || !ok {
		t.Fatalf("credential with the custom role updates orders: %v, %v", ok, err)
	}
	if ok, err := s.Can(ctx, w.org.ID, "skus", role.ActionRead); err != nil || ok {
		t.Fatalf("credential with the custom role reads skus: %v, %v", ok, err)
	}
	if _, err := s.GetOrganization(ctx, w.org.ID); !errors.Is(err, fault.ErrForbidden) {
		t.Fatalf("custom credential (no right on organizations) reads the organization: %v", err)
	}
}

// TestCredentialLastUsed: a successful authentication records last_used_at,
// at most once a minute; a failed one does not.
func TestCredentialLastUsed(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	own := w.as(w.owner)
	is := newCred(t, own, w.org.ID, credential.Integration, w.readOnly.ID)
	start := w.clock.Now()
	steps := []struct {
		name       string
		giveAfter  time.Duration // since the previous step
		giveSecret string
		want       time.Time
	}{
		{"failed", 0, credential.NewSecret(credential.Test), time.Time{}},
		{"first use", time.Second, is.ClientSecret, start.Add(time.Second)},
		{"within the minute", 30 * time.Second, is.ClientSecret, start.Add(time.Second)},
		{"still within", 29 * time.Second, is.ClientSecret, start.Add(time.Second)},
		{"a minute after", time.Second, is.ClientSecret, start.Add(61 * time.Second)},
		{"failed later", 5 * time.Minute, "wrong", start.Add(61 * time.Second)},
	}
	for _, st := range steps {
		w.clock.Advance(st.giveAfter)
		_, _ = w.p.Authenticate(ctx, is.Credential.ClientID, st.giveSecret)
		c, err := own.GetCredential(ctx, is.Credential.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !c.LastUsedAt.Equal(st.want) {
			t.Errorf("%s: last_used_at %v, want %v", st.name, c.LastUsedAt, st.want)
		}
	}
	// Another instance writes it at most once a minute too: the store's
	// write is conditional.
	b := newEnvOn(t, w.db)
	b.clock.now = w.clock.Now().Add(-5*time.Minute + 30*time.Second) // 30 s after the last write
	if _, err := b.p.Authenticate(ctx, is.Credential.ClientID, is.ClientSecret); err != nil {
		t.Fatal(err)
	}
	c, err := own.GetCredential(ctx, is.Credential.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !c.LastUsedAt.Equal(start.Add(61 * time.Second)) {
		t.Errorf("second instance wrote last_used_at %v within the minute", c.LastUsedAt)
	}
}

// touchCounter is a backend whose credential store counts Touch calls.
type touchCounter struct {
	*bunstore.Store
	touches *atomic.Int64
}

func (b touchCounter) Credentials() credential.Store {
	return countingCredentials{Store: b.Store.Credentials(), touches: b.touches}
}

type countingCredentials struct {
	credential.Store
	touches *atomic.Int64
}

func (c countingCredentials) Touch(ctx context.Context, id string, at time.Time, every time.Duration) error {
	c.touches.Add(1)
	return c.Store.Touch(ctx, id, at, every)
}

// TestCredentialLastUsedWritesRarely: logins within a minute write
// last_used_at once, not once each.
func TestCredentialLastUsedWritesRarely(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	is := newCred(t, w.as(w.owner), w.org.ID, credential.Integration, w.readOnly.ID)
	var touches atomic.Int64
	p, err := provisioning.New(touchCounter{w.store, &touches}, provisioning.WithClock(w.clock))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		giveAfter   time.Duration
		wantTouches int64
	}{{0, 1}, {time.Second, 1}, {58 * time.Second, 1}, {time.Second, 2}, {time.Second, 2}}
	for i, st := range steps {
		w.clock.Advance(st.giveAfter)
		if _, err := p.Authenticate(ctx, is.Credential.ClientID, is.ClientSecret); err != nil {
			t.Fatal(err)
		}
		if got := touches.Load(); got != st.wantTouches {
			t.Errorf("login %d: %d writes of last_used_at, want %d", i+1, got, st.wantTouches)
		}
	}
}

// TestRotationKeepsAtMostTwoSecrets: after each rotation the new secret and,
// during the overlap, the previous one work; nothing older does.
func TestRotationKeepsAtMostTwoSecrets(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	own := w.as(w.owner)
	is := newCred(t, own, w.org.ID, credential.Integration, w.readOnly.ID)
	secrets := []string{is.ClientSecret}
	steps := []struct {
		name        string
		giveOverlap time.Duration
		giveAfter   time.Duration // the clock moves on after the rotation
		wantValid   int           // the newest ones that work
	}{
		{"first rotation", time.Hour, 0, 2},
		{"second rotation ends the first secret", time.Hour, 0, 2},
		{"third, then the overlap passes", time.Hour, time.Hour, 1},
		{"fourth", 30 * time.Minute, 10 * time.Minute, 2},
		{"without overlap", 0, 0, 1},
		{"fifth", 2 * time.Hour, time.Minute, 2},
	}
	for _, st := range steps {
		next, err := own.RotateCredential(ctx, is.Credential.ID, st.giveOverlap)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, next.ClientSecret)
		w.clock.Advance(st.giveAfter)
		for i, s := range secrets {
			_, err := w.p.Authenticate(ctx, is.Credential.ClientID, s)
			wantOK := i >= len(secrets)-st.wantValid
			if (err == nil) != wantOK {
				t.Errorf("%s: secret %d of %d: %v, want valid %v", st.name, i+1, len(secrets), err, wantOK)
			}
		}
		if n := w.count(t, "provisioning_api_credential_secrets", "credential_id = ? AND (expires_at IS NULL OR expires_at > ?)", is.Credential.ID, w.clock.Now()); n > 2 {
			t.Errorf("%s: %d valid secrets stored", st.name, n)
		}
	}
	for _, bad := range []time.Duration{-time.Second, credential.MaxRotationOverlap + time.Second} {
		before := w.credFingerprint(t)
		if _, err := own.RotateCredential(ctx, is.Credential.ID, bad); fault.KindOf(err) != fault.Invalid {
			t.Errorf("overlap %v: %v, want invalid", bad, err)
		}
		assertCredUnchanged(t, w.env, before)
	}
}

// TestCredentialRevocationIsSeenByEveryInstance: instance B authenticated a
// credential and answered its calls; instance A downgrades, then revokes it;
// B's very next call is refused, and B no longer authenticates it.
func TestCredentialRevocationIsSeenByEveryInstance(t *testing.T) {
	ctx := context.Background()
	for name, open := range map[string]storagetest.Opener{"sqlite": storagetest.SQLite, "postgres": storagetest.Postgres} {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			a, b := newEnvOn(t, db), newEnvOn(t, db)
			owner := a.user(t, "owner@example.com")
			org, admin, ro := a.org(t, owner, "Fresh")
			is := newCred(t, a.as(owner), org.ID, credential.Integration, admin.ID)

			p, err := b.p.Authenticate(ctx, is.Credential.ClientID, is.ClientSecret)
			if err != nil {
				t.Fatal(err)
			}
			onB := b.p.As(p)
			n := "Renamed on B"
			if _, err := onB.UpdateOrganization(ctx, org.ID, organization.Update{Name: &n}); err != nil {
				t.Fatalf("admin credential on B: %v", err)
			}
			if _, err := a.as(owner).UpdateCredential(ctx, is.Credential.ID, credential.Update{RoleID: &ro.ID}); err != nil {
				t.Fatal(err)
			}
			if _, err := onB.UpdateOrganization(ctx, org.ID, organization.Update{Name: &n}); !errors.Is(err, fault.ErrForbidden) {
				t.Fatalf("downgraded credential on B: %v, want forbidden", err)
			}
			if _, err := onB.GetOrganization(ctx, org.ID); err != nil {
				t.Fatalf("read_only credential reads on B: %v", err)
			}
			if err := a.as(owner).DeleteCredential(ctx, is.Credential.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := onB.GetOrganization(ctx, org.ID); !errors.Is(err, fault.ErrNotFound) {
				t.Fatalf("revoked credential reads on B: %v, want not found", err)
			}
			if _, err := b.p.Authenticate(ctx, is.Credential.ClientID, is.ClientSecret); !errors.Is(err, fault.ErrBadCredentials) {
				t.Fatalf("B authenticates the revoked credential: %v", err)
			}
			if _, err := b.as(owner).GetCredential(ctx, is.Credential.ID); !errors.Is(err, fault.ErrNotFound) {
				t.Fatalf("B finds the revoked credential: %v", err)
			}
			if n := b.count(t, "provisioning_api_credentials", "id = ? AND revoked_at IS NOT NULL", is.Credential.ID); n != 1 {
				t.Fatalf("revoked credential's row: %d, want kept", n)
			}
		})
	}
}

// TestEveryCredentialMutationWritesOneVersion: create, update, rotate and
// delete each write exactly one version of the credential, with its event,
// and never the secret; a failed or empty call writes none.
func TestEveryCredentialMutationWritesOneVersion(t *testing.T) {
	ctx := context.Background()
	w := newCredWorld(t)
	own := w.as(w.owner)
	id := w.readerCred.Credential.ID
	var issued []string
	tests := []struct {
		giveName    string
		give        func() error
		wantEvent   audit.Event
		wantChanges []string
	}{
		{"create", func() error {
			is, err := own.CreateCredential(ctx, credential.Create{OrganizationID: w.org.ID, Name: "New", Kind: credential.SalesChannel})
			if is != nil {
				issued = append(issued, is.ClientSecret)
			}
			return err
		}, audit.Create, []string{"client_id", "confidential", "custom", "expires_in", "kind", "mode", "name"}},
		{"update name", func() error {
			_, err := own.UpdateCredential(ctx, id, credential.Update{Name: testkit.Ptr("Renamed")})
			return err
		}, audit.Update, []string{"name"}},
		{"update role", func() error {
			_, err := own.UpdateCredential(ctx, id, credential.Update{RoleID: &w.custom.ID})
			return err
		}, audit.Update, []string{"role_id"}},
		{"update expiry", func() error {
			_, err := own.UpdateCredential(ctx, id, credential.Update{ExpiresAt: testkit.Ptr(w.clock.Now().Add(time.Hour))})
			return err
		}, audit.Update, []string{"expires_at"}},
		{"rotate", func() error {
			is, err := own.RotateCredential(ctx, id, time.Minute)
			if is != nil {
				issued = append(issued, is.ClientSecret)
			}
			return err
		}, audit.Rotate, []string{"client_secret"}},
		{"delete", func() error { return own.DeleteCredential(ctx, id) }, audit.Destroy, []string{"revoked_at"}},
	}
	for _, tt := range tests {
		before := w.count(t, "provisioning_versions", "1 = 1")
		if err := tt.give(); err != nil {
			t.Fatalf("%s: %v", tt.giveName, err)
		}
		if got := w.count(t, "provisioning_versions", "1 = 1") - before; got != 1 {
			t.Errorf("%s wrote %d versions, want 1", tt.giveName, got)
		}
		page, err := own.ListVersions(ctx, audit.Filter{OrganizationID: w.org.ID, ResourceType: "api_credentials", PageRequest: resource.PageRequest{Limit: resource.MaxPageLimit}})
		if err != nil {
			t.Fatal(err)
		}
		last := page.Items[len(page.Items)-1]
		var fields []string
		for f := range last.Changes {
			fields = append(fields, f)
		}
		slices.Sort(fields)
		if last.Event != tt.wantEvent || !slices.Equal(fields, tt.wantChanges) {
			t.Errorf("%s: version %s %v, want %s %v", tt.giveName, last.Event, fields, tt.wantEvent, tt.wantChanges)
		}
		if tt.wantEvent == audit.Rotate && (last.Changes["client_secret"][1] != "[rotated]") {
			t.Errorf("rotation records %v", last.Changes["client_secret"])
		}
	}
	// Failures and no-ops write nothing.
	admin := w.as(w.adminUser)
	failures := []struct {
		giveName string
		give     func() error
	}{
		{"create without role", func() error {
			_, err := own.CreateCredential(ctx, credential.Create{OrganizationID: w.org.ID, Name: "X", Kind: credential.Integration})
			return err
		}},
		{"create by a reader", func() error {
			_, err := w.as(w.reader).CreateCredential(ctx, credential.Create{OrganizationID: w.org.ID, Name: "X", Kind: credential.SalesChannel})
			return err
		}},
		{"create with admin role by an admin", func() error {
			_, err := admin.CreateCredential(ctx, credential.Create{OrganizationID: w.org.ID, Name: "X", Kind: credential.Integration, RoleID: w.admin.ID})
			return err
		}},
		{"update to a bad lifetime", func() error {
			_, err := own.UpdateCredential(ctx, w.adminCred.Credential.ID, credential.Update{ExpiresIn: testkit.Ptr(1)})
			return err
		}},
		{"update without change", func() error {
			_, err := own.UpdateCredential(ctx, w.adminCred.Credential.ID, credential.Update{Name: &w.adminCred.Credential.Name})
			return err
		}},
		{"rotate the admin credential by an admin", func() error {
			_, err := admin.RotateCredential(ctx, w.adminCred.Credential.ID, 0)
			return err
		}},
		{"rotate with a negative overlap", func() error {
			_, err := own.RotateCredential(ctx, w.adminCred.Credential.ID, -time.Minute)
			return err
		}},
		{"delete a revoked credential", func() error { return own.DeleteCredential(ctx, id) }},
		{"delete by a reader", func() error { return w.as(w.reader).DeleteCredential(ctx, w.adminCred.Credential.ID) }},
	}
	for _, tt := range failures {
		before := w.credFingerprint(t)
		_ = tt.give()
		assertCredUnchanged(t, w.env, before)
	}
	assertNoSecretIn(t, w.env, issued)
}

// TestCredentialPolicyRevision: a change of who the credential principals
// are or what they may do (creation, role, expiry, revocation) gives the
// organization a new policy revision; a rename or a rotation does not.
func TestCredentialPolicyRevision(t *testing.T) {
	ctx := context.Background()
	w := newCredWorld(t)
	own := w.as(w.owner)
	id := w.readerCred.Credential.ID
	tests := []struct {
		name     string
		give     func() error
		wantBump bool
	}{
		{"create", func() error {
			_, err := own.CreateCredential(ctx, credential.Create{OrganizationID: w.org.ID, Name: "New", Kind: credential.SalesChannel})
			return err
		}, true},
		{"rename", func() error {
			_, err := own.UpdateCredential(ctx, id, credential.Update{Name: testkit.Ptr("Renamed")})
			return err
		}, false},
		{"change the role", func() error {
			_, err := own.UpdateCredential(ctx, id, credential.Update{RoleID: &w.custom.ID})
			return err
		}, true},
		{"set an expiry", func() error {
			_, err := own.UpdateCredential(ctx, id, credential.Update{ExpiresAt: testkit.Ptr(w.clock.Now().Add(time.Hour))})
			return err
		}, true},
		{"remove the expiry", func() error {
			_, err := own.UpdateCredential(ctx, id, credential.Update{ExpiresAt: &time.Time{}})
			return err
		}, true},
		{"rotate", func() error { _, err := own.RotateCredential(ctx, id, 0); return err }, false},
		{"revoke", func() error { return own.DeleteCredential(ctx, id) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, err := w.store.Access().Revision(ctx, w.org.ID)
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.give(); err != nil {
				t.Fatal(err)
			}
			after, err := w.store.Access().Revision(ctx, w.org.ID)
			if err != nil {
				t.Fatal(err)
			}
			if (after != before) != tt.wantBump {
				t.Errorf("revision %q → %q; want a new one: %v", before, after, tt.wantBump)
			}
		})
	}
}

// TestCredentialNoEscalation: a credential's rights never exceed those of
// who makes it, or rotates it: a member may give a credential only a role
// whose every right it holds, and only the owner gives the admin role.
func TestCredentialNoEscalation(t *testing.T) {
	ctx := context.Background()
	w := newCredWorld(t)
	own := w.as(w.owner)
	delegate, err := own.CreateRole(ctx, role.Create{OrganizationID: w.org.ID, Name: "Integrator"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []role.PermissionCreate{
		{RoleID: delegate.ID, Subject: "api_credentials", CanCreate: true, CanRead: true, CanUpdate: true},
		{RoleID: delegate.ID, Subject: "orders", CanRead: true},
	} {
		if _, err := own.CreatePermission(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	du := w.user(t, "integrator@example.com")
	w.member(t, own, w.org.ID, du, delegate.ID)
	d := w.as(du)
	admin := w.as(w.adminUser)
	adminCred := w.p.As(provisioning.Credential(w.adminCred.Credential.ID))
	create := func(s *provisioning.Session, roleID string) func() error {
		return func() error {
			_, err := s.CreateCredential(ctx, credential.Create{OrganizationID: w.org.ID, Name: "Bot", Kind: credential.Integration, RoleID: roleID})
			return err
		}
	}
	var own2 *credential.Issued
	tests := []struct {
		giveName string
		give     func() error
		wantErr  error
	}{
		{"member gives its own role", func() error {
			is, err := d.CreateCredential(ctx, credential.Create{OrganizationID: w.org.ID, Name: "Mine", Kind: credential.Integration, RoleID: delegate.ID})
			own2 = is
			return err
		}, nil},
		{"member gives read_only (reads everything)", create(d, w.readOnly.ID), fault.ErrForbidden},
		{"member gives a role that updates orders", create(d, w.custom.ID), fault.ErrForbidden},
		{"member gives admin", create(d, w.admin.ID), fault.ErrForbidden},
		{"member raises a credential's role", func() error {
			_, err := d.UpdateCredential(ctx, own2.Credential.ID, credential.Update{RoleID: &w.readOnly.ID})
			return err
		}, fault.ErrForbidden},
		{"member rotates a read_only credential", func() error {
			_, err := d.RotateCredential(ctx, w.readerCred.Credential.ID, 0)
			return err
		}, fault.ErrForbidden},
		{"member rotates its own credential", func() error {
			_, err := d.RotateCredential(ctx, own2.Credential.ID, 0)
			return err
		}, nil},
		{"admin gives read_only", create(admin, w.readOnly.ID), nil},
		{"admin gives admin", create(admin, w.admin.ID), fault.ErrForbidden},
		{"admin credential gives read_only", create(adminCred, w.readOnly.ID), nil},
		{"admin credential gives admin", create(adminCred, w.admin.ID), fault.ErrForbidden},
		{"owner gives admin", create(own, w.admin.ID), nil},
	}
	for _, tt := range tests {
		before := w.credFingerprint(t)
		err := tt.give()
		if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", tt.giveName, err, tt.wantErr)
		}
		if tt.wantErr != nil {
			assertCredUnchanged(t, w.env, before)
		}
	}
	// The member's credential can do what the member can, no more.
	p, err := w.p.Authenticate(ctx, own2.Credential.ClientID, mustRotate(t, d, own2.Credential.ID))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.p.As(p).CreateCredential(ctx, credential.Create{OrganizationID: w.org.ID, Name: "X", Kind: credential.Integration, RoleID: w.readOnly.ID}); !errors.Is(err, fault.ErrForbidden) {
		t.Errorf("member's credential gives read_only: %v", err)
	}
	if _, err := w.p.As(p).Invite(ctx, membership.Invite{OrganizationID: w.org.ID, UserEmail: "x@example.com", RoleID: delegate.ID}); !errors.Is(err, fault.ErrForbidden) {
		t.Errorf("member's credential invites: %v", err)
	}
}

func mustRotate(t testing.TB, s *provisioning.Session, id string) string {
	t.Helper()
	is, err := s.RotateCredential(context.Background(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	return is.ClientSecret
}

// TestCreateOrganizationMakesAdminCredentials: a new organization has two
// resources credentials, test and live, with the admin role; their secrets
// are not shown, and the owner (only) rotates one to obtain it.
func TestCreateOrganizationMakesAdminCredentials(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	own := w.as(w.owner)
	page, err := own.ListCredentials(ctx, credential.Filter{OrganizationID: w.org.ID, Kind: credential.Resources})
	if err != nil {
		t.Fatal(err)
	}
	var modes []credential.Mode
	for _, c := range page.Items {
		modes = append(modes, c.Mode)
		if c.RoleID != w.admin.ID || !c.Confidential || c.CreatorUserID != w.owner.ID || c.ExpiresIn != 7200 || !c.ExpiresAt.IsZero() {
			t.Errorf("admin credential %+v", c)
		}
	}
	if !slices.Equal(modes, []credential.Mode{credential.Test, credential.Live}) {
		t.Fatalf("admin credentials of modes %v, want test and live", modes)
	}
	if n := w.count(t, "provisioning_api_credentials", "organization_id = ?", w.org.ID); n != 2 {
		t.Fatalf("%d credentials, want 2", n)
	}
	live := page.Items[1]
	if _, err := w.as(w.adminUser).RotateCredential(ctx, live.ID, 0); !errors.Is(err, fault.ErrForbidden) {
		t.Fatalf("an admin obtains the admin credential's secret: %v", err)
	}
	is, err := own.RotateCredential(ctx, live.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(is.ClientSecret, "pvk_live_") {
		t.Fatalf("rotated secret %q", is.ClientSecret)
	}
	p, err := w.p.Authenticate(ctx, live.ClientID, is.ClientSecret)
	if err != nil {
		t.Fatal(err)
	}
	n := "Renamed by the admin credential"
	if _, err := w.p.As(p).UpdateOrganization(ctx, w.org.ID, organization.Update{Name: &n}); err != nil {
		t.Fatalf("admin credential updates its organization: %v", err)
	}
	if _, err := w.p.As(p).GetOrganization(ctx, w.otherOrg.ID); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("admin credential reads another organization: %v", err)
	}
}

// TestNoClearSecretIsStored runs a session that creates, rotates, uses and
// revokes credentials on an SQLite file, then reads every row of every
// table, the raw database files, every version and every log line, and
// finds none of the secrets it was given, nor their random digits; the
// secrets' hashes are there (the search reached them).
func TestNoClearSecretIsStored(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "provisioning.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var logs bytes.Buffer
	e := newEnvOn(t, db, provisioning.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	owner := e.user(t, "owner@example.com")
	org, admin, ro := e.org(t, owner, "Secretive")
	own := e.as(owner)
	var secrets []string
	keep := func(is *credential.Issued, err error) *credential.Issued {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, is.ClientSecret)
		slog.New(slog.NewTextHandler(&logs, nil)).Info("issued", "credential", is) // a careless host logs the result
		fmt.Fprintf(&logs, "%v %+v %#v %s\n", is, is, is, is)
		return is
	}
	integ := keep(own.CreateCredential(ctx, credential.Create{OrganizationID: org.ID, Name: "Integration", Kind: credential.Integration, RoleID: admin.ID, Mode: credential.Live}))
	keep(own.RotateCredential(ctx, integ.Credential.ID, time.Hour))
	keep(own.RotateCredential(ctx, integ.Credential.ID, 0))
	shop := keep(own.CreateCredential(ctx, credential.Create{OrganizationID: org.ID, Name: "Shop", Kind: credential.SalesChannel}))
	reader := keep(own.CreateCredential(ctx, credential.Create{OrganizationID: org.ID, Name: "Reader", Kind: credential.Integration, RoleID: ro.ID}))
	res, err := own.ListCredentials(ctx, credential.Filter{OrganizationID: org.ID, Kind: credential.Resources})
	if err != nil {
		t.Fatal(err)
	}
	keep(own.RotateCredential(ctx, res.Items[0].ID, time.Minute))
	for _, s := range secrets {
		_, _ = e.p.Authenticate(ctx, integ.Credential.ClientID, s)
		_, _ = e.p.Authenticate(ctx, shop.Credential.ClientID, s)
		_, _ = e.p.Authenticate(ctx, "unknown", s)
	}
	if err := own.DeleteCredential(ctx, reader.Credential.ID); err != nil {
		t.Fatal(err)
	}
	// What reads return.
	var reads bytes.Buffer
	all, err := own.ListCredentials(ctx, credential.Filter{OrganizationID: org.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range all.Items {
		got, err := own.GetCredential(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		j, _ := json.Marshal(got)
		fmt.Fprintf(&reads, "%+v %s\n", got, j)
	}

	haystacks := map[string]string{"logs": logs.String(), "reads": reads.String()}
	haystacks["tables"] = dumpTables(t, e)
	haystacks["versions"] = dumpVersions(t, own, org.ID)
	if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(FULL)"); err != nil {
		t.Fatal(err)
	}
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		haystacks["file "+f.Name()] = string(b)
	}
	for name, h := range haystacks {
		for _, s := range secrets {
			random := s[len("pvk_test_") : len("pvk_test_")+credential.SecretRandomLen]
			if strings.Contains(h, s) || strings.Contains(h, random) {
				t.Errorf("%s holds a clear secret", name)
			}
		}
	}
	for _, s := range secrets {
		if !strings.Contains(haystacks["tables"], credential.HashSecret(s)) {
			t.Errorf("the hash of a secret is not in the tables: the dump missed them")
		}
	}
	if !strings.Contains(haystacks["versions"], "[rotated]") || !strings.Contains(logs.String(), "[redacted]") {
		t.Error("the versions or the logs do not show the redacted markers")
	}
}

// dumpTables returns the text of every row of every table of the SQLite database.
func dumpTables(t testing.TB, e *env) string {
	t.Helper()
	ctx := context.Background()
	var names []string
	if err := e.db.NewSelect().TableExpr("sqlite_master").Column("name").Where("type = 'table'").Scan(ctx, &names); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, name := range names {
		rows, err := e.db.QueryContext(ctx, "SELECT * FROM "+name)
		if err != nil {
			t.Fatal(err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, "%v\t", v)
			}
			b.WriteString("\n")
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	if !strings.Contains(b.String(), "api_credentials") {
		t.Fatal("the dump has no version of a credential")
	}
	return b.String()
}

// dumpVersions returns every version of the organization, as JSON.
func dumpVersions(t testing.TB, s *provisioning.Session, orgID string) string {
	t.Helper()
	var b strings.Builder
	f := audit.Filter{OrganizationID: orgID}
	for {
		page, err := s.ListVersions(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Items {
			j, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(j)
			b.WriteString("\n")
		}
		if page.Next == "" {
			return b.String()
		}
		f.After = page.Next
	}
}

// assertNoSecretIn checks that no version and no row of e holds the secrets.
func assertNoSecretIn(t testing.TB, e *env, secrets []string) {
	t.Helper()
	dump := dumpTables(t, e)
	for _, s := range secrets {
		if strings.Contains(dump, s) || strings.Contains(dump, s[9:9+credential.SecretRandomLen]) {
			t.Errorf("a clear secret is stored")
		}
	}
}

// TestCredentialListsItsOrganization: an API credential lists what it may
// read, as GetOrganization answers: its own organization when its role reads
// organizations, none otherwise, and none once it is deleted.
func TestCredentialListsItsOrganization(t *testing.T) {
	ctx := context.Background()
	w := newCredWorld(t)
	own := w.as(w.owner)
	custom := newCred(t, own, w.org.ID, credential.Integration, w.custom.ID)
	revoked := newCred(t, own, w.org.ID, credential.Integration, w.admin.ID)
	if err := own.DeleteCredential(ctx, revoked.Credential.ID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		giveCred *credential.Issued
		giveName string
		want     []string
		wantRead bool // GetOrganization of its organization succeeds
	}{
		{"admin", w.adminCred, "", []string{w.org.ID}, true},
		{"read_only", w.readerCred, "", []string{w.org.ID}, true},
		{"another organization's", w.foreignCred, "", []string{w.otherOrg.ID}, true},
		{"by its name", w.adminCred, w.org.Name, []string{w.org.ID}, true},
		{"by another name", w.adminCred, w.otherOrg.Name, []string{}, true},
		{"a role without organizations", custom, "", []string{}, false},
		{"deleted", revoked, "", []string{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := w.p.As(provisioning.Credential(tt.giveCred.Credential.ID))
			page, err := s.ListOrganizations(ctx, organization.Filter{Name: tt.giveName})
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, o := range page.Items {
				got = append(got, o.ID)
				if o.Totals.Memberships == 0 {
					t.Errorf("organization %s listed without its totals", o.ID)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("ListOrganizations = %v; want %v", got, tt.want)
			}
			_, err = s.GetOrganization(ctx, tt.giveCred.Credential.OrganizationID)
			if (err == nil) != tt.wantRead {
				t.Errorf("GetOrganization = %v; want it to succeed: %v", err, tt.wantRead)
			}
		})
	}
}
