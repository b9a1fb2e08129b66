package authz_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/authz"
	"github.com/provisionkit/provisioning/role"
)

// remove makes the organization disappear from the store.
func (f *fakeStore) remove(org string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.current, org)
}

// acme2 is acme at its next revision.
func acme2() *access.Snapshot {
	s := acme()
	s.Revision = "acme-2"
	return s
}

func TestRefresh(t *testing.T) {
	storeErr := errors.New("connection reset")
	tests := []struct {
		name       string
		giveCached bool                // acme is checked once before
		giveChange func(st *fakeStore) // the change made before Refresh
		giveLoad   bool
		wantErr    error
		wantRev    string // "" when acme is not cached after Refresh
		wantCalls  int    // snapshots read in all
	}{
		{"cached, revision changed", true, func(st *fakeStore) { st.set("acme", acme2()) }, false, nil, "acme-2", 2},
		{"cached, revision changed, load", true, func(st *fakeStore) { st.set("acme", acme2()) }, true, nil, "acme-2", 2},
		{"cached, revision unchanged", true, func(*fakeStore) {}, false, nil, "acme-1", 1},
		{"cached, revision unchanged, load", true, func(*fakeStore) {}, true, nil, "acme-1", 1},
		{"uncached", false, func(st *fakeStore) { st.set("acme", acme2()) }, false, nil, "", 0},
		{"uncached, load", false, func(st *fakeStore) { st.set("acme", acme2()) }, true, nil, "acme-2", 1},
		{"cached, organization gone", true, func(st *fakeStore) { st.remove("acme") }, false, nil, "", 1},
		{"uncached, organization gone, load", false, func(st *fakeStore) { st.remove("acme") }, true, nil, "", 0},
		{"cached, store fails", true, func(st *fakeStore) { st.failRevision = storeErr }, false, storeErr, "acme-1", 1},
		{"cached, snapshot fails", true, func(st *fakeStore) { st.set("acme", acme2()); st.failSnapshot = storeErr }, false, storeErr, "acme-1", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			st := newStore(t, acme())
			a := authz.New()
			if tt.giveCached {
				mustCheck(t, a, st, access.User("u-admin"), "acme", "orders", role.ActionRead)
			}
			tt.giveChange(st)
			if err := a.Refresh(ctx, st, "acme", tt.giveLoad); !errors.Is(err, tt.wantErr) {
				t.Errorf("Refresh error %v, want %v", err, tt.wantErr)
			}
			if rev, _ := a.Cached("acme"); rev != tt.wantRev {
				t.Errorf("cached revision %q, want %q", rev, tt.wantRev)
			}
			if got := st.calls(); got != tt.wantCalls {
				t.Errorf("snapshots read: got %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

// TestRefreshThenCheck: after a Refresh, the next check reads no snapshot.
func TestRefreshThenCheck(t *testing.T) {
	st := newStore(t, acme())
	a := authz.New()
	mustCheck(t, a, st, access.User("u-admin"), "acme", "orders", role.ActionRead)
	granted := acme2()
	granted.Members[4].RoleIDs = []string{"r-admin"} // u-plain becomes admin
	st.set("acme", granted)
	if err := a.Refresh(context.Background(), st, "acme", false); err != nil {
		t.Fatal(err)
	}
	d := mustCheck(t, a, st, access.User("u-plain"), "acme", "orders", role.ActionCreate)
	if !d.Allowed || d.Revision != "acme-2" {
		t.Errorf("got %+v, want allowed at acme-2", d)
	}
	if got, want := st.calls(), 2; got != want {
		t.Errorf("snapshots read: got %d, want %d", got, want)
	}
}

// notifyingStore is a fakeStore that tells of changes through
// access.Watcher: each WatchPolicy call is announced on watching, then passes
// the organization ids sent on notify to changed until ctx ends (returning
// nil) or fail is closed (returning an error, as a lost connection does).
type notifyingStore struct {
	*fakeStore
	watching chan struct{}
	notify   chan string
	fail     chan struct{}
}

var _ access.Watcher = (*notifyingStore)(nil)

func (s *notifyingStore) WatchPolicy(ctx context.Context, changed func(orgID string)) error {
	select {
	case s.watching <- struct{}{}:
	case <-ctx.Done():
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.fail:
			return errors.New("connection lost")
		case org := <-s.notify:
			changed(org)
		}
	}
}

// checkLeaks checks, once the test and its cleanups are done, that no
// goroutine it started is left.
func checkLeaks(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// startWatch runs a.Watch until the test ends, and then checks that it
// returned.
func startWatch(t *testing.T, a *authz.Authorizer, src access.Store, interval time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Watch(ctx, src, interval)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Watch still running 5s after its context ended")
		}
	})
}

// eventually waits until cond holds, failing the test after a deadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 5s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func cachedAt(a *authz.Authorizer, org, rev string) func() bool {
	return func() bool { got, ok := a.Cached(org); return ok && got == rev }
}

func TestWatchNotified(t *testing.T) {
	checkLeaks(t)
	st := &notifyingStore{fakeStore: newStore(t, acme(), beta()), watching: make(chan struct{}), notify: make(chan string)}
	a := authz.New()
	mustCheck(t, a, st, access.User("u-admin"), "acme", "orders", role.ActionRead)
	startWatch(t, a, st, time.Hour) // polls once, then only notifications refresh
	<-st.watching

	st.set("acme", acme2())
	nextBeta := beta()
	nextBeta.Revision = "beta-2"
	st.set("beta", nextBeta)
	st.notify <- "beta" // not cached: ignored
	st.notify <- "acme"
	eventually(t, "acme refreshed after the notification", cachedAt(a, "acme", "acme-2"))
	if _, ok := a.Cached("beta"); ok {
		t.Error("beta cached after a notification; want only cached organizations refreshed")
	}
	if got, want := st.calls(), 2; got != want {
		t.Errorf("snapshots read: got %d, want %d", got, want)
	}

	st.remove("acme")
	st.notify <- "acme"
	eventually(t, "acme dropped after it disappeared", func() bool { _, ok := a.Cached("acme"); return !ok })
}

func TestWatchReconnects(t *testing.T) {
	checkLeaks(t)
	st := &notifyingStore{fakeStore: newStore(t, acme()), watching: make(chan struct{}), notify: make(chan string), fail: make(chan struct{})}
	a := authz.New()
	mustCheck(t, a, st, access.User("u-admin"), "acme", "orders", role.ActionRead)
	startWatch(t, a, st, 10*time.Millisecond)
	<-st.watching

	st.set("acme", acme2()) // a change whose notification is lost with the connection
	close(st.fail)
	<-st.watching // watching again, after the poll of the reconnection
	if rev, _ := a.Cached("acme"); rev != "acme-2" {
		t.Errorf("cached revision %q after the reconnection, want acme-2", rev)
	}
}

func TestWatchPolls(t *testing.T) {
	checkLeaks(t)
	st := newStore(t, acme(), beta())
	a := authz.New()
	mustCheck(t, a, st, access.User("u-admin"), "acme", "orders", role.ActionRead)
	startWatch(t, a, st, 10*time.Millisecond)

	st.set("acme", acme2())
	eventually(t, "acme refreshed by polling", cachedAt(a, "acme", "acme-2"))

	again := acme()
	again.Revision = "acme-3"
	st.set("acme", again)
	eventually(t, "acme refreshed by a later poll", cachedAt(a, "acme", "acme-3"))
	if _, ok := a.Cached("beta"); ok {
		t.Error("beta cached by polling; want only cached organizations polled")
	}

	st.remove("acme")
	eventually(t, "acme dropped after it disappeared", func() bool { _, ok := a.Cached("acme"); return !ok })
}

// TestWatchStops: Watch returns soon after its context ends, whether it
// waits for notifications or between polls.
func TestWatchStops(t *testing.T) {
	checkLeaks(t)
	tests := []struct {
		name string
		give access.Store
	}{
		{"polling", newStore(t, acme())},
		{"notified", &notifyingStore{fakeStore: newStore(t, acme()), watching: make(chan struct{}, 1), notify: make(chan string)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				authz.New().Watch(ctx, tt.give, time.Hour)
			}()
			cancel()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Watch still running 5s after its context ended")
			}
		})
	}
}
