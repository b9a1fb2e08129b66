package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/provisionkit/provisioning"
)

// lockedBuffer is stdout, written by run and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs the server on a random port over the SQLite file db and
// returns its address and the function that stops it and returns run's error.
func start(t *testing.T, db string, env map[string]string, out io.Writer) (string, func() error) {
	t.Helper()
	return startWith(t, []string{"-db", db}, env, out, io.Discard)
}

// startWith runs the server on a random port with args, printing to out
// and logging to log.
func startWith(t *testing.T, args []string, env map[string]string, out, log io.Writer) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), func(k string) string { return env[k] }, out, log,
			func(a string) { addr <- a })
	}()
	select {
	case a := <-addr:
		return a, func() error { cancel(); return <-done }
	case err := <-done:
		cancel()
		t.Fatalf("run: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("the server did not start")
	}
	return "", nil
}

func get(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestRun starts the server twice on one database: the first start prints
// the owner's token (PROVISIONING_OWNER_TOKEN), the second prints nothing;
// the token works across restarts; shutdown is graceful.
func TestRun(t *testing.T) {
	db := t.TempDir() + "/p.db"
	env := map[string]string{"PROVISIONING_OWNER_TOKEN": "script-owner-token-0001"}
	var out lockedBuffer
	addr, stop := start(t, db, env, &out)
	if got := out.String(); got != "owner token: script-owner-token-0001\n" {
		t.Errorf("first start printed %q", got)
	}
	if code := get(t, "http://"+addr+"/api/user", "script-owner-token-0001"); code != 200 {
		t.Errorf("GET /api/user with the owner token: %d", code)
	}
	if code := get(t, "http://"+addr+"/api/user", "another-token-000000"); code != 401 {
		t.Errorf("GET /api/user with another token: %d", code)
	}
	if err := stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	var again lockedBuffer
	addr, stop = start(t, db, nil, &again)
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}()
	if again.String() != "" {
		t.Errorf("second start printed %q", again.String())
	}
	if code := get(t, "http://"+addr+"/api/user", "script-owner-token-0001"); code != 200 {
		t.Errorf("the owner token after a restart: %d", code)
	}
}

// TestRunPrintsAToken checks that without PROVISIONING_OWNER_TOKEN a random
// token is printed, and works.
func TestRunPrintsAToken(t *testing.T) {
	var out lockedBuffer
	addr, stop := start(t, t.TempDir()+"/p.db", nil, &out)
	defer stop()
	tok, ok := strings.CutPrefix(strings.TrimSpace(out.String()), "owner token: pvt_")
	if !ok || len(tok) < 40 {
		t.Fatalf("printed %q", out.String())
	}
	if code := get(t, "http://"+addr+"/api/user", "pvt_"+tok); code != 200 {
		t.Errorf("GET /api/user with the printed token: %d", code)
	}
}

// do sends a request with a bearer token (none when "") and a JSON body
// (none when ""), and returns the status and the body.
func do(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/vnd.api+json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

// field returns the string at the dotted path of a JSON object.
func field(t *testing.T, body string, path ...string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i >= len(x) {
				t.Fatalf("no %v in %s", path, body)
			}
			v = x[i]
		}
	}
	s, ok := v.(string)
	if !ok {
		t.Fatalf("no string at %v in %s", path, body)
	}
	return s
}

// TestRunOwnerTokenOnALaterStart checks that PROVISIONING_OWNER_TOKEN
// works when the database already exists: a later start registers a token
// it does not know (and prints it), a start with a known one or without
// one prints nothing and logs which token is in force, never a token.
func TestRunOwnerTokenOnALaterStart(t *testing.T) {
	db := t.TempDir() + "/p.db"
	var first lockedBuffer
	_, stop := start(t, db, nil, &first)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	printed := strings.TrimPrefix(strings.TrimSpace(first.String()), "owner token: ")

	env := map[string]string{"PROVISIONING_OWNER_TOKEN": "later-owner-token-0001"}
	for i, want := range []struct{ out, log string }{
		{"owner token: later-owner-token-0001\n", "the owner's token is the one printed on stdout"},
		{"", "the owner's token is PROVISIONING_OWNER_TOKEN"},
	} {
		var out, log lockedBuffer
		addr, stop := startWith(t, []string{"-db", db}, env, &out, &log)
		code := get(t, "http://"+addr+"/api/user", "later-owner-token-0001")
		old := get(t, "http://"+addr+"/api/user", printed)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if out.String() != want.out || !strings.Contains(log.String(), want.log) || code != 200 || old != 200 {
			t.Errorf("start %d with the variable: printed %q, GET /api/user %d (the first token: %d), log:\n%s", i+2, out.String(), code, old, log.String())
		}
		if strings.Contains(log.String(), "later-owner-token-0001") || strings.Contains(log.String(), printed) {
			t.Errorf("start %d logged a token:\n%s", i+2, log.String())
		}
	}

	var out, log lockedBuffer
	_, stop = startWith(t, []string{"-db", db}, nil, &out, &log)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if out.String() != "" || !strings.Contains(log.String(), "the owner's token is the one printed on the first start (not shown again)") {
		t.Errorf("a start without the variable: printed %q, log:\n%s", out.String(), log.String())
	}
}

