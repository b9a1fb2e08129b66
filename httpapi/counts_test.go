package httpapi_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/httpapi"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
)

// fakeClock is the count cache's clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// countLog counts the COUNT statements of the memberships list (not the
// organization's totals, counted when an organization is read).
type countLog struct {
	mu sync.Mutex
	n  int
}

func (l *countLog) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }

func (l *countLog) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	if q := e.Query; strings.HasPrefix(q, `SELECT count(*) FROM "provisioning_memberships" AS "m" JOIN `) {
		l.mu.Lock()
		l.n++
		l.mu.Unlock()
	}
}

// during returns the COUNT statements of memberships fn runs.
func (l *countLog) during(fn func()) int {
	l.mu.Lock()
	before := l.n
	l.mu.Unlock()
	fn()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n - before
}

// countFixture is a server whose count cache keeps the counts of lists of
// more than 5 records for a minute, on a fake clock, with an organization
// of 7 memberships (the owner's, active, and 6 pending) and a stranger:
// a user of another organization.
type countFixture struct {
	*server
	clock         *fakeClock
	counts        *countLog
	stranger      string // the stranger's token
	strangerOrgID string
	invited       int
}

const countThreshold = 5

func newCountFixture(t *testing.T) *countFixture {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := newServer(t, httpapi.WithCountCache(httpapi.CountCache{Threshold: countThreshold, TTL: time.Minute, Size: 64}, clock.now),
		httpapi.WithRateLimits(httpapi.RateLimits{}, nil))
	f := watchCounts(t, s)
	f.clock = clock
	u, tok := s.user(t, "stranger@example.com")
	o, err := s.p.As(provisioning.User(u.ID)).CreateOrganization(context.Background(), organization.Create{Name: "Another Brand"})
	if err != nil {
		t.Fatal(err)
	}
	f.stranger, f.strangerOrgID = tok, o.ID
	return f
}

// watchCounts counts the COUNT statements of s's memberships lists, and
// invites 6 members to its organization: 7 memberships with the owner's.
func watchCounts(t *testing.T, s *server) *countFixture {
	t.Helper()
	f := &countFixture{server: s, counts: &countLog{}}
	//lint:ignore SA1019 the hook goes on the database the store already uses; WithQueryHook would make a copy the store does not see
	s.db.AddQueryHook(f.counts)
	f.invite(t, 6)
	return f
}

