package storagetest

import (
	"testing"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/role"
)

// sliceCases test access.SliceStore: a principal's slice of a snapshot is
// the whole snapshot cut down to what decides for that principal.
var sliceCases = []testCase{
	{"SnapshotFor", testSliceSnapshotFor},
	{"ActiveMembers", testSliceActiveMembers},
}

func sliceStore(t *testing.T, e *env) access.SliceStore {
	ss, ok := e.s.Access().(access.SliceStore)
	if !ok {
		t.Fatal("the access store is not an access.SliceStore")
	}
	return ss
}

func testSliceSnapshotFor(t *testing.T, e *env) {
	tn := e.newTenant(t)
	ro := e.newRole(t, tn.org.ID, role.KindReadOnly)
	u := e.newUser(t)
	e.newMember(t, tn.org.ID, ro.ID, activeFor(u))
	e.newMember(t, tn.org.ID, ro.ID, activeFor(e.newUser(t)))
	e.newMember(t, tn.org.ID, ro.ID) // pending
	c := e.newCredential(t, tn.org.ID, tn.admin.ID)
	whole, err := e.s.Access().Snapshot(t.Context(), tn.org.ID)
	must(t, err)
	member := func(s *access.Snapshot, userID string) []access.Member {
		var out []access.Member
		for _, m := range s.Members {
			if m.UserID == userID {
				out = append(out, m)
			}
		}
		return out
	}
	for _, tt := range []struct {
		name    string
		p       access.Principal
		members []access.Member
		owner   string
	}{
		{"a member", access.Principal{Kind: access.KindUser, ID: u.ID}, member(whole, u.ID), ""},
		{"the owner", access.Principal{Kind: access.KindUser, ID: tn.owner.ID}, member(whole, tn.owner.ID), tn.owner.ID},
		{"a stranger", access.Principal{Kind: access.KindUser, ID: e.newUser(t).ID}, nil, ""},
		{"a credential", access.Principal{Kind: access.KindCredential, ID: c.ID}, nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sliceStore(t, e).SnapshotFor(t.Context(), tn.org.ID, tt.p)
			must(t, err)
			want := *whole
			want.Members, want.OwnerUserID, want.AppMemberships = tt.members, tt.owner, nil
			if tt.p.Kind != access.KindUser {
				want.AppMemberships = nil
			}
			got.AppMemberships = nil
			wantEqual(t, "slice", *got, want)
		})
	}
	_, err = sliceStore(t, e).SnapshotFor(t.Context(), tn.org.ID, access.Principal{Kind: access.KindUser})
	wantIs(t, "a principal without an id", err, fault.ErrInvalid)
	_, err = sliceStore(t, e).SnapshotFor(t.Context(), "nope", access.Principal{Kind: access.KindUser, ID: u.ID})
	wantIs(t, "no organization", err, fault.ErrNotFound)
}

func testSliceActiveMembers(t *testing.T, e *env) {
	tn := e.newTenant(t)
	e.newMember(t, tn.org.ID, tn.admin.ID, activeFor(e.newUser(t)))
	e.newMember(t, tn.org.ID, tn.admin.ID)
	other := e.newTenant(t)
	e.newMember(t, other.org.ID, other.admin.ID, func(m *membership.Membership) { m.Status = membership.Pending })
	n, err := sliceStore(t, e).ActiveMembers(t.Context(), tn.org.ID)
	must(t, err)
	wantEqual(t, "active members", n, 2) // the owner and one more; the pending one is not counted
}
