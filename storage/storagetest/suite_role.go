package storagetest

import (
	"cmp"
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/user"
)

func testRoleRoundTrip(t *testing.T, e *env) {
	tn := e.newTenant(t)
	tests := []struct {
		name string
		give func(id string) role.Role
	}{
		{"admin, every field set", func(id string) role.Role {
			return role.Role{ID: id, OrganizationID: tn.org.ID, Name: "Administrators ✓ 🎉", Kind: role.KindAdmin,
				Common: resource.Common{Reference: "r", ReferenceOrigin: "o", Metadata: richMetadata(), CreatedAt: t0.In(zone), UpdatedAt: t0.In(zone)}}
		}},
		{"read only", func(id string) role.Role {
			return role.Role{ID: id, OrganizationID: tn.org.ID, Name: role.ReadOnlyName, Kind: role.KindReadOnly, Common: common()}
		}},
		{"custom", func(id string) role.Role {
			return role.Role{ID: id, OrganizationID: tn.org.ID, Name: "Custom", Kind: role.KindCustom, Common: common()}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			give := tt.give(e.id())
			in := give
			must(t, e.s.Roles().CreateRole(t.Context(), &in))
			want := give
			want.Common = utcCommon(give.Common)
			got, err := e.s.Roles().GetRole(t.Context(), give.ID)
			must(t, err)
			wantEqual(t, "GetRole", *got, want)
		})
	}
}

func testRoleUpdate(t *testing.T, e *env) {
	tn, other := e.newTenant(t), e.newTenant(t)
	r := e.newRole(t, tn.org.ID, role.KindCustom, func(r *role.Role) { r.Reference, r.Metadata = "r", resource.Metadata{"a": "b"} })
	give := *r
	give.Name, give.Reference, give.ReferenceOrigin, give.Metadata, give.UpdatedAt = "Renamed", "", "o", richMetadata(), t0.Add(time.Hour).In(zone)
	give.Kind, give.OrganizationID, give.CreatedAt = role.KindAdmin, other.org.ID, t0.Add(-time.Hour) // read-only
	must(t, e.s.Roles().UpdateRole(t.Context(), &give))
	want := give
	want.Kind, want.OrganizationID, want.CreatedAt, want.UpdatedAt = r.Kind, r.OrganizationID, r.CreatedAt, give.UpdatedAt.UTC()
	got, err := e.s.Roles().GetRole(t.Context(), r.ID)
	must(t, err)
	wantEqual(t, "GetRole after UpdateRole", *got, want)
}

func testRoleList(t *testing.T, e *env) {
	tn, other := e.newTenant(t), e.newTenant(t)
	ro := e.newRole(t, tn.org.ID, role.KindReadOnly)
	c1 := e.newRole(t, tn.org.ID, role.KindCustom, func(r *role.Role) { r.Name = "Shared" })
	c2 := e.newRole(t, tn.org.ID, role.KindCustom)
	e.newRole(t, other.org.ID, role.KindCustom, func(r *role.Role) { r.Name = "Shared" })
	all := []string{tn.admin.ID, ro.ID, c1.ID, c2.ID}
	tests := []struct {
		name string
		give role.Filter
		want []string
	}{
		{"none", role.Filter{OrganizationID: tn.org.ID}, all},
		{"custom", role.Filter{OrganizationID: tn.org.ID, Kind: role.KindCustom}, []string{c1.ID, c2.ID}},
		{"admin", role.Filter{OrganizationID: tn.org.ID, Kind: role.KindAdmin}, []string{tn.admin.ID}},
		{"name", role.Filter{OrganizationID: tn.org.ID, Name: "Shared"}, []string{c1.ID}},
		{"kind and name", role.Filter{OrganizationID: tn.org.ID, Kind: role.KindReadOnly, Name: "Shared"}, []string{}},
		{"unknown organization", role.Filter{OrganizationID: e.id()}, []string{}},
	}
	for _, tt := range tests {
		p, err := e.s.Roles().ListRoles(t.Context(), tt.give)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		wantEqual(t, tt.name, idsOf(p.Items, roleID), tt.want)
	}
	ids, sizes := walk(t, 3, func(r resource.PageRequest) (resource.Page[role.Role], error) {
		return e.s.Roles().ListRoles(t.Context(), role.Filter{OrganizationID: tn.org.ID, PageRequest: r})
	}, roleID)
	wantEqual(t, "paged ids", ids, all)
	wantEqual(t, "page sizes", sizes, []int{3, 1})
	got, err := e.s.Roles().ListRoles(t.Context(), role.Filter{OrganizationID: tn.org.ID, Name: "Shared"})
	must(t, err)
	wantEqual(t, "listed role", got.Items, []role.Role{*c1})
}

