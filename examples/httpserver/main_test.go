package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
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
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-db", db}, func(k string) string { return env[k] }, out,
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
