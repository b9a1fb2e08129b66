package storagetest

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/user"
)

func testOrgRoundTrip(t *testing.T, e *env) {
	full := func(id string) organization.Organization {
		return organization.Organization{ID: id, Name: "Acme “Ünïcode” Inc.", Slug: "acme-" + id, Domain: "acme-" + id + organization.DomainSuffix,
			SupportPhone: "+39 02 1234 5678", SupportEmail: "help@acme.example", LogoURL: "https://acme.example/logo.png?v=1",
			FaviconURL: "https://acme.example/favicon.ico", PrimaryColor: "#112233", ContrastColor: "#FFFFFF",
			GTMID: "GTM-ABC123", GTMIDTest: "GTM-TEST1", Region: "us-east-1",
			Config: map[string]any{"mfa": true, "limits": map[string]any{"members": float64(50), "tags": []any{"a", float64(1), nil}}},
			Common: resource.Common{Reference: "ext-1", ReferenceOrigin: "crm", Metadata: richMetadata(),
				CreatedAt: t0.In(zone), UpdatedAt: t0.Add(time.Microsecond).In(zone)}}
	}
	tests := []struct {
		name string
		give func(id string) organization.Organization
	}{
		{"every field set, times not in UTC", full},
		{"optional fields null", func(id string) organization.Organization {
			return organization.Organization{ID: id, Name: "Min", Slug: "min-" + id, Domain: "min-" + id + organization.DomainSuffix,
				Region: organization.DefaultRegion, Common: common()}
		}},
		{"empty objects", func(id string) organization.Organization {
			o := full(id)
			o.Slug, o.Config, o.Metadata = "empty-"+id, map[string]any{}, resource.Metadata{}
			return o
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			give := tt.give(e.id())
			in := give
			must(t, e.s.Organizations().Create(t.Context(), &in))
			want := give
			want.Common = utcCommon(give.Common)
			want.Number = in.Number // the store's, which Create reports (OrganizationNumber)
			got, err := e.s.Organizations().Get(t.Context(), give.ID)
			must(t, err)
			wantEqual(t, "Get", *got, want)
		})
	}
}

func testOrgUpdate(t *testing.T, e *env) {
	o := e.newOrg(t, func(o *organization.Organization) {
		o.SupportEmail, o.Config, o.Reference, o.Metadata = "old@acme.example", map[string]any{"a": "b"}, "ref", resource.Metadata{"k": "v"}
	})
	rev, err := e.s.Access().Revision(t.Context(), o.ID)
	must(t, err)
	give := *o
	give.Name, give.SupportPhone, give.SupportEmail, give.LogoURL = "Renamed", "+1 555 0100", "", "https://x.example/l.png"
	give.Config, give.Reference, give.ReferenceOrigin, give.Metadata = map[string]any{"x": map[string]any{"y": false}}, "", "origin", nil
	give.UpdatedAt = t0.Add(time.Hour).In(zone)
	// Read-only attributes: Update must leave them as they are.
	give.Slug, give.Domain, give.Region, give.CreatedAt = "changed-"+o.ID, "changed.example", "ap-south-1", t0.Add(-time.Hour)
	must(t, e.s.Organizations().Update(t.Context(), &give))

	want := give
	want.Slug, want.Domain, want.Region, want.CreatedAt = o.Slug, o.Domain, o.Region, o.CreatedAt
	want.UpdatedAt = give.UpdatedAt.UTC()
	got, err := e.s.Organizations().Get(t.Context(), o.ID)
	must(t, err)
	wantEqual(t, "Get after Update", *got, want)
	after, err := e.s.Access().Revision(t.Context(), o.ID)
	must(t, err)
	if after != rev {
		t.Errorf("Update changed the policy revision")
	}
}

func testOrgSlugTaken(t *testing.T, e *env) {
	o := e.newOrg(t)
	dup := organization.Organization{ID: e.id(), Name: "Other", Slug: o.Slug, Domain: "x", Region: organization.DefaultRegion, Common: common()}
	wantTaken(t, "Create with a taken slug", e.s.Organizations().Create(t.Context(), &dup), "slug")
	_, err := e.s.Organizations().Get(t.Context(), dup.ID)
	wantIs(t, "Get of the refused organization", err, fault.ErrNotFound)
}

func testOrgLock(t *testing.T, e *env) {
	o := e.newOrg(t)
	want, err := e.s.Organizations().Get(t.Context(), o.ID)
	must(t, err)
	got, err := e.s.Organizations().Lock(t.Context(), o.ID)
	must(t, err)
	wantEqual(t, "Lock outside a transaction", *got, *want)
	must(t, e.s.InTx(t.Context(), func(ctx context.Context) error {
		got, err := e.s.Organizations().Lock(ctx, o.ID)
		must(t, err)
		wantEqual(t, "Lock inside a transaction", *got, *want)
		return nil
	}))
}