func testRoleOfKind(t *testing.T, e *env) {
	tn, empty := e.newTenant(t), e.newOrg(t)
	ro := e.newRole(t, tn.org.ID, role.KindReadOnly)
	e.newRole(t, tn.org.ID, role.KindAdmin) // a second admin role: the first one is the built-in
	found := []struct {
		giveKind role.Kind
		want     *role.Role
	}{
		{role.KindAdmin, tn.admin},
		{role.KindReadOnly, ro},
	}
	for _, tt := range found {
		got, err := e.s.Roles().RoleOfKind(t.Context(), tn.org.ID, tt.giveKind)
		must(t, err)
		wantEqual(t, "RoleOfKind "+string(tt.giveKind), *got, *tt.want)
	}
	missing := []struct {
		giveOrg  string
		giveKind role.Kind
	}{
		{tn.org.ID, role.KindCustom},
		{empty.ID, role.KindAdmin},
		{e.id(), role.KindAdmin},
	}
	for _, tt := range missing {
		_, err := e.s.Roles().RoleOfKind(t.Context(), tt.giveOrg, tt.giveKind)
		wantIs(t, "RoleOfKind "+string(tt.giveKind)+" of "+tt.giveOrg, err, fault.ErrNotFound)
	}
}

func testPermissionRoundTrip(t *testing.T, e *env) {
	tn := e.newTenant(t)
	r := e.newRole(t, tn.org.ID, role.KindCustom)
	tests := []struct {
		name string
		give func(id string) role.Permission
	}{
		{"every flag, restrictions, times not in UTC", func(id string) role.Permission {
			return role.Permission{ID: id, OrganizationID: tn.org.ID, RoleID: r.ID, Subject: "orders",
				CanCreate: true, CanRead: true, CanUpdate: true, CanDestroy: true,
				Restrictions: map[string]any{"market_ids": []any{"a", "b"}, "nested": map[string]any{"n": float64(1)}},
				Common:       resource.Common{Reference: "r", ReferenceOrigin: "o", Metadata: richMetadata(), CreatedAt: t0.In(zone), UpdatedAt: t0.In(zone)}}
		}},
		{"no flag, no restrictions", func(id string) role.Permission {
			return role.Permission{ID: id, OrganizationID: tn.org.ID, RoleID: r.ID, Subject: "skus", Common: common()}
		}},
		{"mixed flags", func(id string) role.Permission {
			return role.Permission{ID: id, OrganizationID: tn.org.ID, RoleID: r.ID, Subject: "prices", CanRead: true, CanDestroy: true,
				Restrictions: map[string]any{}, Common: common()}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			give := tt.give(e.id())
			in := give
			must(t, e.s.Roles().CreatePermission(t.Context(), &in))
			want := give
			want.Common = utcCommon(give.Common)
			got, err := e.s.Roles().GetPermission(t.Context(), give.ID)
			must(t, err)
			wantEqual(t, "GetPermission", *got, want)
		})
	}
}

func testPermissionTaken(t *testing.T, e *env) {
	tn := e.newTenant(t)
	r1, r2 := e.newRole(t, tn.org.ID, role.KindCustom), e.newRole(t, tn.org.ID, role.KindCustom)
	e.newPermission(t, r1, "orders")
	dup := role.Permission{ID: e.id(), OrganizationID: tn.org.ID, RoleID: r1.ID, Subject: "orders", CanCreate: true, Common: common()}
	wantTaken(t, "CreatePermission of a taken (role, subject)", e.s.Roles().CreatePermission(t.Context(), &dup), "subject")
	_, err := e.s.Roles().GetPermission(t.Context(), dup.ID)
	wantIs(t, "GetPermission of the refused permission", err, fault.ErrNotFound)
	e.newPermission(t, r2, "orders") // same subject, other role
	e.newPermission(t, r1, "skus")   // same role, other subject
}

func testPermissionUpdate(t *testing.T, e *env) {
	tn := e.newTenant(t)
	r, other := e.newRole(t, tn.org.ID, role.KindCustom), e.newRole(t, tn.org.ID, role.KindCustom)
	p := e.newPermission(t, r, "orders", func(p *role.Permission) {
		p.CanCreate, p.Restrictions, p.Reference = true, map[string]any{"a": "b"}, "r"
	})
	give := *p
	give.CanCreate, give.CanRead, give.CanUpdate, give.CanDestroy = false, false, true, true
	give.Reference, give.ReferenceOrigin, give.Metadata, give.UpdatedAt = "", "o", richMetadata(), t0.Add(time.Hour).In(zone)
	// Immutable: subject, role, organization, restrictions, creation time.
	give.Subject, give.RoleID, give.OrganizationID = "skus", other.ID, e.id()
	give.Restrictions, give.CreatedAt = map[string]any{"changed": true}, t0.Add(-time.Hour)
	must(t, e.s.Roles().UpdatePermission(t.Context(), &give))
	want := give
	want.Subject, want.RoleID, want.OrganizationID, want.Restrictions = p.Subject, p.RoleID, p.OrganizationID, p.Restrictions
	want.CreatedAt, want.UpdatedAt = p.CreatedAt, give.UpdatedAt.UTC()
	got, err := e.s.Roles().GetPermission(t.Context(), p.ID)
	must(t, err)
	wantEqual(t, "GetPermission after UpdatePermission", *got, want)
}

