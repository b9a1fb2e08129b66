package provisioning_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// citation matches a reference to a document that is not in the repository:
// the working notes' section labels and tracker numbers. A comment or a doc
// says the rule itself, or links the public documentation it comes from.
var citation = regexp.MustCompile(`\bSPEC\b|\x{00a7}|(?i:\bissues? #?[0-9]+\b)|\bseed 00[0-9]\b`)

// TestNoExternalCitations walks the repository's sources and docs for such
// references (this file builds its pattern so that it does not match itself).
func TestNoExternalCitations(t *testing.T) {
	skipDirs := map[string]bool{".git": true, "node_modules": true, "bench-data": true, "testdata": true}
	kept := map[string]bool{".go": true, ".md": true, ".sql": true, ".sh": true, ".js": true, ".mjs": true, ".ts": true, ".json": true, ".yaml": true, ".yml": true, ".conf": true, ".txt": true}
	var found []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if skipDirs[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		if !kept[filepath.Ext(path)] && d.Name() != "Makefile" && d.Name() != "run" {
			return nil
		}
		if d.Name() == "package-lock.json" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if citation.MatchString(line) {
				found = append(found, path+":"+strconv.Itoa(i+1)+": "+strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Errorf("cites a document outside the repository: %s", f)
	}
}
