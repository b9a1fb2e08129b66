package credential_test

import (
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/credential"
)

func TestKindRules(t *testing.T) {
	tests := []struct {
		give                              credential.Kind
		wantValid, wantConfidential       bool
		wantRoleRequired, wantRoleAllowed bool
		wantDefaultExpiresIn              int
	}{
		{credential.Integration, true, true, true, true, 7200},
		{credential.SalesChannel, true, false, false, false, 14400},
		{credential.Webapp, true, true, false, false, 7200},
		{credential.Resources, true, true, false, true, 7200},
		{"orders", true, true, false, true, 7200},
		{"webhooks", true, true, false, true, 7200},
		{"robots", false, true, false, true, 7200},
		{"", false, true, false, true, 7200},
	}
	for _, tt := range tests {
		got := []any{tt.give.Valid(), tt.give.Confidential(), tt.give.RoleRequired(), tt.give.RoleAllowed(), tt.give.DefaultExpiresIn()}
		want := []any{tt.wantValid, tt.wantConfidential, tt.wantRoleRequired, tt.wantRoleAllowed, tt.wantDefaultExpiresIn}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%q: valid, confidential, role required, role allowed, default = %v, want %v", tt.give, got, want)
		}
	}
	if len(credential.DashboardKinds) != 14 {
		t.Errorf("%d Dashboard kinds, want 14", len(credential.DashboardKinds))
	}
}

// TestRotation: the newest valid secret is kept for the overlap (never
// longer than it had), every other valid one ends now, expired ones stay.
func TestRotation(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sec := func(id string, expires time.Time) credential.Secret {
		return credential.Secret{ID: id, ExpiresAt: expires}
	}
	tests := []struct {
		name        string
		give        []credential.Secret
		giveOverlap time.Duration
		want        map[string]time.Time
	}{
		{"one secret, overlap", []credential.Secret{sec("a", time.Time{})}, time.Hour, map[string]time.Time{"a": now.Add(time.Hour)}},
		{"one secret, no overlap", []credential.Secret{sec("a", time.Time{})}, 0, map[string]time.Time{"a": now}},
		{"two valid: older ends now", []credential.Secret{sec("a", now.Add(time.Minute)), sec("b", time.Time{})}, time.Hour,
			map[string]time.Time{"a": now, "b": now.Add(time.Hour)}},
		{"expired ones untouched", []credential.Secret{sec("a", now.Add(-time.Minute)), sec("b", time.Time{})}, time.Hour,
			map[string]time.Time{"b": now.Add(time.Hour)}},
		{"an overlap never lengthens", []credential.Secret{sec("a", now.Add(time.Minute))}, time.Hour, map[string]time.Time{}},
		{"newest by id, whatever the order", []credential.Secret{sec("b", time.Time{}), sec("a", time.Time{})}, time.Hour,
			map[string]time.Time{"a": now, "b": now.Add(time.Hour)}},
		{"none", nil, time.Hour, map[string]time.Time{}},
	}
	for _, tt := range tests {
		if got := credential.Rotation(tt.give, now, tt.giveOverlap); !maps.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestAuthentic: only a valid secret of an active credential passes.
func TestAuthentic(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	secret := credential.NewSecret(credential.Live)
	stored := []credential.Secret{{ID: "s", Hash: credential.HashSecret(secret)}}
	active := &credential.Credential{ID: "c"}
	tests := []struct {
		name        string
		giveCred    *credential.Credential
		giveSecrets []credential.Secret
		give        string
		want        bool
	}{
		{"valid", active, stored, secret, true},
		{"unknown credential", nil, nil, secret, false},
		{"unknown credential, matching stand-in", nil, nil, "", false},
		{"wrong secret", active, stored, credential.NewSecret(credential.Live), false},
		{"expired secret", active, []credential.Secret{{Hash: stored[0].Hash, ExpiresAt: now}}, secret, false},
		{"secret valid until later", active, []credential.Secret{{Hash: stored[0].Hash, ExpiresAt: now.Add(time.Second)}}, secret, true},
		{"revoked", &credential.Credential{RevokedAt: now.Add(-time.Hour)}, stored, secret, false},
		{"expired", &credential.Credential{ExpiresAt: now}, stored, secret, false},
		{"no secrets", active, nil, secret, false},
		{"stored in clear", active, []credential.Secret{{Hash: secret}}, secret, false},
	}
	for _, tt := range tests {
		if got := credential.Authentic(tt.giveCred, tt.giveSecrets, tt.give, now); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestIssuedHidesTheSecret: printing or logging an Issued never shows the secret.
func TestIssuedHidesTheSecret(t *testing.T) {
	is := credential.Issued{Credential: &credential.Credential{ID: "c1"}, ClientSecret: credential.NewSecret(credential.Test)}
	var logs strings.Builder
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "issued", is, "pointer", &is)
	out := fmt.Sprintf("%v %+v %#v %s %v", is, is, is, &is, []any{is}) + logs.String()
	if strings.Contains(out, is.ClientSecret) || !strings.Contains(out, "c1") {
		t.Errorf("printed: %s", out)
	}
}
