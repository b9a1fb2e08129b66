package resource_test

import (
	"encoding/base64"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/internal/testkit"
	"github.com/provisionkit/provisioning/resource"
)

// problems runs check against a fresh fault.Problems and returns the codes
// recorded for field, in order, and every field named.
func problems(tb testing.TB, check func(p *fault.Problems)) (codes []string, fields []string) {
	tb.Helper()
	var p fault.Problems
	check(&p)
	err := p.Err("test")
	if err == nil {
		return nil, nil
	}
	var ve *fault.ValidationError
	if !errors.As(err, &ve) {
		tb.Fatalf("Problems.Err = %T, want *fault.ValidationError", err)
	}
	for _, f := range ve.Fields {
		codes = append(codes, f.Code)
		fields = append(fields, f.Field)
	}
	return codes, fields
}

func TestPageRequestSize(t *testing.T) {
	tests := []struct {
		give int
		want int
	}{
		{0, resource.DefaultPageLimit},
		{-1, resource.DefaultPageLimit},
		{math.MinInt, resource.DefaultPageLimit},
		{1, 1},
		{25, 25},
		{99, 99},
		{100, 100},
		{101, resource.MaxPageLimit},
		{1 << 20, resource.MaxPageLimit},
		{math.MaxInt, resource.MaxPageLimit},
	}
	for _, tt := range tests {
		if got := (resource.PageRequest{Limit: tt.give}).Size(); got != tt.want {
			t.Errorf("PageRequest{Limit: %d}.Size() = %d, want %d", tt.give, got, tt.want)
		}
	}
}

func TestPageLimits(t *testing.T) {
	if resource.DefaultPageLimit != 25 || resource.MaxPageLimit != 100 {
		t.Fatalf("page limits = %d/%d, want 25/100", resource.DefaultPageLimit, resource.MaxPageLimit)
	}
}

func TestCursorRoundTrip(t *testing.T) {
	tests := []string{
		"a",
		"0",
		"01hzx3k9q8w7e6r5t4y3u2i1o0",
		"org_123",
		"a-b-c",
		"0190f3e2-7d4c-7b8a-9c1d-2e3f4a5b6c7d",
		strings.Repeat("z", 64),
	}
	for _, id := range tests {
		cursor := resource.Cursor(id)
		got, err := resource.PageRequest{After: cursor}.AfterID()
		if err != nil || got != id {
			t.Errorf("AfterID(Cursor(%q) = %q) = %q, %v; want %q", id, cursor, got, err, id)
		}
		if strings.ContainsAny(cursor, "+/=") {
			t.Errorf("Cursor(%q) = %q is not URL-safe unpadded", id, cursor)
		}
	}
}

func TestAfterIDEmptyIsFirstPage(t *testing.T) {
	got, err := resource.PageRequest{}.AfterID()
	if err != nil || got != "" {
		t.Fatalf("PageRequest{}.AfterID() = %q, %v; want \"\", nil", got, err)
	}
}

func TestAfterIDRefusesMalformedCursors(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	tests := []struct {
		name string
		give string
	}{
		{"garbage", "!!!not-a-cursor!!!"},
		{"spaces", "   "},
		{"standard padded base64", base64.StdEncoding.EncodeToString([]byte("id:ab"))},
		{"wrong prefix", enc([]byte("ix:abc"))},
		{"no prefix", enc([]byte("abc"))},
		{"upper-case prefix", enc([]byte("ID:abc"))},
		{"prefix only", enc([]byte("id:"))},
		{"id with capitals", enc([]byte("id:ABC"))},
		{"id with space", enc([]byte("id:a b"))},
		{"id with comma", enc([]byte("id:a,b"))},
		{"id with quote", enc([]byte("id:a'b"))},
		{"id with NUL", enc([]byte("id:a\x00"))},
		{"id of 65 bytes", enc([]byte("id:" + strings.Repeat("a", 65)))},
		{"too long", strings.Repeat("A", 513)},
		{"too long valid prefix", resource.Cursor(strings.Repeat("a", 400))},
		{"invalid UTF-8 id", enc([]byte("id:\xff"))},
	}
	for _, tt := range tests {
		got, err := resource.PageRequest{After: tt.give}.AfterID()
		var ve *fault.ValidationError
		if got != "" || !errors.Is(err, fault.ErrInvalid) || !errors.As(err, &ve) || !ve.Has("page") {
			t.Errorf("%s: AfterID(%q) = %q, %v; want a validation error on page", tt.name, tt.give, got, err)
		}
	}
}