// TestRunRefusesABadOwnerToken checks that a PROVISIONING_OWNER_TOKEN that
// cannot be a token, or that is another principal's, stops the server with
// a message naming the variable and what it accepts.
func TestRunRefusesABadOwnerToken(t *testing.T) {
	db := t.TempDir() + "/p.db"
	addr, stop := startWith(t, []string{"-db", db, "-dev"}, nil, io.Discard, io.Discard)
	code, body := do(t, "POST", "http://"+addr+"/dev/users", "", `{"email":"dee@example.com"}`)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if code != 201 {
		t.Fatalf("POST /dev/users: %d %s", code, body)
	}
	for _, tt := range []struct{ give, want string }{
		{"short", "PROVISIONING_OWNER_TOKEN has 5 characters: it must have 16 to 512 printable ASCII characters, without spaces"},
		{"sixteen chars with spaces", "PROVISIONING_OWNER_TOKEN has a space, or a character that is not printable ASCII: it must have 16 to 512"},
		{strings.Repeat("x", 513), "PROVISIONING_OWNER_TOKEN has 513 characters: it must have 16 to 512"},
		{field(t, body, "token"), "PROVISIONING_OWNER_TOKEN is the token of another principal than the owner"},
	} {
		env := map[string]string{"PROVISIONING_OWNER_TOKEN": tt.give}
		ctx, cancel := context.WithCancel(t.Context())
		err := run(ctx, []string{"-addr", "127.0.0.1:0", "-db", db}, func(k string) string { return env[k] }, io.Discard, io.Discard,
			func(string) { t.Errorf("the server started with the owner token %q", tt.give); cancel() })
		cancel()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("owner token %q: %v, want %q", tt.give, err, tt.want)
		}
	}
}

// TestRunWarnsWithoutIDPKeys checks that the warning given without
// PROVISIONING_IDP_KEYS says what is lost and how to set the variable.
func TestRunWarnsWithoutIDPKeys(t *testing.T) {
	var log lockedBuffer
	_, stop := startWith(t, []string{"-db", t.TempDir() + "/p.db"}, nil, io.Discard, &log)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cannot be read after a restart", "head -c 32 /dev/urandom | base64", "the first one seals", "to rotate"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the warning does not say %q:\n%s", want, log.String())
		}
	}
}