// testOrgLockSerializes: read-modify-write under Lock loses no update.
func testOrgLockSerializes(t *testing.T, e *env) {
	o := e.newOrg(t, func(o *organization.Organization) { o.Name = "0" })
	lockSerializes(t, e, o.ID, func(ctx context.Context) (*organization.Organization, error) {
		return e.s.Organizations().Lock(ctx, o.ID)
	})
}

// lockSerializes checks that ten concurrent transactions that increment
// the name of organization id, read with lock, lose no increment.
func lockSerializes(t *testing.T, e *env, id string, lock func(ctx context.Context) (*organization.Organization, error)) {
	const n = 10
	errs := race(n, func(int) error {
		return e.s.InTx(t.Context(), func(ctx context.Context) error {
			cur, err := lock(ctx)
			if err != nil {
				return err
			}
			v, err := strconv.Atoi(cur.Name)
			if err != nil {
				return err
			}
			cur.Name = strconv.Itoa(v + 1)
			return e.s.Organizations().Update(ctx, cur)
		})
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("transaction %d: %v", i, err)
		}
	}
	got, err := e.s.Organizations().Get(t.Context(), id)
	must(t, err)
	if got.Name != strconv.Itoa(n) {
		t.Errorf("counter = %s after %d locked increments, want %d", got.Name, n, n)
	}
}

func testOrgSetOwner(t *testing.T, e *env) {
	o := e.newOrg(t)
	r := e.newRole(t, o.ID, role.KindAdmin)
	m1 := e.newMember(t, o.ID, r.ID, activeFor(e.newUser(t)))
	m2 := e.newMember(t, o.ID, r.ID, activeFor(e.newUser(t)))
	orgs, members := e.s.Organizations(), e.s.Memberships()
	// owners checks the owner of o, and the Owner flag of the memberships.
	owners := func(what string, want string, memberships ...string) {
		t.Helper()
		got, err := orgs.Get(t.Context(), o.ID)
		must(t, err)
		if got.OwnerMembershipID != want {
			t.Errorf("%s: OwnerMembershipID = %q, want %q", what, got.OwnerMembershipID, want)
		}
		for _, m := range memberships {
			got, err := members.Get(t.Context(), m)
			must(t, err)
			if got.Owner != (m == want) {
				t.Errorf("%s: membership %s Owner = %v, want %v", what, m, got.Owner, m == want)
			}
		}
	}
	owners("new organization", "", m1.ID, m2.ID)
	must(t, orgs.SetOwner(t.Context(), o.ID, "", m1.ID))
	owners("after SetOwner to m1", m1.ID, m1.ID, m2.ID)

	wantIs(t, "SetOwner from no owner, when m1 owns", orgs.SetOwner(t.Context(), o.ID, "", m2.ID), fault.ErrLastOwner)
	wantIs(t, "SetOwner from stale m2", orgs.SetOwner(t.Context(), o.ID, m2.ID, m2.ID), fault.ErrLastOwner)
	owners("after stale SetOwner calls", m1.ID, m1.ID, m2.ID)

	wantIs(t, "Delete the owner's membership", members.Delete(t.Context(), m1.ID), fault.ErrLastOwner)
	owners("after refused Delete", m1.ID, m1.ID, m2.ID)

	must(t, orgs.SetOwner(t.Context(), o.ID, m1.ID, m2.ID))
	owners("after transfer to m2", m2.ID, m1.ID, m2.ID)
	must(t, members.Delete(t.Context(), m1.ID))
	wantIs(t, "Delete the new owner's membership", members.Delete(t.Context(), m2.ID), fault.ErrLastOwner)
	owners("after deleting the former owner", m2.ID, m2.ID)
}

// testOrgSetOwnerConcurrent: of n transfers from the same owner, one wins.
func testOrgSetOwnerConcurrent(t *testing.T, e *env) {
	tn := e.newTenant(t)
	const n = 10
	var ms []*membership.Membership
	for range n {
		ms = append(ms, e.newMember(t, tn.org.ID, tn.admin.ID, activeFor(e.newUser(t))))
	}
	errs := race(n, func(i int) error {
		return e.s.InTx(t.Context(), func(ctx context.Context) error {
			return e.s.Organizations().SetOwner(ctx, tn.org.ID, tn.om.ID, ms[i].ID)
		})
	})
	winner := ""
	for i, err := range errs {
		switch {
		case err == nil && winner != "":
			t.Errorf("transfers to %s and %s both succeeded", winner, ms[i].ID)
		case err == nil:
			winner = ms[i].ID
		default:
			wantIs(t, "losing transfer", err, fault.ErrLastOwner)
		}
	}
	got, err := e.s.Organizations().Get(t.Context(), tn.org.ID)
	must(t, err)
	if winner == "" || got.OwnerMembershipID != winner {
		t.Errorf("owner = %q, winner = %q", got.OwnerMembershipID, winner)
	}
}