func TestNewPage(t *testing.T) {
	id := func(s string) string { return s }
	tests := []struct {
		name      string
		giveItems []string
		giveSize  int
		wantItems []string
		wantNext  string
	}{
		{"empty", nil, 3, nil, ""},
		{"fewer than size", []string{"a", "b"}, 3, []string{"a", "b"}, ""},
		{"exactly size", []string{"a", "b", "c"}, 3, []string{"a", "b", "c"}, ""},
		{"size plus one", []string{"a", "b", "c", "d"}, 3, []string{"a", "b", "c"}, resource.Cursor("c")},
		{"size one plus one", []string{"a", "b"}, 1, []string{"a"}, resource.Cursor("a")},
	}
	for _, tt := range tests {
		got := resource.NewPage(tt.giveItems, tt.giveSize, id)
		if !slices.Equal(got.Items, tt.wantItems) || got.Next != tt.wantNext {
			t.Errorf("%s: NewPage(%q, %d) = %q next %q; want %q next %q", tt.name, tt.giveItems, tt.giveSize, got.Items, got.Next, tt.wantItems, tt.wantNext)
		}
	}
}

// Next points at the last item shown, so the next page starts after it.
func TestNewPageNextDecodesToLastItem(t *testing.T) {
	type item struct{ ID string }
	items := []item{{"01a"}, {"01b"}, {"01c"}}
	page := resource.NewPage(items, 2, func(i item) string { return i.ID })
	got, err := resource.PageRequest{After: page.Next}.AfterID()
	if err != nil || got != "01b" {
		t.Fatalf("AfterID(page.Next) = %q, %v; want 01b", got, err)
	}
}

func TestValidID(t *testing.T) {
	tests := []struct {
		give string
		want bool
	}{
		{"a", true},
		{"0", true},
		{"abc123", true},
		{"a_b-c", true},
		{"0190f3e2-7d4c-7b8a-9c1d-2e3f4a5b6c7d", true},
		{strings.Repeat("a", 64), true},
		{"", false},
		{strings.Repeat("a", 65), false},
		{"ABC", false},
		{"aBc", false},
		{"a b", false},
		{"a,b", false},
		{"a:b", false},
		{"a/b", false},
		{"a.b", false},
		{"a\nb", false},
		{"a\x00", false},
		{"é", false},
		{"'; drop table x;--", false},
	}
	for _, tt := range tests {
		if got := resource.ValidID(tt.give); got != tt.want {
			t.Errorf("ValidID(%q) = %v, want %v", tt.give, got, tt.want)
		}
	}
}

func TestCheckID(t *testing.T) {
	tests := []struct {
		give      string
		wantCodes []string
	}{
		{"org1", nil},
		{"", []string{"required"}},
		{"Org1", []string{"not_found"}},
		{"a b", []string{"not_found"}},
	}
	for _, tt := range tests {
		codes, _ := problems(t, func(p *fault.Problems) { resource.CheckID(p, "organization", tt.give) })
		if !slices.Equal(codes, tt.wantCodes) {
			t.Errorf("CheckID(%q) codes = %q, want %q", tt.give, codes, tt.wantCodes)
		}
	}
}

