package user_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // time zone checks must not depend on the host's zoneinfo

	"github.com/provisionkit/provisioning/internal/testkit"
	"github.com/provisionkit/provisioning/resource"
	"github.com/provisionkit/provisioning/user"
)

func TestCreateValidateCanonicalisesEmail(t *testing.T) {
	tests := []struct {
		give string
		want string
	}{
		{"bob@example.com", "bob@example.com"},
		{"  Bob.Smith@Example.COM\n", "bob.smith@example.com"},
		{"bob@BÜCHER.example", "bob@xn--bcher-kva.example"},
		{"bob@\u212Aelvin.example", "bob@kelvin.example"},
	}
	for _, tt := range tests {
		got, err := user.Create{Email: tt.give}.Validate()
		if err != nil || got.Email != tt.want {
			t.Errorf("Create{Email: %q}.Validate() = %q, %v; want %q", tt.give, got.Email, err, tt.want)
		}
	}
}

func TestCreateValidateRefuses(t *testing.T) {
	tests := []struct {
		name       string
		give       user.Create
		wantFields []string
	}{
		{"no email", user.Create{}, []string{"email"}},
		{"display name", user.Create{Email: "Bob <bob@x.com>"}, []string{"email"}},
		{"no dot", user.Create{Email: "bob@localhost"}, []string{"email"}},
		{"first name too long", user.Create{Email: "bob@x.com", FirstName: strings.Repeat("b", 101)}, []string{"first_name"}},
		{"last name control", user.Create{Email: "bob@x.com", LastName: "Smith\r\nX-Header: 1"}, []string{"last_name"}},
		{"Local time zone", user.Create{Email: "bob@x.com", TimeZone: "Local"}, []string{"time_zone"}},
		{"unknown time zone", user.Create{Email: "bob@x.com", TimeZone: "Mars/Base"}, []string{"time_zone"}},
		{"lower-case time zone", user.Create{Email: "bob@x.com", TimeZone: "europe/rome"}, []string{"time_zone"}},
		{"path time zone", user.Create{Email: "bob@x.com", TimeZone: "../../etc/passwd"}, []string{"time_zone"}},
		{"absolute time zone", user.Create{Email: "bob@x.com", TimeZone: "/etc/localtime"}, []string{"time_zone"}},
		{"time zone too long", user.Create{Email: "bob@x.com", TimeZone: "Europe/" + strings.Repeat("R", 58)}, []string{"time_zone"}},
		{"offset", user.Create{Email: "bob@x.com", TimeZone: "+02:00"}, []string{"time_zone"}},
		{"metadata empty key", user.Create{Email: "bob@x.com", CommonInput: resource.CommonInput{Metadata: resource.Metadata{"": 1}}}, []string{"metadata"}},
		{
			"everything at once",
			user.Create{Email: "x", FirstName: "\x00", LastName: "\x00", TimeZone: "Local", CommonInput: resource.CommonInput{Reference: "\n"}},
			[]string{"email", "first_name", "last_name", "time_zone", "reference"},
		},
	}
	for _, tt := range tests {
		got, err := tt.give.Validate()
		if fields := testkit.BadFields(t, err); !slices.Equal(fields, tt.wantFields) {
			t.Errorf("%s: Validate() fields = %q, want %q", tt.name, fields, tt.wantFields)
		}
		if got.Email != tt.give.Email {
			t.Errorf("%s: refused input had its email changed to %q", tt.name, got.Email)
		}
	}
}

func TestCreateValidateAcceptsTimeZones(t *testing.T) {
	tests := []string{"", "UTC", "Europe/Rome", "America/New_York", "America/Argentina/Buenos_Aires", "Asia/Kolkata", "Etc/GMT+5"}
	for _, give := range tests {
		if _, err := (user.Create{Email: "bob@x.com", TimeZone: give}).Validate(); err != nil {
			t.Errorf("time zone %q: Validate() = %v, want nil", give, err)
		}
	}
}

// A time zone is stored as given, so it must be a stable IANA name: not one
// of the files of the host's zoneinfo directory that are not zones, nor a
// spelling of a zone with extra path segments.
func TestCreateValidateRefusesHostSpecificTimeZones(t *testing.T) {
	tests := []string{"localtime", "posixrules", "Factory", "Europe//Rome", "Europe/./Rome"}
	for _, give := range tests {
		_, err := user.Create{Email: "bob@x.com", TimeZone: give}.Validate()
		if fields := testkit.BadFields(t, err); !slices.Equal(fields, []string{"time_zone"}) {
			t.Errorf("time zone %q: fields = %q, want [time_zone]", give, fields)
		}
	}
}

