package authz_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/authz"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
)

// pageLimits are the page sizes the reverse queries are read with; 0 is the
// default size.
var pageLimits = []int{1, 2, 3, 0, resource.MaxPageLimit}

// reverseAsks are the (subject, action) pairs the reverse queries ask about.
var reverseAsks = []struct {
	subject string
	act     role.Action
}{
	{"orders", role.ActionCreate},
	{"orders", role.ActionRead},
	{"memberships", role.ActionRead},
	{"memberships", role.ActionDestroy},
	{"skus", role.ActionUpdate},
	{"widgets", role.ActionDestroy},
}

// readPages reads every page of a list through next, the cursor of each page
// being the Next of the one before, and checks the shape of each page: full
// but for the last, never empty but for an empty list, and Next the cursor
// of its last item.
func readPages(tb testing.TB, limit int, next func(page resource.PageRequest) (resource.Page[string], error)) []string {
	tb.Helper()
	size := resource.PageRequest{Limit: limit}.Size()
	var out []string
	after := ""
	for n := 0; ; n++ {
		page, err := next(resource.PageRequest{After: after, Limit: limit})
		if err != nil {
			tb.Fatalf("page %d: %v", n, err)
		}
		switch {
		case len(page.Items) > size:
			tb.Fatalf("page %d: got %d items, want at most %d", n, len(page.Items), size)
		case page.Next != "" && len(page.Items) != size:
			tb.Fatalf("page %d: got %d items and a next page, want %d", n, len(page.Items), size)
		case page.Next != "" && page.Next != resource.Cursor(page.Items[len(page.Items)-1]):
			tb.Fatalf("page %d: Next %q, want the cursor of %q", n, page.Next, page.Items[len(page.Items)-1])
		case n > 0 && len(page.Items) == 0:
			tb.Fatalf("page %d: empty page after a page with Next", n)
		case n > 10_000:
			tb.Fatal("more than 10000 pages")
		}
		out = append(out, page.Items...)
		if page.Next == "" {
			return out
		}
		after = page.Next
	}
}

// reverseOrg has members of several roles, among whom one expired, one who
// expires later, one requiring a second factor and a guest.
func reverseOrg() *access.Snapshot {
	s := attrOrg(func(s *access.Snapshot) {
		s.Roles = append(s.Roles, access.RoleGrant{ID: "r-ro", Kind: role.KindReadOnly})
		s.Members = append(s.Members,
			access.Member{UserID: "u-bea", RoleIDs: []string{"r-orders"}},
			access.Member{UserID: "u-cal", RoleIDs: []string{"r-admin"}, ExpiresAt: attrNow.Add(-time.Minute)},
			access.Member{UserID: "u-dan", RoleIDs: []string{"r-admin"}, ExpiresAt: attrNow.Add(time.Minute)},
			access.Member{UserID: "u-eve", RoleIDs: []string{"r-ro"}, MFARequired: true},
			access.Member{UserID: "u-fay", RoleIDs: []string{"r-admin"}, Guest: true},
			access.Member{UserID: "u-gil", RoleIDs: []string{"r-ro"}, Grants: []access.Grant{{Subject: "orders", Action: "*"}}},
			access.Member{UserID: "u-hal", RoleIDs: []string{"r-orders", "r-ro"}},
		)
	})
	return s
}

// bruteMembers lists, in id order, the members of s whom Check allows act on
// subject, asking as a user with a second factor.
func bruteMembers(tb testing.TB, a *authz.Authorizer, st access.Store, s *access.Snapshot, subject string, act role.Action) []string {
	tb.Helper()
	var out []string
	for _, m := range s.Members {
		d := mustCheck(tb, a, st, access.Principal{Kind: access.KindUser, ID: m.UserID, MFA: true}, s.OrganizationID, subject, act)
		if d.Allowed {
			out = append(out, m.UserID)
		}
	}
	slices.Sort(out)
	return out
}