func TestCheckName(t *testing.T) {
	tests := []struct {
		name      string
		give      string
		giveMax   int
		wantCodes []string
	}{
		{"plain", "Acme", 255, nil},
		{"inner spaces", "The Blue Brand", 255, nil},
		{"unicode", "Café Crème 日本", 255, nil},
		{"exactly max bytes", strings.Repeat("a", 255), 255, nil},
		{"exactly max bytes multibyte", strings.Repeat("é", 5), 10, nil},
		{"blank", "", 255, []string{"required"}},
		{"spaces only", "   ", 255, []string{"required"}},
		{"tabs and newlines only", "\t\n", 255, []string{"required"}},
		{"leading space", " Acme", 255, []string{"format"}},
		{"trailing space", "Acme ", 255, []string{"format"}},
		{"trailing no-break space", "Acme\u00a0", 255, []string{"format"}},
		{"NUL", "Ac\x00me", 255, []string{"format"}},
		{"newline", "Ac\nme", 255, []string{"format"}},
		{"carriage return", "Ac\rme", 255, []string{"format"}},
		{"escape", "Ac\x1b[31mme", 255, []string{"format"}},
		{"DEL", "Ac\x7fme", 255, []string{"format"}},
		{"C1 control", "Ac\u0085me", 255, []string{"format"}},
		{"invalid UTF-8", "Ac\xffme", 255, []string{"format"}},
		{"one byte too long", strings.Repeat("a", 256), 255, []string{"too_long"}},
		{"too long counted in bytes", strings.Repeat("é", 6), 11, []string{"too_long"}},
		{"too long and leading space", " " + strings.Repeat("a", 255), 255, []string{"too_long", "format"}},
	}
	for _, tt := range tests {
		codes, fields := problems(t, func(p *fault.Problems) { resource.CheckName(p, "name", tt.give, tt.giveMax) })
		if !slices.Equal(codes, tt.wantCodes) || slices.ContainsFunc(fields, func(f string) bool { return f != "name" }) {
			t.Errorf("%s: CheckName(%q, %d) = %q on %q, want %q on name", tt.name, tt.give, tt.giveMax, codes, fields, tt.wantCodes)
		}
	}
}

func TestCheckOptionalText(t *testing.T) {
	tests := []struct {
		give      string
		wantCodes []string
	}{
		{"", nil},
		{"ext-42", nil},
		{" padded ", nil}, // optional text may keep white space
		{strings.Repeat("r", resource.MaxReferenceLen), nil},
		{strings.Repeat("r", resource.MaxReferenceLen+1), []string{"too_long"}},
		{"a\nb", []string{"format"}},
		{"\xc3", []string{"format"}},
	}
	for _, tt := range tests {
		codes, _ := problems(t, func(p *fault.Problems) { resource.CheckOptionalText(p, "reference", tt.give, resource.MaxReferenceLen) })
		if !slices.Equal(codes, tt.wantCodes) {
			t.Errorf("CheckOptionalText(%q) = %q, want %q", tt.give, codes, tt.wantCodes)
		}
	}
}

// nested returns an object nested levels deep: {"k":{"k":...{}}}.
func nested(levels int) resource.Metadata {
	var v any = map[string]any{}
	for i := 1; i < levels; i++ {
		v = map[string]any{"k": v}
	}
	return resource.Metadata(v.(map[string]any))
}

// nestedArrays returns an object holding levels-1 nested arrays.
func nestedArrays(levels int) resource.Metadata {
	var v any = []any{}
	for i := 2; i < levels; i++ {
		v = []any{v}
	}
	return resource.Metadata{"a": v}
}

// sized returns metadata whose JSON encoding is exactly n bytes.
func sized(n int) resource.Metadata {
	return resource.Metadata{"k": strings.Repeat("x", n-len(`{"k":""}`))}
}