func testPermissionList(t *testing.T, e *env) {
	tn, other := e.newTenant(t), e.newTenant(t)
	r1, r2 := e.newRole(t, tn.org.ID, role.KindCustom), e.newRole(t, tn.org.ID, role.KindCustom)
	p1, p2 := e.newPermission(t, r1, "orders"), e.newPermission(t, r1, "skus")
	p3 := e.newPermission(t, r2, "orders")
	e.newPermission(t, e.newRole(t, other.org.ID, role.KindCustom), "orders")
	tests := []struct {
		name string
		give role.PermissionFilter
		want []string
	}{
		{"none", role.PermissionFilter{OrganizationID: tn.org.ID}, []string{p1.ID, p2.ID, p3.ID}},
		{"role", role.PermissionFilter{OrganizationID: tn.org.ID, RoleID: r1.ID}, []string{p1.ID, p2.ID}},
		{"subject", role.PermissionFilter{OrganizationID: tn.org.ID, Subject: "orders"}, []string{p1.ID, p3.ID}},
		{"role and subject", role.PermissionFilter{OrganizationID: tn.org.ID, RoleID: r2.ID, Subject: "orders"}, []string{p3.ID}},
		{"unknown subject", role.PermissionFilter{OrganizationID: tn.org.ID, Subject: "nothing"}, []string{}},
		{"role of another organization", role.PermissionFilter{OrganizationID: other.org.ID, RoleID: r1.ID}, []string{}},
	}
	for _, tt := range tests {
		p, err := e.s.Roles().ListPermissions(t.Context(), tt.give)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		wantEqual(t, tt.name, idsOf(p.Items, permissionID), tt.want)
	}
	ids, sizes := walk(t, 1, func(r resource.PageRequest) (resource.Page[role.Permission], error) {
		return e.s.Roles().ListPermissions(t.Context(), role.PermissionFilter{OrganizationID: tn.org.ID, PageRequest: r})
	}, permissionID)
	wantEqual(t, "paged ids", ids, []string{p1.ID, p2.ID, p3.ID})
	wantEqual(t, "page sizes", sizes, []int{1, 1, 1})
	got, err := e.s.Roles().ListPermissions(t.Context(), role.PermissionFilter{OrganizationID: tn.org.ID, RoleID: r2.ID})
	must(t, err)
	wantEqual(t, "listed permission", got.Items, []role.Permission{*p3})
}

func testPermissionSubjects(t *testing.T, e *env) {
	tn := e.newTenant(t)
	r, bare := e.newRole(t, tn.org.ID, role.KindCustom), e.newRole(t, tn.org.ID, role.KindCustom)
	for _, s := range []string{"skus", "orders", "prices"} {
		e.newPermission(t, r, s)
	}
	e.newPermission(t, tn.admin, "customers")
	got, err := e.s.Roles().PermissionSubjects(t.Context(), r.ID)
	must(t, err)
	wantEqual(t, "PermissionSubjects", sortedCopy(got), []string{"orders", "prices", "skus"})
	got, err = e.s.Roles().PermissionSubjects(t.Context(), bare.ID)
	must(t, err)
	if len(got) != 0 {
		t.Errorf("PermissionSubjects of a role without permissions = %v", got)
	}
}

// newVersion appends a version of orgID, changed by mods.
func (e *env) newVersion(tb testing.TB, orgID string, mods ...func(*audit.Version)) *audit.Version {
	tb.Helper()
	v := &audit.Version{ID: e.id(), OrganizationID: orgID, ResourceType: "memberships", ResourceID: e.id(), Event: audit.Update,
		Changes: resource.Changes{"role_id": {"a", "b"}}, Who: audit.Who{Type: "user", ID: e.id()}, Common: common()}
	for _, m := range mods {
		if m != nil {
			m(v)
		}
	}
	must(tb, e.s.Versions().Append(tb.Context(), v))
	return v
}