func TestMembers(t *testing.T) {
	w := randomWorld(diffSeed, diffOrgs)
	snaps := append(slices.Clone(w.snaps), reverseOrg())
	st := newStore(t, snaps...)
	a := authz.New(authz.WithClock(func() time.Time { return attrNow }))
	ctx := context.Background()
	for _, s := range snaps {
		for _, ask := range reverseAsks {
			want := bruteMembers(t, a, st, s, ask.subject, ask.act)
			for _, limit := range pageLimits {
				t.Run(fmt.Sprintf("%s %s %s limit %d", s.OrganizationID, ask.act, ask.subject, limit), func(t *testing.T) {
					got := readPages(t, limit, func(page resource.PageRequest) (resource.Page[string], error) {
						return a.Members(ctx, st, s.OrganizationID, ask.subject, ask.act, page)
					})
					if !slices.Equal(got, want) {
						t.Errorf("got %v, want %v", got, want)
					}
				})
			}
		}
	}
}

func TestMembersAttributes(t *testing.T) {
	tests := []struct {
		name        string
		giveSubject string
		giveAct     role.Action
		want        []string
	}{
		// u-cal has expired; u-dan expires later; u-eve needs a second
		// factor, which a later call of hers may bring; u-fay is a guest.
		{"admins and guests create orders", "orders", role.ActionCreate, []string{"u-ann", "u-dan", "u-fay", "u-gil"}},
		{"readers of orders", "orders", role.ActionRead, []string{"u-ann", "u-bea", "u-dan", "u-eve", "u-fay", "u-gil", "u-hal"}},
		{"guests do not create memberships", "memberships", role.ActionCreate, []string{"u-ann", "u-dan"}},
		{"admins and readers read widgets", "widgets", role.ActionRead, []string{"u-ann", "u-dan", "u-eve", "u-fay", "u-gil", "u-hal"}},
	}
	st := newStore(t, reverseOrg())
	a := authz.New(authz.WithClock(func() time.Time { return attrNow }))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readPages(t, 2, func(page resource.PageRequest) (resource.Page[string], error) {
				return a.Members(context.Background(), st, "attr", tt.giveSubject, tt.giveAct, page)
			})
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMembersExpiryFollowsTheClock(t *testing.T) {
	now := attrNow
	st := newStore(t, reverseOrg())
	a := authz.New(authz.WithClock(func() time.Time { return now }))
	tests := []struct {
		name    string
		giveNow time.Time
		want    []string
	}{
		{"before both expiries", attrNow.Add(-time.Hour), []string{"u-ann", "u-cal", "u-dan"}},
		{"between the expiries", attrNow, []string{"u-ann", "u-dan"}},
		{"after both expiries", attrNow.Add(time.Hour), []string{"u-ann"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now = tt.giveNow
			page, err := a.Members(context.Background(), st, "attr", "memberships", role.ActionCreate, resource.PageRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(page.Items, tt.want) || page.Next != "" {
				t.Errorf("got %v (next %q), want %v", page.Items, page.Next, tt.want)
			}
		})
	}
}

func TestMembersErrors(t *testing.T) {
	cursor := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name        string
		giveOrg     string
		giveSubject string
		giveAct     role.Action
		giveAfter   string
		want        error
	}{
		{"cursor not base64", "attr", "orders", role.ActionRead, "!!!", fault.ErrInvalid},
		{"cursor without prefix", "attr", "orders", role.ActionRead, cursor("u-ann"), fault.ErrInvalid},
		{"cursor of a malformed id", "attr", "orders", role.ActionRead, cursor("id:U Ann"), fault.ErrInvalid},
		{"cursor of an empty id", "attr", "orders", role.ActionRead, cursor("id:"), fault.ErrInvalid},
		{"empty organization", "", "orders", role.ActionRead, "", fault.ErrInvalid},
		{"unknown organization", "nowhere", "orders", role.ActionRead, "", fault.ErrNotFound},
		{"malformed organization", "a,b", "orders", role.ActionRead, "", fault.ErrNotFound},
		{"wildcard subject", "attr", "*", role.ActionRead, "", fault.ErrInvalid},
		{"unknown action", "attr", "orders", "own", "", fault.ErrInvalid},
	}
	st := newStore(t, reverseOrg())
	a := authz.New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := a.Members(context.Background(), st, tt.giveOrg, tt.giveSubject, tt.giveAct, resource.PageRequest{After: tt.giveAfter})
			if !errors.Is(err, tt.want) || page.Items != nil || page.Next != "" {
				t.Errorf("got %v, %v; want an empty page and %v", page, err, tt.want)
			}
		})
	}
}