func testOrgBumpPolicy(t *testing.T, e *env) {
	o := e.newOrg(t)
	before, err := e.s.Access().Revision(t.Context(), o.ID)
	must(t, err)
	must(t, e.s.Organizations().BumpPolicy(t.Context(), o.ID))
	after, err := e.s.Access().Revision(t.Context(), o.ID)
	must(t, err)
	if after == before || after == "" {
		t.Errorf("revision %q after BumpPolicy, was %q", after, before)
	}
	wantIs(t, "BumpPolicy of an unknown organization", e.s.Organizations().BumpPolicy(t.Context(), e.id()), fault.ErrNotFound)
}

func testOrgListForUser(t *testing.T, e *env) {
	u, other := e.newUser(t), e.newUser(t)
	var orgs []*organization.Organization
	for i := range 5 {
		o := e.newOrg(t)
		r := e.newRole(t, o.ID, role.KindAdmin)
		switch i {
		case 0, 1, 2:
			e.newMember(t, o.ID, r.ID, activeFor(u))
		case 3: // pending, though linked to the user: not listed
			e.newMember(t, o.ID, r.ID, activeFor(u), func(m *membership.Membership) { m.Status = membership.Pending })
		case 4:
			e.newMember(t, o.ID, r.ID, activeFor(other))
		}
		orgs = append(orgs, o)
	}
	a, b, c := orgs[0].ID, orgs[1].ID, orgs[2].ID
	tests := []struct {
		name     string
		giveUser string
		give     organization.Filter
		want     []string
		wantNext bool
	}{
		{"active memberships only", u.ID, organization.Filter{}, []string{a, b, c}, false},
		{"by name", u.ID, organization.Filter{Name: orgs[1].Name}, []string{b}, false},
		{"by slug", u.ID, organization.Filter{Slug: orgs[2].Slug}, []string{c}, false},
		{"name of a pending organization", u.ID, organization.Filter{Name: orgs[3].Name}, []string{}, false},
		{"first page", u.ID, organization.Filter{PageRequest: resource.PageRequest{Limit: 2}}, []string{a, b}, true},
		{"second page", u.ID, organization.Filter{PageRequest: resource.PageRequest{Limit: 2, After: resource.Cursor(b)}}, []string{c}, false},
		{"other user", other.ID, organization.Filter{}, []string{orgs[4].ID}, false},
		{"unknown user", e.id(), organization.Filter{}, []string{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := e.s.Organizations().ListForUser(t.Context(), tt.giveUser, tt.give)
			must(t, err)
			wantEqual(t, "ids", idsOf(p.Items, orgID), tt.want)
			if (p.Next != "") != tt.wantNext {
				t.Errorf("Next = %q, want a cursor: %v", p.Next, tt.wantNext)
			}
		})
	}
	full, err := e.s.Organizations().ListForUser(t.Context(), u.ID, organization.Filter{Slug: orgs[0].Slug})
	must(t, err)
	want, err := e.s.Organizations().Get(t.Context(), a)
	must(t, err)
	wantEqual(t, "listed organization", full.Items, []organization.Organization{*want})
}

// testOrgListForCredential: a credential's one organization, while the
// credential is not revoked, under the filter.
func testOrgListForCredential(t *testing.T, e *env) {
	tn, other := e.newTenant(t), e.newTenant(t)
	c := e.newCredential(t, tn.org.ID, tn.admin.ID)
	revoked := e.newCredential(t, other.org.ID, other.admin.ID)
	must(t, e.s.Credentials().Revoke(t.Context(), revoked.ID, t0))
	tests := []struct {
		name     string
		giveCred string
		give     organization.Filter
		want     []string
	}{
		{"its organization", c.ID, organization.Filter{}, []string{tn.org.ID}},
		{"by name", c.ID, organization.Filter{Name: tn.org.Name}, []string{tn.org.ID}},
		{"another name", c.ID, organization.Filter{Name: other.org.Name}, []string{}},
		{"by slug", c.ID, organization.Filter{Slug: tn.org.Slug}, []string{tn.org.ID}},
		{"after it", c.ID, organization.Filter{PageRequest: resource.PageRequest{After: resource.Cursor(tn.org.ID)}}, []string{}},
		{"revoked credential", revoked.ID, organization.Filter{}, []string{}},
		{"unknown credential", e.id(), organization.Filter{}, []string{}},
		{"a user's id", tn.owner.ID, organization.Filter{}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := e.s.Organizations().ListForCredential(t.Context(), tt.giveCred, tt.give)
			must(t, err)
			wantEqual(t, "ids", idsOf(p.Items, orgID), tt.want)
		})
	}
}

