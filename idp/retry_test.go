package idp_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/idp"
	"github.com/provisionkit/provisioning/resource"
)

// TestRetryDelay: the wait doubles from First up to Max, and jitter puts it
// in [d/2, d]; a huge attempt number stays at Max.
func TestRetryDelay(t *testing.T) {
	r := idp.Retry{First: time.Minute, Max: 10 * time.Minute, Attempts: 5, Lease: time.Minute}
	tests := []struct {
		giveAttempt int
		giveJitter  float64
		want        time.Duration
	}{
		{1, 0, 30 * time.Second}, {1, 1, time.Minute}, {2, 1, 2 * time.Minute}, {3, 0.5, 3 * time.Minute},
		{4, 1, 8 * time.Minute}, {5, 1, 10 * time.Minute}, {5, 0, 5 * time.Minute}, {1000, 1, 10 * time.Minute},
		{0, 1, time.Minute}, {2, 7, 2 * time.Minute}, {2, -1, time.Minute},
	}
	for _, tt := range tests {
		if got := r.Delay(tt.giveAttempt, tt.giveJitter); got != tt.want {
			t.Errorf("Delay(%d, %v) = %v, want %v", tt.giveAttempt, tt.giveJitter, got, tt.want)
		}
	}
	huge := idp.Retry{First: time.Hour, Max: time.Duration(1<<63 - 1), Attempts: 1, Lease: time.Minute}
	if got := huge.Delay(200, 1); got <= 0 {
		t.Errorf("Delay with an unbounded cap overflowed: %v", got)
	}
}

func TestRetryValidate(t *testing.T) {
	if err := idp.DefaultRetry.Validate(); err != nil {
		t.Errorf("DefaultRetry: %v", err)
	}
	for _, r := range []idp.Retry{
		{First: 0, Max: time.Hour, Attempts: 1, Lease: time.Minute},
		{First: time.Hour, Max: time.Minute, Attempts: 1, Lease: time.Minute},
		{First: time.Minute, Max: time.Hour, Attempts: 0, Lease: time.Minute},
		{First: time.Minute, Max: time.Hour, Attempts: 1, Lease: idp.LookupTimeout},
	} {
		if err := r.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", r)
		}
	}
}

// TestRetrySettle: verified ends the schedule without counting; another
// outcome counts and reschedules until the last attempt, which is error;
// a definitive answer is error at once.
func TestRetrySettle(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := idp.Retry{First: time.Minute, Max: time.Hour, Attempts: 2, Lease: time.Minute}
	notFound := []idp.DomainCheck{{Domain: "a.example", Status: idp.Failed, Err: fmt.Errorf("x: %w", idp.ErrNoSuchDomain)}}
	tests := []struct {
		name         string
		giveAttempts int
		giveStatus   idp.Status
		giveChecks   []idp.DomainCheck
		wantStatus   idp.Status
		wantAttempts int
		wantNext     time.Time
		wantChange   bool
	}{
		{"verified", 1, idp.Verified, nil, idp.Verified, 1, time.Time{}, true},
		{"pending", 0, idp.Pending, nil, idp.Pending, 1, now.Add(time.Minute), false},
		{"failed lookup", 0, idp.Failed, []idp.DomainCheck{{Status: idp.Failed}}, idp.Pending, 1, now.Add(time.Minute), false},
		{"last attempt", 1, idp.Pending, nil, idp.Failed, 2, time.Time{}, true},
		{"no such domain", 0, idp.Failed, notFound, idp.Failed, 1, time.Time{}, true},
	}
	for _, tt := range tests {
		p := &idp.Provider{Status: idp.Pending, VerifyAttempts: tt.giveAttempts, NextVerifyAt: now}
		ch := resource.Changes{}
		r.Settle(p, ch, tt.giveStatus, tt.giveChecks, now, 1)
		if p.Status != tt.wantStatus || p.VerifyAttempts != tt.wantAttempts || !p.NextVerifyAt.Equal(tt.wantNext) || (len(ch) > 0) != tt.wantChange {
			t.Errorf("%s: %s, %d attempts, next %v, changes %v; want %s, %d, %v, changed %v", tt.name, p.Status, p.VerifyAttempts,
				p.NextVerifyAt, ch, tt.wantStatus, tt.wantAttempts, tt.wantNext, tt.wantChange)
		}
	}
}
