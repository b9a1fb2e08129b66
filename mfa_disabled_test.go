package provisioning_test

import (
	"context"
	"testing"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/storage/storagetest"
)

// TestUserMFADisabled: a user whose second factor the host turned off is
// exempt from the organization's requirement and the membership's alike,
// on the very next call; turned back on, both require it again. The
// membership reads the user's flag. On every backend.
func TestUserMFADisabled(t *testing.T) {
	for name, open := range storagetest.Backends() {
		t.Run(name, func(t *testing.T) { testUserMFADisabled(t, newWorldOn(t, open(t))) })
	}
}

func testUserMFADisabled(t *testing.T, w *world) {
	ctx := context.Background()
	yes := true
	ownerMFA := w.p.As(provisioning.Principal{Kind: "user", ID: w.owner.ID, MFA: true})
	if _, err := ownerMFA.UpdateOrganization(ctx, w.org.ID, organization.Update{MFARequired: &yes}); err != nil {
		t.Fatal(err)
	}
	if _, err := ownerMFA.UpdateMembership(ctx, w.readerMembership.ID, membership.Update{MFARequired: &yes}); err != nil {
		t.Fatal(err)
	}
	reader := w.p.As(provisioning.User(w.reader.ID)) // without a second factor
	steps := []struct {
		name     string
		disabled bool
		want     error
	}{
		{"the user's second factor off", true, nil},
		{"back on", false, fault.ErrMFARequired},
	}
	for _, s := range steps {
		u, err := w.p.System().SetUserMFADisabled(ctx, w.reader.ID, s.disabled)
		if err != nil {
			t.Fatal(err)
		}
		if u.MFADisabled != s.disabled {
			t.Errorf("%s: MFADisabled = %v", s.name, u.MFADisabled)
		}
		_, err = reader.GetOrganization(ctx, w.org.ID)
		wantErr(t, s.name+": the reader without MFA", err, s.want)
		m, err := ownerMFA.GetMembership(ctx, w.readerMembership.ID)
		if err != nil {
			t.Fatal(err)
		}
		if m.UserMFADisabled != s.disabled || m.EffectiveMFA(true) == s.disabled {
			t.Errorf("%s: membership UserMFADisabled %v, EffectiveMFA %v", s.name, m.UserMFADisabled, m.EffectiveMFA(true))
		}
	}
	if _, err := w.p.System().SetUserMFADisabled(ctx, "nobody", true); fault.KindOf(err) != fault.NotFound {
		t.Errorf("an unknown user: %v, want not found", err)
	}
}

// TestGetOrganizationByNumber: an organization is found by its number as by
// its id, on every backend; numbers grow with creation.
func TestGetOrganizationByNumber(t *testing.T) {
	for name, open := range storagetest.Backends() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorldOn(t, open(t))
			own := w.as(w.owner)
			other, err := own.CreateOrganization(ctx, organization.Create{Name: "Second"})
			if err != nil {
				t.Fatal(err)
			}
			if w.org.Number <= 0 || other.Number <= w.org.Number {
				t.Fatalf("numbers %d then %d; want positive and growing", w.org.Number, other.Number)
			}
			for _, o := range []*organization.Organization{w.org, other} {
				got, err := own.GetOrganizationByNumber(ctx, o.Number)
				if err != nil || got.ID != o.ID || got.Totals.Memberships == 0 {
					t.Errorf("GetOrganizationByNumber(%d) = %+v, %v; want %s with its totals", o.Number, got, err, o.ID)
				}
			}
			if _, err := own.GetOrganizationByNumber(ctx, other.Number+1); fault.KindOf(err) != fault.NotFound {
				t.Errorf("a number of nothing: %v, want not found", err)
			}
		})
	}
}