func TestCreateNew(t *testing.T) {
	now := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
	c := user.Create{Email: "bob@x.com", FirstName: "Bob", LastName: "Smith", TimeZone: "Europe/Rome", OTPRequiredForLogin: true,
		CommonInput: resource.CommonInput{Reference: "idp-1"}}
	want := &user.User{ID: "u1", Email: "bob@x.com", FirstName: "Bob", LastName: "Smith", TimeZone: "Europe/Rome", OTPRequiredForLogin: true,
		Common: resource.Common{Reference: "idp-1", CreatedAt: now, UpdatedAt: now}}
	if got := c.New("u1", now); !reflect.DeepEqual(got, want) || got.EmailVerified() {
		t.Fatalf("New = %+v, want %+v, not verified", got, want)
	}
	c.EmailVerified = true
	want.EmailVerifiedAt = now
	if got := c.New("u1", now); !reflect.DeepEqual(got, want) || !got.EmailVerified() {
		t.Fatalf("New with EmailVerified = %+v, want %+v, verified", got, want)
	}
}

func TestUpdateValidate(t *testing.T) {
	tests := []struct {
		name       string
		give       user.Update
		wantFields []string
		wantEmail  *string
	}{
		{"nothing", user.Update{}, nil, nil},
		{"canonical email", user.Update{Email: testkit.Ptr(" Bob@X.COM ")}, nil, testkit.Ptr("bob@x.com")},
		{"clear names and zone", user.Update{FirstName: testkit.Ptr(""), LastName: testkit.Ptr(""), TimeZone: testkit.Ptr("")}, nil, nil},
		{"bad email", user.Update{Email: testkit.Ptr("bob")}, []string{"email"}, testkit.Ptr("bob")},
		{"empty email", user.Update{Email: testkit.Ptr("")}, []string{"email"}, testkit.Ptr("")},
		{"bad time zone", user.Update{TimeZone: testkit.Ptr("Local")}, []string{"time_zone"}, nil},
		{"long first name", user.Update{FirstName: testkit.Ptr(strings.Repeat("x", 101))}, []string{"first_name"}, nil},
		{"bad reference origin", user.Update{CommonUpdate: resource.CommonUpdate{ReferenceOrigin: testkit.Ptr("\t")}}, []string{"reference_origin"}, nil},
	}
	for _, tt := range tests {
		got, err := tt.give.Validate()
		if fields := testkit.BadFields(t, err); !slices.Equal(fields, tt.wantFields) || !reflect.DeepEqual(got.Email, tt.wantEmail) {
			t.Errorf("%s: Validate() = email %v, fields %q; want email %v, fields %q", tt.name, got.Email, fields, tt.wantEmail, tt.wantFields)
		}
	}
}

func TestUpdateApply(t *testing.T) {
	then := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	now := then.Add(time.Minute)
	base := func() user.User {
		return user.User{ID: "u1", Email: "bob@x.com", FirstName: "Bob", TimeZone: "UTC", OTPRequiredForLogin: true,
			Common: resource.Common{CreatedAt: then, UpdatedAt: then}}
	}
	tests := []struct {
		name        string
		give        user.Update
		wantChanges resource.Changes
		wantUser    func(u *user.User)
	}{
		{"nothing", user.Update{}, resource.Changes{}, func(u *user.User) {}},
		{"same values", user.Update{Email: testkit.Ptr("bob@x.com"), FirstName: testkit.Ptr("Bob"), TimeZone: testkit.Ptr("UTC")}, resource.Changes{}, func(u *user.User) {}},
		// An email change waits for its confirmation: Apply leaves it.
		{"email", user.Update{Email: testkit.Ptr("robert@x.com")}, resource.Changes{}, func(u *user.User) {}},
		{
			"set last name, clear time zone",
			user.Update{LastName: testkit.Ptr("Smith"), TimeZone: testkit.Ptr("")},
			resource.Changes{"last_name": {nil, "Smith"}, "time_zone": {"UTC", nil}},
			func(u *user.User) { u.LastName, u.TimeZone, u.UpdatedAt = "Smith", "", now },
		},
		{
			"reference",
			user.Update{CommonUpdate: resource.CommonUpdate{Reference: testkit.Ptr("idp-2")}},
			resource.Changes{"reference": {nil, "idp-2"}},
			func(u *user.User) { u.Reference, u.UpdatedAt = "idp-2", now },
		},
	}
	for _, tt := range tests {
		got, want := base(), base()
		tt.wantUser(&want)
		changes := tt.give.Apply(&got, now)
		if !reflect.DeepEqual(changes, tt.wantChanges) || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Apply = %+v changes %#v\nwant %+v changes %#v", tt.name, got, changes, want, tt.wantChanges)
		}
	}
}

// OTPRequiredForLogin is read-only: Update has no way to set it.
func TestUpdateCannotSetOTP(t *testing.T) {
	if _, ok := reflect.TypeFor[user.Update]().FieldByName("OTPRequiredForLogin"); ok {
		t.Fatal("user.Update has an OTPRequiredForLogin field; it is read-only")
	}
}
