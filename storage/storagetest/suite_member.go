package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/profile"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/user"
)

func testMemberRoundTrip(t *testing.T, e *env) {
	tn := e.newTenant(t)
	pr := e.newProfile(t, tn.org.ID, access.TestAccess)
	u := e.newUser(t, func(u *user.User) { u.FirstName, u.LastName = "Ada", "Lovelace" })
	tests := []struct {
		name     string
		give     func(id string) membership.Membership
		giveHash bool
		want     func(give membership.Membership) membership.Membership
	}{
		{
			name: "active with user and profile, read-only fields ignored",
			give: func(id string) membership.Membership {
				return membership.Membership{ID: id, OrganizationID: tn.org.ID, UserID: u.ID, UserEmail: u.Email,
					UserFirstName: "Ignored", UserLastName: "Ignored", Status: membership.Active, Owner: true, RoleID: tn.admin.ID, RoleIDs: []string{tn.admin.ID},
					ProfileID: pr.ID, AccessScope: access.AllAccess, ProfileAccessScope: access.LiveAccess,
					Common: resource.Common{Reference: "ref", ReferenceOrigin: "hr", Metadata: richMetadata(),
						CreatedAt: t0.In(zone), UpdatedAt: t0.Add(time.Millisecond).In(zone)}}
			},
			want: func(m membership.Membership) membership.Membership {
				m.UserFirstName, m.UserLastName, m.Owner, m.ProfileAccessScope = "Ada", "Lovelace", false, access.TestAccess
				m.Common = utcCommon(m.Common)
				return m
			},
		},
		{
			name: "pending invitation",
			give: func(id string) membership.Membership {
				return membership.Membership{ID: id, OrganizationID: tn.org.ID, UserEmail: id + "@example.com", Status: membership.Pending,
					RoleID: tn.admin.ID, RoleIDs: []string{tn.admin.ID}, InvitationExpiresAt: t0.Add(7 * 24 * time.Hour).In(zone), Common: common()}
			},
			giveHash: true,
			want: func(m membership.Membership) membership.Membership {
				m.InvitationExpiresAt = m.InvitationExpiresAt.UTC()
				return m
			},
		},
		{
			name: "empty metadata, no profile",
			give: func(id string) membership.Membership {
				return membership.Membership{ID: id, OrganizationID: tn.org.ID, UserEmail: id + "@example.com", Status: membership.Pending,
					RoleID: tn.admin.ID, RoleIDs: []string{tn.admin.ID}, AccessScope: access.LiveAccess, Common: resource.Common{Metadata: resource.Metadata{}, CreatedAt: t0, UpdatedAt: t0}}
			},
			want: func(m membership.Membership) membership.Membership { return m },
		},
	}
	// Each membership is created outside a transaction, inside one (where
	// a backend may take other statements), and with its version; the
	// active one, once per user.
	creates := []struct {
		name   string
		create func(ctx context.Context, m *membership.Membership, hash []byte) error
	}{
		{"", e.s.Memberships().Create},
		{"/in a transaction", func(ctx context.Context, m *membership.Membership, hash []byte) error {
			return e.s.InTx(ctx, func(ctx context.Context) error { return e.s.Memberships().Create(ctx, m, hash) })
		}},
		{"/recorded", func(ctx context.Context, m *membership.Membership, hash []byte) error {
			v := e.version(tn.org.ID)
			err := e.s.InTx(ctx, func(ctx context.Context) error { return e.s.Memberships().CreateRecorded(ctx, m, hash, v) })
			if err == nil {
				e.wantVersion(t, v)
			}
			return err
		}},
	}
	for _, c := range creates {
		for _, tt := range tests {
			t.Run(tt.name+c.name, func(t *testing.T) {
				give := tt.give(e.id())
				if give.UserID != "" {
					other := e.newUser(t, func(u *user.User) { u.FirstName, u.LastName = "Ada", "Lovelace" })
					give.UserID, give.UserEmail = other.ID, other.Email
				}
				var hash []byte
				if tt.giveHash {
					hash = e.hash()
				}
				in := give
				must(t, c.create(t.Context(), &in, hash))
				want := tt.want(give)
				got, err := e.s.Memberships().Get(t.Context(), give.ID)
				must(t, err)
				wantEqual(t, "Get", *got, want)
				if hash != nil {
					got, err := e.s.Memberships().GetByInvitation(t.Context(), hash)
					must(t, err)
					wantEqual(t, "GetByInvitation", *got, want)
				}
			})
		}
	}
}

