// Package resource holds what every provisioning resource shares: the common
// attributes (reference, reference_origin, metadata, timestamps), keyset
// pages, and small validation helpers used by the domain packages.
package resource

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/provisionkit/provisioning/fault"
)

// Limits on the common attributes.
const (
	MaxReferenceLen  = 255      // bytes, for reference and reference_origin
	MaxNameLen       = 255      // bytes, for names
	MaxMetadataBytes = 16 << 10 // the JSON encoding of metadata
	MaxMetadataDepth = 8        // nesting of objects and arrays in metadata
	DefaultPageLimit = 25       // items in a page when Limit is 0
	MaxPageLimit     = 100      // items in a page at most
	maxCursorBytes   = 512      // an encoded cursor, at most
)

// Metadata is a free JSON object attached to a resource. nil means null.
type Metadata map[string]any

// Common are the attributes every resource carries. An empty Reference or
// ReferenceOrigin means null.
type Common struct {
	Reference       string
	ReferenceOrigin string
	Metadata        Metadata
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// CommonInput is the writable part of Common, on create.
type CommonInput struct {
	Reference       string
	ReferenceOrigin string
	Metadata        Metadata
}

// CommonUpdate is the writable part of Common, on update: a nil pointer means
// "leave as is"; a pointer to "" (or to a nil Metadata) sets null.
type CommonUpdate struct {
	Reference       *string
	ReferenceOrigin *string
	Metadata        *Metadata
}

// Validate checks the common input and records problems in p.
func (c CommonInput) Validate(p *fault.Problems) {
	CheckOptionalText(p, "reference", c.Reference, MaxReferenceLen)
	CheckOptionalText(p, "reference_origin", c.ReferenceOrigin, MaxReferenceLen)
	CheckMetadata(p, "metadata", c.Metadata)
}

// Validate checks the set fields of the update and records problems in p.
func (c CommonUpdate) Validate(p *fault.Problems) {
	if c.Reference != nil {
		CheckOptionalText(p, "reference", *c.Reference, MaxReferenceLen)
	}
	if c.ReferenceOrigin != nil {
		CheckOptionalText(p, "reference_origin", *c.ReferenceOrigin, MaxReferenceLen)
	}
	if c.Metadata != nil {
		CheckMetadata(p, "metadata", *c.Metadata)
	}
}

// Empty reports whether the update sets nothing.
func (c CommonUpdate) Empty() bool {
	return c.Reference == nil && c.ReferenceOrigin == nil && c.Metadata == nil
}

// New fills the common attributes of a new resource.
func (c CommonInput) New(now time.Time) Common {
	return Common{Reference: c.Reference, ReferenceOrigin: c.ReferenceOrigin, Metadata: c.Metadata, CreatedAt: now, UpdatedAt: now}
}

// Apply sets the fields of u on c and records the changes in ch.
func (u CommonUpdate) Apply(c *Common, ch Changes) {
	SetField(ch, "reference", &c.Reference, u.Reference)
	SetField(ch, "reference_origin", &c.ReferenceOrigin, u.ReferenceOrigin)
	if u.Metadata != nil {
		before, after := c.Metadata, *u.Metadata
		if !jsonEqual(before, after) {
			ch.Record("metadata", metadataValue(before), metadataValue(after))
			c.Metadata = after
		}
	}
}

func metadataValue(m Metadata) any {
	if m == nil {
		return nil
	}
	return map[string]any(m)
}

func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// Changes maps each changed attribute to its [before, after] values: the
// `changes` of a version. Nil values stand for null.
type Changes map[string][2]any

// Record notes a change of field.
func (c Changes) Record(field string, before, after any) { c[field] = [2]any{before, after} }

// SetField sets *dst to *src when src is set and differs, recording the change.
// For strings the empty string is recorded as null.
func SetField[T comparable](ch Changes, field string, dst *T, src *T) {
	if src == nil || *dst == *src {
		return
	}
	ch.Record(field, nullable(*dst), nullable(*src))
	*dst = *src
}

// nullable records the empty value of any string type as null.
func nullable[T comparable](v T) any {
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.String {
		if rv.Len() == 0 {
			return nil
		}
		return rv.String()
	}
	return v
}

// TimeValue is how a time appears in a version's changes: null for the zero
// time, RFC 3339 in UTC otherwise.
func TimeValue(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// ListValue is how a list that may be null appears in a version's changes:
// null for nil, the list otherwise (empty or not).
func ListValue(v []string) any {
	if v == nil {
		return nil
	}
	return v
}

// CheckName checks a required, single-line name of at most max bytes.
func CheckName(p *fault.Problems, field, v string, max int) {
	if strings.TrimSpace(v) == "" {
		p.Add(field, "required", "can't be blank")
		return
	}
	checkText(p, field, v, max)
	if v != strings.TrimSpace(v) {
		p.Add(field, "format", "must not start or end with white space")
	}
}

// CheckOptionalText checks an optional single-line text of at most max bytes.
func CheckOptionalText(p *fault.Problems, field, v string, max int) {
	if v == "" {
		return
	}
	checkText(p, field, v, max)
}

func checkText(p *fault.Problems, field, v string, max int) {
	switch {
	case !utf8.ValidString(v):
		p.Add(field, "format", "must be valid UTF-8")
	case len(v) > max:
		p.Add(field, "too_long", "is too long")
	case strings.IndexFunc(v, badRune) >= 0:
		p.Add(field, "format", "must not contain control, line-separator or bidi-control characters")
	}
}

// badRune reports characters that single-line text must not hold.
func badRune(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp, unicode.Bidi_Control)
}

// CheckMetadata checks that m encodes to a bounded JSON object.
func CheckMetadata(p *fault.Problems, field string, m Metadata) {
	CheckJSONObject(p, field, m, MaxMetadataBytes)
}

// ChangedJSON reports whether a and b encode to different JSON.
func ChangedJSON(a, b any) bool { return !jsonEqual(a, b) }

// CheckJSONObject checks that m encodes to a JSON object of at most maxBytes
// bytes and MaxMetadataDepth levels, with non-empty keys.
func CheckJSONObject(p *fault.Problems, field string, m map[string]any, maxBytes int) {
	if m == nil {
		return
	}
	b, err := json.Marshal(m)
	switch {
	case err != nil:
		p.Add(field, "format", "must be a JSON object")
	case len(b) > maxBytes:
		p.Add(field, "too_long", "is too large")
	case depth(m) > MaxMetadataDepth:
		p.Add(field, "format", "is nested too deeply")
	case HasNUL(m):
		p.Add(field, "format", "must not contain the NUL character")
	default:
		for k := range m {
			if k == "" || !utf8.ValidString(k) {
				p.Add(field, "format", "keys must be non-empty UTF-8 strings")
				return
			}
		}
	}
}

// HasNUL reports a U+0000 in any key or string value of a decoded JSON
// value (PostgreSQL's jsonb refuses it, the other backends store it: the
// library refuses it everywhere).
func HasNUL(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.IndexByte(x, 0) >= 0
	case map[string]any:
		for k, e := range x {
			if strings.IndexByte(k, 0) >= 0 || HasNUL(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if HasNUL(e) {
				return true
			}
		}
	}
	return false
}

func depth(v any) int {
	d := 0
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			d = max(d, depth(e))
		}
		return d + 1
	case Metadata:
		return depth(map[string]any(x))
	case []any:
		for _, e := range x {
			d = max(d, depth(e))
		}
		return d + 1
	}
	return 0
}