// TestDevInvitations checks development mode: an invitation is logged
// with its token and kept at /dev/mail, a user signs up at /dev/users (the
// address taken as verified), and accepts at /invitations/accept as
// himself; another user cannot, a used token is refused; an email change's
// code is kept at /dev/mail and confirms it; and without -dev the
// development routes do not exist.
func TestDevInvitations(t *testing.T) {
	env := map[string]string{"PROVISIONING_OWNER_TOKEN": "dev-test-owner-0001"}
	var log lockedBuffer
	db := t.TempDir() + "/p.db"
	addr, stop := startWith(t, []string{"-db", db, "-dev"}, env, io.Discard, &log)
	u := "http://" + addr
	code, body := do(t, "POST", u+"/api/organizations", "dev-test-owner-0001", `{"data":{"type":"organizations","attributes":{"name":"Acme"}}}`)
	if code != 201 {
		t.Fatalf("create organization: %d %s", code, body)
	}
	org := field(t, body, "data", "id")
	_, body = do(t, "GET", u+"/api/roles?filter[q][kind_eq]=read_only&filter[q][organization_id_eq]="+org, "dev-test-owner-0001", "")
	invite := `{"data":{"type":"memberships","attributes":{"user_email":"bob@example.com"},"relationships":{` +
		`"organization":{"data":{"type":"organizations","id":"` + org + `"}},"role":{"data":{"type":"roles","id":"` + field(t, body, "data", "0", "id") + `"}}}}}`
	if code, body = do(t, "POST", u+"/api/memberships", "dev-test-owner-0001", invite); code != 201 {
		t.Fatalf("invite: %d %s", code, body)
	}
	code, body = do(t, "GET", u+"/dev/mail?to=Bob@Example.com", "", "")
	tok := field(t, body, "0", "token")
	if code != 200 || field(t, body, "0", "organization_id") != org || !strings.Contains(log.String(), "token="+tok) {
		t.Errorf("GET /dev/mail: %d %s; log:\n%s", code, body, log.String())
	}
	_, body = do(t, "POST", u+"/dev/users", "", `{"email":"carol@example.com"}`)
	carol := field(t, body, "token")
	if code, body = do(t, "POST", u+"/dev/users", "", `{"email":"dan@example.com","email":"bob@example.com"}`); code != 400 {
		t.Errorf("POST /dev/users with email twice: %d %s; want 400", code, body)
	}
	code, body = do(t, "POST", u+"/dev/users", "", `{"email":"bob@example.com","first_name":"Bob"}`)
	if code != 201 || field(t, body, "email") != "bob@example.com" {
		t.Fatalf("POST /dev/users: %d %s", code, body)
	}
	bob := field(t, body, "token")
	accept := `{"token":"` + tok + `"}`
	for _, tt := range []struct {
		name, token, body string
		wantCode          int
	}{
		{"no bearer", "", accept, 401},
		{"another user", carol, accept, 404},
		{"bad body", bob, `{"token":"` + tok + `","extra":1}`, 400},
		{"token twice", bob, `{"token":"x","token":"` + tok + `"}`, 400},
		{"token twice, in two cases", bob, `{"Token":"x","token":"` + tok + `"}`, 400},
		{"the invitee", bob, accept, 200},
		{"again", bob, accept, 404},
	} {
		code, body := do(t, "POST", u+"/invitations/accept", tt.token, tt.body)
		if strings.HasPrefix(tt.name, "token twice") && !strings.Contains(body, "/token is given more than once") {
			t.Errorf("%s: %s; want the member named", tt.name, body)
		}
		if code != tt.wantCode || code == 200 && (field(t, body, "status") != "active" || field(t, body, "organization_id") != org) {
			t.Errorf("%s: POST /invitations/accept: %d %s, want %d", tt.name, code, body, tt.wantCode)
		}
	}

	// bob changes his address: pending until the code mailed to the new
	// one confirms it; the old one is told, without the code.
	code, body = do(t, "PATCH", u+"/api/user", bob, `{"data":{"type":"users","attributes":{"email":"bob.smith@example.com"}}}`)
	if code != 200 || field(t, body, "data", "attributes", "email") != "bob@example.com" || field(t, body, "data", "attributes", "pending_email") != "bob.smith@example.com" {
		t.Fatalf("PATCH /api/user with an email: %d %s", code, body)
	}
	_, body = do(t, "GET", u+"/dev/mail?to=bob.smith@example.com", "", "")
	changeCode := field(t, body, "0", "code")
	if field(t, body, "0", "kind") != "email_change" || changeCode == "" || !strings.Contains(log.String(), "code="+changeCode) {
		t.Fatalf("GET /dev/mail of the new address: %s", body)
	}
	if _, body = do(t, "GET", u+"/dev/mail?to=bob@example.com", "", ""); !strings.Contains(body, `"email_change_notice"`) || strings.Contains(body, changeCode) {
		t.Errorf("GET /dev/mail of the old address: %s; want a notice without the code", body)
	}
	code, body = do(t, "PATCH", u+"/api/user/confirm_email", bob, `{"data":{"type":"users","attributes":{"code":"`+changeCode+`"}}}`)
	if code != 200 || field(t, body, "data", "attributes", "email") != "bob.smith@example.com" {
		t.Errorf("PATCH /api/user/confirm_email: %d %s", code, body)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	addr, stop = startWith(t, []string{"-db", db}, nil, io.Discard, io.Discard)
	defer stop()
	for _, path := range []string{"GET /dev/mail", "POST /dev/users"} {
		method, p, _ := strings.Cut(path, " ")
		if code, body := do(t, method, "http://"+addr+p, "", `{"email":"eve@example.com"}`); code != 404 {
			t.Errorf("%s without -dev: %d %s", path, code, body)
		}
	}
}

// TestDevMailKeepsTheLast checks that the development mailbox keeps the
// last maxDevMail invitations, not every one since the start.
func TestDevMailKeepsTheLast(t *testing.T) {
	d := &devMail{log: slog.New(slog.DiscardHandler)}
	for i := range maxDevMail + 1 {
		if err := d.Invited(t.Context(), provisioning.Invitation{Email: fmt.Sprintf("u%d@example.com", i), Token: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	if len(d.sent) != maxDevMail || d.sent[0].To != "u1@example.com" || d.sent[maxDevMail-1].To != fmt.Sprintf("u%d@example.com", maxDevMail) {
		t.Errorf("kept %d, from %s to %s", len(d.sent), d.sent[0].To, d.sent[len(d.sent)-1].To)
	}
}
