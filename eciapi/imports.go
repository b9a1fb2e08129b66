package eciapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/internal/httpx"
	"github.com/provisionkit/provisioning/membership"
	"github.com/provisionkit/provisioning/role"
)

// The bulk import: POST …/members/import answers 202 at once, with a
// Location to GET for the result, and invites the rows in a goroutine of
// the API, over Session.InviteMany (one transaction: the rows it refuses
// fail alone). Jobs are kept in memory, not in a table: a job is a few
// kilobytes that only its caller reads, for a short while, on the
// instance that ran it; a table would need its own migration, purge and
// cross-instance story for a result the caller can rebuild by listing the
// members. A restart loses the running and finished jobs (their GET
// answers 404; the rows already committed stay).

// Bounds of the imports kept.
const (
	// MaxImportRows bounds the rows of one import.
	MaxImportRows = provisioning.MaxInvitesPerCall
	// MaxImports bounds the jobs kept; a new one past it drops the oldest
	// finished one, or is refused (429) while all are running.
	MaxImports = 256
	// ImportTTL is how long a finished job's result is kept.
	ImportTTL = time.Hour
)

// Statuses of an import job.
const (
	ImportRunning   = "running"
	ImportSucceeded = "succeeded"
	ImportFailed    = "failed"
)

// importJob is one import and, when done, its result.
type importJob struct {
	id, org    string
	orgNumber  int32
	principal  provisioning.Principal
	created    time.Time
	mu         sync.Mutex
	status     string
	finished   time.Time
	rows       []importRow
	jobProblem *httpx.Problem // the whole call failed
}

// importRow is the outcome of one row, in order.
type importRow struct {
	Index        int            `json:"index"`
	EmailAddress string         `json:"emailAddress"`
	Status       int            `json:"status"` // 201 invited, else the problem's status
	Member       *memberJSON    `json:"member,omitempty"`
	Problem      *httpx.Problem `json:"problem,omitempty"`
}

// imports are the jobs of one API.
type imports struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	jobs   map[string]*importJob
	closed bool
}

func newImports() *imports {
	ctx, cancel := context.WithCancel(context.Background())
	return &imports{ctx: ctx, cancel: cancel, jobs: map[string]*importJob{}}
}

func (im *imports) close() {
	im.mu.Lock()
	im.closed = true
	im.mu.Unlock()
	im.cancel()
	im.wg.Wait()
}

// errImportsFull is a new import while MaxImports are running.
var errImportsFull = httpx.NewError(http.StatusTooManyRequests, "TOO_MANY_IMPORTS", "Too Many Requests",
	"Too many imports are running; try again later.")

// errClosed is an import after Close.
var errClosed = httpx.NewError(http.StatusServiceUnavailable, "UNAVAILABLE", "Service Unavailable", "The server is shutting down.")

// add registers a job, making room by dropping expired and then the
// oldest finished jobs.
func (im *imports) add(j *importJob) error {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.closed {
		return errClosed
	}
	var oldest *importJob
	for id, k := range im.jobs {
		k.mu.Lock()
		done, finished := k.status != ImportRunning, k.finished
		k.mu.Unlock()
		switch {
		case done && time.Since(finished) > ImportTTL:
			delete(im.jobs, id)
		case done && (oldest == nil || k.created.Before(oldest.created)):
			oldest = k
		}
	}
	if len(im.jobs) >= MaxImports {
		if oldest == nil {
			return errImportsFull
		}
		delete(im.jobs, oldest.id)
	}
	im.jobs[j.id] = j
	im.wg.Add(1)
	return nil
}

// decodeImport reads the body of an import, {"members": [invite…]}: 400
// when it is not that, or has no row or more than MaxImportRows. A row
// that is not a valid invitation is not an error here: it is that row's
// outcome (nil in bodies, its problem in bad).
func decodeImport(b []byte) (bodies []*inviteBody, bad map[int]error, err error) {
	raw, err := httpx.BodyObject(b)
	if err != nil {
		return nil, nil, err
	}
	var members []json.RawMessage
	if httpx.IsNull(raw["members"]) || json.Unmarshal(raw["members"], &members) != nil {
		return nil, nil, eci.InvalidField("members", "must be an array of invitations")
	}
	if len(members) == 0 || len(members) > MaxImportRows {
		return nil, nil, eci.InvalidField("members", "must have 1 to "+strconv.Itoa(MaxImportRows)+" invitations")
	}
	bodies, bad = make([]*inviteBody, len(members)), map[int]error{}
	for i, m := range members {
		obj, err := httpx.BodyObject(m)
		if err == nil {
			var in inviteBody
			if in, err = decodeInvite(obj); err == nil {
				bodies[i] = &in
				continue
			}
		}
		bad[i] = err
	}
	return bodies, bad, nil
}

