package organization_test

import (
	"testing"

	"github.com/provisionkit/provisioning/organization"
)

// FuzzSlugify checks that any name gives a slug of dash-separated lower-case
// ASCII words of at most MaxSlugLen bytes that Slugify keeps as it is, and
// that FreeSlug, when the slug is taken, finds another valid slug.
func FuzzSlugify(f *testing.F) {
	for _, seed := range []string{
		"The Blue Brand", "Café Crème", "日本語", "", "--a--", "½ price", "ǅemal", "\xff\xfe",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa b",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbbbbb",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		slug := organization.Slugify(name)
		if !slugRE.MatchString(slug) || len(slug) > organization.MaxSlugLen || organization.Slugify(slug) != slug {
			t.Fatalf("Slugify(%q) = %q: want dash-separated [a-z0-9] words, at most %d bytes, a fixed point", name, slug, organization.MaxSlugLen)
		}
		if slug == "" {
			return
		}
		next := organization.FreeSlug(slug, []string{slug})
		if next == slug || !slugRE.MatchString(next) || len(next) > organization.MaxSlugLen {
			t.Fatalf("FreeSlug(%q, [itself]) = %q: want another slug of at most %d bytes", slug, next, organization.MaxSlugLen)
		}
	})
}