func testVersionRoundTrip(t *testing.T, e *env) {
	tn := e.newTenant(t)
	tests := []struct {
		name string
		give func(id string) audit.Version
	}{
		{"every kind of change value", func(id string) audit.Version {
			return audit.Version{ID: id, OrganizationID: tn.org.ID, ResourceType: "organizations", ResourceID: tn.org.ID,
				Event: audit.TransferOwnership, Changes: resource.Changes{
					"name":       {"Old", "New ✓"},
					"reference":  {nil, "ref"},
					"gtm_id":     {"GTM-1", nil},
					"can_read":   {false, true},
					"count":      {float64(1), 2.5},
					"metadata":   {nil, map[string]any{"a": []any{"x", float64(1), nil}}},
					"both_nulls": {nil, nil},
				}, Who: audit.Who{Type: "credential", ID: "cred1"}, RequestID: "req-123",
				Common: resource.Common{Reference: "r", ReferenceOrigin: "o", Metadata: richMetadata(), CreatedAt: t0.In(zone), UpdatedAt: t0.In(zone)}}
		}},
		{"no organization, no changes", func(id string) audit.Version {
			return audit.Version{ID: id, ResourceType: "users", ResourceID: tn.owner.ID, Event: audit.Create,
				Changes: resource.Changes{}, Who: audit.Who{Type: "system", ID: "provisioning"}, Common: common()}
		}},
	}
	for _, tt := range tests {
		for _, inTx := range []bool{false, true} {
			t.Run(tt.name+map[bool]string{true: "/in a transaction"}[inTx], func(t *testing.T) {
				give := tt.give(e.id())
				if inTx {
					give.ResourceID = e.id() // so that List finds this run's version alone
				}
				in := give
				if inTx {
					must(t, e.s.InTx(t.Context(), func(ctx context.Context) error { return e.s.Versions().Append(ctx, &in) }))
				} else {
					must(t, e.s.Versions().Append(t.Context(), &in))
				}
				want := give
				want.Common = utcCommon(give.Common)
				got, err := e.s.Versions().Get(t.Context(), give.ID)
				must(t, err)
				wantEqual(t, "Get", *got, want)
				if give.OrganizationID == "" {
					return
				}
				p, err := e.s.Versions().List(t.Context(), audit.Filter{OrganizationID: give.OrganizationID, ResourceID: give.ResourceID, Event: give.Event})
				must(t, err)
				wantEqual(t, "List", p.Items, []audit.Version{want})
			})
		}
	}
	dup := e.newVersion(t, tn.org.ID)
	again := *dup
	wantIs(t, "Append of an existing id", e.s.Versions().Append(t.Context(), &again), fault.ErrAlreadyExists)
}

func testVersionList(t *testing.T, e *env) {
	tn, other := e.newTenant(t), e.newTenant(t)
	res := e.id()
	v1 := e.newVersion(t, tn.org.ID, func(v *audit.Version) { v.ResourceType, v.ResourceID, v.Event = "memberships", res, audit.Create })
	v2 := e.newVersion(t, tn.org.ID, func(v *audit.Version) { v.ResourceType, v.ResourceID, v.Event = "memberships", res, audit.Update })
	v3 := e.newVersion(t, tn.org.ID, func(v *audit.Version) { v.ResourceType, v.Event = "roles", audit.Create })
	v4 := e.newVersion(t, tn.org.ID, func(v *audit.Version) { v.ResourceType, v.Event = "memberships", audit.Destroy })
	e.newVersion(t, other.org.ID, func(v *audit.Version) { v.ResourceType, v.ResourceID = "memberships", res })
	f := func(mod func(*audit.Filter)) audit.Filter {
		fl := audit.Filter{OrganizationID: tn.org.ID}
		mod(&fl)
		return fl
	}
	tests := []struct {
		name string
		give audit.Filter
		want []*audit.Version
	}{
		{"none", f(func(*audit.Filter) {}), []*audit.Version{v1, v2, v3, v4}},
		{"resource type", f(func(fl *audit.Filter) { fl.ResourceType = "memberships" }), []*audit.Version{v1, v2, v4}},
		{"resource id", f(func(fl *audit.Filter) { fl.ResourceID = res }), []*audit.Version{v1, v2}},
		{"event", f(func(fl *audit.Filter) { fl.Event = audit.Create }), []*audit.Version{v1, v3}},
		{"type and event", f(func(fl *audit.Filter) { fl.ResourceType, fl.Event = "memberships", audit.Destroy }), []*audit.Version{v4}},
		{"unknown organization", audit.Filter{OrganizationID: e.id()}, nil},
	}
	for _, tt := range tests {
		p, err := e.s.Versions().List(t.Context(), tt.give)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		wantEqual(t, tt.name, idsOf(p.Items, versionID), versionIDs(tt.want))
	}
	ids, sizes := walk(t, 3, func(r resource.PageRequest) (resource.Page[audit.Version], error) {
		return e.s.Versions().List(t.Context(), audit.Filter{OrganizationID: tn.org.ID, PageRequest: r})
	}, versionID)
	wantEqual(t, "paged ids", ids, versionIDs([]*audit.Version{v1, v2, v3, v4}))
	wantEqual(t, "page sizes", sizes, []int{3, 1})
}