func TestCheckMetadata(t *testing.T) {
	tests := []struct {
		name      string
		give      resource.Metadata
		wantCodes []string
	}{
		{"nil", nil, nil},
		{"empty", resource.Metadata{}, nil},
		{"flat", resource.Metadata{"plan": "gold", "seats": 3.0, "ok": true, "none": nil}, nil},
		{"exactly max bytes", sized(resource.MaxMetadataBytes), nil},
		{"one byte too large", sized(resource.MaxMetadataBytes + 1), []string{"too_long"}},
		{"way too large", sized(1 << 20), []string{"too_long"}},
		{"max depth", nested(resource.MaxMetadataDepth), nil},
		{"too deep", nested(resource.MaxMetadataDepth + 1), []string{"format"}},
		{"max depth with arrays", nestedArrays(resource.MaxMetadataDepth), nil},
		{"too deep with arrays", nestedArrays(resource.MaxMetadataDepth + 1), []string{"format"}},
		{"empty key", resource.Metadata{"": 1.0}, []string{"format"}},
		{"invalid UTF-8 key", resource.Metadata{"\xff": 1.0}, []string{"format"}},
		{"NaN is not JSON", resource.Metadata{"x": math.NaN()}, []string{"format"}},
		{"channel is not JSON", resource.Metadata{"x": make(chan int)}, []string{"format"}},
	}
	for _, tt := range tests {
		codes, fields := problems(t, func(p *fault.Problems) { resource.CheckMetadata(p, "metadata", tt.give) })
		if !slices.Equal(codes, tt.wantCodes) || slices.ContainsFunc(fields, func(f string) bool { return f != "metadata" }) {
			t.Errorf("%s: CheckMetadata = %q on %q, want %q on metadata", tt.name, codes, fields, tt.wantCodes)
		}
	}
}

func TestCheckJSONObjectUsesItsOwnLimit(t *testing.T) {
	tests := []struct {
		giveMax   int
		wantCodes []string
	}{
		{100, nil},
		{99, []string{"too_long"}},
	}
	for _, tt := range tests {
		codes, _ := problems(t, func(p *fault.Problems) { resource.CheckJSONObject(p, "config", sized(100), tt.giveMax) })
		if !slices.Equal(codes, tt.wantCodes) {
			t.Errorf("CheckJSONObject(100 bytes, max %d) = %q, want %q", tt.giveMax, codes, tt.wantCodes)
		}
	}
}

func TestCommonInputValidateNamesFields(t *testing.T) {
	tests := []struct {
		give       resource.CommonInput
		wantFields []string
	}{
		{resource.CommonInput{}, nil},
		{resource.CommonInput{Reference: "ext-1", ReferenceOrigin: "erp", Metadata: resource.Metadata{"a": 1.0}}, nil},
		{resource.CommonInput{Reference: strings.Repeat("r", 256)}, []string{"reference"}},
		{resource.CommonInput{ReferenceOrigin: "a\tb"}, []string{"reference_origin"}},
		{resource.CommonInput{Metadata: resource.Metadata{"": 1.0}}, []string{"metadata"}},
		{
			resource.CommonInput{Reference: "\x00", ReferenceOrigin: "\x00", Metadata: nested(20)},
			[]string{"reference", "reference_origin", "metadata"},
		},
	}
	for _, tt := range tests {
		_, fields := problems(t, tt.give.Validate)
		if !slices.Equal(fields, tt.wantFields) {
			t.Errorf("%+v.Validate() fields = %q, want %q", tt.give, fields, tt.wantFields)
		}
	}
}

func TestCommonUpdateValidateChecksOnlySetFields(t *testing.T) {
	bad := resource.Metadata{"": 1.0}
	tests := []struct {
		give       resource.CommonUpdate
		wantFields []string
	}{
		{resource.CommonUpdate{}, nil},
		{resource.CommonUpdate{Reference: testkit.Ptr(""), ReferenceOrigin: testkit.Ptr(""), Metadata: new(resource.Metadata)}, nil},
		{resource.CommonUpdate{Reference: testkit.Ptr("a\nb")}, []string{"reference"}},
		{resource.CommonUpdate{ReferenceOrigin: testkit.Ptr(strings.Repeat("o", 256))}, []string{"reference_origin"}},
		{resource.CommonUpdate{Metadata: &bad}, []string{"metadata"}},
	}
	for _, tt := range tests {
		_, fields := problems(t, tt.give.Validate)
		if !slices.Equal(fields, tt.wantFields) {
			t.Errorf("%+v.Validate() fields = %q, want %q", tt.give, fields, tt.wantFields)
		}
	}
}