// CheckID checks a required id of another resource.
func CheckID(p *fault.Problems, field, id string) {
	if id == "" {
		p.Add(field, "required", "can't be blank")
	} else if !ValidID(id) {
		p.Add(field, "not_found", "does not exist")
	}
}

// ValidID reports whether s has the shape of an id (lower-case ASCII
// letters, digits, '_' and '-', at most 64 bytes). Ids of another shape
// never exist.
func ValidID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// PageRequest asks for one page of a list. After is the cursor returned as
// Next by the previous page ("" for the first page).
type PageRequest struct {
	After string
	Limit int // 0 means DefaultPageLimit; values above MaxPageLimit are clamped
	// Offset skips that many items first (never with After): the
	// page-number path of the HTTP API, whose cost grows with the offset;
	// prefer the cursor.
	Offset int
	// Where narrows the list further: every condition must hold.
	Where []Condition
	// Sort orders the list by these attributes, then by id; none orders by
	// id (creation order). A sorted list pages by Offset, and its pages
	// have no Next cursor.
	Sort []SortKey
	// Count asks for the number of items of the whole list (Page.Total),
	// at the cost of one more query.
	Count bool
}

// CheckQuery validates the shape of the request's conditions, sort keys
// and offset (storage checks their attributes and values).
func (r PageRequest) CheckQuery() error {
	var p fault.Problems
	r.checkQuery(&p)
	return p.Err("list")
}

// Size returns the effective page size.
func (r PageRequest) Size() int {
	switch {
	case r.Limit <= 0:
		return DefaultPageLimit
	case r.Limit > MaxPageLimit:
		return MaxPageLimit
	}
	return r.Limit
}

// AfterID decodes the cursor into the id of the last item of the previous
// page. Lists are ordered by id, which is time-ordered.
func (r PageRequest) AfterID() (string, error) {
	if r.After == "" {
		return "", nil
	}
	if len(r.After) > maxCursorBytes {
		return "", fault.InvalidField("list", "page", "format", "cursor is malformed")
	}
	b, err := base64.RawURLEncoding.DecodeString(r.After)
	if err != nil || !strings.HasPrefix(string(b), "id:") || !ValidID(string(b[3:])) {
		return "", fault.InvalidField("list", "page", "format", "cursor is malformed")
	}
	return string(b[3:]), nil
}

// Cursor encodes the position after the item with the given id.
func Cursor(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("id:" + id))
}

// Page is one page of a list. Next is "" on the last page (and on every
// page of a sorted list). Total counts the whole list when the request
// asked for it (Count), and is 0 otherwise.
type Page[T any] struct {
	Items []T
	Next  string
	Total int
}

// NewPage builds a page from up to size+1 items fetched in order; the extra
// item, when present, only tells that another page exists.
func NewPage[T any](items []T, size int, id func(T) string) Page[T] {
	size = max(size, 1)
	if len(items) > size {
		items = items[:size]
		return Page[T]{Items: items, Next: Cursor(id(items[len(items)-1]))}
	}
	return Page[T]{Items: items}
}