// testVersionSinceUntil: Since is inclusive, Until exclusive, whatever the
// location of the bounds, at microsecond precision.
func testVersionSinceUntil(t *testing.T, e *env) {
	tn := e.newTenant(t)
	whole := t0.Truncate(time.Second).Add(time.Second) // no fraction of a second
	times := []time.Time{t0, t0.Add(time.Microsecond), whole, whole.Add(500 * time.Millisecond), whole.Add(time.Hour)}
	var vs []*audit.Version
	for _, at := range times {
		vs = append(vs, e.newVersion(t, tn.org.ID, func(v *audit.Version) { v.CreatedAt, v.UpdatedAt = at.In(zone), at.In(zone) }))
	}
	tests := []struct {
		name              string
		giveSince, giveTo time.Time
		want              []*audit.Version
	}{
		{"since the first", t0, time.Time{}, vs},
		{"since one microsecond later", t0.Add(time.Microsecond).In(zone), time.Time{}, vs[1:]},
		{"since a whole second", whole, time.Time{}, vs[2:]},
		{"until a whole second", time.Time{}, whole.In(zone), vs[:2]},
		{"until one microsecond after the first", time.Time{}, t0.Add(time.Microsecond), vs[:1]},
		{"between", t0.Add(time.Microsecond), whole.Add(time.Hour), vs[1:4]},
		{"empty range", whole, whole, nil},
		{"after the last", whole.Add(2 * time.Hour), time.Time{}, nil},
	}
	for _, tt := range tests {
		p, err := e.s.Versions().List(t.Context(), audit.Filter{OrganizationID: tn.org.ID, Since: tt.giveSince, Until: tt.giveTo})
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		wantEqual(t, tt.name, idsOf(p.Items, versionID), versionIDs(tt.want))
	}
}

func versionID(v audit.Version) string { return v.ID }

func versionIDs(vs []*audit.Version) []string {
	out := []string{}
	for _, v := range vs {
		out = append(out, v.ID)
	}
	return out
}

func testAccessRevision(t *testing.T, e *env) {
	tn := e.newTenant(t)
	m := e.newMember(t, tn.org.ID, tn.admin.ID, activeFor(e.newUser(t)))
	rev := func() string {
		t.Helper()
		r, err := e.s.Access().Revision(t.Context(), tn.org.ID)
		must(t, err)
		if r == "" {
			t.Fatal("empty revision")
		}
		return r
	}
	r0 := rev()
	must(t, e.s.Organizations().BumpPolicy(t.Context(), tn.org.ID))
	r1 := rev()
	if r1 == r0 {
		t.Error("BumpPolicy left the revision")
	}
	errRollback := errors.New("rollback")
	err := e.s.InTx(t.Context(), func(ctx context.Context) error {
		must(t, e.s.Organizations().BumpPolicy(ctx, tn.org.ID))
		return errRollback
	})
	wantIs(t, "rolled back InTx", err, errRollback)
	if r := rev(); r != r1 {
		t.Errorf("revision %q after a rolled-back BumpPolicy, want %q", r, r1)
	}
	must(t, e.s.Organizations().SetOwner(t.Context(), tn.org.ID, tn.om.ID, m.ID))
	r2 := rev()
	if r2 == r1 || r2 == r0 {
		t.Error("SetOwner did not give a fresh revision")
	}
	other := e.newOrg(t)
	if r := func() string { r, _ := e.s.Access().Revision(t.Context(), other.ID); return r }(); r == r2 || r == "" {
		t.Errorf("revision of another organization = %q", r)
	}
}

func testAccessSnapshot(t *testing.T, e *env) {
	tn, other := e.newTenant(t), e.newTenant(t)
	ro := e.newRole(t, tn.org.ID, role.KindReadOnly)
	custom := e.newRole(t, tn.org.ID, role.KindCustom)
	p1 := e.newPermission(t, custom, "orders", func(p *role.Permission) { p.CanUpdate, p.Metadata = true, resource.Metadata{"k": "v"} })
	p2 := e.newPermission(t, custom, "skus")
	u2, u3 := e.newUser(t), e.newUser(t)
	prof := e.newProfile(t, tn.org.ID, access.TestAccess)
	m2 := e.newMember(t, tn.org.ID, custom.ID, activeFor(u2), func(m *membership.Membership) { m.ProfileID = prof.ID })
	e.newMember(t, tn.org.ID, custom.ID, activeFor(u3), func(m *membership.Membership) { m.Status = membership.Pending })
	e.newMember(t, tn.org.ID, ro.ID)
	e.newMember(t, other.org.ID, other.admin.ID, activeFor(u2))
	e.newPermission(t, other.admin, "orders")
	cred := e.newCredential(t, tn.org.ID, ro.ID)
	revoked := e.newCredential(t, tn.org.ID, custom.ID)
	must(t, e.s.Credentials().Revoke(t.Context(), revoked.ID, t0))
	e.newCredential(t, other.org.ID, other.admin.ID)

	got, err := e.s.Access().Snapshot(t.Context(), tn.org.ID)
	must(t, err)
	rev, err := e.s.Access().Revision(t.Context(), tn.org.ID)
	must(t, err)
	want := &access.Snapshot{
		OrganizationID: tn.org.ID, Revision: rev, OwnerUserID: tn.owner.ID,
		Roles:       []access.RoleGrant{{ID: tn.admin.ID, Kind: role.KindAdmin}, {ID: ro.ID, Kind: role.KindReadOnly}, {ID: custom.ID, Kind: role.KindCustom}},
		Permissions: []role.Permission{*p1, *p2},
		Members: []access.Member{
			{MembershipID: tn.om.ID, UserID: tn.owner.ID, RoleIDs: []string{tn.admin.ID}},
			{MembershipID: m2.ID, UserID: u2.ID, RoleIDs: []string{custom.ID}, ProfileID: prof.ID},
		},
		Credentials: []access.Credential{{ID: cred.ID, RoleID: ro.ID}},
	}
	wantEqual(t, "Snapshot", sortSnapshot(got), want)
}

