// Package revmemo holds the revision memo of one call (see
// access.NoteRevision). It is internal so that only this module puts a memo
// on a context: a memo that outlived its call (a host's request context
// carrying one across calls) would answer later checks with a revision read
// before changes they must see.
package revmemo

import "context"

// Key is the context key of the memo.
type Key struct{}

// Memo is the revision noted for one organization.
type Memo struct{ Org, Rev string }

// With returns ctx with an empty memo, for one call.
func With(ctx context.Context) context.Context {
	return context.WithValue(ctx, Key{}, &Memo{})
}