func TestCommonUpdateEmpty(t *testing.T) {
	tests := []struct {
		give resource.CommonUpdate
		want bool
	}{
		{resource.CommonUpdate{}, true},
		{resource.CommonUpdate{Reference: testkit.Ptr("")}, false},
		{resource.CommonUpdate{ReferenceOrigin: testkit.Ptr("x")}, false},
		{resource.CommonUpdate{Metadata: new(resource.Metadata)}, false},
	}
	for _, tt := range tests {
		if got := tt.give.Empty(); got != tt.want {
			t.Errorf("%+v.Empty() = %v, want %v", tt.give, got, tt.want)
		}
	}
}

func TestCommonInputNew(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	in := resource.CommonInput{Reference: "r", ReferenceOrigin: "o", Metadata: resource.Metadata{"a": "b"}}
	want := resource.Common{Reference: "r", ReferenceOrigin: "o", Metadata: resource.Metadata{"a": "b"}, CreatedAt: now, UpdatedAt: now}
	if got := in.New(now); !reflect.DeepEqual(got, want) {
		t.Fatalf("New = %+v, want %+v", got, want)
	}
}

func TestCommonUpdateApply(t *testing.T) {
	meta := resource.Metadata{"plan": "gold"}
	tests := []struct {
		name        string
		giveCommon  resource.Common
		giveUpdate  resource.CommonUpdate
		wantCommon  resource.Common
		wantChanges resource.Changes
	}{
		{
			name:        "nothing set",
			giveCommon:  resource.Common{Reference: "r", Metadata: meta},
			giveUpdate:  resource.CommonUpdate{},
			wantCommon:  resource.Common{Reference: "r", Metadata: meta},
			wantChanges: resource.Changes{},
		},
		{
			name:        "same values",
			giveCommon:  resource.Common{Reference: "r", ReferenceOrigin: "o", Metadata: meta},
			giveUpdate:  resource.CommonUpdate{Reference: testkit.Ptr("r"), ReferenceOrigin: testkit.Ptr("o"), Metadata: &resource.Metadata{"plan": "gold"}},
			wantCommon:  resource.Common{Reference: "r", ReferenceOrigin: "o", Metadata: meta},
			wantChanges: resource.Changes{},
		},
		{
			name:        "null to null",
			giveCommon:  resource.Common{},
			giveUpdate:  resource.CommonUpdate{Reference: testkit.Ptr(""), Metadata: new(resource.Metadata)},
			wantCommon:  resource.Common{},
			wantChanges: resource.Changes{},
		},
		{
			name:        "reference changed",
			giveCommon:  resource.Common{Reference: "a"},
			giveUpdate:  resource.CommonUpdate{Reference: testkit.Ptr("b")},
			wantCommon:  resource.Common{Reference: "b"},
			wantChanges: resource.Changes{"reference": {"a", "b"}},
		},
		{
			name:        "null to value",
			giveCommon:  resource.Common{},
			giveUpdate:  resource.CommonUpdate{ReferenceOrigin: testkit.Ptr("erp")},
			wantCommon:  resource.Common{ReferenceOrigin: "erp"},
			wantChanges: resource.Changes{"reference_origin": {nil, "erp"}},
		},
		{
			name:        "value to null",
			giveCommon:  resource.Common{Reference: "a", ReferenceOrigin: "erp"},
			giveUpdate:  resource.CommonUpdate{Reference: testkit.Ptr(""), ReferenceOrigin: testkit.Ptr("erp")},
			wantCommon:  resource.Common{ReferenceOrigin: "erp"},
			wantChanges: resource.Changes{"reference": {"a", nil}},
		},
		{
			name:        "metadata set",
			giveCommon:  resource.Common{},
			giveUpdate:  resource.CommonUpdate{Metadata: &resource.Metadata{"plan": "gold"}},
			wantCommon:  resource.Common{Metadata: resource.Metadata{"plan": "gold"}},
			wantChanges: resource.Changes{"metadata": {nil, map[string]any{"plan": "gold"}}},
		},
		{
			name:        "metadata changed",
			giveCommon:  resource.Common{Metadata: resource.Metadata{"plan": "gold"}},
			giveUpdate:  resource.CommonUpdate{Metadata: &resource.Metadata{"plan": "silver"}},
			wantCommon:  resource.Common{Metadata: resource.Metadata{"plan": "silver"}},
			wantChanges: resource.Changes{"metadata": {map[string]any{"plan": "gold"}, map[string]any{"plan": "silver"}}},
		},
		{
			name:        "metadata cleared",
			giveCommon:  resource.Common{Metadata: resource.Metadata{"plan": "gold"}},
			giveUpdate:  resource.CommonUpdate{Metadata: new(resource.Metadata)},
			wantCommon:  resource.Common{},
			wantChanges: resource.Changes{"metadata": {map[string]any{"plan": "gold"}, nil}},
		},
		{
			name:        "null metadata to empty object is a change",
			giveCommon:  resource.Common{},
			giveUpdate:  resource.CommonUpdate{Metadata: &resource.Metadata{}},
			wantCommon:  resource.Common{Metadata: resource.Metadata{}},
			wantChanges: resource.Changes{"metadata": {nil, map[string]any{}}},
		},
	}
	for _, tt := range tests {
		c := tt.giveCommon
		ch := resource.Changes{}
		tt.giveUpdate.Apply(&c, ch)
		if !reflect.DeepEqual(c, tt.wantCommon) || !reflect.DeepEqual(ch, tt.wantChanges) {
			t.Errorf("%s: Apply = %+v changes %#v; want %+v changes %#v", tt.name, c, ch, tt.wantCommon, tt.wantChanges)
		}
	}
}

