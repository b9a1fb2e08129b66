package provisioning_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sort"
	"strings"
	"time"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/storage/bunstore"
	"github.com/provisionkit/provisioning/storage/sqlite"
	"github.com/provisionkit/provisioning/user"
)

// exampleClock is a clock stopped at one instant, so that outputs with
// times are stable.
type exampleClock struct{ t time.Time }

func (c exampleClock) Now() time.Time { return c.t }

// exampleMailer keeps the invitations a host would send by email.
type exampleMailer struct{ sent []provisioning.Invitation }

func (m *exampleMailer) Invited(_ context.Context, inv provisioning.Invitation) error {
	m.sent = append(m.sent, inv)
	return nil
}

// example is a Provisioner on a fresh in-memory database, with its mailer
// and the session of ada@example.com, owner of a new organization "Acme".
type example struct {
	p     *provisioning.Provisioner
	mail  *exampleMailer
	owner *provisioning.Session
	org   *organization.Organization
	close func() error
}

// newExample builds an example; it panics on error, which is enough here.
// Close it when done.
func newExample(opts ...provisioning.Option) *example {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, sqlite.Memory)
	if err != nil {
		log.Panic(err)
	}
	store, err := bunstore.New(db)
	if err != nil {
		log.Panic(err)
	}
	if err := store.Migrate(ctx); err != nil {
		log.Panic(err)
	}
	e := &example{mail: &exampleMailer{}, close: db.Close}
	opts = append([]provisioning.Option{provisioning.WithNotifier(e.mail),
		provisioning.WithClock(exampleClock{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})}, opts...)
	if e.p, err = provisioning.New(store, opts...); err != nil {
		log.Panic(err)
	}
	ada, err := e.p.System().CreateUser(ctx, user.Create{Email: "ada@example.com", EmailVerified: true})
	if err != nil {
		log.Panic(err)
	}
	e.owner = e.p.As(provisioning.User(ada.ID))
	if e.org, err = e.owner.CreateOrganization(ctx, organization.Create{Name: "Acme"}); err != nil {
		log.Panic(err)
	}
	return e
}

func (e *example) Close() { _ = e.close() }

// exampleRole returns the id of the organization's role of kind k.
func exampleRole(s *provisioning.Session, orgID string, k role.Kind) string {
	page, err := s.ListRoles(context.Background(), role.Filter{OrganizationID: orgID, Kind: k})
	if err != nil || len(page.Items) != 1 {
		log.Panicf("role %s: %v", k, err)
	}
	return page.Items[0].ID
}

