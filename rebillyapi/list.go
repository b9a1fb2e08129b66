package rebillyapi

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/provisionkit/provisioning/access"
	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/internal/httpx"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/resource"
)

// The limits of GET /memberships, as Rebilly's definitions declare them
// (https://github.com/Rebilly/api-definitions, collectionLimit and
// collectionOffset): limit and offset from 0 to 1000; a request without a
// limit gets DefaultLimit items at most.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
	MaxOffset    = 1000
)

// listField is a field of Rebilly's Membership object that GET
// /memberships filters or sorts on, and the library's attribute it is.
type listField struct {
	name, attr string
	lower      bool // values compare lower-cased (an email address)
}

// listFields are the fields filter and sort take; organization.id, which
// names the organization listed, is filter's only other one.
var listFields = []listField{
	{name: "user.id", attr: "user_id"},
	{name: "user.email", attr: "user_email", lower: true},
	{name: "isOwner", attr: "owner"},
}

func fieldNamed(name string) (listField, bool) {
	i := slices.IndexFunc(listFields, func(f listField) bool { return f.name == name })
	if i < 0 {
		return listField{}, false
	}
	return listFields[i], true
}

// fieldNames lists the fields filter and sort take, for messages.
func fieldNames(extra ...string) string {
	var names []string
	for _, f := range listFields {
		names = append(names, f.name)
	}
	return strings.Join(append(names, extra...), ", ")
}

// listQuery is a GET /memberships request, read.
type listQuery struct {
	orgID         string // "" for the caller's current organization
	limit, offset int
	where         []resource.Condition
	sort          []resource.SortKey
	roles         bool // expand=roles
	// whereOf and sortOf name the Rebilly field of each condition and
	// sort key, for the facade's refusals.
	whereOf, sortOf []listField
}

// named names the fields of the facade's refusal of the list's
// conditions (filter[i]) and sort keys (sort[i]) as Rebilly does: the
// parameter, with a message that names its field.
func (lq *listQuery) named(err error) error {
	return mapFields(err, func(f fault.FieldError) fault.FieldError {
		for _, p := range []struct {
			param  string
			fields []listField
		}{{"filter", lq.whereOf}, {"sort", lq.sortOf}} {
			if i, ok := indexOf(f.Field, p.param); ok && i < len(p.fields) {
				lf := p.fields[i]
				f.Field, f.Message = p.param, lf.name+": "+strings.TrimPrefix(f.Message, lf.attr+": ")
			}
		}
		return f
	})
}

// parseList reads limit, offset, filter, sort and expand; each bad one is
// a 422 naming it (invalidFields: limit, offset, filter, sort, expand).
func parseList(q url.Values) (listQuery, error) {
	lq := listQuery{limit: DefaultLimit}
	var errs httpx.Errors
	bad := func(field, message string) { errs = append(errs, rebilly.InvalidField(field, message)) }
	number := func(name string, max int, into *int) {
		if !q.Has(name) {
			return
		}
		n, err := strconv.Atoi(q.Get(name))
		if err != nil || n < 0 || n > max || len(q[name]) > 1 {
			bad(name, "must be one integer from 0 to "+strconv.Itoa(max))
			return
		}
		*into = n
	}
	number("limit", MaxLimit, &lq.limit)
	number("offset", MaxOffset, &lq.offset)
	for _, v := range q["filter"] { // several filters must all hold, as one's fields do
		if v != "" {
			lq.filter(v, bad)
		}
	}
	for _, v := range q["sort"] {
		lq.sorted(v, bad)
	}
	roles, err := expandRoles(q)
	if e := (*httpx.Error)(nil); errors.As(err, &e) {
		errs = append(errs, e)
	}
	lq.roles = roles
	return lq, errs.ErrOrNil()
}

// filter reads Rebilly's filter: field:value clauses joined by ";" (all
// must hold), values joined by "," (any may match), "!" before them to
// negate, a..b (either end may be left out) for a range.
func (lq *listQuery) filter(s string, bad func(field, message string)) {
	for _, clause := range strings.Split(s, ";") {
		name, value, ok := strings.Cut(clause, ":")
		if !ok || name == "" {
			bad("filter", strconv.Quote(clause)+" is not field:value")
			continue
		}
		negate := strings.HasPrefix(value, "!")
		value = strings.TrimPrefix(value, "!")
		if name == "organization.id" {
			if negate || strings.Contains(value, ",") || strings.Contains(value, "..") || value == "" || lq.orgID != "" {
				bad("filter", "organization.id takes one organization id: a list shows one organization")
				continue
			}
			lq.orgID = value
			continue
		}
		f, known := fieldNamed(name)
		switch {
		case !known:
			bad("filter", strconv.Quote(name)+" is not a field the list filters on; it filters on "+fieldNames("organization.id"))
			continue
		case strings.HasPrefix(value, "@"):
			bad("filter", name+": predefined value lists (@name) are not supported")
			continue
		}
		if f.lower {
			value = strings.ToLower(value)
		}
		conds, problem := condition(f.attr, value, negate)
		if problem != "" {
			bad("filter", name+": "+problem)
			continue
		}
		lq.where = append(lq.where, conds...)
		for range conds {
			lq.whereOf = append(lq.whereOf, f)
		}
	}
}

