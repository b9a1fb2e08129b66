package httpapi

import (
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// Limit is a number of requests per interval.
type Limit struct {
	Requests int
	Per      time.Duration
}

// RateLimits are the limits per client address, as Commerce Layer limits them: reads (GET) and
// writes (the other methods), each on average over all endpoints and in
// bursts per endpoint. A zero Limit is no limit.
type RateLimits struct {
	Read, ReadBurst, Write, WriteBurst Limit
}

// DefaultRateLimits are Commerce Layer's: GET 1000/min and 250 per
// endpoint per 10 s; writes 200/min and 50 per endpoint per 10 s.
var DefaultRateLimits = RateLimits{
	Read: Limit{1000, time.Minute}, ReadBurst: Limit{250, 10 * time.Second},
	Write: Limit{200, time.Minute}, WriteBurst: Limit{50, 10 * time.Second},
}

// limiter counts requests in fixed windows, in memory (one process).
type limiter struct {
	limits  RateLimits
	now     func() time.Time
	mu      sync.Mutex
	windows map[windowKey]*counter
	calls   int
}

type windowKey struct {
	ip       netip.Addr
	write    bool
	endpoint string // "" for the average over all endpoints
}

type counter struct {
	start time.Time
	n     int
}

func newLimiter(l RateLimits, now func() time.Time) *limiter {
	if now == nil {
		now = time.Now
	}
	return &limiter{limits: l, now: now, windows: map[windowKey]*counter{}}
}

// allow counts the request and sets the x-ratelimit-* headers of the
// tighter limit; it returns the 429 error when a limit is exceeded.
func (l *limiter) allow(w http.ResponseWriter, ip netip.Addr, method, endpoint string) *apiError {
	write := method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
	avg, burst := l.limits.Read, l.limits.ReadBurst
	if write {
		avg, burst = l.limits.Write, l.limits.WriteBurst
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	type check struct {
		lim Limit
		c   *counter
	}
	var checks []check
	for _, ck := range []struct {
		lim Limit
		key windowKey
	}{{avg, windowKey{ip, write, ""}}, {burst, windowKey{ip, write, endpoint}}} {
		if ck.lim.Requests <= 0 || ck.lim.Per <= 0 {
			continue
		}
		c := l.windows[ck.key]
		if c == nil || now.Sub(c.start) >= ck.lim.Per {
			c = &counter{start: now}
			l.windows[ck.key] = c
		}
		checks = append(checks, check{ck.lim, c})
	}
	if len(checks) == 0 {
		return nil
	}
	tight := checks[0]
	for _, ck := range checks[1:] {
		if ck.lim.Requests-ck.c.n < tight.lim.Requests-tight.c.n {
			tight = ck
		}
	}
	h := w.Header()
	h.Set("X-Ratelimit-Limit", strconv.Itoa(tight.lim.Requests))
	h.Set("X-Ratelimit-Interval", strconv.Itoa(int(tight.lim.Per/time.Second)))
	if tight.c.n >= tight.lim.Requests {
		h.Set("X-Ratelimit-Remaining", "0")
		wait := tight.c.start.Add(tight.lim.Per).Sub(now)
		h.Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		e := problem(http.StatusTooManyRequests, "TOO_MANY_REQUESTS", "Too many requests",
			"The rate limit of "+strconv.Itoa(tight.lim.Requests)+" requests per "+tight.lim.Per.String()+" is exceeded; retry later.")
		e.RetryAt = tight.c.start.Add(tight.lim.Per)
		return e
	}
	for _, ck := range checks {
		ck.c.n++
	}
	h.Set("X-Ratelimit-Remaining", strconv.Itoa(tight.lim.Requests-tight.c.n))
	return nil
}

// sweep drops the windows that ended, every 1024 calls.
func (l *limiter) sweep(now time.Time) {
	l.calls++
	if l.calls%1024 != 0 {
		return
	}
	longest := max(l.limits.Read.Per, l.limits.ReadBurst.Per, l.limits.Write.Per, l.limits.WriteBurst.Per)
	for k, c := range l.windows {
		if now.Sub(c.start) >= longest {
			delete(l.windows, k)
		}
	}
}