// start serves POST …/members/import: 202 with a Location, and the job.
// The caller's right to invite is checked by the job's InviteMany: a
// caller without it finds its refusal in the result.
func (im *imports) start(ctx context.Context, c *httpx.Call) (int, any, error) {
	b, err := httpx.ReadBody(c.R)
	if err != nil {
		return 0, nil, err
	}
	bodies, bad, err := decodeImport(b)
	if err != nil {
		return 0, nil, err
	}
	org, err := organizationOf(ctx, c)
	if err != nil {
		return 0, nil, err
	}
	var id [16]byte
	_, _ = rand.Read(id[:])
	j := &importJob{id: hex.EncodeToString(id[:]), org: org.ID, orgNumber: org.Number, principal: c.Principal,
		created: time.Now(), status: ImportRunning}
	if err := im.add(j); err != nil {
		return 0, nil, err
	}
	c.Touch(org.ID) // the job writes there: kept counts go now, as after any write
	// The job outlives the request: it runs on the API's context, carrying
	// the request's id for its versions.
	jobCtx := provisioning.WithRequestID(im.ctx, provisioning.RequestID(ctx))
	s, call := c.S, *c
	go func() {
		defer im.wg.Done()
		j.run(jobCtx, s, &call, bodies, bad)
	}()
	loc := "/v1/organizations/" + strconv.FormatInt(int64(org.Number), 10) + "/member-imports/" + j.id
	c.W.Header().Set("Location", loc)
	return http.StatusAccepted, map[string]any{"id": j.id, "status": ImportRunning, "location": loc}, nil
}

// run invites the valid rows in one InviteMany and records every row's
// outcome.
func (j *importJob) run(ctx context.Context, s *provisioning.Session, c *httpx.Call, bodies []*inviteBody, bad map[int]error) {
	rows := make([]importRow, len(bodies))
	var invites []membership.Invite
	var at []int // the row of each invitation
	roles := map[role.Kind]string{}
	var callErr error
	for i, in := range bodies {
		rows[i].Index = i
		if in == nil {
			rows[i].fail(bad[i])
			continue
		}
		rows[i].EmailAddress = in.EmailAddress
		inv, err := invitation(ctx, c, j.org, *in, roles)
		if err != nil {
			callErr = err
			break
		}
		invites, at = append(invites, inv), append(at, i)
	}
	var results []provisioning.InviteResult
	if callErr == nil && len(invites) > 0 {
		results, callErr = s.InviteMany(ctx, j.org, invites)
	}
	org, err := s.GetOrganization(ctx, j.org)
	if callErr == nil {
		callErr = err
	}
	if callErr == nil {
		d := newDocs(c, org)
		for k, res := range results {
			r := &rows[at[k]]
			if res.Err != nil {
				r.fail(res.Err)
				continue
			}
			r.Status = http.StatusCreated
			if r.Member, err = d.member(ctx, res.Membership, true); err != nil {
				r.Member = nil // the row was invited all the same
			}
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.rows, j.status, j.finished = rows, ImportSucceeded, time.Now()
	if callErr != nil {
		p, _ := eci.ProblemOf(callErr)
		if errors.Is(callErr, context.Canceled) {
			p = problemOf(errClosed)
		}
		j.status, j.jobProblem, j.rows = ImportFailed, &p, nil
	}
}

// fail records a row's problem.
func (r *importRow) fail(err error) {
	p := problemOf(err)
	r.Status, r.Problem = p.Status, &p
}

func problemOf(err error) httpx.Problem {
	p, _ := eci.ProblemOf(err)
	return p
}

// get serves GET …/member-imports/{jobId}: the job's status and, when it
// is done, every row's outcome. Only the principal that started it reads
// it, under the organization of its path; any other job id is 404.
func (im *imports) get(ctx context.Context, c *httpx.Call) (int, any, error) {
	org, err := organizationOf(ctx, c)
	if err != nil {
		return 0, nil, err
	}
	im.mu.Lock()
	j, ok := im.jobs[c.R.PathValue("jobId")]
	im.mu.Unlock()
	if !ok || j.org != org.ID || j.principal.Kind != c.Principal.Kind || j.principal.ID != c.Principal.ID {
		return 0, nil, errNoOrganization
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	out := map[string]any{"id": j.id, "status": j.status, "organizationId": j.orgNumber, "created": httpx.TimeString(j.created)}
	if j.status != ImportRunning {
		out["finished"] = httpx.TimeString(j.finished)
		out["rows"] = j.rows
		if j.jobProblem != nil {
			out["problem"] = j.jobProblem
		}
	}
	return http.StatusOK, out, nil
}
