package resource_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
)

// FuzzMetadata decodes arbitrary bytes as a metadata object, as the HTTP
// layer would. CheckMetadata never panics and refuses only with problems on
// the metadata field; accepted metadata re-encodes within MaxMetadataBytes,
// survives a decode → encode → decode round trip unchanged, and is accepted
// again after it.
func FuzzMetadata(f *testing.F) {
	for _, seed := range []string{
		`null`,
		`{}`,
		`{"plan":"gold","seats":3,"tags":["a","b"],"ok":true,"none":null}`,
		`{"":1}`,
		`{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":1}}}}}}}}`,
		`{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{}}}}}}}}}`,
		`{"a":[[[[[[[[1]]]]]]]]}`,
		`{"k":"` + strings.Repeat("x", 16<<10) + `"}`,
		`{"a":1,"a":2}`,
		`{"\ud800":"lone surrogate"}`,
		`{"k":"\u0000<script>"}`,
		`{"n":1e308,"m":-0,"s":1.5e-300}`,
		`[1,2]`,
		`"text"`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m resource.Metadata
		if err := json.Unmarshal(data, &m); err != nil {
			return
		}
		var p fault.Problems
		resource.CheckMetadata(&p, "metadata", m)
		if err := p.Err("test"); err != nil {
			var ve *fault.ValidationError
			if !errors.As(err, &ve) || len(ve.Fields) != 1 || !ve.Has("metadata") {
				t.Fatalf("CheckMetadata(%s) = %#v; want one problem on metadata", data, err)
			}
			return
		}
		enc, err := json.Marshal(m)
		if err != nil || len(enc) > resource.MaxMetadataBytes {
			t.Fatalf("accepted metadata %s re-encodes to %d bytes, %v; want at most %d", data, len(enc), err, resource.MaxMetadataBytes)
		}
		var again resource.Metadata
		if err := json.Unmarshal(enc, &again); err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("round trip of %s: %s decodes to %#v, %v; want %#v", data, enc, again, err, m)
		}
		var q fault.Problems
		resource.CheckMetadata(&q, "metadata", again)
		if err := q.Err("test"); err != nil {
			t.Fatalf("accepted metadata %s refused after a round trip: %v", data, err)
		}
	})
}
