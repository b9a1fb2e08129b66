package httpapi

import (
	"strconv"
	"strings"

	"github.com/provisionkit/provisioning/internal/httpx"
)

// The error of a request and where it points are httpx's, shared with the
// Rebilly and ECI wire formats; fault kinds become statuses there, in
// httpx.ErrorObjects.
type (
	apiError  = httpx.Error
	apiErrors = httpx.Errors
	where     = httpx.Where
)

// problem returns a client error of the request.
func problem(status int, code, title, detail string) *apiError {
	return httpx.NewError(status, code, title, detail)
}

// inBody points at /data/attributes/<field> or, for the fields that are
// relationships, /data/relationships/<name>.
type inBody struct{ rels map[string]string }

func (b inBody) Source(field string) (string, string) {
	if rel, ok := b.rels[field]; ok {
		return "/data/relationships/" + rel, ""
	}
	return "/data/attributes/" + field, ""
}

// inQuery points at the query parameter of a field a list request's
// refusal names: the library names the i-th condition filter[i] and the
// i-th sort key sort[i]; filters[i] is the parameter condition i came from
// ("" for a relationship's own condition).
type inQuery struct{ filters []string }

func (q inQuery) Source(field string) (string, string) {
	if i, ok := indexed(field, "filter"); ok {
		if i >= 0 && i < len(q.filters) && q.filters[i] != "" {
			return "", q.filters[i]
		}
		return "", "filter"
	}
	switch {
	case field == "filter":
		return "", "filter"
	case field == "sort" || strings.HasPrefix(field, "sort["):
		return "", "sort"
	case field == "page":
		return "", "page[number]"
	}
	return "", "filter[" + field + "]"
}

// Code is the error code of a refused field of a list request.
func (inQuery) Code(field string) string {
	switch {
	case field == "filter" || strings.HasPrefix(field, "filter["):
		return "FILTER_NOT_ALLOWED"
	case field == "sort" || strings.HasPrefix(field, "sort["):
		return "INVALID_SORT_CRITERIA"
	case field == "page":
		return "INVALID_PAGE_VALUE"
	}
	return "INVALID_FILTER_VALUE"
}

// indexed reads field as name[i].
func indexed(field, name string) (int, bool) {
	rest, ok := strings.CutPrefix(field, name+"[")
	if !ok {
		return 0, false
	}
	rest, ok = strings.CutSuffix(rest, "]")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(rest)
	return i, err == nil
}