// testOrgSlugsWithPrefix: the taken slugs that start with the prefix, and
// no others; a prefix holding a LIKE wildcard or escape character matches
// itself only (no slug holds one), never every slug.
func testOrgSlugsWithPrefix(t *testing.T, e *env) {
	base := "s" + e.id()
	short := base[:len(base)-1]
	for _, slug := range []string{base, base + "-2", base + "-10", base + "-sales", base + "x", "x" + base, short, short + "-2"} {
		e.newOrg(t, func(o *organization.Organization) { o.Slug = slug })
	}
	tests := []struct {
		give string
		want []string
	}{
		{base, []string{base, base + "-10", base + "-2", base + "-sales", base + "x"}},
		{base + "-", []string{base + "-10", base + "-2", base + "-sales"}},
		{base + "-2", []string{base + "-2"}},
		{"nothing" + base, []string{}},
		{strings.ToUpper(base), []string{}},
		{short + "_", []string{}},
		{short + "%", []string{}},
		{"%", []string{}},
		{"_", []string{}},
		{base + `\`, []string{}},
	}
	for _, tt := range tests {
		got, err := e.s.Organizations().SlugsWithPrefix(t.Context(), tt.give)
		if err != nil {
			t.Errorf("SlugsWithPrefix(%q): %v", tt.give, err)
			continue
		}
		wantEqual(t, "SlugsWithPrefix("+tt.give+")", sortedCopy(append([]string{}, got...)), tt.want)
	}
}

func testUserRoundTrip(t *testing.T, e *env) {
	tests := []struct {
		name string
		give func(id string) user.User
	}{
		{"every field set, times not in UTC", func(id string) user.User {
			return user.User{ID: id, Email: id + "@example.com", FirstName: "Åda", LastName: "O'Lovelace", TimeZone: "Europe/Rome",
				OTPRequiredForLogin: true, EmailVerifiedAt: t0.Add(-time.Hour).In(zone), PendingEmail: "next-" + id + "@example.com",
				PendingEmailExpiresAt: t0.Add(time.Hour).In(zone), Common: resource.Common{Reference: "ext", ReferenceOrigin: "idp", Metadata: richMetadata(),
					CreatedAt: t0.In(zone), UpdatedAt: t0.Add(time.Second).In(zone)}}
		}},
		{"optional fields empty", func(id string) user.User {
			return user.User{ID: id, Email: id + "@example.com", Common: common()}
		}},
		{"empty metadata object", func(id string) user.User {
			return user.User{ID: id, Email: id + "@example.com", Common: resource.Common{Metadata: resource.Metadata{}, CreatedAt: t0, UpdatedAt: t0}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			give := tt.give(e.id())
			in := give
			must(t, e.s.Users().Create(t.Context(), &in))
			want := give
			want.Common = utcCommon(give.Common)
			want.EmailVerifiedAt, want.PendingEmailExpiresAt = utcOrZero(give.EmailVerifiedAt), utcOrZero(give.PendingEmailExpiresAt)
			got, err := e.s.Users().Get(t.Context(), give.ID)
			must(t, err)
			wantEqual(t, "Get", *got, want)
		})
	}
}

// testUserTimePrecision: times are kept to the microsecond, in UTC; finer
// digits are dropped the same way on every backend.
func testUserTimePrecision(t *testing.T, e *env) {
	whole := t0.Truncate(time.Second)
	tests := []struct {
		give, want time.Time
	}{
		{t0, t0},
		{t0.In(zone), t0},
		{whole, whole},
		{t0.Add(789 * time.Nanosecond), t0},
		{t0.Add(999 * time.Nanosecond), t0},
		{whole.Add(time.Microsecond), whole.Add(time.Microsecond)},
		{time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC), time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC)},
	}
	for _, tt := range tests {
		u := e.newUser(t, func(u *user.User) { u.CreatedAt, u.UpdatedAt = tt.give, tt.give })
		got, err := e.s.Users().Get(t.Context(), u.ID)
		must(t, err)
		if got.CreatedAt != tt.want || got.UpdatedAt != tt.want {
			t.Errorf("stored %v, read %v and %v; want %v", tt.give, got.CreatedAt, got.UpdatedAt, tt.want)
		}
	}
}

func testUserGetByEmail(t *testing.T, e *env) {
	u := e.newUser(t)
	got, err := e.s.Users().GetByEmail(t.Context(), u.Email)
	must(t, err)
	wantEqual(t, "GetByEmail", *got, *u)
	_, err = e.s.Users().GetByEmail(t.Context(), "nobody-"+u.Email)
	wantIs(t, "GetByEmail of an unknown email", err, fault.ErrNotFound)
	_, err = e.s.Users().GetByEmail(t.Context(), "")
	wantIs(t, "GetByEmail of an empty email", err, fault.ErrNotFound)
}

func testUserEmailTaken(t *testing.T, e *env) {
	a, b := e.newUser(t), e.newUser(t)
	dup := user.User{ID: e.id(), Email: a.Email, Common: common()}
	wantTaken(t, "Create with a taken email", e.s.Users().Create(t.Context(), &dup), "email")
	_, err := e.s.Users().Get(t.Context(), dup.ID)
	wantIs(t, "Get of the refused user", err, fault.ErrNotFound)

	wantTaken(t, "SetEmail to a taken email", e.s.Users().SetEmail(t.Context(), b.ID, a.Email, t0), "email")
	got, err := e.s.Users().Get(t.Context(), b.ID)
	must(t, err)
	wantEqual(t, "user after the refused SetEmail", *got, *b)
}

// testUserUpdate: Update writes the user's own fields, never the address,
// its verification or a pending change of it.
func testUserUpdate(t *testing.T, e *env) {
	u := e.newUser(t, func(u *user.User) { u.Reference, u.Metadata, u.TimeZone = "r", resource.Metadata{"a": "b"}, "UTC" })
	give := *u
	give.Email, give.FirstName, give.LastName, give.TimeZone = "new-"+u.Email, "New", "", "Asia/Tokyo"
	give.OTPRequiredForLogin, give.Reference, give.ReferenceOrigin, give.Metadata = true, "", "o", richMetadata()
	give.EmailVerifiedAt, give.PendingEmail, give.PendingEmailExpiresAt = t0, "pending-"+u.Email, t0 // not Update's
	give.UpdatedAt = t0.Add(time.Minute).In(zone)
	give.CreatedAt = t0.Add(-time.Minute) // read-only
	must(t, e.s.Users().Update(t.Context(), &give))
	want := give
	want.CreatedAt, want.UpdatedAt = u.CreatedAt, give.UpdatedAt.UTC()
	want.Email, want.EmailVerifiedAt, want.PendingEmail, want.PendingEmailExpiresAt = u.Email, time.Time{}, "", time.Time{}
	got, err := e.s.Users().Get(t.Context(), u.ID)
	must(t, err)
	wantEqual(t, "Get after Update", *got, want)
	_, err = e.s.Users().GetByEmail(t.Context(), give.Email)
	wantIs(t, "GetByEmail of the address Update did not write", err, fault.ErrNotFound)
}

// testUserEmailChange: a pending change is recorded, replaced and cleared
// with the hash of its code; SetEmail makes an address the user's,
// verified, and clears the pending change.
func testUserEmailChange(t *testing.T, e *env) {
	ctx := t.Context()
	u, other := e.newUser(t), e.newUser(t)
	hash, err := e.s.Users().PendingEmailCodeHash(ctx, u.ID)
	if err != nil || hash != nil {
		t.Fatalf("PendingEmailCodeHash without a change = %x, %v; want nil, nil", hash, err)
	}
	first, second := e.hash(), e.hash()
	must(t, e.s.Users().SetPendingEmail(ctx, u.ID, "first-"+u.Email, first, t0.Add(time.Hour).In(zone)))
	must(t, e.s.Users().SetPendingEmail(ctx, u.ID, "second-"+u.Email, second, t0.Add(2*time.Hour)))
	got, err := e.s.Users().Get(ctx, u.ID)
	must(t, err)
	want := *u
	want.PendingEmail, want.PendingEmailExpiresAt = "second-"+u.Email, t0.Add(2*time.Hour)
	wantEqual(t, "user with a pending change", *got, want)
	hash, err = e.s.Users().PendingEmailCodeHash(ctx, u.ID)
	must(t, err)
	wantEqual(t, "PendingEmailCodeHash", hash, second)
	_, err = e.s.Users().GetByEmail(ctx, "second-"+u.Email)
	wantIs(t, "GetByEmail of the pending address", err, fault.ErrNotFound)

	// A pending change of another user is left alone, cleared by "".
	must(t, e.s.Users().SetPendingEmail(ctx, other.ID, "x-"+other.Email, first, t0))
	must(t, e.s.Users().SetPendingEmail(ctx, other.ID, "", nil, time.Time{}))
	got, err = e.s.Users().Get(ctx, other.ID)
	must(t, err)
	wantEqual(t, "user with the pending change cleared", *got, *other)
	hash, err = e.s.Users().PendingEmailCodeHash(ctx, other.ID)
	if err != nil || hash != nil {
		t.Errorf("PendingEmailCodeHash after clearing = %x, %v; want nil, nil", hash, err)
	}

	must(t, e.s.Users().SetEmail(ctx, u.ID, "second-"+u.Email, t0.Add(time.Minute).In(zone)))
	got, err = e.s.Users().GetByEmail(ctx, "second-"+u.Email)
	must(t, err)
	want = *u
	want.Email, want.EmailVerifiedAt = "second-"+u.Email, t0.Add(time.Minute)
	wantEqual(t, "user after SetEmail", *got, want)
	hash, err = e.s.Users().PendingEmailCodeHash(ctx, u.ID)
	if err != nil || hash != nil {
		t.Errorf("PendingEmailCodeHash after SetEmail = %x, %v; want nil, nil", hash, err)
	}

	missing := e.id()
	wantIs(t, "SetEmail of an unknown user", e.s.Users().SetEmail(ctx, missing, "m@example.com", t0), fault.ErrNotFound)
	wantIs(t, "SetPendingEmail of an unknown user", e.s.Users().SetPendingEmail(ctx, missing, "m@example.com", first, t0), fault.ErrNotFound)
	_, err = e.s.Users().PendingEmailCodeHash(ctx, missing)
	wantIs(t, "PendingEmailCodeHash of an unknown user", err, fault.ErrNotFound)
}

// testUserMetadataNUL: a metadata string holding U+0000 is valid JSON and
// passes resource.CheckMetadata; every backend must store it.
// testUserMetadataNUL: control characters round-trip; a NUL, which
// PostgreSQL's jsonb cannot hold, is refused as invalid on every backend and
// nothing is stored.
func testUserMetadataNUL(t *testing.T, e *env) {
	id := e.id()
	give := user.User{ID: id, Email: id + "@example.com", Common: resource.Common{
		Metadata: resource.Metadata{"ctl": "tab\tline\nbell\a"}, CreatedAt: t0, UpdatedAt: t0}}
	in := give
	must(t, e.s.Users().Create(t.Context(), &in))
	got, err := e.s.Users().Get(t.Context(), id)
	must(t, err)
	wantEqual(t, "Get", *got, give)

	nul := e.id()
	bad := user.User{ID: nul, Email: nul + "@example.com", Common: resource.Common{
		Metadata: resource.Metadata{"deep": map[string]any{"nul": "a\x00b"}}, CreatedAt: t0, UpdatedAt: t0}}
	if err := e.s.Users().Create(t.Context(), &bad); !errors.Is(err, fault.ErrInvalid) {
		t.Errorf("Create with a NUL in metadata: %v, want fault.ErrInvalid", err)
	}
	if _, err := e.s.Users().Get(t.Context(), nul); !errors.Is(err, fault.ErrNotFound) {
		t.Errorf("Get after the refused Create: %v, want fault.ErrNotFound", err)
	}
}

// keyPairs are keys a store must keep apart: callers store canonical
// emails, but the store compares bytes, on every backend.
func keyPairs(id string) []struct{ name, stored, probe string } {
	return []struct{ name, stored, probe string }{
		{"upper case", "k" + id + "@b.co", "K" + id + "@b.co"},
		{"trailing space", "t" + id + "@b.co", "t" + id + "@b.co "},
		{"leading space", "l" + id + "@b.co", " l" + id + "@b.co"},
		{"NFC and NFD", "\u00e9" + id + "@b.co", "e\u0301" + id + "@b.co"},
	}
}

func testKeyUserEmail(t *testing.T, e *env) {
	for _, tt := range keyPairs(e.id()) {
		t.Run(tt.name, func(t *testing.T) {
			stored := e.newUser(t, func(u *user.User) { u.Email = tt.stored })
			_, err := e.s.Users().GetByEmail(t.Context(), tt.probe)
			wantIs(t, "GetByEmail of the probe before it exists", err, fault.ErrNotFound)
			probe := user.User{ID: e.id(), Email: tt.probe, Common: common()}
			if err := e.s.Users().Create(t.Context(), &probe); err != nil {
				t.Fatalf("Create %q beside %q: %v", tt.probe, tt.stored, err)
			}
			for _, u := range []*user.User{stored, &probe} {
				got, err := e.s.Users().GetByEmail(t.Context(), u.Email)
				must(t, err)
				if got.ID != u.ID || got.Email != u.Email {
					t.Errorf("GetByEmail(%q) = %s %q, want %s", u.Email, got.ID, got.Email, u.ID)
				}
			}
		})
	}
}

func testKeyMembershipEmail(t *testing.T, e *env) {
	tn := e.newTenant(t)
	for _, tt := range keyPairs(e.id()) {
		t.Run(tt.name, func(t *testing.T) {
			stored := e.newMember(t, tn.org.ID, tn.admin.ID, func(m *membership.Membership) { m.UserEmail = tt.stored })
			_, err := e.s.Memberships().GetByEmail(t.Context(), tn.org.ID, tt.probe)
			wantIs(t, "GetByEmail of the probe before it exists", err, fault.ErrNotFound)
			probe := e.member(tn.org.ID, tn.admin.ID, func(m *membership.Membership) { m.UserEmail = tt.probe })
			if err := e.s.Memberships().Create(t.Context(), probe, nil); err != nil {
				t.Fatalf("Create %q beside %q: %v", tt.probe, tt.stored, err)
			}
			for _, m := range []*membership.Membership{stored, probe} {
				got, err := e.s.Memberships().GetByEmail(t.Context(), tn.org.ID, m.UserEmail)
				must(t, err)
				if got.ID != m.ID {
					t.Errorf("GetByEmail(%q) = %s, want %s", m.UserEmail, got.ID, m.ID)
				}
				p, err := e.s.Memberships().List(t.Context(), membership.Filter{OrganizationID: tn.org.ID, UserEmail: m.UserEmail})
				must(t, err)
				wantEqual(t, "List by UserEmail "+strconv.Quote(m.UserEmail), idsOf(p.Items, memberID), []string{m.ID})
				pending, err := e.s.Memberships().PendingForEmail(t.Context(), m.UserEmail)
				must(t, err)
				wantEqual(t, "PendingForEmail "+strconv.Quote(m.UserEmail), idsOf(pending, memberID), []string{m.ID})
			}
		})
	}
}

// testKeyFilters: exact filters and id lookups do not match a value with a
// trailing space, nor one in another case.
func testKeyFilters(t *testing.T, e *env) {
	tn := e.newTenant(t)
	pr := e.newProfile(t, tn.org.ID, "live_access")
	ctx := t.Context()
	tests := []struct {
		name string
		give func() (int, error) // how many rows match
	}{
		{"organization name", func() (int, error) {
			p, err := e.s.Organizations().ListForUser(ctx, tn.owner.ID, organization.Filter{Name: tn.org.Name + " "})
			return len(p.Items), err
		}},
		{"organization slug", func() (int, error) {
			p, err := e.s.Organizations().ListForUser(ctx, tn.owner.ID, organization.Filter{Slug: tn.org.Slug + " "})
			return len(p.Items), err
		}},
		{"user id of ListForUser", func() (int, error) {
			p, err := e.s.Organizations().ListForUser(ctx, tn.owner.ID+" ", organization.Filter{})
			return len(p.Items), err
		}},
		{"user id of GetByUser", func() (int, error) {
			_, err := e.s.Memberships().GetByUser(ctx, tn.org.ID, tn.owner.ID+" ")
			return notFoundCount(err)
		}},
		{"organization id of GetByEmail", func() (int, error) {
			_, err := e.s.Memberships().GetByEmail(ctx, tn.org.ID+" ", tn.owner.Email)
			return notFoundCount(err)
		}},
		{"role name", func() (int, error) {
			p, err := e.s.Roles().ListRoles(ctx, role.Filter{OrganizationID: tn.org.ID, Name: tn.admin.Name + " "})
			return len(p.Items), err
		}},
		{"role name in upper case", func() (int, error) {
			p, err := e.s.Roles().ListRoles(ctx, role.Filter{OrganizationID: tn.org.ID, Name: strings.ToUpper(tn.admin.Name)})
			return len(p.Items), err
		}},
		{"profile name", func() (int, error) {
			p, err := e.s.Profiles().List(ctx, profileFilter(tn.org.ID, pr.Name+" "))
			return len(p.Items), err
		}},
		{"membership status", func() (int, error) {
			p, err := e.s.Memberships().List(ctx, membership.Filter{OrganizationID: tn.org.ID, Status: "active "})
			return len(p.Items), err
		}},
	}
	for _, tt := range tests {
		n, err := tt.give()
		if err != nil || n != 0 {
			t.Errorf("%s: %d rows match, error %v; want 0", tt.name, n, err)
		}
	}
}

// notFoundCount turns the error of a Get into a row count.
func notFoundCount(err error) (int, error) {
	switch {
	case err == nil:
		return 1, nil
	case fault.KindOf(err) == fault.NotFound:
		return 0, nil
	}
	return 0, err
}

// testNotFound: Get of unknown and malformed ids is fault.ErrNotFound, for
// every resource, including an existing id with a trailing space or in
// upper case.
func testNotFound(t *testing.T, e *env) {
	tn := e.newTenant(t)
	pr := e.newProfile(t, tn.org.ID, "all_access")
	perm := e.newPermission(t, tn.admin, "skus")
	v := e.newVersion(t, tn.org.ID, nil)
	getters := []struct {
		name     string
		existing string
		get      func(ctx context.Context, id string) error
	}{
		{"organization.Get", tn.org.ID, func(ctx context.Context, id string) error {
			_, err := e.s.Organizations().Get(ctx, id)
			return err
		}},
		{"organization.Lock", tn.org.ID, func(ctx context.Context, id string) error {
			return e.s.InTx(ctx, func(ctx context.Context) error {
				_, err := e.s.Organizations().Lock(ctx, id)
				return err
			})
		}},
		{"user.Get", tn.owner.ID, func(ctx context.Context, id string) error {
			_, err := e.s.Users().Get(ctx, id)
			return err
		}},
		{"membership.Get", tn.om.ID, func(ctx context.Context, id string) error {
			_, err := e.s.Memberships().Get(ctx, id)
			return err
		}},
		{"profile.Get", pr.ID, func(ctx context.Context, id string) error {
			_, err := e.s.Profiles().Get(ctx, id)
			return err
		}},
		{"role.GetRole", tn.admin.ID, func(ctx context.Context, id string) error {
			_, err := e.s.Roles().GetRole(ctx, id)
			return err
		}},
		{"role.GetPermission", perm.ID, func(ctx context.Context, id string) error {
			_, err := e.s.Roles().GetPermission(ctx, id)
			return err
		}},
		{"role.RoleOfKind", tn.org.ID, func(ctx context.Context, id string) error {
			_, err := e.s.Roles().RoleOfKind(ctx, id, role.KindAdmin)
			return err
		}},
		{"audit.Get", v.ID, func(ctx context.Context, id string) error {
			_, err := e.s.Versions().Get(ctx, id)
			return err
		}},
		{"access.Revision", tn.org.ID, func(ctx context.Context, id string) error {
			_, err := e.s.Access().Revision(ctx, id)
			return err
		}},
		{"access.Snapshot", tn.org.ID, func(ctx context.Context, id string) error {
			_, err := e.s.Access().Snapshot(ctx, id)
			return err
		}},
	}
	for _, g := range getters {
		t.Run(g.name, func(t *testing.T) {
			must(t, g.get(t.Context(), g.existing))
			ids := []struct{ name, give string }{
				{"unknown", e.id()},
				{"empty", ""},
				{"capitals", strings.ToUpper(g.existing)},
				{"trailing space", g.existing + " "},
				{"too long", g.existing + strings.Repeat("a", 65-len(g.existing))},
				{"quote", "x' OR '1'='1"},
			}
			for _, id := range ids {
				wantIs(t, g.name+" of "+id.name+" id "+strconv.Quote(id.give), g.get(t.Context(), id.give), fault.ErrNotFound)
			}
		})
	}
}

// testNotFoundOnWrite: Update and Delete of an unknown id are fault.ErrNotFound.
func testNotFoundOnWrite(t *testing.T, e *env) {
	ctx := t.Context()
	tn := e.newTenant(t)
	id := e.id()
	tests := []struct {
		name string
		give func() error
	}{
		{"organization.Update", func() error {
			o := *tn.org
			o.ID = id
			return e.s.Organizations().Update(ctx, &o)
		}},
		{"user.Update", func() error {
			u := *tn.owner
			u.ID, u.Email = id, id+"@example.com"
			return e.s.Users().Update(ctx, &u)
		}},
		{"membership.Update", func() error {
			m := *tn.om
			m.ID = id
			return e.s.Memberships().Update(ctx, &m)
		}},
		{"membership.Delete", func() error { return e.s.Memberships().Delete(ctx, id) }},
		{"profile.Update", func() error {
			return e.s.Profiles().Update(ctx, e.profileValue(id, tn.org.ID))
		}},
		{"profile.Delete", func() error { return e.s.Profiles().Delete(ctx, id) }},
		{"role.UpdateRole", func() error {
			r := *tn.admin
			r.ID = id
			return e.s.Roles().UpdateRole(ctx, &r)
		}},
		{"role.UpdatePermission", func() error {
			p := role.Permission{ID: id, OrganizationID: tn.org.ID, RoleID: tn.admin.ID, Subject: "skus", Common: common()}
			return e.s.Roles().UpdatePermission(ctx, &p)
		}},
		{"organization.BumpPolicy", func() error { return e.s.Organizations().BumpPolicy(ctx, id) }},
	}
	for _, tt := range tests {
		wantIs(t, tt.name, tt.give(), fault.ErrNotFound)
	}
}

// testUpdateWithoutChange: an Update that writes the values the row already
// holds succeeds (it is not "not found").
func testUpdateWithoutChange(t *testing.T, e *env) {
	ctx := t.Context()
	tn := e.newTenant(t)
	pr := e.newProfile(t, tn.org.ID, "test_access")
	perm := e.newPermission(t, tn.admin, "orders")
	tests := []struct {
		name string
		give func() error
	}{
		{"organization.Update", func() error { return e.s.Organizations().Update(ctx, tn.org) }},
		{"user.Update", func() error { return e.s.Users().Update(ctx, tn.owner) }},
		{"membership.Update", func() error { return e.s.Memberships().Update(ctx, tn.om) }},
		{"profile.Update", func() error { return e.s.Profiles().Update(ctx, pr) }},
		{"role.UpdateRole", func() error { return e.s.Roles().UpdateRole(ctx, tn.admin) }},
		{"role.UpdatePermission", func() error { return e.s.Roles().UpdatePermission(ctx, perm) }},
	}
	for _, tt := range tests {
		if err := tt.give(); err != nil {
			t.Errorf("%s with unchanged values: %v", tt.name, err)
		}
	}
}
