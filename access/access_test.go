package access_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/provisionkit/provisioning/access"
)

func TestScopeValidAndTestEnabled(t *testing.T) {
	tests := []struct {
		give      access.Scope
		wantValid bool
		wantTest  bool
	}{
		{access.LiveAccess, true, false},
		{access.TestAccess, true, true},
		{access.AllAccess, true, true},
		{"", false, false},
		{"live", false, false},
		{"ALL_ACCESS", false, false},
		{"all_access ", false, false},
	}
	for _, tt := range tests {
		if got := tt.give.Valid(); got != tt.wantValid {
			t.Errorf("Scope(%q).Valid() = %v, want %v", tt.give, got, tt.wantValid)
		}
		if got := tt.give.TestEnabled(); got != tt.wantTest {
			t.Errorf("Scope(%q).TestEnabled() = %v, want %v", tt.give, got, tt.wantTest)
		}
	}
}

func TestEffective(t *testing.T) {
	tests := []struct {
		giveOwn     access.Scope
		giveProfile access.Scope
		want        access.Scope
	}{
		{"", "", access.LiveAccess},
		{access.LiveAccess, "", access.LiveAccess},
		{access.TestAccess, "", access.TestAccess},
		{access.AllAccess, "", access.AllAccess},
		{"", access.TestAccess, access.TestAccess},
		{"", access.AllAccess, access.AllAccess},
		{"", access.LiveAccess, access.LiveAccess},
		{access.AllAccess, access.LiveAccess, access.LiveAccess},
		{access.AllAccess, access.TestAccess, access.TestAccess},
		{access.TestAccess, access.AllAccess, access.AllAccess},
		{access.LiveAccess, access.AllAccess, access.AllAccess},
	}
	for _, tt := range tests {
		if got := access.Effective(tt.giveOwn, tt.giveProfile); got != tt.want {
			t.Errorf("Effective(%q, %q) = %q, want %q", tt.giveOwn, tt.giveProfile, got, tt.want)
		}
	}
}

func TestPrincipalSubject(t *testing.T) {
	tests := []struct {
		give access.Principal
		want string
	}{
		{access.User("01hx"), "user:01hx"},
		{access.Principal{Kind: access.KindUser, ID: "u1", MFA: true, IP: netip.MustParseAddr("192.0.2.1")}, "user:u1"},
		{access.Principal{Kind: access.KindCredential, ID: "c1"}, "cred:c1"},
		{access.Principal{Kind: access.KindSystem, ID: "migrator"}, ""},
		{access.Principal{Kind: "role", ID: "r1"}, ""},
		{access.Principal{ID: "u1"}, ""},
	}
	for _, tt := range tests {
		if got := tt.give.Subject(); got != tt.want {
			t.Errorf("%+v.Subject() = %q, want %q", tt.give, got, tt.want)
		}
	}
}

func TestUser(t *testing.T) {
	got := access.User("u1")
	if got != (access.Principal{Kind: access.KindUser, ID: "u1"}) {
		t.Fatalf("User(u1) = %+v", got)
	}
}

// Subjects become Casbin policy tokens (RELIABILITY I3): a principal with an
// empty id, or one holding a separator, must not yield a subject.
func TestPrincipalSubjectRefusesBadIDs(t *testing.T) {
	tests := []access.Principal{
		{Kind: access.KindUser, ID: ""},
		{Kind: access.KindCredential, ID: ""},
		{Kind: access.KindUser, ID: "u1, admin"},
		{Kind: access.KindUser, ID: "u1\nadmin"},
		{Kind: access.KindUser, ID: `u1"`},
		{Kind: access.KindUser, ID: " u1"},
		{Kind: access.KindUser, ID: strings.Repeat("u", 65)},
	}
	for _, give := range tests {
		if got := give.Subject(); got != "" {
			t.Errorf("%+v.Subject() = %q, want \"\"", give, got)
		}
	}
}
