package authz_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/authz"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/role"
)

// sliceStore is a fakeStore that is also an access.SliceStore: it cuts each
// snapshot down to a principal's slice as storage does. With wholeFails,
// whole snapshots cannot be read, so that every check is answered from a
// slice.
type sliceStore struct {
	*fakeStore
	wholeFails bool
	slices     atomic.Int64
	counts     atomic.Int64 // calls of ActiveMembers
}

var _ access.SliceStore = (*sliceStore)(nil)

func (s *sliceStore) Snapshot(ctx context.Context, org string) (*access.Snapshot, error) {
	if s.wholeFails {
		return nil, fault.E("slice.Snapshot", fault.Internal, errors.New("whole snapshots are not read here"))
	}
	return s.fakeStore.Snapshot(ctx, org)
}

func (s *sliceStore) ActiveMembers(_ context.Context, org string) (int, error) {
	s.counts.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	snap, ok := s.snaps[[2]string{org, s.current[org]}]
	if !ok {
		return 0, fault.E("slice.ActiveMembers", fault.NotFound, nil)
	}
	return len(snap.Members), nil
}

func (s *sliceStore) SnapshotFor(ctx context.Context, org string, p access.Principal) (*access.Snapshot, error) {
	s.slices.Add(1)
	whole, err := s.fakeStore.Snapshot(ctx, org)
	if err != nil {
		return nil, err
	}
	out := *whole
	out.Members, out.AppMemberships, out.OwnerUserID = nil, nil, ""
	if p.Kind != access.KindUser {
		return &out, nil
	}
	for _, m := range whole.Members {
		if m.UserID == p.ID {
			out.Members = append(out.Members, m)
		}
	}
	for _, am := range whole.AppMemberships {
		if am.ProfileID != "" || am.UserID == p.ID {
			out.AppMemberships = append(out.AppMemberships, am)
		}
	}
	if whole.OwnerUserID == p.ID {
		out.OwnerUserID = p.ID
	}
	return &out, nil
}

// TestSliceAgreesWithTheWholeOrganization asks the random questions of the
// differential test of an Authorizer that answers every check from the
// asking principal's slice and of one that reads whole organizations: the
// decisions and the rights must be the same, question by question.
func TestSliceAgreesWithTheWholeOrganization(t *testing.T) {
	ctx := context.Background()
	for _, seed := range diffSeeds(t) {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			w := randomWorld(seed, diffOrgs)
			whole, sliced := newStore(t, w.snaps...), &sliceStore{fakeStore: newStore(t, w.snaps...), wholeFails: true}
			a, b := authz.New(authz.WithSliceAbove(0)), authz.New(authz.WithSliceAbove(1))
			qs := w.questions(seed, 20_000)
			sliceable := 0
			for i, q := range qs {
				want, err := a.Check(ctx, whole, q.p, q.org, q.subject, q.act)
				got, err2 := b.Check(ctx, sliced, q.p, q.org, q.subject, q.act)
				if (err == nil) != (err2 == nil) || fault.KindOf(err) != fault.KindOf(err2) {
					t.Fatalf("question %d (%s): whole error %v, slice error %v", i, q, err, err2)
				}
				if got != want {
					t.Fatalf("question %d (%s): from a slice %+v, from the whole organization %+v", i, q, got, want)
				}
				if err != nil {
					continue
				}
				rw, err := a.Rights(ctx, whole, q.p, q.org)
				if err != nil {
					t.Fatal(err)
				}
				rs, err := b.Rights(ctx, sliced, q.p, q.org)
				if err != nil {
					t.Fatal(err)
				}
				for _, rid := range poolRoles {
					if rw.Covers(rid) != rs.Covers(rid) {
						t.Fatalf("question %d (%s): Covers(%s) from a slice %v, whole %v", i, q, rid, rs.Covers(rid), rw.Covers(rid))
					}
				}
				if s := w.snapshot(q.org); s != nil && len(s.Members) > 1 {
					sliceable++
				}
			}
			if n := sliced.slices.Load(); n < int64(sliceable) {
				t.Fatalf("%d slices read for %d questions in organizations above the threshold: the slices were not used", n, sliceable)
			}
			t.Logf("seed %d: %d questions, %d answered from slices", seed, len(qs), sliced.slices.Load())
		})
	}
}

