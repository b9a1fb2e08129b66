package organization_test

import (
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/provisionkit/provisioning/internal/testkit"
	"github.com/provisionkit/provisioning/organization"
	"github.com/provisionkit/provisioning/resource"
)

var slugRE = regexp.MustCompile(`^([a-z0-9]+(-[a-z0-9]+)*)?$`)

func TestSlugify(t *testing.T) {
	tests := []struct {
		give string
		want string
	}{
		{"The Blue Brand", "the-blue-brand"},
		{"Café Crème", "cafe-creme"},
		{"ACME", "acme"},
		{"acme", "acme"},
		{"Acme, Inc.", "acme-inc"},
		{"Acme --- & ___ Co", "acme-co"},
		{"  ...Acme!!!  ", "acme"},
		{"--acme--", "acme"},
		{"Shop 24/7", "shop-24-7"},
		{"H&M", "h-m"},
		{"Crème brûlée à la carte", "creme-brulee-a-la-carte"},
		{"Ångström Øresund", "angstrom-oresund"}, // Ø has no decomposition
		{"İstanbul", "istanbul"},
		{"ＡＣＭＥ　Ｓｈｏｐ", "acme-shop"}, // full-width folded by NFKD
		{"ǅemal", "dzemal"},
		{"ﬁsh", "fish"},
		{"\u212Aelvin", "kelvin"},
		{"½ price", "1-2-price"},
		{"日本語", ""},
		{"Магазин", ""},
		{"متجر", ""},
		{"🙂🙃", ""},
		{"", ""},
		{"   ", ""},
		{"a\x00b", "a-b"},
		{"a\nb", "a-b"},
		{"\xffacme", "acme"},
		{"123", "123"},
		{"Shop 日本 Rome", "shop-rome"},
		{strings.Repeat("a", 63), strings.Repeat("a", 63)},
		{strings.Repeat("a", 64), strings.Repeat("a", 63)},
		{strings.Repeat("a", 62) + " b", strings.Repeat("a", 62)},
		{strings.Repeat("ab ", 40), strings.TrimSuffix(strings.Repeat("ab-", 21), "-")},
		{strings.Repeat("é", 100), strings.Repeat("e", 63)},
	}
	for _, tt := range tests {
		if got := organization.Slugify(tt.give); got != tt.want {
			t.Errorf("Slugify(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

// Whatever the name, the slug is lower-case ASCII words joined by single
// dashes, at most MaxSlugLen bytes, and a fixed point of Slugify.
func TestSlugifyShape(t *testing.T) {
	tests := []string{
		strings.Repeat("word ", 30),
		strings.Repeat("a", 62) + "--" + strings.Repeat("b", 10),
		strings.Repeat("a", 61) + "-" + strings.Repeat("b", 10),
		strings.Repeat("ab-", 30),
		strings.Repeat("日本", 50) + "x",
		strings.Repeat("x日", 100),
		strings.Repeat("-", 100) + "a",
		"Über  Größe ―― Straße",
	}
	for _, give := range tests {
		got := organization.Slugify(give)
		if !slugRE.MatchString(got) || len(got) > organization.MaxSlugLen || organization.Slugify(got) != got {
			t.Errorf("Slugify(%q) = %q: want dash-separated [a-z0-9] words, at most %d bytes, a fixed point", give, got, organization.MaxSlugLen)
		}
	}
}

func TestFreeSlug(t *testing.T) {
	long := strings.Repeat("a", 63)
	long62 := strings.Repeat("b", 62)
	dashAt61 := strings.Repeat("c", 60) + "-de" // 63 bytes, truncation lands on the dash
	tests := []struct {
		name      string
		giveBase  string
		giveTaken []string
		want      string
	}{
		{"free", "acme", nil, "acme"},
		{"free among others", "acme", []string{"acme-2", "acme-co"}, "acme"},
		{"taken", "acme", []string{"acme"}, "acme-2"},
		{"taken and -2 taken", "acme", []string{"acme", "acme-2"}, "acme-3"},
		{"first gap", "acme", []string{"acme", "acme-2", "acme-3", "acme-5"}, "acme-4"},
		{"order of taken does not matter", "acme", []string{"acme-3", "acme-2", "acme"}, "acme-4"},
		{"up to two digits", "acme", append([]string{"acme"}, numbered("acme", 2, 10)...), "acme-11"},
		{"63 bytes taken", long, []string{long}, long[:61] + "-2"},
		{"63 bytes, -2 taken", long, []string{long, long[:61] + "-2"}, long[:61] + "-3"},
		{"62 bytes taken", long62, []string{long62}, long62[:61] + "-2"},
		{"two-digit suffix shortens more", long, append([]string{long}, numbered(long[:61], 2, 9)...), long[:60] + "-10"},
		{"no dash before the suffix", dashAt61, []string{dashAt61}, strings.Repeat("c", 60) + "-2"},
	}
	for _, tt := range tests {
		got := organization.FreeSlug(tt.giveBase, tt.giveTaken)
		if got != tt.want {
			t.Errorf("%s: FreeSlug(%q, %q) = %q, want %q", tt.name, tt.giveBase, tt.giveTaken, got, tt.want)
		}
		if len(got) > organization.MaxSlugLen || slices.Contains(tt.giveTaken, got) || !slugRE.MatchString(got) {
			t.Errorf("%s: FreeSlug(%q) = %q is taken, too long or not a slug", tt.name, tt.giveBase, got)
		}
	}
}

// numbered returns base-from ... base-to.
func numbered(base string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, base+"-"+strconv.Itoa(i))
	}
	return out
}

// FreeSlug's taken list comes from Store.SlugsWithPrefix(SlugPrefix(base));
// a truncated candidate (base[:61]+"-2") starts with that prefix, so it is in
// the list and FreeSlug never hands back a slug that is taken.
func TestFreeSlugTruncatedCandidateIsSeen(t *testing.T) {
	long := strings.Repeat("a", 63)
	all := []string{long, long[:61] + "-2", "a", "b" + long[:10]}
	var taken []string
	for _, s := range all {
		if strings.HasPrefix(s, organization.SlugPrefix(long)) {
			taken = append(taken, s)
		}
	}
	if got := organization.FreeSlug(long, taken); slices.Contains(all, got) {
		t.Errorf("FreeSlug(%q, %q) = %q, which is taken", long, taken, got)
	}
}

// validCreate is a full, valid input.
func validCreate() organization.Create {
	return organization.Create{
		Name:          "The Blue Brand",
		SupportPhone:  "+39 02 1234 5678",
		SupportEmail:  "Help@Blue.Example",
		LogoURL:       "https://cdn.blue.example/logo.png",
		FaviconURL:    "http://blue.example/favicon.ico",
		PrimaryColor:  "#1A2b3C",
		ContrastColor: "#ffffff",
		GTMID:         "GTM-5FJXX6",
		GTMIDTest:     "GTM-TEST1",
		Region:        "us-east-1",
		Config:        map[string]any{"mfa": map[string]any{"required": true}},
		CommonInput:   resource.CommonInput{Reference: "crm-1", ReferenceOrigin: "crm", Metadata: resource.Metadata{"tier": "gold"}},
	}
}

func TestCreateValidateAcceptsValidInput(t *testing.T) {
	tests := []struct {
		name string
		give organization.Create
	}{
		{"full", validCreate()},
		{"name only", organization.Create{Name: "Acme"}},
		{"unicode name with a latin word", organization.Create{Name: "Caffè Roma 日本"}},
		{"config nil", organization.Create{Name: "Acme", Config: nil}},
		{"region two-digit", organization.Create{Name: "Acme", Region: "ap-southeast-12"}},
		{"phone digits only", organization.Create{Name: "Acme", SupportPhone: "0212345678"}},
	}
	for _, tt := range tests {
		if err := tt.give.Validate(); err != nil {
			t.Errorf("%s: Validate() = %v, want nil", tt.name, err)
		}
	}
}

func TestCreateValidateNamesBadField(t *testing.T) {
	tests := []struct {
		name       string
		give       func(c *organization.Create)
		wantFields []string
	}{
		{"blank name", func(c *organization.Create) { c.Name = "" }, []string{"name"}},
		{"spaces name", func(c *organization.Create) { c.Name = "   " }, []string{"name"}},
		{"padded name", func(c *organization.Create) { c.Name = " Acme" }, []string{"name"}},
		{"name with no latin letter", func(c *organization.Create) { c.Name = "日本語" }, []string{"name"}},
		{"name with control", func(c *organization.Create) { c.Name = "Ac\nme" }, []string{"name"}},
		{"name too long", func(c *organization.Create) { c.Name = strings.Repeat("a", 256) }, []string{"name"}},
		{"color name", func(c *organization.Create) { c.PrimaryColor = "red" }, []string{"primary_color"}},
		{"color short", func(c *organization.Create) { c.PrimaryColor = "#fff" }, []string{"primary_color"}},
		{"color no hash", func(c *organization.Create) { c.PrimaryColor = "ffffff" }, []string{"primary_color"}},
		{"color too long", func(c *organization.Create) { c.ContrastColor = "#fffffff" }, []string{"contrast_color"}},
		{"color not hex", func(c *organization.Create) { c.ContrastColor = "#gggggg" }, []string{"contrast_color"}},
		{"color css injection", func(c *organization.Create) { c.ContrastColor = "#ffffff;}" }, []string{"contrast_color"}},
		{"color trailing newline", func(c *organization.Create) { c.ContrastColor = "#ffffff\n" }, []string{"contrast_color"}},
		{"javascript logo", func(c *organization.Create) { c.LogoURL = "javascript:alert(1)" }, []string{"logo_url"}},
		{"data logo", func(c *organization.Create) { c.LogoURL = "data:image/png;base64,AAAA" }, []string{"logo_url"}},
		{"relative logo", func(c *organization.Create) { c.LogoURL = "/logo.png" }, []string{"logo_url"}},
		{"scheme-relative logo", func(c *organization.Create) { c.LogoURL = "//cdn.example/logo.png" }, []string{"logo_url"}},
		{"ftp logo", func(c *organization.Create) { c.LogoURL = "ftp://cdn.example/logo.png" }, []string{"logo_url"}},
		{"logo without host", func(c *organization.Create) { c.LogoURL = "https:///logo.png" }, []string{"logo_url"}},
		{"logo with credentials", func(c *organization.Create) { c.LogoURL = "https://user:pw@cdn.example/logo.png" }, []string{"logo_url"}},
		{"logo with space in host", func(c *organization.Create) { c.LogoURL = "https://cdn .example/logo.png" }, []string{"logo_url"}},
		{"logo with control", func(c *organization.Create) { c.LogoURL = "https://cdn.example/\x00" }, []string{"logo_url"}},
		{"logo too long", func(c *organization.Create) { c.LogoURL = "https://cdn.example/" + strings.Repeat("a", 2048) }, []string{"logo_url"}},
		{"javascript favicon", func(c *organization.Create) { c.FaviconURL = "JavaScript:alert(1)" }, []string{"favicon_url"}},
		{"relative favicon", func(c *organization.Create) { c.FaviconURL = "favicon.ico" }, []string{"favicon_url"}},
		{"gtm lower case", func(c *organization.Create) { c.GTMID = "gtm-5fjxx6" }, []string{"gtm_id"}},
		{"gtm no id", func(c *organization.Create) { c.GTMID = "GTM-" }, []string{"gtm_id"}},
		{"gtm wrong prefix", func(c *organization.Create) { c.GTMID = "UA-12345" }, []string{"gtm_id"}},
		{"gtm script", func(c *organization.Create) { c.GTMIDTest = "GTM-1');alert(1);//" }, []string{"gtm_id_test"}},
		{"gtm too long", func(c *organization.Create) { c.GTMIDTest = "GTM-" + strings.Repeat("A", 17) }, []string{"gtm_id_test"}},
		{"region upper case", func(c *organization.Create) { c.Region = "EU-WEST-1" }, []string{"region"}},
		{"region without number", func(c *organization.Create) { c.Region = "eu-west" }, []string{"region"}},
		{"region word", func(c *organization.Create) { c.Region = "europe" }, []string{"region"}},
		{"region three digits", func(c *organization.Create) { c.Region = "eu-west-100" }, []string{"region"}},
		{"support email display name", func(c *organization.Create) { c.SupportEmail = "Help <help@blue.example>" }, []string{"support_email"}},
		{"support email no dot", func(c *organization.Create) { c.SupportEmail = "help@localhost" }, []string{"support_email"}},
		{"support email not an email", func(c *organization.Create) { c.SupportEmail = "help" }, []string{"support_email"}},
		{"phone words", func(c *organization.Create) { c.SupportPhone = "call me" }, []string{"support_phone"}},
		{"phone too short", func(c *organization.Create) { c.SupportPhone = "12" }, []string{"support_phone"}},
		{"phone too long", func(c *organization.Create) { c.SupportPhone = "+" + strings.Repeat("1", 32) }, []string{"support_phone"}},
		{"phone plus inside", func(c *organization.Create) { c.SupportPhone = "02+1234" }, []string{"support_phone"}},
		{"phone newline", func(c *organization.Create) { c.SupportPhone = "0212345\n" }, []string{"support_phone"}},
		{"config empty key", func(c *organization.Create) { c.Config = map[string]any{"": 1} }, []string{"config"}},
		{"config too large", func(c *organization.Create) { c.Config = map[string]any{"k": strings.Repeat("x", 64<<10)} }, []string{"config"}},
		{"reference too long", func(c *organization.Create) { c.Reference = strings.Repeat("r", 256) }, []string{"reference"}},
		{"metadata empty key", func(c *organization.Create) { c.Metadata = resource.Metadata{"": 1} }, []string{"metadata"}},
		{
			"several at once",
			func(c *organization.Create) {
				c.Name = ""
				c.PrimaryColor = "red"
				c.Region = "x"
				c.LogoURL = "javascript:x"
			},
			[]string{"name", "logo_url", "primary_color", "region"},
		},
	}
	for _, tt := range tests {
		c := validCreate()
		tt.give(&c)
		if got := testkit.BadFields(t, c.Validate()); !slices.Equal(got, tt.wantFields) {
			t.Errorf("%s: Validate() fields = %q, want %q", tt.name, got, tt.wantFields)
		}
	}
}

// The configuration may be up to 64 KiB, more than metadata.
func TestCreateValidateConfigLimit(t *testing.T) {
	tests := []struct {
		giveBytes  int
		wantFields []string
	}{
		{64 << 10, nil},
		{64<<10 + 1, []string{"config"}},
	}
	for _, tt := range tests {
		c := organization.Create{Name: "Acme", Config: map[string]any{"k": strings.Repeat("x", tt.giveBytes-len(`{"k":""}`))}}
		if got := testkit.BadFields(t, c.Validate()); !slices.Equal(got, tt.wantFields) {
			t.Errorf("config of %d bytes: fields = %q, want %q", tt.giveBytes, got, tt.wantFields)
		}
	}
}

func TestCreateNew(t *testing.T) {
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	tests := []struct {
		name       string
		give       organization.Create
		giveSlug   string
		wantDomain string
		wantRegion string
		wantEmail  string
	}{
		{"defaults", organization.Create{Name: "The Blue Brand"}, "the-blue-brand", "the-blue-brand.commercelayer.io", organization.DefaultRegion, ""},
		{"explicit region", organization.Create{Name: "Acme", Region: "us-east-1"}, "acme-2", "acme-2.commercelayer.io", "us-east-1", ""},
		{"canonical support email", organization.Create{Name: "Acme", SupportEmail: " Help@BÜCHER.example "}, "acme", "acme.commercelayer.io", organization.DefaultRegion, "help@xn--bcher-kva.example"},
	}
	for _, tt := range tests {
		o := tt.give.New("org1", tt.giveSlug, now)
		if o.ID != "org1" || o.Name != tt.give.Name || o.Slug != tt.giveSlug || o.Domain != tt.wantDomain ||
			o.Domain != o.Slug+organization.DomainSuffix || o.Region != tt.wantRegion || o.SupportEmail != tt.wantEmail ||
			!o.CreatedAt.Equal(now) || !o.UpdatedAt.Equal(now) || o.OwnerMembershipID != "" {
			t.Errorf("%s: New = %+v; want slug %q domain %q region %q email %q at %v", tt.name, o, tt.giveSlug, tt.wantDomain, tt.wantRegion, tt.wantEmail, now)
		}
	}
}

func TestCreateNewCopiesSettings(t *testing.T) {
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	c := validCreate()
	got := c.New("org1", "the-blue-brand", now)
	want := &organization.Organization{
		ID: "org1", Name: c.Name, Slug: "the-blue-brand", Domain: "the-blue-brand" + organization.DomainSuffix,
		SupportPhone: c.SupportPhone, SupportEmail: "help@blue.example", LogoURL: c.LogoURL, FaviconURL: c.FaviconURL,
		PrimaryColor: c.PrimaryColor, ContrastColor: c.ContrastColor, GTMID: c.GTMID, GTMIDTest: c.GTMIDTest,
		Region: "us-east-1", Config: c.Config,
		Common: resource.Common{Reference: "crm-1", ReferenceOrigin: "crm", Metadata: resource.Metadata{"tier": "gold"}, CreatedAt: now, UpdatedAt: now},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("New = %+v\nwant %+v", got, want)
	}
}

func TestUpdateValidate(t *testing.T) {
	tests := []struct {
		name       string
		give       organization.Update
		wantFields []string
	}{
		{"nothing", organization.Update{}, nil},
		{"clear optional settings", organization.Update{
			SupportPhone: testkit.Ptr(""), SupportEmail: testkit.Ptr(""), LogoURL: testkit.Ptr(""), FaviconURL: testkit.Ptr(""),
			PrimaryColor: testkit.Ptr(""), ContrastColor: testkit.Ptr(""), GTMID: testkit.Ptr(""), GTMIDTest: testkit.Ptr(""), Config: new(map[string]any),
		}, nil},
		{"valid values", organization.Update{Name: testkit.Ptr("New Name"), PrimaryColor: testkit.Ptr("#000000"), LogoURL: testkit.Ptr("https://x.example/l.png")}, nil},
		{"blank name", organization.Update{Name: testkit.Ptr("")}, []string{"name"}},
		{"javascript logo", organization.Update{LogoURL: testkit.Ptr("javascript:alert(1)")}, []string{"logo_url"}},
		{"relative favicon", organization.Update{FaviconURL: testkit.Ptr("/f.ico")}, []string{"favicon_url"}},
		{"bad color", organization.Update{ContrastColor: testkit.Ptr("white")}, []string{"contrast_color"}},
		{"bad gtm", organization.Update{GTMID: testkit.Ptr("GTM_1")}, []string{"gtm_id"}},
		{"bad email", organization.Update{SupportEmail: testkit.Ptr("a@b")}, []string{"support_email"}},
		{"bad phone", organization.Update{SupportPhone: testkit.Ptr("phone")}, []string{"support_phone"}},
		{"bad config", organization.Update{Config: &map[string]any{"": true}}, []string{"config"}},
		{"bad reference", organization.Update{CommonUpdate: resource.CommonUpdate{Reference: testkit.Ptr("a\x00")}}, []string{"reference"}},
	}
	for _, tt := range tests {
		if got := testkit.BadFields(t, tt.give.Validate()); !slices.Equal(got, tt.wantFields) {
			t.Errorf("%s: Validate() fields = %q, want %q", tt.name, got, tt.wantFields)
		}
	}
}

func TestUpdateApply(t *testing.T) {
	then := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	now := then.Add(time.Hour)
	base := func() organization.Organization {
		return organization.Organization{
			ID: "org1", Name: "Acme", Slug: "acme", Domain: "acme.commercelayer.io", Region: "eu-west-1",
			SupportEmail: "help@acme.example", LogoURL: "https://acme.example/l.png", PrimaryColor: "#000000",
			Config: map[string]any{"a": 1.0},
			Common: resource.Common{Reference: "r1", CreatedAt: then, UpdatedAt: then},
		}
	}
	tests := []struct {
		name        string
		give        organization.Update
		wantChanges resource.Changes
		wantOrg     func(o *organization.Organization)
	}{
		{"nothing", organization.Update{}, resource.Changes{}, func(o *organization.Organization) {}},
		{
			"same values",
			organization.Update{Name: testkit.Ptr("Acme"), LogoURL: testkit.Ptr("https://acme.example/l.png"), Config: &map[string]any{"a": 1.0}},
			resource.Changes{},
			func(o *organization.Organization) {},
		},
		{
			"name",
			organization.Update{Name: testkit.Ptr("Acme Two")},
			resource.Changes{"name": {"Acme", "Acme Two"}},
			func(o *organization.Organization) { o.Name = "Acme Two"; o.UpdatedAt = now },
		},
		{
			"several",
			organization.Update{PrimaryColor: testkit.Ptr("#ffffff"), GTMID: testkit.Ptr("GTM-1"), SupportPhone: testkit.Ptr("+39 02 123")},
			resource.Changes{"primary_color": {"#000000", "#ffffff"}, "gtm_id": {nil, "GTM-1"}, "support_phone": {nil, "+39 02 123"}},
			func(o *organization.Organization) {
				o.PrimaryColor, o.GTMID, o.SupportPhone, o.UpdatedAt = "#ffffff", "GTM-1", "+39 02 123", now
			},
		},
		{
			"clear logo",
			organization.Update{LogoURL: testkit.Ptr("")},
			resource.Changes{"logo_url": {"https://acme.example/l.png", nil}},
			func(o *organization.Organization) { o.LogoURL = ""; o.UpdatedAt = now },
		},
		{
			"support email canonicalised, same address",
			organization.Update{SupportEmail: testkit.Ptr("  HELP@Acme.Example ")},
			resource.Changes{},
			func(o *organization.Organization) {},
		},
		{
			"support email canonicalised, new address",
			organization.Update{SupportEmail: testkit.Ptr("Care@BÜCHER.example")},
			resource.Changes{"support_email": {"help@acme.example", "care@xn--bcher-kva.example"}},
			func(o *organization.Organization) { o.SupportEmail = "care@xn--bcher-kva.example"; o.UpdatedAt = now },
		},
		{
			"config changed",
			organization.Update{Config: &map[string]any{"a": 2.0}},
			resource.Changes{"config": {map[string]any{"a": 1.0}, map[string]any{"a": 2.0}}},
			func(o *organization.Organization) { o.Config = map[string]any{"a": 2.0}; o.UpdatedAt = now },
		},
		{
			"config cleared",
			organization.Update{Config: new(map[string]any)},
			resource.Changes{"config": {map[string]any{"a": 1.0}, nil}},
			func(o *organization.Organization) { o.Config = nil; o.UpdatedAt = now },
		},
		{
			"common fields",
			organization.Update{CommonUpdate: resource.CommonUpdate{Reference: testkit.Ptr(""), Metadata: &resource.Metadata{"x": "y"}}},
			resource.Changes{"reference": {"r1", nil}, "metadata": {nil, map[string]any{"x": "y"}}},
			func(o *organization.Organization) {
				o.Reference = ""
				o.Metadata = resource.Metadata{"x": "y"}
				o.UpdatedAt = now
			},
		},
	}
	for _, tt := range tests {
		got := base()
		want := base()
		tt.wantOrg(&want)
		changes := tt.give.Apply(&got, now)
		if !reflect.DeepEqual(changes, tt.wantChanges) || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Apply = %+v changes %#v\nwant %+v changes %#v", tt.name, got, changes, want, tt.wantChanges)
		}
	}
}

// Slug, domain, region and owner are not in Update at all.
func TestUpdateCannotTouchDerivedFields(t *testing.T) {
	for _, name := range []string{"Slug", "Domain", "Region", "OwnerMembershipID", "ID"} {
		if _, ok := reflect.TypeFor[organization.Update]().FieldByName(name); ok {
			t.Errorf("organization.Update has a %s field; it must not be updatable", name)
		}
	}
}