// sortSnapshot orders the lists of a snapshot by id: the contract leaves
// their order open.
func sortSnapshot(s *access.Snapshot) *access.Snapshot {
	c := *s
	c.Roles = slices.SortedFunc(slices.Values(s.Roles), func(a, b access.RoleGrant) int { return cmp.Compare(a.ID, b.ID) })
	c.Permissions = slices.SortedFunc(slices.Values(s.Permissions), func(a, b role.Permission) int { return cmp.Compare(a.ID, b.ID) })
	c.Members = slices.SortedFunc(slices.Values(s.Members), func(a, b access.Member) int { return cmp.Compare(a.UserID, b.UserID) })
	c.Credentials = slices.SortedFunc(slices.Values(s.Credentials), func(a, b access.Credential) int { return cmp.Compare(a.ID, b.ID) })
	return &c
}

// testAccessSnapshotInTx: inside a transaction Snapshot sees its writes;
// after a rollback they are gone.
func testAccessSnapshotInTx(t *testing.T, e *env) {
	tn := e.newTenant(t)
	u := e.newUser(t)
	errRollback := errors.New("rollback")
	err := e.s.InTx(t.Context(), func(ctx context.Context) error {
		m := e.member(tn.org.ID, tn.admin.ID, activeFor(u))
		must(t, e.s.Memberships().Create(ctx, m, nil))
		must(t, e.s.Organizations().BumpPolicy(ctx, tn.org.ID))
		snap, err := e.s.Access().Snapshot(ctx, tn.org.ID)
		must(t, err)
		if len(snap.Members) != 2 {
			t.Errorf("Snapshot inside the transaction has %d members, want 2", len(snap.Members))
		}
		return errRollback
	})
	wantIs(t, "InTx", err, errRollback)
	snap, err := e.s.Access().Snapshot(t.Context(), tn.org.ID)
	must(t, err)
	wantEqual(t, "members after rollback", snap.Members, []access.Member{{MembershipID: tn.om.ID, UserID: tn.owner.ID, RoleIDs: []string{tn.admin.ID}}})
}

// testAccessOrganizations: a user's organizations are those of its active
// memberships, in ascending id order whatever order they were joined in,
// paged by the after cursor; a credential principal is not a user (its
// organization is tested with the credentials), and an after that is not
// the shape of an id matches nothing.
func testAccessOrganizations(t *testing.T, e *env) {
	u, other := e.newUser(t), e.newUser(t)
	var orgs []*organization.Organization
	var roles []*role.Role
	for range 5 {
		o := e.newOrg(t)
		orgs, roles = append(orgs, o), append(roles, e.newRole(t, o.ID, role.KindAdmin))
	}
	// Joined in descending id order, so that rows come back unordered
	// unless the store orders them.
	for _, i := range []int{2, 1, 0} {
		e.newMember(t, orgs[i].ID, roles[i].ID, activeFor(u))
	}
	e.newMember(t, orgs[3].ID, roles[3].ID, activeFor(u), func(m *membership.Membership) { m.Status = membership.Pending })
	e.newMember(t, orgs[4].ID, roles[4].ID, activeFor(other))
	a, b, c := orgs[0].ID, orgs[1].ID, orgs[2].ID
	tests := []struct {
		name      string
		give      access.Principal
		giveAfter string
		giveLimit int
		want      []string
	}{
		{"active memberships in id order", access.User(u.ID), "", 10, []string{a, b, c}},
		{"first page", access.User(u.ID), "", 2, []string{a, b}},
		{"after the first page", access.User(u.ID), b, 2, []string{c}},
		{"after the last", access.User(u.ID), c, 2, []string{}},
		{"after an id that is no organization's", access.User(u.ID), a + "0", 10, []string{b, c}},
		{"malformed after", access.User(u.ID), "NOT AN ID", 10, []string{}},
		{"other user", access.User(other.ID), "", 10, []string{orgs[4].ID}},
		{"unknown user", access.User(e.id()), "", 10, []string{}},
		{"credential", access.Principal{Kind: access.KindCredential, ID: u.ID}, "", 10, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.s.Access().Organizations(t.Context(), tt.give, tt.giveAfter, tt.giveLimit)
			must(t, err)
			wantEqual(t, "ids", append([]string{}, got...), tt.want)
		})
	}
	var walked []string
	for after := ""; ; {
		got, err := e.s.Access().Organizations(t.Context(), access.User(u.ID), after, 1)
		must(t, err)
		if len(got) > 1 {
			t.Fatalf("limit 1 gave %v", got)
		}
		if len(got) == 0 || len(walked) > len(orgs) {
			break
		}
		walked, after = append(walked, got[0]), got[0]
	}
	wantEqual(t, "ids walked one by one", walked, []string{a, b, c})
}