// wideWorld is more organizations than one page of the store's
// Organizations, all with u-wide as a member of a random role.
func wideWorld() []*access.Snapshot {
	w := randomWorld(diffSeed+1, 230)
	for i, s := range w.snaps {
		s.Members = append(s.Members, access.Member{UserID: "u-wide", RoleIDs: []string{s.Roles[i%len(s.Roles)].ID}})
	}
	return w.snaps
}

// bruteOrganizations lists, in id order, the organizations of snaps where
// Check allows p to do act on subject.
func bruteOrganizations(tb testing.TB, a *authz.Authorizer, st access.Store, snaps []*access.Snapshot, p access.Principal, subject string, act role.Action) []string {
	tb.Helper()
	var out []string
	for _, s := range snaps {
		if mustCheck(tb, a, st, p, s.OrganizationID, subject, act).Allowed {
			out = append(out, s.OrganizationID)
		}
	}
	slices.Sort(out)
	return out
}

func TestOrganizations(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		giveSnaps []*access.Snapshot
		givePrins []access.Principal
	}{
		{"random world", randomWorld(diffSeed, diffOrgs).snaps, worldPrincipals()},
		{"more organizations than a page of the store", wideWorld(), []access.Principal{
			{Kind: access.KindUser, ID: "u-wide", MFA: true}, {Kind: access.KindUser, ID: "u1", MFA: true},
		}},
	}
	for _, tt := range tests {
		st := newStore(t, tt.giveSnaps...)
		a := authz.New()
		for _, p := range tt.givePrins {
			for _, ask := range reverseAsks {
				want := bruteOrganizations(t, a, st, tt.giveSnaps, p, ask.subject, ask.act)
				for _, limit := range pageLimits {
					t.Run(fmt.Sprintf("%s: %s %s %s limit %d", tt.name, who(p), ask.act, ask.subject, limit), func(t *testing.T) {
						got := readPages(t, limit, func(page resource.PageRequest) (resource.Page[string], error) {
							return a.Organizations(ctx, st, p, ask.subject, ask.act, page)
						})
						if !slices.Equal(got, want) {
							t.Errorf("got %v, want %v", got, want)
						}
					})
				}
			}
		}
	}
}

// worldPrincipals are users, credentials and users acting through an
// application, with a second factor.
func worldPrincipals() []access.Principal {
	var out []access.Principal
	for _, u := range askUsers {
		out = append(out, access.Principal{Kind: access.KindUser, ID: u, MFA: true})
		for _, app := range askApps[:2] {
			out = append(out, access.Principal{Kind: access.KindUser, ID: u, App: app, MFA: true})
		}
	}
	for _, c := range askCreds {
		out = append(out, access.Principal{Kind: access.KindCredential, ID: c})
	}
	return out
}

func TestOrganizationsErrors(t *testing.T) {
	tests := []struct {
		name        string
		givePrin    access.Principal
		giveSubject string
		giveAct     role.Action
		giveAfter   string
		want        error
	}{
		{"malformed cursor", ann(), "orders", role.ActionRead, "%%%", fault.ErrInvalid},
		{"wildcard subject", ann(), "*", role.ActionRead, "", fault.ErrInvalid},
		{"unknown action", ann(), "orders", "", "", fault.ErrInvalid},
		{"principal without id", access.User(""), "orders", role.ActionRead, "", fault.ErrUnauthenticated},
		{"credential through an application", access.Principal{Kind: access.KindCredential, ID: "c-api", App: "c-app"}, "orders", role.ActionRead, "", fault.ErrUnauthenticated},
		{"system principal", access.Principal{Kind: access.KindSystem, ID: "boot"}, "orders", role.ActionRead, "", fault.ErrInternal},
	}
	st := newStore(t, attrOrg(nil))
	a := authz.New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := a.Organizations(context.Background(), st, tt.givePrin, tt.giveSubject, tt.giveAct, resource.PageRequest{After: tt.giveAfter})
			if !errors.Is(err, tt.want) || page.Items != nil || page.Next != "" {
				t.Errorf("got %v, %v; want an empty page and %v", page, err, tt.want)
			}
		})
	}
}
