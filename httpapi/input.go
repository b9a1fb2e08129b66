package httpapi

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"

	"github.com/provisionkit/provisioning/internal/httpx"
	"github.com/provisionkit/provisioning/resource"
)

// MaxBodyBytes bounds a request body.
const MaxBodyBytes = httpx.MaxBodyBytes

// requestData is the primary data of a request body.
type requestData struct {
	Type          string
	typed         bool // data has a type member (maybe "")
	ID            *string
	Attributes    map[string]json.RawMessage
	Relationships map[string]json.RawMessage // name → the relationship's data member
	Others        map[string]json.RawMessage // the other members of data (e.g. new_owner_email)
}

func badBody(code, pointer, detail string) *apiError {
	return problem(http.StatusBadRequest, code, "Invalid request body", detail).At(pointer)
}

// decodeRequest parses a JSON:API request body {"data": {...}} with the
// strict decoder (a member given twice is 400 DUPLICATE_KEY). It checks
// the document's shape only (any resource type); it never panics.
func decodeRequest(body []byte) (*requestData, error) {
	doc, err := httpx.DecodeObject(body, badBody("BAD_REQUEST", "", "The body is not a JSON object."))
	if err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(doc["data"], &raw); err != nil || raw == nil {
		return nil, badBody("PARAM_MISSING", "/data", "The body needs a data object.")
	}
	d := &requestData{Others: map[string]json.RawMessage{}}
	var errs apiErrors
	for member, v := range raw {
		var err error
		switch member {
		case "type":
			d.typed = true
			err = json.Unmarshal(v, &d.Type)
		case "id":
			d.ID = new(string)
			err = json.Unmarshal(v, d.ID)
		case "attributes":
			err = unmarshalObject(v, &d.Attributes)
		case "relationships":
			var rels map[string]json.RawMessage
			if err = unmarshalObject(v, &rels); err == nil {
				d.Relationships, err = relationshipData(rels)
			}
		default:
			d.Others[member] = v
		}
		if err != nil {
			errs = append(errs, badBody("INVALID_FIELD_VALUE", "/data/"+member, "data."+member+" is malformed."))
		}
	}
	if err := errs.ErrOrNil(); err != nil {
		return nil, err
	}
	return d, nil
}

// unmarshalObject decodes a JSON object (null gives an empty one).
func unmarshalObject(v json.RawMessage, dst *map[string]json.RawMessage) error {
	if err := json.Unmarshal(v, dst); err != nil {
		return err
	}
	if *dst == nil {
		*dst = map[string]json.RawMessage{}
	}
	return nil
}

// relationshipData keeps the data member of each relationship object.
func relationshipData(rels map[string]json.RawMessage) (map[string]json.RawMessage, error) {
	out := make(map[string]json.RawMessage, len(rels))
	for name, r := range rels {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(r, &obj); err != nil || obj == nil {
			return nil, errMalformed
		}
		data, ok := obj["data"]
		if !ok {
			return nil, errMalformed
		}
		out[name] = data
	}
	return out, nil
}

var errMalformed = badBody("INVALID_LINKS_OBJECT", "/data/relationships", "A relationship needs a data member.")

// nothingElse refuses the attributes and relationships of a body that
// takes none (an action's short body); why says why ("" for no reason).
func (d *requestData) nothingElse(why string) error {
	if why == "" {
		why = "this action takes no attribute or relationship"
	}
	var errs apiErrors
	for _, name := range slices.Sorted(maps.Keys(d.Attributes)) {
		errs = append(errs, badBody("PARAM_NOT_ALLOWED", "/data/attributes/"+name, name+" is not read: "+why+"."))
	}
	for _, name := range slices.Sorted(maps.Keys(d.Relationships)) {
		errs = append(errs, badBody("PARAM_NOT_ALLOWED", "/data/relationships/"+name, name+" is not read: "+why+"."))
	}
	return errs.ErrOrNil()
}

// input reads the members of a request's data for a kind: each read marks
// the member used; finish refuses the members nobody read.
type input struct {
	k      *kind
	d      *requestData
	used   map[string]bool
	linked map[string]string // relationship → the id one read ("" for null)
	errs   apiErrors
}

func newInput(k *kind, d *requestData) *input {
	return &input{k: k, d: d, used: map[string]bool{}, linked: map[string]string{}}
}

func (in *input) attr(name string) (json.RawMessage, bool) {
	v, ok := in.d.Attributes[name]
	if ok {
		in.used["a:"+name] = true
	}
	return v, ok
}

func (in *input) bad(name, want string) {
	in.errs = append(in.errs, badBody("INVALID_FIELD_VALUE", "/data/attributes/"+name, name+" must be "+want+"."))
}

// decode reads attribute name into dst; absent leaves dst alone and
// reports false; null sets the zero value.
func decode[T any](in *input, name, want string, dst *T) bool {
	v, ok := in.attr(name)
	if !ok {
		return false
	}
	var t T
	if !bytes.Equal(v, []byte("null")) {
		if err := json.Unmarshal(v, &t); err != nil {
			in.bad(name, want)
			return false
		}
	}
	*dst = t
	return true
}

// str reads a string attribute: nil when absent, "" when null.
func (in *input) str(name string) *string {
	var s string
	if !decode(in, name, "a string", &s) {
		return nil
	}
	return &s
}