func testMemberUniqueKeys(t *testing.T, e *env) {
	tn, other := e.newTenant(t), e.newTenant(t)
	u := e.newUser(t)
	taken := e.hash()
	weird := "provisioning_users_email_uq" + e.id() + "@example.com" // names another unique index
	e.newMember(t, tn.org.ID, tn.admin.ID, func(m *membership.Membership) { m.UserEmail = weird })
	m := e.member(tn.org.ID, tn.admin.ID, activeFor(u))
	must(t, e.s.Memberships().Create(t.Context(), m, taken))
	refused := []struct {
		name      string
		give      func(*membership.Membership)
		giveHash  []byte
		wantField string
	}{
		{"same organization and email", func(d *membership.Membership) { d.UserEmail = u.Email }, nil, "user_email"},
		{"same organization and user", func(d *membership.Membership) { d.UserID, d.Status = u.ID, membership.Active }, nil, "user"},
		{"same invitation hash", func(*membership.Membership) {}, taken, "invitation"},
		{"same email, named like an index", func(d *membership.Membership) { d.UserEmail = weird }, nil, "user_email"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			d := e.member(tn.org.ID, tn.admin.ID, tt.give)
			wantTaken(t, "Create", e.s.Memberships().Create(t.Context(), d, tt.giveHash), tt.wantField)
			_, err := e.s.Memberships().Get(t.Context(), d.ID)
			wantIs(t, "Get of the refused membership", err, fault.ErrNotFound)
		})
	}
	accepted := []struct {
		name     string
		giveOrg  string
		giveRole string
		give     func(*membership.Membership)
	}{
		{"same email in another organization", other.org.ID, other.admin.ID, func(d *membership.Membership) { d.UserEmail = u.Email }},
		{"same user in another organization", other.org.ID, other.admin.ID, func(d *membership.Membership) { d.UserID, d.Status = u.ID, membership.Active }},
		{"several without user or hash", tn.org.ID, tn.admin.ID, func(*membership.Membership) {}},
		{"several without user or hash, again", tn.org.ID, tn.admin.ID, func(*membership.Membership) {}},
	}
	for _, tt := range accepted {
		d := e.member(tt.giveOrg, tt.giveRole, tt.give)
		if err := e.s.Memberships().Create(t.Context(), d, nil); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

func testMemberGetBy(t *testing.T, e *env) {
	tn, other := e.newTenant(t), e.newTenant(t)
	pending := e.newMember(t, tn.org.ID, tn.admin.ID)
	want, err := e.s.Memberships().Get(t.Context(), tn.om.ID)
	must(t, err)
	wantPending, err := e.s.Memberships().Get(t.Context(), pending.ID)
	must(t, err)

	got, err := e.s.Memberships().GetByEmail(t.Context(), tn.org.ID, tn.owner.Email)
	must(t, err)
	wantEqual(t, "GetByEmail", *got, *want)
	got, err = e.s.Memberships().GetByEmail(t.Context(), tn.org.ID, pending.UserEmail)
	must(t, err)
	wantEqual(t, "GetByEmail of a pending membership", *got, *wantPending)
	got, err = e.s.Memberships().GetByUser(t.Context(), tn.org.ID, tn.owner.ID)
	must(t, err)
	wantEqual(t, "GetByUser", *got, *want)

	_, err = e.s.Memberships().GetByEmail(t.Context(), other.org.ID, tn.owner.Email)
	wantIs(t, "GetByEmail in another organization", err, fault.ErrNotFound)
	_, err = e.s.Memberships().GetByUser(t.Context(), other.org.ID, tn.owner.ID)
	wantIs(t, "GetByUser in another organization", err, fault.ErrNotFound)
	_, err = e.s.Memberships().GetByUser(t.Context(), tn.org.ID, "")
	wantIs(t, "GetByUser of no user", err, fault.ErrNotFound)
	_, err = e.s.Memberships().GetByEmail(t.Context(), tn.org.ID, "nobody@example.com")
	wantIs(t, "GetByEmail of an unknown email", err, fault.ErrNotFound)
}

func testMemberGetByInvitation(t *testing.T, e *env) {
	tn := e.newTenant(t)
	pendingHash, activeHash := e.hash(), e.hash()
	pending := e.member(tn.org.ID, tn.admin.ID)
	must(t, e.s.Memberships().Create(t.Context(), pending, pendingHash))
	active := e.member(tn.org.ID, tn.admin.ID, activeFor(e.newUser(t)))
	must(t, e.s.Memberships().Create(t.Context(), active, activeHash))

	got, err := e.s.Memberships().GetByInvitation(t.Context(), pendingHash)
	must(t, err)
	if got.ID != pending.ID {
		t.Errorf("GetByInvitation = %s, want %s", got.ID, pending.ID)
	}
	_, err = e.s.Memberships().GetByInvitation(t.Context(), activeHash)
	wantIs(t, "GetByInvitation of an active membership's hash", err, fault.ErrNotFound)
	_, err = e.s.Memberships().GetByInvitation(t.Context(), e.hash())
	wantIs(t, "GetByInvitation of an unknown hash", err, fault.ErrNotFound)
	_, err = e.s.Memberships().GetByInvitation(t.Context(), nil)
	wantIs(t, "GetByInvitation of no hash", err, fault.ErrNotFound)
}

func testMemberSetInvitation(t *testing.T, e *env) {
	tn := e.newTenant(t)
	h1, h2, other := e.hash(), e.hash(), e.hash()
	m := e.member(tn.org.ID, tn.admin.ID, func(m *membership.Membership) { m.InvitationExpiresAt = t0.Add(time.Hour) })
	must(t, e.s.Memberships().Create(t.Context(), m, h1))
	o := e.member(tn.org.ID, tn.admin.ID)
	must(t, e.s.Memberships().Create(t.Context(), o, other))

	expires, now := t0.Add(48*time.Hour).In(zone), t0.Add(time.Minute).In(zone)
	must(t, e.s.Memberships().SetInvitation(t.Context(), m.ID, h2, expires, now))
	_, err := e.s.Memberships().GetByInvitation(t.Context(), h1)
	wantIs(t, "GetByInvitation of the replaced hash", err, fault.ErrNotFound)
	got, err := e.s.Memberships().GetByInvitation(t.Context(), h2)
	must(t, err)
	want := *m
	want.InvitationExpiresAt, want.UpdatedAt = expires.UTC(), now.UTC()
	wantEqual(t, "GetByInvitation of the new hash", *got, want)

	wantTaken(t, "SetInvitation to another membership's hash", e.s.Memberships().SetInvitation(t.Context(), m.ID, other, expires, now), "invitation")
	wantIs(t, "SetInvitation of the owner's active membership",
		e.s.Memberships().SetInvitation(t.Context(), tn.om.ID, e.hash(), expires, now), fault.ErrNotPending)
}

func testMemberActivate(t *testing.T, e *env) {
	tn := e.newTenant(t)
	u := e.newUser(t)
	h := e.hash()
	m := e.member(tn.org.ID, tn.admin.ID, func(m *membership.Membership) { m.UserEmail, m.InvitationExpiresAt = u.Email, t0.Add(time.Hour) })
	must(t, e.s.Memberships().Create(t.Context(), m, h))

	now := t0.Add(time.Minute).In(zone)
	must(t, e.s.Memberships().Activate(t.Context(), m.ID, u.ID, now))
	got, err := e.s.Memberships().Get(t.Context(), m.ID)
	must(t, err)
	want := *m
	want.Status, want.UserID, want.UserFirstName, want.UserLastName = membership.Active, u.ID, u.FirstName, u.LastName
	want.InvitationExpiresAt, want.UpdatedAt = time.Time{}, now.UTC()
	wantEqual(t, "Get after Activate", *got, want)
	_, err = e.s.Memberships().GetByInvitation(t.Context(), h)
	wantIs(t, "GetByInvitation after Activate", err, fault.ErrNotFound)

	wantIs(t, "second Activate", e.s.Memberships().Activate(t.Context(), m.ID, u.ID, now), fault.ErrNotPending)
	wantIs(t, "SetInvitation of the activated membership", e.s.Memberships().SetInvitation(t.Context(), m.ID, e.hash(), now, now), fault.ErrNotPending)

	// A second pending invitation of the same organization cannot take the
	// same user.
	second := e.newMember(t, tn.org.ID, tn.admin.ID)
	wantTaken(t, "Activate for a user who is already a member", e.s.Memberships().Activate(t.Context(), second.ID, u.ID, now), "user")
	got, err = e.s.Memberships().Get(t.Context(), second.ID)
	must(t, err)
	if got.Status != membership.Pending || got.UserID != "" {
		t.Errorf("refused Activate left status %q, user %q", got.Status, got.UserID)
	}
}

func testMemberUpdate(t *testing.T, e *env) {
	tn, other := e.newTenant(t), e.newTenant(t)
	p1 := e.newProfile(t, tn.org.ID, access.LiveAccess)
	r2 := e.newRole(t, tn.org.ID, role.KindCustom)
	m := e.newMember(t, tn.org.ID, tn.admin.ID, func(m *membership.Membership) {
		m.ProfileID, m.AccessScope, m.Reference, m.Metadata = p1.ID, access.TestAccess, "ref", resource.Metadata{"a": "b"}
		m.InvitationExpiresAt = t0.Add(time.Hour)
	})
	give := *m
	give.RoleID, give.RoleIDs, give.ProfileID, give.AccessScope = r2.ID, []string{r2.ID}, "", ""
	give.Reference, give.ReferenceOrigin, give.Metadata = "", "origin", richMetadata()
	give.UpdatedAt = t0.Add(time.Hour).In(zone)
	// Never updatable: email, status, user, organization, creation time.
	give.UserEmail, give.Status, give.UserID, give.OrganizationID = "other@example.com", membership.Active, tn.owner.ID, other.org.ID
	give.CreatedAt = t0.Add(-time.Hour)
	must(t, e.s.Memberships().Update(t.Context(), &give))

	got, err := e.s.Memberships().Get(t.Context(), m.ID)
	must(t, err)
	want := *m
	want.RoleID, want.RoleIDs, want.ProfileID, want.AccessScope = r2.ID, []string{r2.ID}, "", ""
	want.Reference, want.ReferenceOrigin, want.Metadata, want.UpdatedAt = "", "origin", richMetadata(), give.UpdatedAt.UTC()
	wantEqual(t, "Get after Update", *got, want)

	give = *got
	give.ProfileID, give.AccessScope = p1.ID, access.AllAccess
	must(t, e.s.Memberships().Update(t.Context(), &give))
	got, err = e.s.Memberships().Get(t.Context(), m.ID)
	must(t, err)
	if got.ProfileID != p1.ID || got.ProfileAccessScope != p1.AccessScope || got.AccessScope != access.AllAccess {
		t.Errorf("after linking the profile again: profile %q, profile scope %q, scope %q", got.ProfileID, got.ProfileAccessScope, got.AccessScope)
	}
}

func testMemberDelete(t *testing.T, e *env) {
	tn := e.newTenant(t)
	m := e.newMember(t, tn.org.ID, tn.admin.ID)
	must(t, e.s.Memberships().Delete(t.Context(), m.ID))
	_, err := e.s.Memberships().Get(t.Context(), m.ID)
	wantIs(t, "Get after Delete", err, fault.ErrNotFound)
	wantIs(t, "second Delete", e.s.Memberships().Delete(t.Context(), m.ID), fault.ErrNotFound)
	wantIs(t, "Delete of the owner's membership", e.s.Memberships().Delete(t.Context(), tn.om.ID), fault.ErrLastOwner)
	_, err = e.s.Memberships().Get(t.Context(), tn.om.ID)
	must(t, err)
}

// testMemberViewFields: what a membership derives from other rows is read
// fresh: the owner flag, the profile's scope, the user's names.
func testMemberViewFields(t *testing.T, e *env) {
	tn := e.newTenant(t)
	pr := e.newProfile(t, tn.org.ID, access.LiveAccess)
	u := e.newUser(t)
	m := e.newMember(t, tn.org.ID, tn.admin.ID, activeFor(u), func(m *membership.Membership) { m.ProfileID = pr.ID })

	upd := *pr
	upd.AccessScope = access.AllAccess
	must(t, e.s.Profiles().Update(t.Context(), &upd))
	names := *u
	names.FirstName, names.LastName = "Grace", "Hopper"
	must(t, e.s.Users().Update(t.Context(), &names))
	must(t, e.s.Organizations().SetOwner(t.Context(), tn.org.ID, tn.om.ID, m.ID))

	reads := []struct {
		name string
		read func() (membership.Membership, error)
	}{
		{"Get", func() (membership.Membership, error) {
			got, err := e.s.Memberships().Get(t.Context(), m.ID)
			return deref(got), err
		}},
		{"GetByEmail", func() (membership.Membership, error) {
			got, err := e.s.Memberships().GetByEmail(t.Context(), tn.org.ID, u.Email)
			return deref(got), err
		}},
		{"GetByUser", func() (membership.Membership, error) {
			got, err := e.s.Memberships().GetByUser(t.Context(), tn.org.ID, u.ID)
			return deref(got), err
		}},
		{"List", func() (membership.Membership, error) {
			p, err := e.s.Memberships().List(t.Context(), membership.Filter{OrganizationID: tn.org.ID, UserID: u.ID})
			if err != nil || len(p.Items) != 1 {
				return membership.Membership{}, errors.Join(err, errors.New("not one membership listed"))
			}
			return p.Items[0], nil
		}},
	}
	for _, r := range reads {
		got, err := r.read()
		must(t, err)
		if !got.Owner || got.ProfileAccessScope != access.AllAccess || got.UserFirstName != "Grace" || got.UserLastName != "Hopper" {
			t.Errorf("%s: Owner %v, ProfileAccessScope %q, names %q %q; want true, all_access, Grace Hopper",
				r.name, got.Owner, got.ProfileAccessScope, got.UserFirstName, got.UserLastName)
		}
	}
	former, err := e.s.Memberships().Get(t.Context(), tn.om.ID)
	must(t, err)
	if former.Owner {
		t.Error("the former owner's membership still reads Owner")
	}
}

func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// testMemberPages: 60 memberships read in pages of several sizes: every
// one once, in id order, the last page without a cursor.
func testMemberPages(t *testing.T, e *env) {
	tn, other := e.newTenant(t), e.newTenant(t)
	want := []string{tn.om.ID}
	must(t, e.s.InTx(t.Context(), func(ctx context.Context) error {
		for range 59 {
			m := e.member(tn.org.ID, tn.admin.ID)
			if err := e.s.Memberships().Create(ctx, m, nil); err != nil {
				return err
			}
			want = append(want, m.ID)
		}
		return nil
	}))
	e.newMember(t, other.org.ID, other.admin.ID)
	list := func(r resource.PageRequest) (resource.Page[membership.Membership], error) {
		return e.s.Memberships().List(t.Context(), membership.Filter{OrganizationID: tn.org.ID, PageRequest: r})
	}
	tests := []struct {
		giveLimit int
		wantSizes []int
	}{
		{25, []int{25, 25, 10}},
		{20, []int{20, 20, 20}},
		{0, []int{25, 25, 10}},
		{59, []int{59, 1}},
		{60, []int{60}},
		{1000, []int{60}},
	}
	for _, tt := range tests {
		ids, sizes := walk(t, tt.giveLimit, list, memberID)
		wantEqual(t, "ids", ids, want)
		wantEqual(t, "page sizes", sizes, tt.wantSizes)
	}
	p, err := list(resource.PageRequest{After: resource.Cursor(want[29]), Limit: 5})
	must(t, err)
	wantEqual(t, "page after the 30th", idsOf(p.Items, memberID), want[30:35])
	_, err = list(resource.PageRequest{After: "!not a cursor"})
	wantIs(t, "List with a malformed cursor", err, fault.ErrInvalid)
}

func testMemberFilters(t *testing.T, e *env) {
	tn, other := e.newTenant(t), e.newTenant(t)
	rA, rB := e.newRole(t, tn.org.ID, role.KindCustom), e.newRole(t, tn.org.ID, role.KindCustom)
	pA, pB := e.newProfile(t, tn.org.ID, access.LiveAccess), e.newProfile(t, tn.org.ID, access.TestAccess)
	u1, u2 := e.newUser(t), e.newUser(t)
	with := func(r *role.Role, p *profile.Profile) func(*membership.Membership) {
		return func(m *membership.Membership) {
			m.RoleID = r.ID
			if p != nil {
				m.ProfileID = p.ID
			}
		}
	}
	m1 := e.newMember(t, tn.org.ID, rA.ID, activeFor(u1), with(rA, pA))
	m2 := e.newMember(t, tn.org.ID, rB.ID, activeFor(u2), with(rB, nil))
	m3 := e.newMember(t, tn.org.ID, rA.ID, with(rA, pB))
	m4 := e.newMember(t, tn.org.ID, rB.ID, with(rB, pA))
	e.newMember(t, other.org.ID, other.admin.ID, activeFor(u1))
	f := func(mod func(*membership.Filter)) membership.Filter {
		fl := membership.Filter{OrganizationID: tn.org.ID}
		mod(&fl)
		return fl
	}
	tests := []struct {
		name string
		give membership.Filter
		want []*membership.Membership
	}{
		{"none", f(func(*membership.Filter) {}), []*membership.Membership{tn.om, m1, m2, m3, m4}},
		{"active", f(func(fl *membership.Filter) { fl.Status = membership.Active }), []*membership.Membership{tn.om, m1, m2}},
		{"pending", f(func(fl *membership.Filter) { fl.Status = membership.Pending }), []*membership.Membership{m3, m4}},
		{"role", f(func(fl *membership.Filter) { fl.RoleID = rA.ID }), []*membership.Membership{m1, m3}},
		{"profile", f(func(fl *membership.Filter) { fl.ProfileID = pA.ID }), []*membership.Membership{m1, m4}},
		{"user", f(func(fl *membership.Filter) { fl.UserID = u1.ID }), []*membership.Membership{m1}},
		{"email", f(func(fl *membership.Filter) { fl.UserEmail = m3.UserEmail }), []*membership.Membership{m3}},
		{"pending and role", f(func(fl *membership.Filter) { fl.Status, fl.RoleID = membership.Pending, rB.ID }), []*membership.Membership{m4}},
		{"unknown user", f(func(fl *membership.Filter) { fl.UserID = e.id() }), nil},
		{"unknown organization", membership.Filter{OrganizationID: e.id()}, nil},
	}
	for _, tt := range tests {
		p, err := e.s.Memberships().List(t.Context(), tt.give)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		wantEqual(t, tt.name, idsOf(p.Items, memberID), membershipIDs(tt.want))
	}
}

func testMemberPendingForEmail(t *testing.T, e *env) {
	a, b, c := e.newTenant(t), e.newTenant(t), e.newTenant(t)
	u := e.newUser(t)
	setEmail := func(m *membership.Membership) { m.UserEmail = u.Email }
	pa := e.newMember(t, a.org.ID, a.admin.ID, setEmail)
	e.newMember(t, a.org.ID, a.admin.ID)
	pb := e.newMember(t, b.org.ID, b.admin.ID, setEmail)
	e.newMember(t, c.org.ID, c.admin.ID, activeFor(u))

	got, err := e.s.Memberships().PendingForEmail(t.Context(), u.Email)
	must(t, err)
	wantEqual(t, "PendingForEmail", idsOf(got, memberID), []string{pa.ID, pb.ID})
	want, err := e.s.Memberships().Get(t.Context(), pa.ID)
	must(t, err)
	wantEqual(t, "first pending membership", got[0], *want)
	got, err = e.s.Memberships().PendingForEmail(t.Context(), "nobody@example.com")
	must(t, err)
	wantEqual(t, "PendingForEmail of an unknown email", idsOf(got, memberID), []string{})
}

// testMemberForeignKeys: references to missing rows are refused on every
// backend, with the same kind of error, and nothing is written.
func testMemberForeignKeys(t *testing.T, e *env) {
	tn := e.newTenant(t)
	missing := e.id()
	tests := []struct {
		name string
		give func(*membership.Membership)
	}{
		{"organization", func(m *membership.Membership) { m.OrganizationID = missing }},
		{"role", func(m *membership.Membership) { m.RoleID = missing }},
		{"profile", func(m *membership.Membership) { m.ProfileID = missing }},
		{"user", func(m *membership.Membership) { m.UserID, m.Status = missing, membership.Active }},
	}
	for _, tt := range tests {
		m := e.member(tn.org.ID, tn.admin.ID, tt.give)
		err := e.s.Memberships().Create(t.Context(), m, nil)
		wantIs(t, "Create with a missing "+tt.name, err, fault.ErrConflict)
		_, err = e.s.Memberships().Get(t.Context(), m.ID)
		wantIs(t, "Get of the refused membership", err, fault.ErrNotFound)
	}
	others := []struct {
		name string
		give func() error
	}{
		{"profile of a missing organization", func() error { return e.s.Profiles().Create(t.Context(), e.profileValue(e.id(), missing)) }},
		{"role of a missing organization", func() error {
			return e.s.Roles().CreateRole(t.Context(), &role.Role{ID: e.id(), OrganizationID: missing, Name: "x", Kind: role.KindCustom, Common: common()})
		}},
		{"permission of a missing role", func() error {
			return e.s.Roles().CreatePermission(t.Context(), &role.Permission{ID: e.id(), OrganizationID: tn.org.ID, RoleID: missing, Subject: "skus", Common: common()})
		}},
		{"owner that is not a membership", func() error { return e.s.Organizations().SetOwner(t.Context(), tn.org.ID, tn.om.ID, missing) }},
	}
	for _, tt := range others {
		wantIs(t, tt.name, tt.give(), fault.ErrConflict)
	}
}

// testMemberConcurrentCreate: 20 transactions create the same (organization,
// email); one wins, the others see fault.ErrAlreadyExists (or, after
// InTx's retries, fault.ErrBusy), and one row exists.
func testMemberConcurrentCreate(t *testing.T, e *env) {
	tn := e.newTenant(t)
	mail := e.id() + "@example.com"
	errs := race(20, func(int) error {
		m := e.member(tn.org.ID, tn.admin.ID, func(m *membership.Membership) { m.UserEmail = mail })
		return e.s.InTx(t.Context(), func(ctx context.Context) error {
			return e.s.Memberships().Create(ctx, m, nil)
		})
	})
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, fault.ErrAlreadyExists):
			wantTaken(t, "losing Create", err, "user_email")
		case errors.Is(err, fault.ErrBusy):
		default:
			t.Errorf("losing Create: %v", err)
		}
	}
	p, err := e.s.Memberships().List(t.Context(), membership.Filter{OrganizationID: tn.org.ID, UserEmail: mail})
	must(t, err)
	if wins != 1 || len(p.Items) != 1 {
		t.Errorf("%d Creates succeeded, %d rows; want 1 and 1", wins, len(p.Items))
	}
}