// TestSliceThenWholeInBackground: a check in a large organization that is
// not in memory is answered from a slice, never cached; the whole
// organization loads in the background, and later checks use it.
func TestSliceThenWholeInBackground(t *testing.T) {
	ctx := context.Background()
	st := &sliceStore{fakeStore: newStore(t, acme())}
	owner := acme().OwnerUserID
	a := authz.New(authz.WithSliceAbove(1))
	p := access.Principal{Kind: access.KindUser, ID: owner, MFA: true}
	d, err := a.Check(ctx, st, p, "acme", "memberships", role.ActionRead)
	if err != nil || !d.Allowed || !d.Owner {
		t.Fatalf("first check: %+v, %v", d, err)
	}
	if st.slices.Load() != 1 {
		t.Fatalf("%d slices read, want 1", st.slices.Load())
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := a.Cached("acme"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the organization was not loaded in the background")
		}
		time.Sleep(time.Millisecond)
	}
	// Another principal is answered from the whole organization now.
	for _, m := range acme().Members {
		if _, err := a.Check(ctx, st, access.Principal{Kind: access.KindUser, ID: m.UserID, MFA: true}, "acme", "orders", role.ActionRead); err != nil {
			t.Fatal(err)
		}
	}
	if got := st.slices.Load(); got != 1 {
		t.Fatalf("%d slices read after the background load, want still 1", got)
	}
	// Below the threshold, or without a principal, no slice.
	small := &sliceStore{fakeStore: newStore(t, acme())}
	b := authz.New(authz.WithSliceAbove(len(acme().Members)))
	if _, err := b.Check(ctx, small, p, "acme", "memberships", role.ActionRead); err != nil {
		t.Fatal(err)
	}
	if small.slices.Load() != 0 || small.calls() != 1 {
		t.Fatalf("at the threshold: %d slices, %d whole snapshots; want 0 and 1", small.slices.Load(), small.calls())
	}
}

// TestSliceAfterAChange: once a large organization has been in memory, a
// change to its policy is answered from slices until the new policy has
// loaded, without counting its members again (the stale policy tells its
// size).
func TestSliceAfterAChange(t *testing.T) {
	ctx := context.Background()
	st := &sliceStore{fakeStore: newStore(t, acme())}
	a := authz.New(authz.WithSliceAbove(1))
	p := access.Principal{Kind: access.KindUser, ID: acme().OwnerUserID, MFA: true}
	if _, err := a.Check(ctx, st, p, "acme", "memberships", role.ActionRead); err != nil {
		t.Fatal(err)
	}
	for _, cached := a.Cached("acme"); !cached; _, cached = a.Cached("acme") {
		time.Sleep(time.Millisecond)
	}
	changed := acme()
	changed.Revision = "acme-2"
	st.set("acme", changed)
	if d, err := a.Check(ctx, st, p, "acme", "memberships", role.ActionRead); err != nil || d.Revision != "acme-2" {
		t.Fatalf("after the change: %+v, %v", d, err)
	}
	if got := st.slices.Load(); got != 2 {
		t.Errorf("%d slices read, want 2 (one before each load)", got)
	}
	if got := st.counts.Load(); got != 1 {
		t.Errorf("members counted %d times, want once (the stale policy tells the size after)", got)
	}
}

// blockingStore is a sliceStore whose whole snapshots wait until released,
// counting how many wait at once.
type blockingStore struct {
	*sliceStore
	release chan struct{}
	mu      sync.Mutex
	waiting int
	most    int
}

func (s *blockingStore) Snapshot(ctx context.Context, org string) (*access.Snapshot, error) {
	s.mu.Lock()
	s.waiting++
	s.most = max(s.most, s.waiting)
	s.mu.Unlock()
	<-s.release
	s.mu.Lock()
	s.waiting--
	s.mu.Unlock()
	return s.sliceStore.Snapshot(ctx, org)
}

