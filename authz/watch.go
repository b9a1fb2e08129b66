package authz

import (
	"context"
	"time"

	"github.com/provisionkit/provisioning/access"
)

// DefaultPollInterval is how often Watch polls when src cannot notify.
const DefaultPollInterval = 5 * time.Second

// Watch refreshes cached policies early, so that the first check after a
// change made by another process does not pay for the rebuild. When src is
// an access.Watcher (PostgreSQL LISTEN/NOTIFY) it refreshes each organization
// it is told of, and polls every cached organization once after each
// (re)connection, in case a notification was missed; otherwise it polls the
// revision of every cached organization each interval (one query each).
// A failed refresh is left to the next check. Watch returns when ctx ends.
//
// Correctness never depends on Watch: every check compares the revision.
func (a *Authorizer) Watch(ctx context.Context, src access.Store, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	w, notifies := src.(access.Watcher)
	for ctx.Err() == nil {
		a.poll(ctx, src)
		if notifies {
			_ = w.WatchPolicy(ctx, func(orgID string) { _ = a.Refresh(ctx, src, orgID, false) })
		}
		select {
		case <-ctx.Done():
		case <-time.After(interval):
		}
	}
}

// poll refreshes every cached organization whose revision changed.
func (a *Authorizer) poll(ctx context.Context, src access.Store) {
	var orgs []string
	a.shards.each(func(org string) { orgs = append(orgs, org) })
	for _, org := range orgs {
		if ctx.Err() != nil {
			return
		}
		_ = a.Refresh(ctx, src, org, false)
	}
}
