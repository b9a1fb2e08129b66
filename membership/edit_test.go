package membership_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/allowlist"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
)

// want is what a rule check answers: nothing, a forbidden error, or a
// validation error on a field with a code.
type want struct {
	forbidden   bool
	field, code string
}

func (w want) check(t *testing.T, err error) {
	t.Helper()
	switch {
	case w.forbidden:
		if !errors.Is(err, fault.ErrForbidden) {
			t.Fatalf("err = %v, want forbidden", err)
		}
	case w.field != "":
		var ve *fault.ValidationError
		if !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Field != w.field || ve.Fields[0].Code != w.code {
			t.Fatalf("err = %v, want a validation error on %s (%s)", err, w.field, w.code)
		}
	case err != nil:
		t.Fatalf("err = %v, want none", err)
	}
}

func prefixes(t *testing.T, entries ...string) []netip.Prefix {
	t.Helper()
	list, err := allowlist.Parse("allowed_ips", entries)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

var (
	soon  = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	later = soon.Add(24 * time.Hour)
)

func TestRulesEqual(t *testing.T) {
	base := membership.Rules{Permissions: []string{"roles:read"}, AllowedIPs: []string{"8.8.8.0/24"}, ExpiresAt: soon}
	tests := []struct {
		name string
		edit func(r *membership.Rules)
		want bool
	}{
		{"same", func(*membership.Rules) {}, true},
		{"same instant in another zone", func(r *membership.Rules) { r.ExpiresAt = soon.In(time.FixedZone("x", 3600)) }, true},
		{"permissions", func(r *membership.Rules) { r.Permissions = []string{"roles:update"} }, false},
		{"allowlist", func(r *membership.Rules) { r.AllowedIPs = []string{"8.8.4.0/24"} }, false},
		{"no allowlist", func(r *membership.Rules) { r.AllowedIPs = nil }, false},
		{"empty allowlist", func(r *membership.Rules) { r.AllowedIPs = []string{} }, false},
		{"guest", func(r *membership.Rules) { r.Guest = true }, false},
		{"expiry", func(r *membership.Rules) { r.ExpiresAt = later }, false},
		{"mfa", func(r *membership.Rules) { r.MFARequired = true }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			other := base
			tt.edit(&other)
			if got := base.Equal(other); got != tt.want {
				t.Errorf("Equal = %v, want %v", got, tt.want)
			}
			if got := other.Equal(base); got != tt.want {
				t.Errorf("Equal, reversed = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCheckOwnerAndSelf(t *testing.T) {
	owner := &membership.Membership{UserID: "u1", Owner: true}
	member := &membership.Membership{UserID: "u2"}
	office := netip.MustParseAddr("8.8.8.8")
	tests := []struct {
		name   string
		m      *membership.Membership
		after  membership.Rules
		editor membership.Editor
		want   want
	}{
		{name: "owner's own rules", m: owner, after: membership.Rules{MFARequired: true}, editor: membership.Editor{Owner: true, Self: true}},
		{name: "owner as guest", m: owner, after: membership.Rules{Guest: true}, editor: membership.Editor{Owner: true},
			want: want{field: "guest", code: "owner"}},
		{name: "owner with an expiry", m: owner, after: membership.Rules{ExpiresAt: soon}, editor: membership.Editor{Trusted: true},
			want: want{field: "expires_at", code: "owner"}},
		{name: "admin changes the owner's rules", m: owner, after: membership.Rules{MFARequired: true}, editor: membership.Editor{},
			want: want{forbidden: true}},
		{name: "admin keeps the owner's rules", m: owner, after: membership.Rules{}, editor: membership.Editor{}},
		{name: "host changes the owner's rules", m: owner, after: membership.Rules{MFARequired: true}, editor: membership.Editor{Trusted: true}},
		{name: "admin changes a member's rules", m: member, after: membership.Rules{MFARequired: true}, editor: membership.Editor{}},
		{name: "self allowlist with this address", m: member, after: membership.Rules{AllowedIPs: []string{"8.8.8.0/24"}},
			editor: membership.Editor{Self: true, IP: office}},
		{name: "self allowlist without this address", m: member, after: membership.Rules{AllowedIPs: []string{"1.1.1.1/32"}},
			editor: membership.Editor{Self: true, IP: office}, want: want{field: "allowed_ips", code: "lockout"}},
		{name: "self allowlist, address unknown", m: member, after: membership.Rules{AllowedIPs: []string{"8.8.8.0/24"}},
			editor: membership.Editor{Self: true}, want: want{field: "allowed_ips", code: "lockout"}},
		{name: "another member's allowlist without this address", m: member, after: membership.Rules{AllowedIPs: []string{"1.1.1.1/32"}},
			editor: membership.Editor{IP: office}},
		{name: "self without allowlist", m: member, after: membership.Rules{}, editor: membership.Editor{Self: true, IP: office}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.want.check(t, membership.CheckOwnerAndSelf("test", tt.m, tt.after, tt.editor))
		})
	}
}

func TestCheckNoLoosening(t *testing.T) {
	fenced := &membership.Membership{UserID: "u2", AllowedIPs: prefixes(t, "8.8.8.0/24"), ExpiresAt: soon, MFARequired: true}
	free := &membership.Membership{UserID: "u3"}
	wide := []string{"8.8.0.0/16"}
	narrow := []string{"8.8.8.8/32"}
	mine := membership.Limits{AllowedIPs: prefixes(t, "8.8.8.0/24"), ExpiresAt: soon}
	tests := []struct {
		name   string
		m      *membership.Membership
		after  membership.Rules
		editor membership.Editor
		own    *membership.Limits // nil: must not be read
		want   want
	}{
		{name: "owner loosens", m: fenced, after: membership.Rules{}, editor: membership.Editor{Owner: true}},
		{name: "host loosens", m: fenced, after: membership.Rules{}, editor: membership.Editor{Trusted: true}},
		{name: "self narrows", m: fenced, after: membership.Rules{AllowedIPs: narrow, ExpiresAt: soon.Add(-time.Hour), MFARequired: true},
			editor: membership.Editor{Self: true}},
		{name: "self widens allowlist", m: fenced, after: membership.Rules{AllowedIPs: wide, ExpiresAt: soon, MFARequired: true},
			editor: membership.Editor{Self: true}, want: want{forbidden: true}},
		{name: "self lifts allowlist", m: fenced, after: membership.Rules{ExpiresAt: soon, MFARequired: true},
			editor: membership.Editor{Self: true}, want: want{forbidden: true}},
		{name: "self extends expiry", m: fenced, after: membership.Rules{AllowedIPs: narrow, ExpiresAt: later, MFARequired: true},
			editor: membership.Editor{Self: true}, want: want{forbidden: true}},
		{name: "self lifts expiry", m: fenced, after: membership.Rules{AllowedIPs: narrow, MFARequired: true},
			editor: membership.Editor{Self: true}, want: want{forbidden: true}},
		{name: "self lifts mfa", m: fenced, after: membership.Rules{AllowedIPs: narrow, ExpiresAt: soon},
			editor: membership.Editor{Self: true}, want: want{forbidden: true}},
		{name: "other narrows, limits not read", m: fenced, after: membership.Rules{AllowedIPs: narrow, ExpiresAt: soon},
			editor: membership.Editor{}},
		{name: "other widens within own", m: free, after: membership.Rules{AllowedIPs: narrow}, editor: membership.Editor{}},
		{name: "other widens within own allowlist", m: fenced, after: membership.Rules{AllowedIPs: []string{"8.8.8.0/24"}, ExpiresAt: soon},
			editor: membership.Editor{}},
		{name: "other widens beyond own allowlist", m: fenced, after: membership.Rules{AllowedIPs: wide, ExpiresAt: soon},
			editor: membership.Editor{}, own: &mine, want: want{forbidden: true}},
		{name: "other lifts allowlist beyond own", m: fenced, after: membership.Rules{ExpiresAt: soon},
			editor: membership.Editor{}, own: &mine, want: want{forbidden: true}},
		{name: "other lifts allowlist, own unrestricted", m: fenced, after: membership.Rules{ExpiresAt: soon},
			editor: membership.Editor{}, own: &membership.Limits{ExpiresAt: soon}},
		{name: "other extends expiry to own", m: &membership.Membership{ExpiresAt: soon.Add(-time.Hour)}, after: membership.Rules{ExpiresAt: soon},
			editor: membership.Editor{}, own: &mine},
		{name: "other extends expiry beyond own", m: fenced, after: membership.Rules{AllowedIPs: narrow, ExpiresAt: later},
			editor: membership.Editor{}, own: &mine, want: want{forbidden: true}},
		{name: "other lifts expiry beyond own", m: fenced, after: membership.Rules{AllowedIPs: narrow},
			editor: membership.Editor{}, own: &mine, want: want{forbidden: true}},
		{name: "other lifts expiry, own never expires", m: fenced, after: membership.Rules{AllowedIPs: narrow},
			editor: membership.Editor{}, own: &membership.Limits{AllowedIPs: mine.AllowedIPs}},
		{name: "other lifts mfa", m: fenced, after: membership.Rules{AllowedIPs: narrow, ExpiresAt: soon}, editor: membership.Editor{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			own := func() (membership.Limits, error) {
				if tt.own == nil {
					t.Error("the editor's limits were read")
					return membership.Limits{}, nil
				}
				return *tt.own, nil
			}
			tt.want.check(t, membership.CheckNoLoosening("test", tt.m, tt.after, tt.editor, own))
		})
	}
}

func TestCheckNoLooseningReadError(t *testing.T) {
	m := &membership.Membership{AllowedIPs: prefixes(t, "8.8.8.0/24")}
	boom := errors.New("boom")
	err := membership.CheckNoLoosening("test", m, membership.Rules{}, membership.Editor{}, func() (membership.Limits, error) {
		return membership.Limits{}, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the read's error", err)
	}
}

func TestInvitationExpired(t *testing.T) {
	m := &membership.Membership{InvitationExpiresAt: soon}
	for _, tt := range []struct {
		now  time.Time
		want bool
	}{
		{soon.Add(-time.Microsecond), false},
		{soon, true},
		{soon.Add(time.Second), true},
	} {
		if got := m.InvitationExpired(tt.now); got != tt.want {
			t.Errorf("InvitationExpired(%v) = %v, want %v", tt.now, got, tt.want)
		}
	}
}
