package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/httpapi"
	"github.com/provisionkit/provisioning/idp"
	"github.com/provisionkit/provisioning/internal/testkit"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/role"
	"github.com/provisionkit/provisioning/storage/bunstore"
	"github.com/provisionkit/provisioning/storage/sqlite"
	"github.com/provisionkit/provisioning/token"
	"github.com/provisionkit/provisioning/user"
)

// server is the API over a fresh SQLite database, with an owner, its
// organization and the organization's built-in roles.
type server struct {
	*httptest.Server
	p          *provisioning.Provisioner
	tokens     *token.Issuer
	owner      *user.User
	ownerToken string
	org        *organization.Organization
	admin      *role.Role
	readOnly   *role.Role
	logs       *syncBuffer
	db         *bun.DB
	mail       *mailbox
	dns        *txtRecords
}

// txtRecords is the servers' DNS: TXT records by domain, set by the test;
// any other domain does not exist.
type txtRecords struct{ m sync.Map }

func (d *txtRecords) LookupTXT(_ context.Context, name string) ([]string, error) {
	if v, ok := d.m.Load(name); ok {
		return []string{v.(string)}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// mailbox records the email changes the server sends.
type mailbox struct {
	changes testkit.Recorder[provisioning.EmailChange]
}

var _ provisioning.EmailChangeNotifier = (*mailbox)(nil)

func (m *mailbox) Invited(context.Context, provisioning.Invitation) error { return nil }

func (m *mailbox) EmailChangeRequested(_ context.Context, c provisioning.EmailChange) error {
	m.changes.Add(c)
	return nil
}

// lastChange is the last email change sent.
func (m *mailbox) lastChange(t testing.TB) provisioning.EmailChange {
	t.Helper()
	return m.changes.Last(t)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testKeys seal identity provider secrets in tests.
const testKeys = "k1=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

func newServer(t testing.TB, opts ...httpapi.Option) *server {
	t.Helper()
	return newServerWith(t, nil, opts...)
}

// newServerWith is newServer over a Provisioner with more options.
func newServerWith(t testing.TB, popts []provisioning.Option, opts ...httpapi.Option) *server {
	t.Helper()
	db, err := sqlite.Open(context.Background(), t.TempDir()+"/api.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return newServerOnWith(t, db, popts, opts...)
}

// newServerOn is newServer on db (a fresh database: see storagetest).
func newServerOn(t testing.TB, db *bun.DB, opts ...httpapi.Option) *server {
	t.Helper()
	return newServerOnWith(t, db, nil, opts...)
}

// newServerOnWith is newServerOn over a Provisioner with more options.
func newServerOnWith(t testing.TB, db *bun.DB, popts []provisioning.Option, opts ...httpapi.Option) *server {
	t.Helper()
	ctx := context.Background()
	store, err := bunstore.New(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	keys, err := idp.ParseStaticKeys(testKeys)
	if err != nil {
		t.Fatal(err)
	}
	mail, dns := &mailbox{}, &txtRecords{}
	p, err := provisioning.New(store, append([]provisioning.Option{provisioning.WithKeyProvider(keys), provisioning.WithNotifier(mail),
		provisioning.WithResolver(dns)}, popts...)...)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{p: p, tokens: token.NewIssuer(store.Tokens(), nil), logs: &syncBuffer{}, db: db, mail: mail, dns: dns}
	opts = append([]httpapi.Option{httpapi.WithLogger(slog.New(slog.NewTextHandler(s.logs, nil))),
		httpapi.WithTokenEndpoint(s.tokens, time.Hour)}, opts...)
	h, err := httpapi.New(p, httpapi.Tokens(s.tokens), opts...)
	if err != nil {
		t.Fatal(err)
	}
	s.Server = httptest.NewServer(h)
	t.Cleanup(s.Close)
	s.owner, s.ownerToken = s.user(t, "owner@example.com")
	s.org, err = p.As(provisioning.User(s.owner.ID)).CreateOrganization(ctx, organization.Create{Name: "The Blue Brand"})
	if err != nil {
		t.Fatal(err)
	}
	s.admin, s.readOnly = s.role(t, role.KindAdmin), s.role(t, role.KindReadOnly)
	return s
}

// user signs up a user, whose address the host verified, and gives them a token.
func (s *server) user(t testing.TB, email string) (*user.User, string) {
	t.Helper()
	return s.signUp(t, user.Create{Email: email, EmailVerified: true})
}

// signUp creates a user and gives them a token.
func (s *server) signUp(t testing.TB, in user.Create) (*user.User, string) {
	t.Helper()
	u, err := s.p.System().CreateUser(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := s.tokens.Issue(context.Background(), provisioning.User(u.ID), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return u, secret
}

func (s *server) role(t testing.TB, k role.Kind) *role.Role {
	t.Helper()
	page, err := s.p.As(provisioning.User(s.owner.ID)).ListRoles(context.Background(), role.Filter{OrganizationID: s.org.ID, Kind: k})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("roles of kind %s: %v, %v", k, page.Items, err)
	}
	return &page.Items[0]
}

// response is a decoded response.
type response struct {
	status int
	header http.Header
	doc    map[string]any
	raw    string
}

// call sends a request with the JSON:API media types; token "" sends none.
func (s *server) call(t testing.TB, method, path, tok, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", httpapi.MediaType)
	if body != "" {
		req.Header.Set("Content-Type", httpapi.MediaType)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return s.send(t, req)
}

func (s *server) send(t testing.TB, req *http.Request) response {
	t.Helper()
	r, b := exchange(t, req)
	if len(b) > 0 {
		if err := json.Unmarshal(b, &r.doc); err != nil {
			t.Fatalf("%s %s: body is not JSON: %s", req.Method, req.URL, b)
		}
	}
	return r
}

// get follows a path of keys and indexes into the document: "data.0.id".
func (r response) get(path string) any {
	var v any = r.doc
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i := 0
			for _, c := range k {
				i = i*10 + int(c-'0')
			}
			if i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func (r response) str(path string) string {
	s, _ := r.get(path).(string)
	return s
}

func (r response) count(path string) int {
	l, _ := r.get(path).([]any)
	return len(l)
}

// want checks the status, and the first error's code when code is not "".
func (r response) want(t testing.TB, status int, code string) response {
	t.Helper()
	if r.status != status || code != "" && r.str("errors.0.code") != code {
		t.Fatalf("status %d, error code %q; want %d %q; body %s", r.status, r.str("errors.0.code"), status, code, r.raw)
	}
	return r
}

func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// exchange sends req and returns the answer with its body, not decoded.
func exchange(t testing.TB, req *http.Request) (response, []byte) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, raw: string(b)}, b
}

// eciOrg is an organization's id on ECI's paths: its number.
func eciOrg(o *organization.Organization) string { return strconv.Itoa(int(o.Number)) }