// testAccessOrganizationsLimit: a limit below 1 or above
// resource.MaxPageLimit is resource.MaxPageLimit.
func testAccessOrganizationsLimit(t *testing.T, e *env) {
	u := e.newUser(t)
	var ids []string
	for range resource.MaxPageLimit + 1 {
		o := e.newOrg(t)
		e.newMember(t, o.ID, e.newRole(t, o.ID, role.KindAdmin).ID, activeFor(u))
		ids = append(ids, o.ID)
	}
	tests := []struct {
		name      string
		giveLimit int
		want      []string
	}{
		{"zero", 0, ids[:resource.MaxPageLimit]},
		{"negative", -1, ids[:resource.MaxPageLimit]},
		{"one", 1, ids[:1]},
		{"below the maximum", resource.MaxPageLimit - 1, ids[:resource.MaxPageLimit-1]},
		{"the maximum", resource.MaxPageLimit, ids[:resource.MaxPageLimit]},
		{"above the maximum", resource.MaxPageLimit + 1, ids[:resource.MaxPageLimit]},
		{"huge", math.MaxInt, ids[:resource.MaxPageLimit]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.s.Access().Organizations(t.Context(), access.User(u.ID), "", tt.giveLimit)
			must(t, err)
			wantEqual(t, "ids", got, tt.want)
		})
	}
	rest, err := e.s.Access().Organizations(t.Context(), access.User(u.ID), ids[resource.MaxPageLimit-1], 0)
	must(t, err)
	wantEqual(t, "ids after a full page", rest, ids[resource.MaxPageLimit:])
}

// testAccessOrganizationsInvalid: a principal that is neither a user nor a
// credential, or whose id is not the shape of an id, is fault.Invalid.
func testAccessOrganizationsInvalid(t *testing.T, e *env) {
	tn := e.newTenant(t)
	tests := []struct {
		name string
		give access.Principal
	}{
		{"system", access.Principal{Kind: access.KindSystem, ID: tn.owner.ID}},
		{"no kind", access.Principal{ID: tn.owner.ID}},
		{"unknown kind", access.Principal{Kind: "robot", ID: tn.owner.ID}},
		{"user without id", access.User("")},
		{"user with a malformed id", access.User("NOT AN ID")},
		{"user with a too long id", access.User(strings.Repeat("a", 65))},
		{"credential with a malformed id", access.Principal{Kind: access.KindCredential, ID: "id; DROP TABLE x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.s.Access().Organizations(t.Context(), tt.give, "", 10)
			if k := fault.KindOf(err); k != fault.Invalid {
				t.Errorf("error %v of kind %v, want %v", err, k, fault.Invalid)
			}
			wantIs(t, "Organizations", err, fault.ErrInvalid)
			if got != nil {
				t.Errorf("ids = %v, want none", got)
			}
		})
	}
}

// writeAll writes a user, a membership and a version in ctx, and returns
// a check that each exists (or not).
func (e *env) writeAll(tb testing.TB, ctx context.Context, tn tenant) func(tb testing.TB, wantExist bool) {
	tb.Helper()
	u := &user.User{ID: e.id(), Email: e.id() + "@example.com", Common: common()}
	must(tb, e.s.Users().Create(ctx, u))
	m := e.member(tn.org.ID, tn.admin.ID, activeFor(u))
	must(tb, e.s.Memberships().Create(ctx, m, nil))
	v := &audit.Version{ID: e.id(), OrganizationID: tn.org.ID, ResourceType: "memberships", ResourceID: m.ID, Event: audit.Create,
		Changes: resource.Changes{}, Who: audit.Who{Type: "system", ID: "t"}, Common: common()}
	must(tb, e.s.Versions().Append(ctx, v))
	return func(tb testing.TB, wantExist bool) {
		tb.Helper()
		gets := []struct {
			name string
			err  error
		}{
			{"user", func() error { _, err := e.s.Users().Get(tb.Context(), u.ID); return err }()},
			{"membership", func() error { _, err := e.s.Memberships().Get(tb.Context(), m.ID); return err }()},
			{"version", func() error { _, err := e.s.Versions().Get(tb.Context(), v.ID); return err }()},
		}
		for _, g := range gets {
			switch {
			case wantExist && g.err != nil:
				tb.Errorf("%s: %v, want it committed", g.name, g.err)
			case !wantExist && !errors.Is(g.err, fault.ErrNotFound):
				tb.Errorf("%s: error %v, want fault.ErrNotFound (rolled back)", g.name, g.err)
			}
		}
	}
}

