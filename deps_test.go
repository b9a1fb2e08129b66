package provisioning_test

import (
	"go/build"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/provisionkit/provisioning"

// notDomain are the top-level directories that hold no domain package: the
// adapters, the wiring, the examples, the benchmarks, and those without Go
// code. Every other top-level directory with Go code is a domain package, so
// that a new one is held to the domain's rules without being listed.
var notDomain = []string{"authz", "bench", "docs", "eciapi", "examples", "httpapi", "internal", "provisioningfx", "rebillyapi", "scripts", "storage"}

// domainPackages lists the domain packages: every top-level directory with
// Go code outside notDomain. They import only the standard library,
// golang.org/x/text and golang.org/x/net/idna, and each other.
func domainPackages(tb testing.TB) []string {
	tb.Helper()
	entries, err := os.ReadDir(".")
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if name := e.Name(); e.IsDir() && !slices.Contains(notDomain, name) && !strings.HasPrefix(name, ".") && hasGo(tb, name) {
			out = append(out, name)
		}
	}
	return out
}

// hasGo reports whether dir holds a Go file.
func hasGo(tb testing.TB, dir string) bool {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		tb.Fatal(err)
	}
	return len(files) > 0
}

// TestDomainPackages: the derived list holds every domain package the
// layers name, token among them, and notDomain names only directories that
// exist.
func TestDomainPackages(t *testing.T) {
	got := domainPackages(t)
	for _, want := range []string{"fault", "resource", "email", "access", "role", "organization", "user", "membership",
		"profile", "audit", "appmembership", "credential", "idp", "allowlist", "token"} {
		if !slices.Contains(got, want) {
			t.Errorf("domain packages %v miss %s", got, want)
		}
	}
	for _, dir := range notDomain {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			t.Errorf("notDomain names %s, which is no directory", dir)
		}
	}
}

// wirePackages are the HTTP wire formats and what they share.
var wirePackages = []string{module + "/httpapi", module + "/rebillyapi", module + "/eciapi", module + "/internal/httpx"}

// TestImportRules keeps the layers of DESIGN.md: domain packages never import
// storage, authz, fx, HTTP or the root; storage and authz never import each
// other; only provisioningfx imports fx; only storage imports bun and SQL
// drivers; only authz imports Casbin. The Rebilly and ECI wire formats sit
// beside httpapi, not inside it: they and internal/httpx never import
// httpapi nor each other (httpapi composes them).
func TestImportRules(t *testing.T) {
	domain := domainPackages(t)
	forbidden := func(pkg string) []string {
		var out []string
		switch pkg {
		case "rebillyapi":
			out = append(out, module+"/httpapi", module+"/eciapi")
		case "eciapi":
			out = append(out, module+"/httpapi", module+"/rebillyapi")
		case "internal/httpx":
			out = append(out, module+"/httpapi", module+"/rebillyapi", module+"/eciapi")
		}
		if pkg != "provisioningfx" && !strings.HasPrefix(pkg, "examples") {
			out = append(out, "go.uber.org/fx", module+"/provisioningfx", module+"/examples")
		}
		switch {
		case slices.Contains(domain, pkg):
			out = append(out, "net/http", "database/sql", "github.com/uptrace/bun", "github.com/casbin",
				module+"/storage", module+"/authz")
			out = append(out, wirePackages...)
		case strings.HasPrefix(pkg, "storage"):
			out = append(out, "github.com/casbin", module+"/authz")
			out = append(out, wirePackages...)
		case pkg == "authz":
			out = append(out, "github.com/uptrace/bun", "database/sql", module+"/storage")
			out = append(out, wirePackages...)
		case pkg == ".":
			out = append(out, "github.com/uptrace/bun", "database/sql", "github.com/casbin", module+"/storage")
			out = append(out, wirePackages...)
		}
		return out
	}
	allowedDomainThirdParty := []string{"golang.org/x/text", "golang.org/x/net/idna"}
	checked := 0
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "node_modules") {
			return filepath.SkipDir
		}
		p, err := build.ImportDir(path, 0)
		if err != nil {
			if _, ok := err.(*build.NoGoError); ok {
				return nil
			}
			return err
		}
		pkg := filepath.ToSlash(path)
		checked++
		for _, imp := range p.Imports {
			for _, bad := range forbidden(pkg) {
				if imp == bad || strings.HasPrefix(imp, bad+"/") {
					t.Errorf("package %s imports %s", pkg, imp)
				}
			}
			thirdParty := strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") && !strings.HasPrefix(imp, module+"/")
			if slices.Contains(domain, pkg) && thirdParty && !slices.ContainsFunc(allowedDomainThirdParty, func(a string) bool {
				return imp == a || strings.HasPrefix(imp, a+"/")
			}) {
				t.Errorf("domain package %s imports %s", pkg, imp)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 15 {
		t.Fatalf("checked %d packages: the walk missed the tree", checked)
	}
}
