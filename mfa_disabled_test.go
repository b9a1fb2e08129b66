package provisioning_test

import (
	"context"
	"testing"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
)

// TestUserMFADisabled: a user whose second factor the host turned off is
// exempt from the organization's requirement and the membership's alike,
// on the very next call; turned back on, both require it again. The
// membership reads the user's flag.
func TestUserMFADisabled(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
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
