package access_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/access"
)

func TestParseDate(t *testing.T) {
	tests := []struct {
		in      string
		want    access.Date
		wantErr bool
	}{
		{in: "2026-11-01", want: access.Date{Year: 2026, Month: time.November, Day: 1}},
		{in: "2028-02-29", want: access.Date{Year: 2028, Month: time.February, Day: 29}},
		{in: "2026-02-29", wantErr: true},
		{in: "2026-11-31", wantErr: true},
		{in: "2026-1-01", wantErr: true},
		{in: "01-11-2026", wantErr: true},
		{in: "2026-11-01T00:00:00Z", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := access.ParseDate(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if err == nil && got.String() != tt.in {
				t.Errorf("String: got %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestDateArithmetic(t *testing.T) {
	d := date("2026-11-30")
	if got, want := d.AddDays(1), date("2026-12-01"); got != want {
		t.Errorf("AddDays(1): got %v, want %v", got, want)
	}
	if got, want := date("2027-03-01").DaysSince(date("2027-02-28")), 1; got != want {
		t.Errorf("DaysSince: got %d, want %d", got, want)
	}
	if got, want := date("2026-11-01").DaysSince(date("2026-11-30")), -29; got != want {
		t.Errorf("DaysSince backwards: got %d, want %d", got, want)
	}
	if got, want := date("2026-11-02").Weekday(), time.Monday; got != want {
		t.Errorf("Weekday: got %v, want %v", got, want)
	}
	if got, want := d.At(access.Clock(23, 59), karachi), time.Date(2026, 11, 30, 18, 59, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("At: got %v, want %v", got, want)
	}
	if got := access.DateOf(time.Date(2026, 11, 30, 19, 0, 0, 0, time.UTC).In(karachi)); got != date("2026-12-01") {
		t.Errorf("DateOf 19:00 UTC in Karachi: got %v, want 2026-12-01", got)
	}
	if (access.Date{Year: 2026, Month: 2, Day: 30}).Valid() {
		t.Error("2026-02-30 is valid, want invalid")
	}
}

func TestParseTimeOfDay(t *testing.T) {
	good := map[string]access.TimeOfDay{"00:00": 0, "09:30": 570, "23:59": 1439}
	for in, want := range good {
		got, err := access.ParseTimeOfDay(in)
		if err != nil || got != want {
			t.Errorf("%q: got %v, %v, want %v", in, got, err, want)
		}
		if got.String() != in {
			t.Errorf("%q: String got %q", in, got.String())
		}
	}
	for _, in := range []string{"24:00", "9:30", "09:60", "0930", "09:3a", "", "09:30:00", "-1:00"} {
		if got, err := access.ParseTimeOfDay(in); err == nil {
			t.Errorf("%q: got %v, want an error", in, got)
		}
	}
}

func TestWindowDuration(t *testing.T) {
	tests := []struct {
		w    access.Window
		want time.Duration
	}{
		{access.Window{Start: access.Clock(9, 0), End: access.Clock(18, 0)}, 9 * time.Hour},
		{access.Window{Start: access.Clock(20, 0), End: access.Clock(6, 0)}, 10 * time.Hour},
		{access.Window{Start: access.Clock(8, 0), End: access.Clock(8, 0)}, 24 * time.Hour},
		{access.Window{}, 24 * time.Hour},
	}
	for _, tt := range tests {
		if got := tt.w.Duration(); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.w, got, tt.want)
		}
	}
}

func TestCivilJSON(t *testing.T) {
	in := struct {
		D access.Date      `json:"d"`
		T access.TimeOfDay `json:"t"`
	}{date("2026-11-01"), access.Clock(20, 5)}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"d":"2026-11-01","t":"20:05"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	out := in
	out.D, out.T = access.Date{}, 0
	if err := json.Unmarshal(b, &out); err != nil || out != in {
		t.Errorf("round trip: got %+v, %v, want %+v", out, err, in)
	}
}

func TestCanonicalUID(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"04A1B2C3", "04A1B2C3"},
		{"04a1b2c3", "04A1B2C3"},
		{"04:a1:b2:c3:d4:e5:f6", "04A1B2C3D4E5F6"},
		{"04-A1-B2-C3-D4-E5-F6-07-08-09", "04A1B2C3D4E5F6070809"},
		{" 04 A1 B2 C3 ", "04A1B2C3"},
		{"00000001", "00000001"},
	}
	for _, tt := range tests {
		got, err := access.CanonicalUID(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("%q: got %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "04A1B2", "04A1B2C3D4", "04A1B2C3D4E5F607", "zz112233", "04A1B2C", "88A1B2C3"} {
		if got, err := access.CanonicalUID(in); err == nil {
			t.Errorf("%q: got %q, want an error", in, got)
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	if err := access.DefaultPolicy(karachi).Validate(); err != nil {
		t.Errorf("default policy: got %v, want nil", err)
	}
	bad := []access.Policy{
		{DailyCutoff: access.Clock(24, 0)},
		{MaxSession: -time.Second},
		{WarnDays: -1},
	}
	for _, p := range bad {
		if err := p.Validate(); err == nil {
			t.Errorf("%+v: got nil, want an error", p)
		}
	}
}