// condition is the library's conditions of one clause's values, or what
// is wrong with them: a negated range must leave one end open (the
// conditions of a list must all hold; "below a or above b" is two that
// either may).
func condition(attr, value string, negate bool) ([]resource.Condition, string) {
	fields := []string{attr}
	from, to, isRange := strings.Cut(value, "..")
	switch {
	case !isRange:
		op := map[bool]resource.Op{false: resource.In, true: resource.NotIn}[negate]
		return []resource.Condition{{Fields: fields, Op: op, Values: strings.Split(value, ",")}}, ""
	case from == "" && to == "" || strings.Contains(value, ","):
		return nil, "a range is from..to, from.. or ..to, alone"
	case negate && from != "" && to != "":
		return nil, "a negated range must leave one end open (!from.. or !..to)"
	case negate && from != "":
		return []resource.Condition{{Fields: fields, Op: resource.Lt, Values: []string{from}}}, ""
	case negate:
		return []resource.Condition{{Fields: fields, Op: resource.Gt, Values: []string{to}}}, ""
	}
	var out []resource.Condition
	if from != "" {
		out = append(out, resource.Condition{Fields: fields, Op: resource.Gteq, Values: []string{from}})
	}
	if to != "" {
		out = append(out, resource.Condition{Fields: fields, Op: resource.Lteq, Values: []string{to}})
	}
	return out, ""
}

// sorted reads Rebilly's sort: fields joined by ",", "-" before one for
// descending order.
func (lq *listQuery) sorted(s string, bad func(field, message string)) {
	for _, key := range strings.Split(s, ",") {
		name, desc := strings.CutPrefix(key, "-")
		f, known := fieldNamed(name)
		if !known {
			bad("sort", strconv.Quote(name)+" is not a field the list sorts on; it sorts on "+fieldNames())
			continue
		}
		lq.sort = append(lq.sort, resource.SortKey{Field: f.attr, Desc: desc})
		lq.sortOf = append(lq.sortOf, f)
	}
}

// query reads a request's query as Rebilly's clients write it: pairs
// joined by "&" only, since a filter's clauses are joined by ";", which
// url.ParseQuery refuses as a separator (and Request.URL.Query drops the
// pair that holds one). A pair that does not decode is 422 naming it.
func query(raw string) (url.Values, error) {
	out := url.Values{}
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err1 := url.QueryUnescape(k)
		value, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, rebilly.InvalidField(cmp.Or(key, "query"), "is not a percent-encoded query parameter")
		}
		out.Add(key, value)
	}
	return out, nil
}

// listMemberships serves Rebilly's GET /memberships: the memberships of one
// organization (organization.id in filter, otherwise the caller's current
// one: a user's default organization, an API credential's own), limit at
// most from offset on, with Pagination-Total, -Limit and -Offset. The
// facade's pages (of resource.MaxPageLimit at most) are walked with the
// cursor from the offset on, or by offset when the list is sorted.
func listMemberships(ctx context.Context, c *httpx.Call) (int, any, error) {
	q, err := query(c.R.URL.RawQuery)
	if err != nil {
		return 0, nil, err
	}
	lq, err := parseList(q)
	if err != nil {
		return 0, nil, err
	}
	if lq.orgID == "" {
		if lq.orgID, err = currentOrganization(ctx, c); err != nil {
			return 0, nil, err
		}
	}
	f := membership.Filter{OrganizationID: lq.orgID, Status: membership.Active, PageRequest: resource.PageRequest{
		Offset: lq.offset, Where: lq.where, Sort: lq.sort, Count: true, Limit: max(1, min(lq.limit, resource.MaxPageLimit))}}
	var items []membership.Membership
	total := 0
	for {
		page, err := c.S.ListMemberships(ctx, f)
		if err != nil {
			return 0, nil, lq.named(err)
		}
		if f.Count {
			total, f.Count = page.Total, false
		}
		items = append(items, page.Items[:min(len(page.Items), lq.limit-len(items))]...)
		if len(items) >= lq.limit || len(page.Items) < f.Limit || len(lq.sort) == 0 && page.Next == "" {
			break
		}
		if len(lq.sort) > 0 {
			f.Offset += len(page.Items)
		} else {
			f.After, f.Offset = page.Next, 0
		}
		f.Limit = min(lq.limit-len(items), resource.MaxPageLimit)
	}
	docs, err := documents{c: c, roles: lq.roles}.many(ctx, lq.orgID, items)
	if err != nil {
		return 0, nil, err
	}
	h := c.W.Header()
	h.Set("Pagination-Total", strconv.Itoa(total))
	h.Set("Pagination-Limit", strconv.Itoa(lq.limit))
	h.Set("Pagination-Offset", strconv.Itoa(lq.offset))
	return http.StatusOK, docs, nil
}

// currentOrganization is the organization a list without organization.id
// shows: a user's default organization, an API credential's own.
func currentOrganization(ctx context.Context, c *httpx.Call) (string, error) {
	var none error = rebilly.InvalidField("filter", "organization.id is required: the caller has no current organization")
	if c.Principal.Kind == access.KindCredential {
		page, err := c.S.OrganizationIDs(ctx, resource.PageRequest{Limit: 1})
		if err != nil || len(page.Items) == 0 {
			return "", cmp.Or(err, none)
		}
		return page.Items[0], nil
	}
	u, err := c.S.CurrentUser(ctx)
	if err != nil || u.DefaultOrganizationID == "" {
		return "", cmp.Or(err, none)
	}
	return u.DefaultOrganizationID, nil
}
