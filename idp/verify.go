package idp

import (
	"context"
	"net"
	"strings"
	"sync"
	"time"
)

// Resolver looks up DNS TXT records. *net.Resolver (net.DefaultResolver)
// implements it; tests use a fake.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

var _ Resolver = (*net.Resolver)(nil)

// LookupTimeout bounds the lookup of one domain: a lookup that takes longer
// counts as failed.
const LookupTimeout = 10 * time.Second

// DomainCheck is the outcome of the lookup of one domain.
type DomainCheck struct {
	Domain string
	Status Status // Verified: the record is there; Pending: other TXT records only; Failed: no TXT record or no such domain, or the lookup failed
	Err    error  // the lookup's error, for Failed
}

// Verify looks up the TXT records of every domain at once and returns the
// provider's status: Verified when every domain carries record, Failed when
// a domain is not found (no such domain; Go's resolver reports a domain
// without any TXT record alike) or its lookup fails or times out, Pending
// otherwise (a domain has TXT records, none of them record); and the
// outcome of each domain, in order. It returns ctx's error, and no status,
// when ctx ends first.
func Verify(ctx context.Context, r Resolver, domains []string, record string) (Status, []DomainCheck, error) {
	checks := make([]DomainCheck, len(domains))
	var wg sync.WaitGroup
	for i, d := range domains {
		wg.Add(1)
		go func() {
			defer wg.Done()
			checks[i] = checkDomain(ctx, r, d, record)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return "", nil, err
	}
	status := Verified
	if len(domains) == 0 {
		status = Pending
	}
	for _, c := range checks {
		switch {
		case c.Status == Failed:
			return Failed, checks, nil
		case c.Status == Pending:
			status = Pending
		}
	}
	return status, checks, nil
}

func checkDomain(ctx context.Context, r Resolver, domain, record string) DomainCheck {
	ctx, cancel := context.WithTimeout(ctx, LookupTimeout)
	defer cancel()
	txts, err := r.LookupTXT(ctx, domain)
	if err != nil {
		// Not found (Go's resolver reports a name without TXT records like
		// one that does not exist), a timeout or another failure.
		return DomainCheck{Domain: domain, Status: Failed, Err: err}
	}
	for _, t := range txts {
		if strings.TrimSpace(t) == record {
			return DomainCheck{Domain: domain, Status: Verified}
		}
	}
	return DomainCheck{Domain: domain, Status: Pending}
}
