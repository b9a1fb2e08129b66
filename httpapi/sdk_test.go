package httpapi_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/httpapi"
)

// TestSDK runs the JavaScript suite of sdktest/ (the official
// @commercelayer/provisioning-sdk, installed by `npm ci` there) against a
// server started here. Without node, or without node_modules, it skips,
// unless PROVISIONING_TEST_NODE=1, where it fails. It runs twice: with the
// default count cache, and with one that keeps every count (threshold 0),
// whose meta the SDK must read as well.
func TestSDK(t *testing.T) {
	node, err := exec.LookPath("node")
	required := os.Getenv("PROVISIONING_TEST_NODE") == "1"
	missing := func(what string) {
		if required {
			t.Fatalf("%s (PROVISIONING_TEST_NODE=1)", what)
		}
		t.Skip(what + ": set PROVISIONING_TEST_NODE=1 to make this a failure")
	}
	if err != nil {
		missing("node is not installed")
	}
	dir, err := filepath.Abs("sdktest")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@commercelayer", "provisioning-sdk")); err != nil {
		missing("the SDK is not installed: run npm ci in httpapi/sdktest")
	}
	for _, tt := range []struct {
		name string
		opts []httpapi.Option
	}{
		{"exact counts", nil},
		{"cached counts", []httpapi.Option{httpapi.WithCountCache(httpapi.CountCache{TTL: time.Hour}, nil)}},
	} {
		t.Run(tt.name, func(t *testing.T) { runSDK(t, node, dir, tt.opts...) })
	}
}

// runSDK runs the JavaScript suite in dir with node against a new server.
func runSDK(t *testing.T, node, dir string, opts ...httpapi.Option) {
	s := newServer(t, opts...) // its owner and organization are OTHER_ORG's
	_, ownerToken := s.user(t, "sdk-owner@example.com")
	_, memberToken := s.user(t, "sdk-member@example.com")
	cmd := exec.CommandContext(t.Context(), node, "--test", "--test-reporter=spec")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PROV_BASE="+s.URL, "OTHER_ORG="+s.org.ID,
		"OWNER_EMAIL=sdk-owner@example.com", "OWNER_TOKEN="+ownerToken, "MEMBER_EMAIL=sdk-member@example.com", "MEMBER_TOKEN="+memberToken)
	out, err := cmd.CombinedOutput()
	t.Logf("node --test:\n%s", out)
	if err != nil {
		t.Fatalf("node --test: %v", err)
	}
}
