package storagetest

import (
	"context"
	"testing"

	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/user"
)

// inviteCases are the reads and writes of one invitation.
var inviteCases = []testCase{
	{"LockTarget", testLockTarget},
	{"LockTargetSerializes", testLockTargetSerializes},
	{"CreateRecordedBothOrNeither", testCreateRecordedBothOrNeither},
}

// version returns a new version of a membership's creation in orgID, not stored.
func (e *env) version(orgID string) *audit.Version {
	return &audit.Version{ID: e.id(), OrganizationID: orgID, ResourceType: "memberships", ResourceID: e.id(), Event: audit.Create,
		Changes: resource.Changes{"user_email": {nil, "a@example.com"}, "status": {nil, "pending"}, "guest": {nil, false}},
		Who:     audit.Who{Type: "user", ID: e.id()}, RequestID: "req-" + e.id(),
		Common: resource.Common{Reference: "r", Metadata: richMetadata(), CreatedAt: t0.In(zone), UpdatedAt: t0.In(zone)}}
}

// wantVersion checks that v is stored as given.
func (e *env) wantVersion(tb testing.TB, v *audit.Version) {
	tb.Helper()
	got, err := e.s.Versions().Get(tb.Context(), v.ID)
	must(tb, err)
	want := *v
	want.Common = utcCommon(v.Common)
	wantEqual(tb, "the version", *got, want)
}

// testLockTarget: the organization as Lock reads it, its role of the id
// and the user of the address; nil for a role of another organization, an
// unknown id or address; not found for an organization that does not
// exist. Outside a transaction and inside one alike.
func testLockTarget(t *testing.T, e *env) {
	tn, other := e.newTenant(t), e.newTenant(t)
	u := e.newUser(t, func(u *user.User) { u.FirstName, u.TimeZone = "Ada", "Europe/London" })
	org, err := e.s.Organizations().Get(t.Context(), tn.org.ID)
	must(t, err)
	ro, err := e.s.Roles().GetRole(t.Context(), tn.admin.ID)
	must(t, err)
	usr, err := e.s.Users().GetByEmail(t.Context(), u.Email)
	must(t, err)
	tests := []struct {
		name             string
		giveOrg          string
		giveRole, giveTo string
		want             membership.Target
		wantErr          error
	}{
		{"role and user", tn.org.ID, tn.admin.ID, u.Email, membership.Target{Organization: org, Role: ro, User: usr}, nil},
		{"neither asked", tn.org.ID, "", "", membership.Target{Organization: org}, nil},
		{"a role of another organization", tn.org.ID, other.admin.ID, u.Email, membership.Target{Organization: org, User: usr}, nil},
		{"unknown role and address", tn.org.ID, "id-unknown", "nobody-" + e.id() + "@example.com", membership.Target{Organization: org}, nil},
		{"an id that cannot be one", tn.org.ID, "not an id'", "not an address'", membership.Target{Organization: org}, nil},
		{"no such organization", "id-unknown", tn.admin.ID, u.Email, membership.Target{}, fault.ErrNotFound},
		{"an organization id that cannot be one", "", tn.admin.ID, u.Email, membership.Target{}, fault.ErrNotFound},
	}
	for _, inTx := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(tt.name+map[bool]string{true: "/in a transaction"}[inTx], func(t *testing.T) {
				var got membership.Target
				var err error
				read := func(ctx context.Context) error {
					got, err = e.s.Memberships().LockTarget(ctx, tt.giveOrg, tt.giveRole, tt.giveTo)
					return nil
				}
				if inTx {
					must(t, e.s.InTx(t.Context(), read))
				} else {
					must(t, read(t.Context()))
				}
				if tt.wantErr != nil {
					wantIs(t, "LockTarget", err, tt.wantErr)
					return
				}
				must(t, err)
				wantEqual(t, "LockTarget", got, tt.want)
			})
		}
	}
}

// testLockTargetSerializes: read-modify-write under LockTarget loses no
// update, as under Lock.
func testLockTargetSerializes(t *testing.T, e *env) {
	tn := e.newTenant(t)
	o := tn.org
	o.Name = "0"
	must(t, e.s.Organizations().Update(t.Context(), o))
	lockSerializes(t, e, o.ID, func(ctx context.Context) (*organization.Organization, error) {
		got, err := e.s.Memberships().LockTarget(ctx, o.ID, tn.admin.ID, tn.owner.Email)
		return got.Organization, err
	})
}

// testCreateRecordedBothOrNeither: a membership refused by a unique key
// leaves no version, and a version refused (its id taken) no membership;
// outside a transaction and inside one alike.
func testCreateRecordedBothOrNeither(t *testing.T, e *env) {
	tn := e.newTenant(t)
	taken := e.newVersion(t, tn.org.ID)
	tests := []struct {
		name      string
		give      func(*membership.Membership, *audit.Version)
		wantErr   error
		wantField string
	}{
		{"a taken email", func(m *membership.Membership, _ *audit.Version) { m.UserEmail = tn.owner.Email }, fault.ErrAlreadyExists, "user_email"},
		{"a taken version id", func(_ *membership.Membership, v *audit.Version) { v.ID = taken.ID }, fault.ErrAlreadyExists, ""},
	}
	for _, inTx := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(tt.name+map[bool]string{true: "/in a transaction"}[inTx], func(t *testing.T) {
				m, v := e.member(tn.org.ID, tn.admin.ID), e.version(tn.org.ID)
				tt.give(m, v)
				create := func(ctx context.Context) error { return e.s.Memberships().CreateRecorded(ctx, m, e.hash(), v) }
				var err error
				if inTx {
					err = e.s.InTx(t.Context(), create)
				} else {
					err = create(t.Context())
				}
				wantIs(t, "CreateRecorded", err, tt.wantErr)
				if tt.wantField != "" {
					wantTaken(t, "CreateRecorded", err, tt.wantField)
				}
				_, err = e.s.Memberships().Get(t.Context(), m.ID)
				wantIs(t, "the membership", err, fault.ErrNotFound)
				if v.ID != taken.ID {
					_, err = e.s.Versions().Get(t.Context(), v.ID)
					wantIs(t, "the version", err, fault.ErrNotFound)
				}
			})
		}
	}
}