// TestBackgroundLoadsAreBounded: checks in many large organizations start
// at most four loads of whole organizations in the background at once;
// the others are left to a later check.
func TestBackgroundLoadsAreBounded(t *testing.T) {
	ctx := context.Background()
	var snaps []*access.Snapshot
	for i := range 10 {
		s := acme()
		s.OrganizationID, s.Revision = fmt.Sprintf("org%d", i), fmt.Sprintf("rev%d", i)
		for k := range s.Permissions {
			s.Permissions[k].OrganizationID = s.OrganizationID
		}
		snaps = append(snaps, s)
	}
	st := &blockingStore{sliceStore: &sliceStore{fakeStore: newStore(t, snaps...)}, release: make(chan struct{})}
	a := authz.New(authz.WithSliceAbove(1))
	p := access.Principal{Kind: access.KindUser, ID: acme().OwnerUserID, MFA: true}
	for _, s := range snaps {
		if d, err := a.Check(ctx, st, p, s.OrganizationID, "memberships", role.ActionRead); err != nil || !d.Allowed {
			t.Fatalf("%s: %+v, %v", s.OrganizationID, d, err)
		}
	}
	// The loads were started (or not) by the checks, which have returned;
	// wait for the started ones to reach the store.
	deadline := time.Now().Add(10 * time.Second)
	for {
		st.mu.Lock()
		waiting := st.waiting
		st.mu.Unlock()
		if waiting >= 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // and give any more a chance to show
	st.mu.Lock()
	most := st.most
	st.mu.Unlock()
	close(st.release)
	if most != 4 {
		t.Errorf("%d whole loads at once, want 4 (the bound, reached by 10 large organizations)", most)
	}
}

// waitingStore is a sliceStore whose whole snapshots wait for their
// context to end, and report that they started and how they ended.
type waitingStore struct {
	*sliceStore
	started chan string
	ended   chan error
}

func (s *waitingStore) Snapshot(ctx context.Context, org string) (*access.Snapshot, error) {
	s.started <- org
	<-ctx.Done()
	s.ended <- ctx.Err()
	return nil, ctx.Err()
}

// TestCloseEndsBackgroundLoads: Close cancels the whole-organization load a
// sliced check started behind it and returns once it has stopped; after
// Close, checks are still answered (from slices) and start no background
// load.
func TestCloseEndsBackgroundLoads(t *testing.T) {
	ctx := context.Background()
	other := acme()
	other.OrganizationID, other.Revision = "other", "other-1"
	for k := range other.Permissions {
		other.Permissions[k].OrganizationID = "other"
	}
	st := &waitingStore{sliceStore: &sliceStore{fakeStore: newStore(t, acme(), other)},
		started: make(chan string, 4), ended: make(chan error, 4)}
	a := authz.New(authz.WithSliceAbove(1))
	p := access.Principal{Kind: access.KindUser, ID: acme().OwnerUserID, MFA: true}
	if d, err := a.Check(ctx, st, p, "acme", "memberships", role.ActionRead); err != nil || !d.Allowed {
		t.Fatalf("check: %+v, %v", d, err)
	}
	select {
	case org := <-st.started:
		if org != "acme" {
			t.Fatalf("background load of %q, want acme", org)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no background load started")
	}
	closed := make(chan struct{})
	go func() {
		a.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return: the background load was not cancelled")
	}
	select {
	case err := <-st.ended:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the background load ended with %v, want context.Canceled", err)
		}
	default:
		t.Fatal("Close returned before the background load stopped")
	}
	if d, err := a.Check(ctx, st, p, "other", "memberships", role.ActionRead); err != nil || !d.Allowed {
		t.Fatalf("check after Close: %+v, %v", d, err)
	}
	a.Close() // idempotent
	select {
	case org := <-st.started:
		t.Fatalf("a background load of %s started after Close", org)
	case <-time.After(50 * time.Millisecond):
	}
}
