package authz

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// A row is what a shard knows of one principal (a user or a credential) in
// the organization's domain, encoded in one string. A check reads a row right
// after the cache slot that points to it (see index.go), so everything it
// needs is laid out next to each other, in one or two adjacent cache lines:
// the flags, the masks of the "*" lines, the key the row is found by and the
// per-object entries. As a struct with a key string and an entry slice, the
// same row took three dependent reads of memory far apart. What few
// principals have (an expiry, an allowlist, application grants) lives out of
// line, in extra, which a flag announces.
//
//	[0]        kind: keyUser, keyCredential, or keyOrg (a shard's own row)
//	[1]        flags: rowMember, rowGuest, rowOwner, rowMFA, rowFence, rowExtra
//	[2]        allow bits of the "*" lines
//	[3]        deny bits of the "*" lines
//	[4]        length of the principal id ("" for keyOrg; ids are at most 64 bytes)
//	[5]        length of the organization id
//	[6:8]      number of entries n, little endian
//	[8:end]    the key: principal id, organization id, revision
//	[end:]     n entries of 4 bytes, little endian, in ascending object
//	           order: object<<8 | allow<<4 | deny, as in grant.objs
type row string

// rowHeader is the length of a row's header, before its key.
const rowHeader = 8

// maxRowEntries bounds the entries of a row (a principal reaching that many
// distinct subjects is refused when its shard is built).
const maxRowEntries = 1<<16 - 1

// The flags of a row.
const (
	rowMember uint8 = 1 << iota // holds builtin:member
	rowGuest
	rowOwner // the organization's owner
	rowMFA   // requires a second factor (its own flag or the organization's)
	rowFence // extra.ips applies (a nil or empty list then refuses every address)
	rowExtra // has an extra
)

// appendRow appends the encoding of a row to b.
func appendRow(b []byte, kind, flags uint8, id, org, rev string, g *grant) ([]byte, error) {
	if len(id) > 255 || len(org) > 255 || len(g.objs) > maxRowEntries {
		return b, fmt.Errorf("row of %q: too long", id)
	}
	b = append(b, kind, flags, byte(g.anyAllow), byte(g.anyDeny), byte(len(id)), byte(len(org)))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(g.objs)))
	b = append(b, id...)
	b = append(b, org...)
	b = append(b, rev...)
	for _, e := range g.objs {
		b = binary.LittleEndian.AppendUint32(b, e)
	}
	return b, nil
}

func (r row) kind() uint8         { return r[0] }
func (r row) has(flag uint8) bool { return r[1]&flag != 0 }

// keyEnd returns where the key ends and the entries start.
func (r row) keyEnd() int { return len(r) - 4*(int(r[6])|int(r[7])<<8) }

// id returns the principal id.
func (r row) id() string { return string(r[rowHeader : rowHeader+int(r[4])]) }

// is reports whether the row is the one of (kind, id) in org at rev. The
// lengths are compared first, so that no split of the same bytes between id,
// organization and revision can pass for another.
func (r row) is(kind uint8, id, org, rev string) bool {
	i := rowHeader + int(r[4])
	o := i + int(r[5])
	end := r.keyEnd()
	return r[0] == kind && len(id) == int(r[4]) && len(org) == int(r[5]) && len(rev) == end-o &&
		string(r[rowHeader:i]) == id && string(r[i:o]) == org && string(r[o:end]) == rev
}

// entryAt decodes the 4-byte entry at the start of s.
func entryAt(s row) uint32 {
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// entry returns the allow and deny bits of object obj.
func (r row) entry(obj uint32) (allow, deny mask) {
	for s := r[r.keyEnd():]; len(s) >= 4; s = s[4:] { // a handful of entries: a scan beats a search
		switch e := entryAt(s); {
		case e>>8 == obj:
			return mask(e>>4) & 0xf, mask(e) & 0xf
		case e>>8 > obj:
			return 0, 0
		}
	}
	return 0, 0
}

// verdict is grant.verdict on the row's lines.
func (r row) verdict(obj uint32, known bool, bit mask) Reason {
	allow, deny := mask(r[2])&bit != 0, mask(r[3])&bit != 0
	if known {
		a, d := r.entry(obj)
		allow, deny = allow || a&bit != 0, deny || d&bit != 0
	}
	return effect(allow, deny)
}

// grant decodes the row's lines.
func (r row) grant() *grant {
	g := &grant{anyAllow: mask(r[2]), anyDeny: mask(r[3])}
	for s := r[r.keyEnd():]; len(s) >= 4; s = s[4:] {
		g.objs = append(g.objs, entryAt(s))
	}
	return g
}

// principal is a row and what it has out of line; the zero principal stands
// for none.
type principal struct {
	row   row
	extra *extra // set when the row has rowExtra
}

// extra holds what few principals have, out of line.
type extra struct {
	expiry int64 // unix nanoseconds; 0 for none
	ips    []netip.Prefix
	apps   map[string]*grant // credential id → the lines reached in that application's domain
}
