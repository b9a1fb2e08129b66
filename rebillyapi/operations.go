package rebillyapi

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/internal/httpx"
	"github.com/provisionkit/provisioning/membership"
)

// Operation is one of Rebilly's operations (an operationId of
// https://github.com/Rebilly/api-definitions) as a permission of a
// member: the library's grants (subject × action) that calling it needs,
// all of them.
type Operation struct {
	// ID is Rebilly's operationId, e.g. GetMembershipCollection.
	ID string
	// Grants are what the operation needs, in the library's terms.
	Grants []access.Grant
}

func grants(pairs ...string) []access.Grant {
	out := make([]access.Grant, 0, len(pairs))
	for _, p := range pairs {
		subject, action, _ := strings.Cut(p, ":")
		out = append(out, access.Grant{Subject: subject, Action: action})
	}
	return out
}

// operations is the one table of Rebilly's operation ids and the grants
// they stand for, in the order of Operations. Each id is an operationId of
// Rebilly's User API (organizations, memberships, roles, API keys).
var operations = [...]Operation{
	{"GetOrganizationCollection", grants("organizations:read")},
	{"GetOrganization", grants("organizations:read")},
	{"PostOrganization", grants("organizations:create")},
	{"PatchOrganization", grants("organizations:update")},
	{"GetMembershipCollection", grants("memberships:read")},
	{"GetMembership", grants("memberships:read")},
	{"PutMembership", grants("memberships:create", "memberships:update")},
	{"DeleteMembership", grants("memberships:destroy")},
	{"GetRoleCollection", grants("roles:read", "permissions:read")},
	{"GetRole", grants("roles:read", "permissions:read")},
	{"PostRole", grants("roles:create", "permissions:create")},
	{"PutRole", grants("roles:update", "permissions:create", "permissions:update")},
	{"DeleteRole", grants("roles:destroy")},
	{"GetApiKeyCollection", grants("api_credentials:read")},
	{"GetApiKey", grants("api_credentials:read")},
	{"PostApiKey", grants("api_credentials:create")},
	{"PutApiKey", grants("api_credentials:update")},
	{"DeleteApiKey", grants("api_credentials:destroy")},
}

// Operations returns the table of Rebilly's operation ids that the
// membership routes read and write as permissions, in a stable order, with
// the grants each stands for. The slice and its grants are the caller's:
// changing them changes nothing else.
//
// A PUT's permissions are operation ids (or "*", every right, or, beyond
// Rebilly's format, the library's own "subject:action" for grants no
// operation id stands for); each id becomes its grants. An answer's
// permissions are the ids whose grants the member's direct permissions
// cover, then, in the library's form, the direct permissions those ids do
// not spell out, so that a document sent back as it came changes nothing.
func Operations() []Operation {
	out := slices.Clone(operations[:])
	for i := range out {
		out[i].Grants = slices.Clone(out[i].Grants)
	}
	return out
}

// operation returns the row of an operation id.
func operation(id string) (Operation, bool) {
	i := slices.IndexFunc(operations[:], func(o Operation) bool { return o.ID == id })
	if i < 0 {
		return Operation{}, false
	}
	return operations[i], true
}

// permissionsIn turns the permissions of a PUT into the library's direct
// permissions: "*" as it is, an operation id as its grants, the library's
// "subject:action" as it is. origin[i] is the index, in the body, of the
// entry the i-th permission came from. An unknown operation id is 422
// naming each (permissions.N).
func permissionsIn(perms []string) (out []string, origin []int, err error) {
	if perms == nil {
		return nil, nil, nil
	}
	out = []string{}
	var errs httpx.Errors
	for i, v := range perms {
		if op, ok := operation(v); ok {
			for _, g := range op.Grants {
				out, origin = append(out, membership.FormatGrant(g)), append(origin, i)
			}
			continue
		}
		if v != membership.Wildcard && !strings.Contains(v, ":") {
			errs = append(errs, rebilly.InvalidField("permissions."+strconv.Itoa(i),
				strconv.Quote(v)+" is not a known operation id (see rebillyapi.Operations), \"*\", or the library's \"subject:action\""))
			continue
		}
		out, origin = append(out, v), append(origin, i)
	}
	return out, origin, errs.ErrOrNil()
}

// renumber names the permissions a facade error points at (permissions[i]
// of the expanded list) by their entry in the body.
func renumber(err error, origin []int) error {
	return mapFields(err, func(f fault.FieldError) fault.FieldError {
		if n, ok := indexOf(f.Field, "permissions"); ok && n < len(origin) {
			f.Field = "permissions[" + strconv.Itoa(origin[n]) + "]"
		}
		return f
	})
}

// indexOf reads the index of a field name[i].
func indexOf(field, name string) (int, bool) {
	rest, ok := strings.CutPrefix(field, name+"[")
	n, err := strconv.Atoi(strings.TrimSuffix(rest, "]"))
	return n, ok && err == nil && n >= 0 && strings.HasSuffix(rest, "]")
}

// mapFields returns a validation error with each field as fn maps it;
// other errors as they are.
func mapFields(err error, fn func(fault.FieldError) fault.FieldError) error {
	var ve *fault.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	out := &fault.ValidationError{Op: ve.Op, Fields: slices.Clone(ve.Fields)}
	for i, f := range out.Fields {
		out.Fields[i] = fn(f)
	}
	return out
}

// permissionsOut spells a member's canonical direct permissions as Rebilly
// does: "*" alone, or the operation ids the permissions cover, then the
// permissions those ids do not spell out, in the library's form.
func permissionsOut(perms []string) []string {
	out := []string{}
	if slices.Contains(perms, membership.Wildcard) {
		return append(out, membership.Wildcard)
	}
	held := membership.Grants(perms)
	var spelled []access.Grant
	for _, op := range operations {
		if coversAll(held, op.Grants) {
			out = append(out, op.ID)
			spelled = append(spelled, op.Grants...)
		}
	}
	for i, g := range held {
		if !slices.Contains(spelled, g) {
			out = append(out, perms[i])
		}
	}
	return out
}

// coversAll reports whether held covers every one of want.
func coversAll(held, want []access.Grant) bool {
	for _, w := range want {
		if !slices.ContainsFunc(held, func(h access.Grant) bool { return membership.Covers(h, w) }) {
			return false
		}
	}
	return true
}