func ExampleNew() {
	ctx := context.Background()

	// The host opens (and later closes) the database.
	db, err := sqlite.Open(ctx, sqlite.Memory)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	// The store implements every storage contract; migrations are explicit.
	store, err := bunstore.New(db)
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}

	clock := exampleClock{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	p, err := provisioning.New(store, provisioning.WithClock(clock))
	if err != nil {
		log.Fatal(err)
	}

	// Sign-up is trusted code: it goes through the System handle. The host
	// has proven the address (it mailed a link there), so it says so: only
	// a verified address has invitations accepted and memberships granted.
	u, err := p.System().CreateUser(ctx, user.Create{Email: " Ada@Example.COM ", FirstName: "Ada", EmailVerified: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u.Email, u.FirstName, u.CreatedAt.Format(time.RFC3339))
	// Output:
	// ada@example.com Ada 2026-01-02T03:04:05Z
}

func ExampleSession_CreateOrganization() {
	ctx := context.Background()
	e := newExample()
	defer e.Close()
	p := e.p

	u, err := p.System().CreateUser(ctx, user.Create{Email: "grace@example.com", EmailVerified: true})
	if err != nil {
		log.Fatal(err)
	}
	s := p.As(provisioning.User(u.ID))
	org, err := s.CreateOrganization(ctx, organization.Create{Name: "Blue Brand"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(org.Name, org.Slug, org.Domain, org.Region)

	// The creator is the owner; the organization comes with two roles.
	me, err := s.ListMemberships(ctx, membership.Filter{OrganizationID: org.ID, UserID: u.ID})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("owner:", me.Items[0].Owner, me.Items[0].Status)
	roles, err := s.ListRoles(ctx, role.Filter{OrganizationID: org.ID})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range roles.Items {
		fmt.Println("role:", r.Name, r.Kind)
	}
	// Output:
	// Blue Brand blue-brand blue-brand.commercelayer.io eu-west-1
	// owner: true active
	// role: Admin admin
	// role: Read-only read_only
}

func ExampleSession_Invite() {
	ctx := context.Background()
	e := newExample()
	defer e.Close()
	p, mail, owner, org := e.p, e.mail, e.owner, e.org

	// Someone without an account: the membership is pending and the
	// Notifier gets a token for the invitation email.
	m, err := owner.Invite(ctx, membership.Invite{
		OrganizationID: org.ID,
		UserEmail:      "Bob@Example.com",
		RoleID:         exampleRole(owner, org.ID, role.KindReadOnly),
	})
	if err != nil {
		log.Fatal(err)
	}
	inv := mail.sent[len(mail.sent)-1]
	fmt.Println(m.UserEmail, m.Status, "| mailed to", inv.Email, "| expires", inv.ExpiresAt.Format(time.DateOnly))

	// Inviting the same email twice is a conflict.
	_, err = owner.Invite(ctx, membership.Invite{OrganizationID: org.ID, UserEmail: "bob@example.com", RoleID: m.RoleID})
	fmt.Println("again:", errors.Is(err, fault.ErrAlreadyExists))

	// Bob signs up (the host verified his address) and accepts with the
	// token from the email.
	bob, err := p.System().CreateUser(ctx, user.Create{Email: "bob@example.com", EmailVerified: true})
	if err != nil {
		log.Fatal(err)
	}
	accepted, err := p.As(provisioning.User(bob.ID)).AcceptInvitation(ctx, inv.Token)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(accepted.UserEmail, accepted.Status)

	// A token works once.
	_, err = p.As(provisioning.User(bob.ID)).AcceptInvitation(ctx, inv.Token)
	fmt.Println("reuse:", errors.Is(err, fault.ErrInvitationInvalid))
	// Output:
	// bob@example.com pending | mailed to bob@example.com | expires 2026-01-09
	// again: true
	// bob@example.com active
	// reuse: true
}

func ExampleSession_TransferOwnership() {
	ctx := context.Background()
	e := newExample()
	defer e.Close()
	p, owner, org := e.p, e.owner, e.org

	// Bob already has an account, so his membership is active at once.
	if _, err := p.System().CreateUser(ctx, user.Create{Email: "bob@example.com", EmailVerified: true}); err != nil {
		log.Fatal(err)
	}
	readOnly := exampleRole(owner, org.ID, role.KindReadOnly)
	if _, err := owner.Invite(ctx, membership.Invite{OrganizationID: org.ID, UserEmail: "bob@example.com", RoleID: readOnly}); err != nil {
		log.Fatal(err)
	}

	if err := owner.TransferOwnership(ctx, org.ID, "bob@example.com"); err != nil {
		log.Fatal(err)
	}

	// Bob is the owner and got the admin role; Ada keeps her membership.
	page, err := owner.ListMemberships(ctx, membership.Filter{OrganizationID: org.ID})
	if err != nil {
		log.Fatal(err)
	}
	admin := exampleRole(owner, org.ID, role.KindAdmin)
	for _, m := range page.Items {
		fmt.Println(m.UserEmail, "owner:", m.Owner, "admin:", m.RoleID == admin)
	}

	// Only the owner transfers ownership, and Ada is not the owner any more.
	err = owner.TransferOwnership(ctx, org.ID, "ada@example.com")
	fmt.Println("ada again:", errors.Is(err, fault.ErrForbidden))
	// Output:
	// ada@example.com owner: false admin: true
	// bob@example.com owner: true admin: true
	// ada again: true
}

func ExampleSession_ListMemberships() {
	ctx := context.Background()
	e := newExample()
	defer e.Close()
	owner, org := e.owner, e.org

	readOnly := exampleRole(owner, org.ID, role.KindReadOnly)
	for _, name := range []string{"bob", "carol", "dan", "erin"} {
		in := membership.Invite{OrganizationID: org.ID, UserEmail: name + "@example.com", RoleID: readOnly}
		if _, err := owner.Invite(ctx, in); err != nil {
			log.Fatal(err)
		}
	}

	// Pages of two, in creation order, following Next until it is "".
	f := membership.Filter{OrganizationID: org.ID, PageRequest: resource.PageRequest{Limit: 2}}
	for n := 1; ; n++ {
		page, err := owner.ListMemberships(ctx, f)
		if err != nil {
			log.Fatal(err)
		}
		var line []string
		for _, m := range page.Items {
			line = append(line, fmt.Sprintf("%s (%s)", m.UserEmail, m.Status))
		}
		fmt.Printf("page %d: %s\n", n, strings.Join(line, ", "))
		if page.Next == "" {
			break
		}
		f.After = page.Next
	}

	// Filters narrow the list.
	pending, err := owner.ListMemberships(ctx, membership.Filter{OrganizationID: org.ID, Status: membership.Pending})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("pending:", len(pending.Items))
	// Output:
	// page 1: ada@example.com (active), bob@example.com (pending)
	// page 2: carol@example.com (pending), dan@example.com (pending)
	// page 3: erin@example.com (pending)
	// pending: 4
}

func ExampleSession_Can() {
	ctx := context.Background()
	// The host registers its own subject next to the built-in ones.
	e := newExample(provisioning.WithSubjects("projects"))
	defer e.Close()
	p, owner, org := e.p, e.owner, e.org

	viewer, err := p.System().CreateUser(ctx, user.Create{Email: "viewer@example.com", EmailVerified: true})
	if err != nil {
		log.Fatal(err)
	}
	in := membership.Invite{OrganizationID: org.ID, UserEmail: viewer.Email, RoleID: exampleRole(owner, org.ID, role.KindReadOnly)}
	if _, err := owner.Invite(ctx, in); err != nil {
		log.Fatal(err)
	}
	outsider, err := p.System().CreateUser(ctx, user.Create{Email: "outsider@example.com", EmailVerified: true})
	if err != nil {
		log.Fatal(err)
	}

	for _, c := range []struct {
		who string
		s   *provisioning.Session
		act role.Action
	}{
		{"owner", owner, role.ActionCreate},
		{"viewer", p.As(provisioning.User(viewer.ID)), role.ActionRead},
		{"viewer", p.As(provisioning.User(viewer.ID)), role.ActionCreate},
		{"outsider", p.As(provisioning.User(outsider.ID)), role.ActionRead},
	} {
		ok, err := c.s.Can(ctx, org.ID, "projects", c.act)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s %s projects: %t\n", c.who, c.act, ok)
	}

	// An unregistered subject is an error, not a silent false.
	_, err = owner.Can(ctx, org.ID, "invoices", role.ActionRead)
	fmt.Println("invoices:", errors.Is(err, fault.ErrInvalid))
	// Output:
	// owner create projects: true
	// viewer read projects: true
	// viewer create projects: false
	// outsider read projects: false
	// invoices: true
}

func ExampleSession_ListVersions() {
	ctx := context.Background()
	e := newExample()
	defer e.Close()
	owner, org := e.owner, e.org

	name := "Acme Corp"
	if _, err := owner.UpdateOrganization(ctx, org.ID, organization.Update{Name: &name}); err != nil {
		log.Fatal(err)
	}

	page, err := owner.ListVersions(ctx, audit.Filter{OrganizationID: org.ID})
	if err != nil {
		log.Fatal(err)
	}
	for _, v := range page.Items {
		fields := make([]string, 0, len(v.Changes))
		for f := range v.Changes {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		fmt.Println(v.CreatedAt.Format(time.RFC3339), v.Who.Type, v.ResourceType, v.Event, fields)
	}
	last := page.Items[len(page.Items)-1]
	fmt.Println("name:", last.Changes["name"][0], "→", last.Changes["name"][1])
	// Output:
	// 2026-01-02T03:04:05Z user organizations create [domain name region slug]
	// 2026-01-02T03:04:05Z user roles create [kind name]
	// 2026-01-02T03:04:05Z user roles create [kind name]
	// 2026-01-02T03:04:05Z user memberships create [owner role_id status user_email]
	// 2026-01-02T03:04:05Z user api_credentials create [client_id confidential custom expires_in kind mode name role_id]
	// 2026-01-02T03:04:05Z user api_credentials create [client_id confidential custom expires_in kind mode name role_id]
	// 2026-01-02T03:04:05Z user organizations update [name]
	// name: Acme → Acme Corp
}