func testTxCommit(t *testing.T, e *env) {
	tn := e.newTenant(t)
	var check func(testing.TB, bool)
	must(t, e.s.InTx(t.Context(), func(ctx context.Context) error {
		if in, known := inTransaction(ctx, e.s); known && !in {
			t.Error("InTransaction is false inside InTx")
		}
		check = e.writeAll(t, ctx, tn)
		return nil
	}))
	check(t, true)
	if in, _ := inTransaction(t.Context(), e.s); in {
		t.Error("InTransaction is true outside InTx")
	}
}

func testTxRollback(t *testing.T, e *env) {
	tn := e.newTenant(t)
	var check func(testing.TB, bool)
	errBoom := errors.New("boom")
	err := e.s.InTx(t.Context(), func(ctx context.Context) error {
		check = e.writeAll(t, ctx, tn)
		return errBoom
	})
	if err != errBoom {
		t.Errorf("InTx returned %v, want fn's error as is", err)
	}
	check(t, false)
}

// testTxNested: an inner InTx joins the outer transaction: it sees the
// outer's writes, and the outer's rollback undoes the inner's.
func testTxNested(t *testing.T, e *env) {
	tn := e.newTenant(t)
	var outer, inner func(testing.TB, bool)
	errBoom := errors.New("boom")
	err := e.s.InTx(t.Context(), func(ctx context.Context) error {
		outer = e.writeAll(t, ctx, tn)
		err := e.s.InTx(ctx, func(ctx context.Context) error {
			if in, known := inTransaction(ctx, e.s); known && !in {
				t.Error("InTransaction is false in the inner InTx")
			}
			inner = e.writeAll(t, ctx, tn)
			p, err := e.s.Memberships().List(ctx, membership.Filter{OrganizationID: tn.org.ID})
			must(t, err)
			if len(p.Items) != 3 {
				t.Errorf("inner InTx sees %d memberships, want 3 (the outer's write included)", len(p.Items))
			}
			return errBoom
		})
		wantIs(t, "inner InTx", err, errBoom)
		return nil
	})
	must(t, err)
	outer(t, true)
	inner(t, true) // the inner error was handled: the one transaction committed

	err = e.s.InTx(t.Context(), func(ctx context.Context) error {
		must(t, e.s.InTx(ctx, func(ctx context.Context) error {
			inner = e.writeAll(t, ctx, tn)
			return nil
		}))
		return errBoom
	})
	wantIs(t, "outer InTx", err, errBoom)
	inner(t, false)
}

// testTxPanic: a panic inside InTx rolls back and reaches the caller with
// its value; the store works afterwards.
func testTxPanic(t *testing.T, e *env) {
	tn := e.newTenant(t)
	var check func(testing.TB, bool)
	type boom struct{ msg string }
	got := func() (p any) {
		defer func() { p = recover() }()
		_ = e.s.InTx(t.Context(), func(ctx context.Context) error {
			check = e.writeAll(t, ctx, tn)
			panic(boom{"inside"})
		})
		return nil
	}()
	wantEqual[any](t, "recovered value", got, boom{"inside"})
	check(t, false)
	must(t, e.s.InTx(t.Context(), func(ctx context.Context) error {
		check = e.writeAll(t, ctx, tn)
		return nil
	}))
	check(t, true)
}

// testTxCancel: a context cancelled inside the transaction prevents the
// commit, even when fn returns nil.
func testTxCancel(t *testing.T, e *env) {
	tn := e.newTenant(t)
	var check func(testing.TB, bool)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	err := e.s.InTx(ctx, func(ctx context.Context) error {
		check = e.writeAll(t, ctx, tn)
		cancel()
		return nil
	})
	if err == nil {
		t.Error("InTx committed after its context was cancelled")
	}
	check(t, false)
}

// testTxAfterConstraintError: a refused write (a taken unique key) inside a
// transaction is an error the caller may handle; the transaction goes on
// and commits the rest, on every backend.
func testTxAfterConstraintError(t *testing.T, e *env) {
	// The contract on every backend: a Store error inside InTx ends the
	// transaction (PostgreSQL refuses any further statement in it), so fn
	// returns the error, InTx returns it, and nothing of fn is committed.
	tn := e.newTenant(t)
	marker := &user.User{ID: e.id(), Email: "marker-" + e.id() + "@example.com", Common: common()}
	err := e.s.InTx(t.Context(), func(ctx context.Context) error {
		if err := e.s.Users().Create(ctx, marker); err != nil {
			return err
		}
		dup := &user.User{ID: e.id(), Email: tn.owner.Email, Common: common()}
		return e.s.Users().Create(ctx, dup)
	})
	wantTaken(t, "Create of a taken email inside InTx", err, "email")
	if _, err := e.s.Users().Get(t.Context(), marker.ID); !errors.Is(err, fault.ErrNotFound) {
		t.Errorf("a write before the refused one was committed: Get = %v", err)
	}
}