func (e *env) profileValue(id, orgID string) *profile.Profile {
	return &profile.Profile{ID: id, OrganizationID: orgID, Name: "Profile " + id, AccessScope: access.LiveAccess, Common: common()}
}

func profileFilter(orgID, name string) profile.Filter {
	return profile.Filter{OrganizationID: orgID, Name: name}
}

func testProfileRoundTrip(t *testing.T, e *env) {
	tn := e.newTenant(t)
	tests := []struct {
		name string
		give func(id string) profile.Profile
	}{
		{"every field set", func(id string) profile.Profile {
			return profile.Profile{ID: id, OrganizationID: tn.org.ID, Name: "Support — EU", AccessScope: access.AllAccess,
				Common: resource.Common{Reference: "r", ReferenceOrigin: "o", Metadata: richMetadata(), CreatedAt: t0.In(zone), UpdatedAt: t0.In(zone)}}
		}},
		{"optional fields null", func(id string) profile.Profile { return *e.profileValue(id, tn.org.ID) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			give := tt.give(e.id())
			in := give
			must(t, e.s.Profiles().Create(t.Context(), &in))
			want := give
			want.Common = utcCommon(give.Common)
			got, err := e.s.Profiles().Get(t.Context(), give.ID)
			must(t, err)
			wantEqual(t, "Get", *got, want)
		})
	}
}