// text reads a string attribute of a create: "" when absent or null.
func (in *input) text(name string) string {
	if p := in.str(name); p != nil {
		return *p
	}
	return ""
}

// flag reads a boolean attribute: nil when absent.
func (in *input) flag(name string) *bool {
	var b bool
	if !decode(in, name, "true or false", &b) {
		return nil
	}
	return &b
}

// number reads an integer attribute: nil when absent, 0 when null.
func (in *input) number(name string) *int {
	var f json.Number
	if !decode(in, name, "a whole number", &f) {
		return nil
	}
	if f == "" {
		return new(int)
	}
	n, err := strconv.Atoi(string(f))
	if err != nil {
		in.bad(name, "a whole number")
		return nil
	}
	return &n
}

// obj reads an object attribute: set is false when absent; null is nil.
func (in *input) obj(name string) (m map[string]any, set bool) {
	return m, decode(in, name, "an object", &m)
}

// common reads reference, reference_origin and metadata of a create.
func (in *input) common() resource.CommonInput {
	md, _ := in.obj("metadata")
	return resource.CommonInput{Reference: in.text("reference"), ReferenceOrigin: in.text("reference_origin"), Metadata: md}
}

// commonUpdate reads reference, reference_origin and metadata of an update.
func (in *input) commonUpdate() resource.CommonUpdate {
	u := resource.CommonUpdate{Reference: in.str("reference"), ReferenceOrigin: in.str("reference_origin")}
	if md, ok := in.obj("metadata"); ok {
		m := resource.Metadata(md)
		u.Metadata = &m
	}
	return u
}

// one reads a to-one relationship's linkage: the id ("" for null) and
// whether it was given. A null attribute of the relationship's name (what
// the SDK sends for a plain null) clears it too.
func (in *input) one(name, typ string) (string, bool) {
	v, ok := in.d.Relationships[name]
	if !ok {
		if a, isAttr := in.d.Attributes[name]; isAttr && !in.k.attrNames[name] && bytes.Equal(a, []byte("null")) {
			in.used["a:"+name] = true
			return "", true
		}
		return "", false
	}
	in.used["r:"+name] = true
	if bytes.Equal(v, []byte("null")) {
		return "", true
	}
	id, err := linkageID(v)
	if err != nil || id.ID == "" {
		in.errs = append(in.errs, badBody("INVALID_LINKS_OBJECT", "/data/relationships/"+name, name+" needs null or {type, id}."))
		return "", false
	}
	if id.Type != typ {
		in.errs = append(in.errs, badBody("TYPE_MISMATCH", "/data/relationships/"+name, name+" links to "+typ+", not "+strconv.Quote(id.Type)+"."))
		return "", false
	}
	in.linked[name] = id.ID
	return id.ID, true
}

// require refuses a create that links none of the relationships in names
// (absent, or null): 422 naming each, as the library's validation does,
// before the facade is called (it would answer 404 for an organization "").
// Call it once finish accepted the body.
func (in *input) require(names []string) error {
	var errs apiErrors
	for _, name := range names {
		if in.linked[name] == "" {
			e := problem(http.StatusUnprocessableEntity, "VALIDATION_ERROR", "can't be blank", name+" - can't be blank").At("/data/relationships/" + name)
			e.Meta = map[string]any{"error": "required"}
			errs = append(errs, e)
		}
	}
	return errs.ErrOrNil()
}

// linkageID reads a resource identifier {type, id}, matching the member
// names exactly (encoding/json would take "ID" for id as well).
func linkageID(v json.RawMessage) (identifier, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(v, &raw); err != nil || raw == nil {
		return identifier{}, errMalformed
	}
	var id identifier
	for name, dst := range map[string]*string{"type": &id.Type, "id": &id.ID} {
		if m, ok := raw[name]; ok {
			if err := json.Unmarshal(m, dst); err != nil {
				return identifier{}, err
			}
		}
	}
	return id, nil
}

// none accepts an empty to-many linkage (what the SDK sends to clear one):
// the library sets these relationships from the other side.
func (in *input) none(name, how string) {
	v, ok := in.d.Relationships[name]
	if !ok {
		return
	}
	in.used["r:"+name] = true
	var ids []identifier
	if err := json.Unmarshal(v, &ids); err != nil || len(ids) > 0 {
		in.errs = append(in.errs, badBody("PARAM_NOT_ALLOWED", "/data/relationships/"+name,
			name+" cannot be set here: "+how+"."))
	}
}

// finish refuses the members that no read used: unknown and read-only ones.
func (in *input) finish() error {
	for _, name := range slices.Sorted(maps.Keys(in.d.Attributes)) {
		if !in.used["a:"+name] {
			why := " is not an attribute of " + in.k.typ + "."
			if in.k.attrNames[name] {
				why = " is read-only."
			}
			in.errs = append(in.errs, badBody("PARAM_NOT_ALLOWED", "/data/attributes/"+name, name+why))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(in.d.Relationships)) {
		if !in.used["r:"+name] {
			in.errs = append(in.errs, badBody("PARAM_NOT_ALLOWED", "/data/relationships/"+name, name+" is not a writable relationship of "+in.k.typ+"."))
		}
	}
	return in.errs.ErrOrNil()
}
