package main

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The README's fenced code blocks, as this test reads them: the info
// string's first word is the language and a later word "norun" leaves the
// block out. Blocks of sh run in order in one bash session (variables carry
// over, set -euo pipefail), js blocks run with node at their place in that
// order, go blocks must be excerpts of a Go file under examples/ (which
// go vet compiles and the examples' own tests run), text blocks (and those
// without a language) are not read, and any other language is an error.
type readmeBlock struct {
	line       int // of the opening fence, 1-based
	lang, text string
	norun      bool
}

func readmeBlocks(t testing.TB, path string) []readmeBlock {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		blocks []readmeBlock
		cur    *readmeBlock
		body   strings.Builder
		n      int
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			words := strings.Fields(strings.TrimPrefix(line, "```"))
			cur = &readmeBlock{line: n, lang: "text"}
			if len(words) > 0 {
				cur.lang = words[0]
			}
			for _, w := range words[1:] {
				cur.norun = cur.norun || w == "norun"
			}
			body.Reset()
		case cur != nil && strings.TrimSpace(line) == "```":
			cur.text = body.String()
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			body.WriteString(line + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Fatalf("%s:%d: a code block is not closed", path, cur.line)
	}
	return blocks
}

// required reports whether a missing tool fails the test instead of
// skipping it: in CI, and wherever the SDK suite is required.
func required() bool { return os.Getenv("CI") != "" || os.Getenv("PROVISIONING_TEST_NODE") == "1" }

// curlWithoutFail returns the first curl command of text whose first
// option does not make it fail on an HTTP error status (-f in a group of
// short options, --fail, --fail-with-body): such a command would let an
// example that answers 4xx pass.
func curlWithoutFail(text string) string {
	fields := strings.Fields(text)
	for i, f := range fields {
		if strings.TrimLeft(f, "$(") != "curl" {
			continue
		}
		next := ""
		if i+1 < len(fields) {
			next = fields[i+1]
		}
		short := strings.HasPrefix(next, "-") && !strings.HasPrefix(next, "--") && strings.Contains(next, "f")
		if !short && !strings.HasPrefix(next, "--fail") {
			return "curl " + next
		}
	}
	return ""
}

// TestREADME runs every runnable block of the README, as a reader would
// (one shell, in order, against `go run ./examples/httpserver -dev` with
// the owner token the README exports), and fails on the first command that
// fails: every curl there fails on an HTTP error status.
func TestREADME(t *testing.T) {
	const readme = "../../README.md"
	raw, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "go run ./examples/httpserver -dev") {
		t.Fatal("the README no longer starts the server as this test does (go run ./examples/httpserver -dev)")
	}
	owner := regexp.MustCompile(`export PROVISIONING_OWNER_TOKEN=(\S+)`).FindStringSubmatch(string(raw))
	if owner == nil {
		t.Fatal("the README no longer exports PROVISIONING_OWNER_TOKEN")
	}
	blocks := readmeBlocks(t, readme)
	checkGoExcerpts(t, blocks)

	var missing []string
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		if required() {
			t.Fatalf("the README's shell blocks need %v", missing)
		}
		t.Skipf("the README's shell blocks need %v (CI=1 makes this a failure)", missing)
	}
	node, nodeErr := exec.LookPath("node")
	modules, err := filepath.Abs("../../httpapi/sdktest/node_modules")
	if err != nil {
		t.Fatal(err)
	}
	if nodeErr == nil {
		_, nodeErr = os.Stat(filepath.Join(modules, "@commercelayer", "provisioning-sdk"))
	}
	if nodeErr != nil && required() {
		t.Fatalf("the README's js blocks need node and the SDK (npm ci in httpapi/sdktest): %v", nodeErr)
	}

	dir := t.TempDir()
	var script strings.Builder
	script.WriteString("set -euxo pipefail\ntrap 'echo \"README.md: the block at line $README_LINE failed\" >&2' ERR\n")
	ran, leftOut := 0, 0
	for _, b := range blocks {
		if b.norun {
			continue
		}
		switch b.lang {
		case "sh", "bash":
			if m := curlWithoutFail(b.text); m != "" {
				t.Errorf("README.md:%d: %q: give every curl -f (or --fail-with-body) first, so that an HTTP error fails", b.line, m)
			}
			fmt.Fprintf(&script, "README_LINE=%d\n%s", b.line, b.text)
		case "js":
			if nodeErr != nil {
				leftOut++
				continue
			}
			file := filepath.Join(dir, fmt.Sprintf("block-%d.js", b.line))
			if err := os.WriteFile(file, []byte(b.text), 0o600); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&script, "README_LINE=%d\n%q %q\n", b.line, node, file)
		case "go", "text":
			continue
		default:
			t.Errorf("README.md:%d: a %q block is neither run nor checked: mark it norun (or text), or make it sh or js", b.line, b.lang)
			continue
		}
		ran++
	}
	if ran == 0 {
		t.Fatal("no runnable block in the README")
	}

	var out lockedBuffer
	var logs lockedBuffer
	addr, stop := startWith(t, []string{"-dev", "-db", dir + "/p.db"}, map[string]string{"PROVISIONING_OWNER_TOKEN": owner[1]}, &out, &logs)
	cmd := exec.CommandContext(t.Context(), "bash", "-c", script.String())
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PROVISIONING_URL=http://"+addr, "PROVISIONING_OWNER_TOKEN="+owner[1], "NODE_PATH="+modules)
	res, runErr := cmd.CombinedOutput()
	if err := stop(); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if runErr != nil {
		t.Fatalf("the README's blocks: %v\n%s\nserver log:\n%s", runErr, res, logs.String())
	}
	t.Logf("%d blocks ran:\n%s", ran, res)
	if leftOut > 0 {
		t.Skipf("%d js block(s) not run: node or the SDK is missing (%v); PROVISIONING_TEST_NODE=1 makes this a failure", leftOut, nodeErr)
	}
}

// checkGoExcerpts fails for a go block that is not, line for line (at one
// tab's indentation or none), in a Go file under examples/.
func checkGoExcerpts(t *testing.T, blocks []readmeBlock) {
	t.Helper()
	var files []string
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			b, err := os.ReadFile(path)
			files = append(files, string(b))
			return err
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range blocks {
		if b.lang != "go" || b.norun {
			continue
		}
		found := false
		for _, indent := range []string{"", "\t"} {
			lines := strings.SplitAfter(b.text, "\n")
			for i, l := range lines {
				if strings.TrimSpace(l) != "" {
					lines[i] = indent + l
				}
			}
			for _, f := range files {
				found = found || strings.Contains(f, strings.Join(lines, ""))
			}
		}
		if !found {
			t.Errorf("README.md:%d: this go block is not an excerpt of a Go file under examples/ (mark it norun, or copy it from the file)", b.line)
		}
	}
}
