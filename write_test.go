package provisioning_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestOneWritePipeline: the facade appends versions and bumps policy
// revisions in one place only, the write step (write.go), so that no write
// site can forget the version, or the revision its change implies.
func TestOneWritePipeline(t *testing.T) {
	direct := regexp.MustCompile(`Versions\(\)\.Append|\.BumpPolicy\(`)
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "write.go" {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(src), "\n") {
			if direct.MatchString(line) {
				t.Errorf("%s:%d writes past the write step (Session.apply): %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}
