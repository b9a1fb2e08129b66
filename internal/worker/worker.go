// Package worker runs the library's background jobs: a loop that repeats a
// step on an interval until its context ends, and a handle that starts it in
// a goroutine and stops it.
package worker

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Every runs step at once, then again at once while it reports more work,
// and otherwise after interval, until ctx ends; it then returns ctx's
// error. Each wait ends with ctx.
func Every(ctx context.Context, interval time.Duration, step func(ctx context.Context) (more bool)) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		wait := interval
		if step(ctx) {
			wait = 0
		}
		t.Reset(wait)
	}
}

// ErrRunning is Start's error when the job runs already.
var ErrRunning = errors.New("worker: already running")

// Handle starts one job in a goroutine and stops it. Its zero value is ready.
type Handle struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// Start runs run in a goroutine with a context that keeps ctx's values but
// not its end (a start hook's context ends once the host has started): the
// job runs until Stop.
func (h *Handle) Start(ctx context.Context, run func(ctx context.Context)) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done != nil {
		return ErrRunning
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	h.cancel, h.done = cancel, done
	go func() {
		defer close(done)
		run(ctx)
	}()
	return nil
}

// Stop ends the job and waits until it has returned, or until ctx ends
// (then it returns ctx's error; the job still ends, later). Stopping a job
// that does not run does nothing.
func (h *Handle) Stop(ctx context.Context) error {
	h.mu.Lock()
	cancel, done := h.cancel, h.done
	h.cancel, h.done = nil, nil
	h.mu.Unlock()
	if done == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
