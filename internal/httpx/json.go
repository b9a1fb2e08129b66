package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DuplicateKeyError is a JSON text with an object that names a member more
// than once. Decoders differ on which of the two they keep (encoding/json
// keeps the last, others the first), so a proxy or a log that reads the
// body could see another request than the one the handler serves.
type DuplicateKeyError struct {
	// Pointer is the JSON Pointer (RFC 6901) of the member's second
	// occurrence, e.g. /data/attributes/user_email.
	Pointer string
}

func (e *DuplicateKeyError) Error() string {
	return "json: the member " + strconv.Quote(e.Pointer) + " is given more than once"
}

// DecodeJSON is the strict decoder of every request body the handlers read.
// It decodes the JSON text b into v as json.Unmarshal does, except that it
// refuses:
//   - an object that names a member twice, at any depth: a
//     *DuplicateKeyError naming the second occurrence;
//   - when v points to a struct, members that differ only in case, as
//     encoding/json matches struct fields so ({"token":"a","Token":"b"}
//     would set the field twice), and the members no field names.
//
// Other failures are the errors of json.Unmarshal, and b is checked whole
// before v is touched.
func DecodeJSON(b []byte, v any) error {
	if !json.Valid(b) {
		return json.Unmarshal(b, v) // its syntax error; v is left alone
	}
	t := reflect.TypeOf(v)
	toStruct := t != nil && t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct
	if err := checkMembers(string(b), toStruct); err != nil {
		return err
	}
	if !toStruct {
		return json.Unmarshal(b, v)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// smallObject is how many member names an object's check compares one by
// one; a larger object's are kept in a map.
const smallObject = 16

// container is an object or array open in checkMembers.
type container struct {
	object  bool
	wantKey bool                // the next string is a member name
	first   int                 // the object's first name in names
	seen    map[string]struct{} // the names of a large object
	name    string              // the object's member being read, as given
	index   int                 // the array's element being read
}

// checkMembers refuses a member name given twice in one object of the
// JSON text s, which json.Valid accepts (so its nesting is bounded). Names
// compare as decoded (escapes, invalid UTF-8) and, with fold, as
// encoding/json matches struct fields. It walks s once and allocates only
// for such names and for objects of more than smallObject members.
func checkMembers(s string, fold bool) error {
	var stack []container
	var names []string // the names of the open small objects, innermost last
	for i := 0; i < len(s); {
		top := len(stack) - 1
		switch c := s[i]; c {
		case '{', '[':
			stack = append(stack, container{object: c == '{', wantKey: c == '{', first: len(names)})
			i++
		case '}', ']':
			names = names[:stack[top].first]
			stack = stack[:top]
			i++
		case ',':
			if stack[top].object {
				stack[top].wantKey = true
			} else {
				stack[top].index++
			}
			i++
		case '"':
			j := stringEnd(s, i)
			if top >= 0 && stack[top].wantKey {
				f := &stack[top]
				f.wantKey = false
				f.name = s[i+1 : j-1]
				if strings.IndexByte(f.name, '\\') >= 0 || !utf8.ValidString(f.name) {
					// An escape, or bytes that decode to U+FFFD: as decoded.
					_ = json.Unmarshal([]byte(s[i:j]), &f.name) // valid: it decodes
				}
				key := f.name
				if fold {
					key = foldName(key)
				}
				if seenBefore(f, &names, key) {
					return &DuplicateKeyError{Pointer: pointer(stack)}
				}
			}
			i = j
		default: // white space, ':', and the bytes of a number or literal
			i++
		}
	}
	return nil
}

// stringEnd is the index after the closing quote of the string that opens
// at s[i].
func stringEnd(s string, i int) int {
	for j := i + 1; ; j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
}

// seenBefore records key as a member name of object f and reports whether
// f named it before.
func seenBefore(f *container, names *[]string, key string) bool {
	if f.seen != nil {
		_, dup := f.seen[key]
		f.seen[key] = struct{}{}
		return dup
	}
	own := (*names)[f.first:]
	for _, n := range own {
		if n == key {
			return true
		}
	}
	if len(own) < smallObject {
		*names = append(*names, key)
		return false
	}
	f.seen = make(map[string]struct{}, 2*smallObject)
	for _, n := range own {
		f.seen[n] = struct{}{}
	}
	f.seen[key] = struct{}{}
	*names = (*names)[:f.first]
	return false
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// pointer is the JSON Pointer of the value being read in the innermost of
// stack.
func pointer(stack []container) string {
	var sb strings.Builder
	for _, f := range stack {
		sb.WriteByte('/')
		if f.object {
			sb.WriteString(pointerEscaper.Replace(f.name))
		} else {
			sb.WriteString(strconv.Itoa(f.index))
		}
	}
	return sb.String()
}

// foldName folds a member name as encoding/json does to match it to a
// struct field: ASCII upper case, other runes upper(lower(r)).
func foldName(s string) string {
	var sb strings.Builder
	for _, r := range s {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			sb.WriteRune(r)
			continue
		}
		sb.WriteRune(unicode.ToUpper(unicode.ToLower(r)))
	}
	return sb.String()
}

// DecodeObject decodes a request body that must be a JSON object with
// DecodeJSON: notObject when it is not one, 400 DUPLICATE_KEY naming the
// member given twice.
func DecodeObject(b []byte, notObject *Error) (map[string]json.RawMessage, error) {
	var raw map[string]json.RawMessage
	err := DecodeJSON(b, &raw)
	if dup := (*DuplicateKeyError)(nil); errors.As(err, &dup) {
		return nil, errDuplicateKey(dup)
	}
	if err != nil || raw == nil {
		return nil, notObject
	}
	return raw, nil
}

// errDuplicateKey is the 400 of a member given twice.
func errDuplicateKey(dup *DuplicateKeyError) *Error {
	return NewError(http.StatusBadRequest, "DUPLICATE_KEY", "Invalid request body",
		"The member "+dup.Pointer+" is given more than once.").At(dup.Pointer)
}
