// Command quickstart walks the main path of provisioning on an in-memory
// SQLite database, in plain Go: an owner creates an organization, invites a
// member by email, the member signs up and accepts, a job authenticates with
// an API credential and reads, and the audit trail shows every step.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/audit"
	"github.com/provisionkit/provisioning/credential"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/storage/bunstore"
	"github.com/provisionkit/provisioning/storage/sqlite"
	"github.com/provisionkit/provisioning/user"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// printingNotifier stands in for the host's mailer: it prints each
// invitation and keeps the last token, which a real host would put in the
// link of the email.
type printingNotifier struct{ lastToken string }

func (n *printingNotifier) Invited(_ context.Context, inv provisioning.Invitation) error {
	fmt.Printf("  [mail] to %s: join %q (token %s…, expires %s)\n",
		inv.Email, inv.OrganizationName, inv.Token[:min(6, len(inv.Token))], inv.ExpiresAt.Format("2006-01-02"))
	n.lastToken = inv.Token
	return nil
}

func run(ctx context.Context) error {
	// 1. Storage: the host owns the *bun.DB; the store migrates it on request.
	db, err := sqlite.Open(ctx, sqlite.Memory)
	if err != nil {
		return err
	}
	defer db.Close()
	store, err := bunstore.New(db)
	if err != nil {
		return err
	}
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	fmt.Println("opened an in-memory SQLite database and migrated the schema")

	// 2. The facade, with a notifier that delivers invitations.
	mailer := &printingNotifier{}
	p, err := provisioning.New(store, provisioning.WithNotifier(mailer))
	if err != nil {
		return err
	}

	// 3. Sign-up is trusted code: the System handle creates users.
	owner, err := p.System().CreateUser(ctx, user.Create{Email: "Ada@Example.com", FirstName: "Ada", LastName: "Lovelace", EmailVerified: true})
	if err != nil {
		return err
	}
	fmt.Printf("created user %s\n", owner.Email)

	// 4. Everything else is done as a principal, and authorized.
	asOwner := p.As(provisioning.User(owner.ID))
	org, err := asOwner.CreateOrganization(ctx, organization.Create{Name: "Analytical Engines"})
	if err != nil {
		return err
	}
	fmt.Printf("%s created organization %q (slug %s, domain %s)\n", owner.Email, org.Name, org.Slug, org.Domain)

	roleNames, readOnlyID, err := roles(ctx, asOwner, org.ID)
	if err != nil {
		return err
	}

	// 5. Invite someone who has no account yet: the membership is pending.
	inv, err := asOwner.Invite(ctx, membership.Invite{OrganizationID: org.ID, UserEmail: "charles@example.com", RoleID: readOnlyID})
	if err != nil {
		return err
	}
	fmt.Printf("%s invited %s as %s: membership %s\n", owner.Email, inv.UserEmail, roleNames[inv.RoleID], inv.Status)

	// 6. The invitee signs up (the host verified the address: only then are
	// invitations accepted) and accepts with the token from the email.
	member, err := p.System().CreateUser(ctx, user.Create{Email: "charles@example.com", FirstName: "Charles", LastName: "Babbage", EmailVerified: true})
	if err != nil {
		return err
	}
	accepted, err := p.As(provisioning.User(member.ID)).AcceptInvitation(ctx, mailer.lastToken)
	if err != nil {
		return err
	}
	fmt.Printf("%s signed up and accepted: membership %s\n", member.Email, accepted.Status)

	// 7. List the memberships, page by page.
	fmt.Println("\nmemberships:")
	fmt.Printf("  %-22s %-8s %-10s %-6s %s\n", "EMAIL", "STATUS", "ROLE", "OWNER", "ACCESS")
	f := membership.Filter{OrganizationID: org.ID}
	members := 0
	for {
		page, err := asOwner.ListMemberships(ctx, f)
		if err != nil {
			return err
		}
		for _, m := range page.Items {
			fmt.Printf("  %-22s %-8s %-10s %-6t %s\n", m.UserEmail, m.Status, roleNames[m.RoleID], m.Owner, m.EffectiveAccessScope())
			members++
		}
		if page.Next == "" {
			break
		}
		f.After = page.Next
	}

	// 8. A machine principal: an integration API credential with the
	// read_only role. Its secret is shown once, here; only a hash is stored.
	issued, err := asOwner.CreateCredential(ctx, credential.Create{OrganizationID: org.ID, Name: "Reporting job",
		Kind: credential.Integration, RoleID: readOnlyID})
	if err != nil {
		return err
	}
	fmt.Printf("\n%s created API credential %q: client id %s, secret %s… (shown once)\n",
		owner.Email, issued.Credential.Name, issued.Credential.ClientID, issued.ClientSecret[:12])
	// The job authenticates with its client id and secret, and works as the
	// credential: it may read, as its role says, and nothing more.
	job, err := p.Authenticate(ctx, issued.Credential.ClientID, issued.ClientSecret)
	if err != nil {
		return err
	}
	seen, err := p.As(job).GetOrganization(ctx, org.ID)
	if err != nil {
		return err
	}
	fmt.Printf("the credential authenticated and read organization %q\n", seen.Name)
	newName := "Renamed by a job"
	if _, err := p.As(job).UpdateOrganization(ctx, org.ID, organization.Update{Name: &newName}); errors.Is(err, fault.ErrForbidden) {
		fmt.Println("the credential may not rename it: its role is read_only")
	}

	// 9. The audit trail: one version per change, written in its transaction.
	who := map[string]string{owner.ID: owner.Email, member.ID: member.Email}
	fmt.Println("\naudit trail:")
	vf := audit.Filter{OrganizationID: org.ID}
	for {
		page, err := asOwner.ListVersions(ctx, vf)
		if err != nil {
			return err
		}
		for _, v := range page.Items {
			actor := v.Who.Type
			if email, ok := who[v.Who.ID]; ok {
				actor = email
			}
			fmt.Printf("  %s  %-20s %-15s %-8s %s\n", v.CreatedAt.Format("15:04:05.000"), actor, v.ResourceType, v.Event, changes(v, roleNames))
		}
		if page.Next == "" {
			break
		}
		vf.After = page.Next
	}
	fmt.Printf("\ndone: organization %q has %d memberships\n", org.Name, members)
	return nil
}

// roles returns the names of the organization's roles by id, and the id of
// its read_only role.
func roles(ctx context.Context, s *provisioning.Session, orgID string) (map[string]string, string, error) {
	page, err := s.ListRoles(ctx, role.Filter{OrganizationID: orgID})
	if err != nil {
		return nil, "", err
	}
	names := map[string]string{}
	var readOnly string
	for _, r := range page.Items {
		names[r.ID] = string(r.Kind)
		if r.Kind == role.KindReadOnly {
			readOnly = r.ID
		}
	}
	return names, readOnly, nil
}

// changes formats a version's changes as field=old→new, sorted by field.
func changes(v audit.Version, roleNames map[string]string) string {
	fields := make([]string, 0, len(v.Changes))
	for k := range v.Changes {
		fields = append(fields, k)
	}
	sort.Strings(fields)
	var b strings.Builder
	for i, k := range fields {
		before, after := v.Changes[k][0], v.Changes[k][1]
		if k == "role_id" {
			k, before, after = "role", name(before, roleNames), name(after, roleNames)
		}
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s=%v→%v", k, null(before), null(after))
	}
	return b.String()
}

func name(v any, names map[string]string) any {
	if id, ok := v.(string); ok && names[id] != "" {
		return names[id]
	}
	return v
}

func null(v any) any {
	if v == nil {
		return "null"
	}
	return v
}
