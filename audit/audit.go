// Package audit holds versions: the append-only trail of every change. A
// version is written in the same transaction as the change it records.
package audit

import (
	"context"
	"time"

	"github.com/provisionkit/provisioning/fault"
	"github.com/provisionkit/provisioning/resource"
)

// Event is what happened to a resource.
type Event string

// The events.
const (
	Create            Event = "create"
	Update            Event = "update"
	Destroy           Event = "destroy"
	Accept            Event = "accept"
	Resend            Event = "resend"
	TransferOwnership Event = "transfer_ownership"
	Rotate            Event = "rotate" // a credential's secret was replaced
)

// Who is the actor of a change.
type Who struct {
	Type string // "user", "credential" or "system"
	ID   string
}

// Version records one change of one resource.
type Version struct {
	ID             string
	OrganizationID string // "" for resources outside any organization (users)
	ResourceType   string // the wire type: "memberships", "roles", ...
	ResourceID     string
	Event          Event
	Changes        resource.Changes
	Who            Who
	RequestID      string
	resource.Common
}

// Filter selects versions of one organization.
type Filter struct {
	OrganizationID  string   // one organization; "" for a list across organizations
	OrganizationIDs []string // when OrganizationID is "": a list across these organizations
	ResourceType    string   // optional
	ResourceID      string   // optional
	Event           Event    // optional
	Since, Until    time.Time
	resource.PageRequest
}

// Validate checks the filter.
func (f Filter) Validate() error {
	var p fault.Problems
	if _, err := f.AfterID(); err != nil {
		p.Merge(err)
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && f.Until.Before(f.Since) {
		p.Add("until", "format", "must not be before since")
	}
	return p.Err("audit.List")
}

// Store is the storage contract for versions: append and read, nothing else
// (the one deletion there is, of versions past their retention, is Purger's).
type Store interface {
	Append(ctx context.Context, v *Version) error
	// AppendMany appends versions in as few statements as the backend can.
	AppendMany(ctx context.Context, vs []*Version) error
	Get(ctx context.Context, id string) (*Version, error)
	List(ctx context.Context, f Filter) (resource.Page[Version], error)
}

// Purger is the optional capability of a Store that purges versions past
// their retention: the only deletion of versions there is.
type Purger interface {
	// Purge deletes at most limit versions created before cutoff, oldest
	// first, and returns how many it deleted and whether versions created
	// before cutoff remain. Concurrent purges delete disjoint versions:
	// none is counted twice.
	Purge(ctx context.Context, cutoff time.Time, limit int) (n int, more bool, err error)
}