// SetField records "" as null for strings only; other zero values stay values.
func TestSetFieldNullOnlyForEmptyStrings(t *testing.T) {
	tests := []struct {
		name string
		run  func(resource.Changes)
		want resource.Changes
	}{
		{"nil src", func(ch resource.Changes) { s := "a"; resource.SetField(ch, "f", &s, nil) }, resource.Changes{}},
		{"equal", func(ch resource.Changes) { s := "a"; resource.SetField(ch, "f", &s, testkit.Ptr("a")) }, resource.Changes{}},
		{"string to empty", func(ch resource.Changes) { s := "a"; resource.SetField(ch, "f", &s, testkit.Ptr("")) }, resource.Changes{"f": {"a", nil}}},
		{"bool false to true", func(ch resource.Changes) { b := false; resource.SetField(ch, "f", &b, testkit.Ptr(true)) }, resource.Changes{"f": {false, true}}},
		{"bool true to false", func(ch resource.Changes) { b := true; resource.SetField(ch, "f", &b, testkit.Ptr(false)) }, resource.Changes{"f": {true, false}}},
		{"int to zero", func(ch resource.Changes) { n := 3; resource.SetField(ch, "f", &n, testkit.Ptr(0)) }, resource.Changes{"f": {3, 0}}},
	}
	for _, tt := range tests {
		ch := resource.Changes{}
		tt.run(ch)
		if !reflect.DeepEqual(ch, tt.want) {
			t.Errorf("%s: changes = %#v, want %#v", tt.name, ch, tt.want)
		}
	}
}

func TestSetFieldSetsDestination(t *testing.T) {
	s := "old"
	resource.SetField(resource.Changes{}, "f", &s, testkit.Ptr("new"))
	if s != "new" {
		t.Fatalf("SetField left %q, want new", s)
	}
}

func TestChangedJSON(t *testing.T) {
	tests := []struct {
		giveA, giveB any
		want         bool
	}{
		{nil, nil, false},
		{map[string]any{"a": 1.0}, map[string]any{"a": 1}, false},
		{map[string]any{"a": 1.0, "b": 2.0}, map[string]any{"b": 2.0, "a": 1.0}, false},
		{map[string]any{}, nil, true},
		{map[string]any{"a": "x"}, map[string]any{"a": "y"}, true},
	}
	for _, tt := range tests {
		if got := resource.ChangedJSON(tt.giveA, tt.giveB); got != tt.want {
			t.Errorf("ChangedJSON(%v, %v) = %v, want %v", tt.giveA, tt.giveB, got, tt.want)
		}
	}
}