func testProfileUpdate(t *testing.T, e *env) {
	tn, other := e.newTenant(t), e.newTenant(t)
	p := e.newProfile(t, tn.org.ID, access.LiveAccess, func(p *profile.Profile) { p.Reference, p.Metadata = "r", resource.Metadata{"a": "b"} })
	give := *p
	give.Name, give.AccessScope, give.Reference, give.ReferenceOrigin, give.Metadata = "Renamed", access.TestAccess, "", "o", nil
	give.UpdatedAt = t0.Add(time.Hour).In(zone)
	give.OrganizationID, give.CreatedAt = other.org.ID, t0.Add(-time.Hour) // read-only
	must(t, e.s.Profiles().Update(t.Context(), &give))
	want := give
	want.OrganizationID, want.CreatedAt, want.UpdatedAt = p.OrganizationID, p.CreatedAt, give.UpdatedAt.UTC()
	got, err := e.s.Profiles().Get(t.Context(), p.ID)
	must(t, err)
	wantEqual(t, "Get after Update", *got, want)
}

func testProfileDelete(t *testing.T, e *env) {
	tn := e.newTenant(t)
	unused, used := e.newProfile(t, tn.org.ID, access.LiveAccess), e.newProfile(t, tn.org.ID, access.TestAccess)
	m := e.newMember(t, tn.org.ID, tn.admin.ID, func(m *membership.Membership) { m.ProfileID = used.ID })

	must(t, e.s.Profiles().Delete(t.Context(), unused.ID))
	_, err := e.s.Profiles().Get(t.Context(), unused.ID)
	wantIs(t, "Get after Delete", err, fault.ErrNotFound)
	wantIs(t, "second Delete", e.s.Profiles().Delete(t.Context(), unused.ID), fault.ErrNotFound)

	wantIs(t, "Delete of a profile in use", e.s.Profiles().Delete(t.Context(), used.ID), fault.ErrInUse)
	_, err = e.s.Profiles().Get(t.Context(), used.ID)
	must(t, err)

	unlink := *m
	unlink.ProfileID = ""
	must(t, e.s.Memberships().Update(t.Context(), &unlink))
	must(t, e.s.Profiles().Delete(t.Context(), used.ID))
}