// invite adds n pending memberships through the facade, not the handler:
// as another instance of the API would.
func (f *countFixture) invite(t *testing.T, n int) {
	t.Helper()
	own := f.p.As(provisioning.User(f.owner.ID))
	for range n {
		f.invited++
		_, err := own.Invite(context.Background(), membership.Invite{OrganizationID: f.org.ID,
			UserEmail: fmt.Sprintf("m%02d@example.com", f.invited), RoleID: f.readOnly.ID})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestCountCacheBelowThreshold checks that a list of at most the threshold
// is counted on every request, and its meta is today's: record_count and
// page_count only.
func TestCountCacheBelowThreshold(t *testing.T) {
	f := newCountFixture(t)
	org := "filter[organization_id]=" + f.org.ID
	tests := []struct {
		name      string
		givePath  string
		wantCount float64
	}{
		{"one record", "/api/memberships?" + org + "&" + fq("status_eq", "active"), 1},
		{"the threshold", "/api/memberships?" + org + "&" + fq("user_email_in", "m01@example.com,m02@example.com,m03@example.com,m04@example.com,m05@example.com") + "&page[number]=2&page[size]=2", 5},
		{"a relationship's list", "/api/organizations/" + f.org.ID + "/memberships?" + fq("owner_true", "true"), 1},
		{"another organization", "/api/memberships", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := f.ownerToken
			if tt.name == "another organization" {
				tok = f.stranger
			}
			for i := range 3 {
				var r response
				n := f.counts.during(func() { r = f.call(t, "GET", tt.givePath, tok, "").want(t, 200, "") })
				meta, _ := r.get("meta").(map[string]any)
				if r.get("meta.record_count") != tt.wantCount || n != 1 || len(meta) != 2 {
					t.Errorf("request %d: meta %v after %d COUNT statements; want record_count %v, page_count only, 1 COUNT", i, meta, n, tt.wantCount)
				}
				f.clock.advance(time.Second)
			}
		})
	}
}

// TestCountCacheAboveThreshold walks the count of lists of more than the
// threshold through its life: counted exactly first, served from the cache
// (no COUNT statement, stale to writes made elsewhere) within the TTL,
// counted again after it; kept per organization and filters; never served
// to a caller the facade refuses; dropped by a write through the handler
// to the organization.
func TestCountCacheAboveThreshold(t *testing.T) {
	f := newCountFixture(t)
	start := f.clock.now()
	org := "filter[organization_id]=" + f.org.ID
	list := "/api/memberships?" + org + "&page[size]=2"
	pending := list + "&" + fq("status_eq", "pending")
	newMember := func(email string) func(t *testing.T) {
		return func(t *testing.T) {
			f.call(t, "POST", "/api/memberships", f.ownerToken, body("memberships", "", `{"user_email":"`+email+`"}`,
				`{"organization":`+link("organizations", f.org.ID)+`,"role":`+link("roles", f.readOnly.ID)+`}`)).want(t, 201, "")
		}
	}
	// Each step runs 5 s after the previous one: step i at start + 5i s.
	tests := []struct {
		name       string
		before     func(t *testing.T) // run first, e.g. a write elsewhere
		givePath   string
		giveToken  string // "" for the owner's
		wantStatus int    // 0 for 200
		wantCount  float64
		wantCached bool          // the count is the cache's,
		wantAsOf   time.Duration // counted at start + wantAsOf
		wantCOUNT  int           // COUNT statements of memberships
	}{
		{name: "first request counts", givePath: list, wantCount: 7, wantCOUNT: 1},
		{name: "next page within the TTL from the cache", givePath: list + "&page[number]=2", wantCount: 7, wantCached: true},
		{name: "another sort is the same list", givePath: list + "&sort=-user_email&page[number]=3", wantCount: 7, wantCached: true},
		{name: "the relationship's list has its own conditions", givePath: "/api/organizations/" + f.org.ID + "/memberships?page[size]=2", wantCount: 7, wantCOUNT: 1},
		{name: "rows added elsewhere stay uncounted within the TTL", before: func(t *testing.T) { f.invite(t, 2) },
			givePath: list, wantCount: 7, wantCached: true},
		{name: "other filters are another list", givePath: pending, wantCount: 8, wantCOUNT: 1},
		{name: "other filters cached in turn", givePath: pending + "&page[number]=4", wantCount: 8, wantCached: true, wantAsOf: 25 * time.Second},
		{name: "below the threshold under a filter", givePath: list + "&" + fq("user_email_start", "m01"), wantCount: 1, wantCOUNT: 1},
		{name: "below the threshold counts again", givePath: list + "&" + fq("user_email_start", "m01"), wantCount: 1, wantCOUNT: 1},
		{name: "another organization's principal gets 404", givePath: list, giveToken: f.stranger, wantStatus: 404},
		{name: "and 404 on the relationship's list", givePath: "/api/organizations/" + f.org.ID + "/memberships?page[size]=2", giveToken: f.stranger, wantStatus: 404},
		{name: "after the TTL counts again", before: func(t *testing.T) { f.clock.advance(time.Minute) }, givePath: list, wantCount: 9, wantCOUNT: 1},
		{name: "then caches the new count", givePath: list, wantCount: 9, wantCached: true, wantAsOf: 115 * time.Second},
		{name: "a write to another organization keeps it", before: func(t *testing.T) {
			f.call(t, "PATCH", "/api/organizations/"+f.strangerOrgID, f.stranger, body("organizations", f.strangerOrgID, `{"name":"Renamed"}`, "{}")).want(t, 200, "")
		}, givePath: list, wantCount: 9, wantCached: true, wantAsOf: 115 * time.Second},
		{name: "a write through the handler drops it", before: newMember("new1@example.com"), givePath: list, wantCount: 10, wantCOUNT: 1},
		{name: "counted again after the write", givePath: list, wantCount: 10, wantCached: true, wantAsOf: 130 * time.Second},
		{name: "a delete through the handler drops it", before: func(t *testing.T) {
			r := f.call(t, "GET", list+"&"+fq("user_email_eq", "new1@example.com"), f.ownerToken, "").want(t, 200, "")
			f.call(t, "DELETE", "/api/memberships/"+r.str("data.0.id"), f.ownerToken, "").want(t, 204, "")
		}, givePath: list, wantCount: 9, wantCOUNT: 1},
	}
	for i, tt := range tests {
		// each step runs 5 s after the previous one
		if i > 0 {
			f.clock.advance(5 * time.Second)
		}
		if !t.Run(tt.name, func(t *testing.T) {
			if tt.before != nil {
				tt.before(t)
			}
			tok := tt.giveToken
			if tok == "" {
				tok = f.ownerToken
			}
			var r response
			n := f.counts.during(func() { r = f.call(t, "GET", tt.givePath, tok, "") })
			if tt.wantStatus != 0 {
				r.want(t, tt.wantStatus, "")
				if r.get("meta") != nil {
					t.Errorf("a refused list has meta: %s", r.raw)
				}
				return
			}
			r.want(t, 200, "")
			pages := float64(int(tt.wantCount+1) / 2)
			if r.get("meta.record_count") != tt.wantCount || r.get("meta.page_count") != pages || n != tt.wantCOUNT {
				t.Errorf("record_count %v, page_count %v after %d COUNT statements; want %v, %v, %d", r.get("meta.record_count"),
					r.get("meta.page_count"), n, tt.wantCount, pages, tt.wantCOUNT)
			}
			meta, _ := r.get("meta").(map[string]any)
			asOf := start.Add(tt.wantAsOf).Format(time.RFC3339)
			switch {
			case !tt.wantCached && len(meta) != 2:
				t.Errorf("an exact count's meta is %v; want record_count and page_count only", meta)
			case tt.wantCached && (len(meta) != 4 || meta["record_count_cached"] != true || meta["record_count_as_of"] != asOf):
				t.Errorf("meta %v; want record_count_cached true, record_count_as_of %s", meta, asOf)
			}
		}) {
			t.FailNow() // the steps build on each other
		}
	}
}

// TestCountCacheOff checks that CountCache{} counts every list on every
// request, however large.
func TestCountCacheOff(t *testing.T) {
	f := watchCounts(t, newServer(t, httpapi.WithCountCache(httpapi.CountCache{}, nil)))
	for i := range 3 {
		var r response
		n := f.counts.during(func() {
			r = f.call(t, "GET", "/api/memberships?page[number]=2&page[size]=2", f.ownerToken, "").want(t, 200, "")
		})
		if meta, _ := r.get("meta").(map[string]any); r.get("meta.record_count") != 7.0 || len(meta) != 2 || n != 1 {
			t.Errorf("request %d: meta %v after %d COUNT statements; want record_count 7, page_count only, 1 COUNT", i, meta, n)
		}
	}
}

// TestCountCacheSeedWrites checks that the writes of the Rebilly and ECI
// endpoints drop the kept counts of their organization, as the JSON:API
// writes do: the next page counts again and sees the write.
func TestCountCacheSeedWrites(t *testing.T) {
	f := newCountFixture(t)
	list := "/api/memberships?filter[organization_id]=" + f.org.ID + "&page[size]=2"
	u1, _ := f.user(t, "seed1@example.com")
	u2, _ := f.user(t, "seed2@example.com")
	rebilly := "/memberships/" + f.org.ID + "/" + u1.ID
	tests := []struct {
		name      string
		write     func(t *testing.T)
		wantCount float64
	}{
		{"Rebilly PUT", func(t *testing.T) {
			if r := f.json(t, "PUT", rebilly, f.ownerToken, `{"roleIds":["`+f.readOnly.ID+`"]}`); r.status != 201 {
				t.Fatalf("PUT: %d %s", r.status, r.raw)
			}
		}, 8},
		{"ECI POST", func(t *testing.T) {
			if r := f.json(t, "POST", "/v1/organizations/"+eciOrg(f.org)+"/members", f.ownerToken,
				`{"userId":"`+u2.ID+`","isMfaRequired":false}`); r.status != 201 {
				t.Fatalf("POST: %d %s", r.status, r.raw)
			}
		}, 9},
		{"Rebilly DELETE", func(t *testing.T) {
			if r := f.json(t, "DELETE", rebilly, f.ownerToken, ""); r.status != 204 {
				t.Fatalf("DELETE: %d %s", r.status, r.raw)
			}
		}, 8},
	}
	f.call(t, "GET", list, f.ownerToken, "").want(t, 200, "") // counts, then keeps the count
	for _, tt := range tests {
		if !t.Run(tt.name, func(t *testing.T) {
			f.clock.advance(time.Second)
			if r := f.call(t, "GET", list, f.ownerToken, "").want(t, 200, ""); r.get("meta.record_count_cached") != true {
				t.Fatalf("before the write: meta %v; want the kept count", r.get("meta"))
			}
			tt.write(t)
			var r response
			n := f.counts.during(func() { r = f.call(t, "GET", list, f.ownerToken, "").want(t, 200, "") })
			if r.get("meta.record_count") != tt.wantCount || r.get("meta.record_count_cached") != nil || n != 1 {
				t.Errorf("after the write: meta %v after %d COUNT statements; want record_count %v counted again (1 COUNT)", r.get("meta"), n, tt.wantCount)
			}
		}) {
			t.FailNow() // the steps build on each other
		}
	}
}
