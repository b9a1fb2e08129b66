package provisioning_test

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/provisionkit/provisioning"
	"github.com/provisionkit/provisioning/fault"
)

// TestAuthorizationMatrix calls every exported operation of the facade as
// every actor kind on every target (an object of the actor's organization,
// the same kind of object of another organization, and an id that names
// nothing) and holds each cell to the outcome that the declarative rules of
// matrix_table_test.go derive (ASVS 8.1.1; RELIABILITY.md 4.2). It also
// checks that another organization's id fails exactly as an id that does not
// exist (I1, I25) and that a refused call changes nothing (I2, I20).
//
// Refused calls, and calls that only read, run in one shared world; a call
// expected to change the world runs in a copy of it.
func TestAuthorizationMatrix(t *testing.T) {
	ctx := context.Background()
	base := newMatrixWorld(t)
	shared := base
	defer func() {
		if shared != base {
			shared.close()
		}
	}()
	// reset starts the next cells over from the pristine world.
	reset := func() {
		if shared != base {
			shared.close()
		}
		shared = base.fork(t)
	}
	all := matrixActors()
	var cells, forks, ops, maxActors int
	kinds := map[string]bool{}
	for _, r := range matrixRules() {
		if r.scope == notApplicable {
			continue
		}
		ops++
		t.Run(r.op, func(t *testing.T) {
			actors := r.actorsFor(all)
			maxActors = max(maxActors, len(actors))
			rowWorld, rowBefore := shared, shared.fingerprint(t)
			var told []string // actors that can tell another organization's id from an id of nothing
			for _, a := range actors {
				kinds[a.name] = true
				errs := map[matrixTarget]error{}
				for _, tg := range r.targets() {
					want := r.expect(a, tg)
					w := shared
					if r.mutates && want == ok {
						w = base.fork(t)
						forks++
					}
					f := w.a
					if tg == otherOrg {
						f = w.b
					}
					pr := base.principal[a.name]
					c := &matrixCall{ctx: ctx, w: w, s: w.p.As(pr), pr: pr, tg: tg, f: f}
					before := w.writes(t)
					err := r.call(c)
					cells++
					errs[tg] = err
					cell := r.op + " × " + a.name + " × " + tg.String()
					if got := kindOrOK(err); got != want {
						t.Errorf("%s: got %s (%v), want %s", cell, kindName(got), err, kindName(want))
					}
					if w != shared {
						w.close()
						continue
					}
					if after := w.writes(t); after != before {
						t.Errorf("%s: a call expected to change nothing wrote %d times: %v", cell, after-before, err)
						reset()
					}
				}
				if msg := sameAsMissing(r, a, errs); msg != "" {
					if len(told) == 0 {
						t.Errorf("%s × %s: %s", r.op, a.name, msg)
					}
					told = append(told, a.name)
				}
			}
			if len(told) > 1 {
				t.Errorf("%s: %d actor kinds in all tell another organization's id from an id of nothing: %s", r.op, len(told), strings.Join(told, ", "))
			}
			if shared == rowWorld {
				assertUnchanged(t, shared.env, rowBefore) // the row counts of authorization_test.go, over the whole row
			}
		})
	}
	methods := map[string]bool{}
	for _, r := range matrixRules() {
		if r.scope != notApplicable {
			methods[strings.SplitN(r.op, "/", 2)[0]] = true
		}
	}
	t.Logf("authorization matrix: %d rows (%d methods, %d variants) × %d actor kinds (%d run per row at most) and the host × up to 3 targets: %d cells run, %d of them in a copy of the world",
		ops, len(methods), ops-len(methods), len(kinds)-1, maxActors, cells, forks)
}

// idPattern matches the ids the library makes (and matrixMissingID).
var idPattern = regexp.MustCompile(`\b[0-9a-z]{26}\b`)

// sameAsMissing tells how another organization's id fails otherwise than
// an id that names nothing: the kind, or the message with ids masked (I1,
// I25); "" when they fail alike. It applies wherever the rules expect both
// to fail alike.
func sameAsMissing(r matrixRule, a matrixActor, errs map[matrixTarget]error) string {
	other, okO := errs[otherOrg]
	none, okM := errs[missing]
	if !okO || !okM || r.expect(a, otherOrg) != r.expect(a, missing) || r.expect(a, missing) == ok {
		return ""
	}
	if other == nil || none == nil {
		return "" // reported as a wrong outcome already
	}
	o, m := idPattern.ReplaceAllString(other.Error(), "<id>"), idPattern.ReplaceAllString(none.Error(), "<id>")
	if fault.KindOf(other) == fault.KindOf(none) && o == m {
		return ""
	}
	return fmt.Sprintf("another organization's id fails as %s %q, an id of nothing as %s %q: they must not be told apart",
		fault.KindOf(other), o, fault.KindOf(none), m)
}

// TestAuthorizationMatrixCoverage fails naming every exported method of
// the facade's handles that has no row in the matrix, and every row that
// names a method that does not exist.
func TestAuthorizationMatrixCoverage(t *testing.T) {
	rows := map[string]bool{}
	for _, r := range matrixRules() {
		rows[strings.SplitN(r.op, "/", 2)[0]] = true
	}
	exported := map[string]bool{}
	for name, v := range map[string]any{"Session": &provisioning.Session{}, "System": &provisioning.System{}, "Provisioner": &provisioning.Provisioner{}} {
		typ := reflect.TypeOf(v)
		for i := 0; i < typ.NumMethod(); i++ {
			exported[name+"."+typ.Method(i).Name] = true
		}
	}
	var lacking, stale []string
	for m := range exported {
		if !rows[m] {
			lacking = append(lacking, m)
		}
	}
	for m := range rows {
		if !exported[m] {
			stale = append(stale, m)
		}
	}
	sort.Strings(lacking)
	sort.Strings(stale)
	if len(lacking) > 0 {
		t.Errorf("exported methods without a row in the authorization matrix: %s", strings.Join(lacking, ", "))
	}
	if len(stale) > 0 {
		t.Errorf("matrix rows naming methods that do not exist: %s", strings.Join(stale, ", "))
	}
	if len(exported) < 60 {
		t.Errorf("found only %d exported methods: is reflection looking at the right types?", len(exported))
	}
}