func testProfileList(t *testing.T, e *env) {
	tn, other := e.newTenant(t), e.newTenant(t)
	var want []string
	for range 5 {
		want = append(want, e.newProfile(t, tn.org.ID, access.LiveAccess).ID)
	}
	named := e.newProfile(t, tn.org.ID, access.AllAccess, func(p *profile.Profile) { p.Name = "Same name" })
	want = append(want, named.ID)
	e.newProfile(t, other.org.ID, access.AllAccess, func(p *profile.Profile) { p.Name = "Same name" })

	ids, sizes := walk(t, 2, func(r resource.PageRequest) (resource.Page[profile.Profile], error) {
		return e.s.Profiles().List(t.Context(), profile.Filter{OrganizationID: tn.org.ID, PageRequest: r})
	}, profileID)
	wantEqual(t, "ids", ids, want)
	wantEqual(t, "page sizes", sizes, []int{2, 2, 2})

	p, err := e.s.Profiles().List(t.Context(), profileFilter(tn.org.ID, "Same name"))
	must(t, err)
	wantEqual(t, "by name", p.Items, []profile.Profile{*named})
	p, err = e.s.Profiles().List(t.Context(), profileFilter(tn.org.ID, "Nothing"))
	must(t, err)
	wantEqual(t, "unknown name", idsOf(p.Items, profileID), []string{})
}
