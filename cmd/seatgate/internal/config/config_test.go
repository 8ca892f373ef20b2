package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// doc joins lines into a YAML file, so a test's line numbers can be read
// off the argument list.
func doc(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

// head is the start of a valid file; readers follow from line 4.
var head = []string{
	"centre: c1",   // 1
	"gateway: gw1", // 2
	"readers:",     // 3
}

func file(lines ...string) string { return doc(append(slices.Clone(head), lines...)...) }

// emulated is a valid emulated reader, five lines.
func emulated(id, seat string) []string {
	return []string{
		"  - id: " + id,
		"    seat: " + seat,
		"    zone: hall-a",
		"    kind: emulated",
		"    bus: emu0",
	}
}

// allErrors flattens the errors Parse returns.
func allErrors(t *testing.T, err error) []*Error {
	t.Helper()
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var out []*Error
	for _, e := range errs {
		ce, ok := e.(*Error)
		if !ok {
			t.Fatalf("error %v is %T, want *Error", e, e)
		}
		out = append(out, ce)
	}
	return out
}

type wantErr struct {
	line int
	key  string
	msg  string // a part of Msg
}

func TestParseErrors(t *testing.T) {
	r0 := emulated("desk-1", "A-01") // lines 4-8
	tests := []struct {
		name string
		yaml string
		want []wantErr
	}{
		{"unknown top-level key",
			file(append(r0, "colour: blue")...),
			[]wantErr{{9, "colour", "unknown key; valid keys here: centre, gateway, data_dir"}}},
		{"unknown key in a reader",
			file(append(append(r0, emulated("desk-2", "A-02")...), "    chipselect: 1")...),
			[]wantErr{{14, "readers[1].chipselect", "unknown key; valid keys here: id, seat, zone, kind, spi"}}},
		{"unknown key in outputs",
			file(append(r0, "    outputs:", "      green: GPIO17", "      red: GPIO27", "      blue: GPIO22")...),
			[]wantErr{{12, "readers[0].outputs.blue", "unknown key; valid keys here: green, red, buzzer, relay"}}},
		{"unknown key in policy",
			file(append(r0, "policy:", "  max_sesion: 8h")...),
			[]wantErr{{10, "policy.max_sesion", "unknown key"}}},
		{"merge key",
			file(append(r0, "http:", "  <<: {listen: ':80'}")...),
			[]wantErr{{10, "http.<<", "merge keys (<<) are not supported"}}},

		{"duration without unit",
			file(append(r0, "policy:", "  max_session: 16")...),
			[]wantErr{{10, "policy.max_session", `want a duration such as 250ms or 16h, got "16"`}}},
		{"duration misspelt",
			file(append(r0, "policy:", "  scan_interval: 5 ms")...),
			[]wantErr{{10, "policy.scan_interval", `got "5 ms"`}}},
		{"duration a mapping",
			file(append(r0, "policy:", "  relay_hold: {s: 3}")...),
			[]wantErr{{10, "policy.relay_hold", "want a duration, got a mapping"}}},
		{"max session zero",
			file(append(r0, "policy:", "  max_session: 0s")...),
			[]wantErr{{10, "policy.max_session", "must be greater than zero"}}},
		{"firmware section typos and bad values",
			file(append(r0, "firmware:", "  chanel: beta")...),
			[]wantErr{{10, "firmware.chanel", "unknown key; valid keys here: backend, tryboot, root, channel"}}},
		{"tryboot without partitions",
			file(append(r0, "firmware:", "  backend: tryboot", "  tryboot:", "    boot_dir: boot")...),
			[]wantErr{{11, "firmware.tryboot.partitions", "want the two slots' partitions"}, {12, "firmware.tryboot.boot_dir", "want an absolute path"}}},
		{"unknown backend",
			file(append(r0, "firmware:", "  backend: rauc")...),
			[]wantErr{{10, "firmware.backend", "want slots or tryboot"}}},
		{"firmware values",
			file(append(r0, "firmware:", "  window: 25:00-03:00", "  rate_kbps: -1",
				"  peers: [ftp://10.0.0.2]", "  dwell: 1s", "  start_jitter: 2h", "  serve: nonsense", "  channel: Beta")...),
			[]wantErr{
				{10, "firmware.window", "want HH:MM-HH:MM"}, {11, "firmware.rate_kbps", "want 0 (no cap)"},
				{12, "firmware.peers[0]", "want http://host:port"}, {13, "firmware.dwell", "want 10s to 24h"},
				{14, "firmware.start_jitter", "want 0s to 1h"}, {15, "firmware.serve", "want host:port"},
				{16, "firmware.channel", "want 1 to 32 of a-z"}}},
		{"hq broker without tls files",
			file(append(r0, "hq:", "  broker: tls://hq.example.pk:8883", "  hq_key: 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")...),
			[]wantErr{{9, "hq.ca", "required with a tls:// broker"}, {9, "hq.cert", "required"}, {9, "hq.key", "required"}}},
		{"hq plain tcp to a remote broker",
			file(append(r0, "hq:", "  broker: tcp://hq.example.pk:1883", "  hq_key: 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")...),
			[]wantErr{{10, "hq.broker", "only for a broker on this machine"}}},
		{"hq key that is not a key",
			file(append(r0, "hq:", "  broker: tcp://127.0.0.1:1883", "  hq_key: c2hvcnQ=")...),
			[]wantErr{{11, "hq.hq_key", "32-byte ed25519 public key"}}},
		{"hq files without a broker",
			file(append(r0, "hq:", "  ca: /etc/seatgate/hq-ca.pem")...),
			[]wantErr{{10, "hq.ca", "hq.broker is not"}}},
		{"scan interval too slow",
			file(append(r0, "policy:", "  scan_interval: 1s")...),
			[]wantErr{{10, "policy.scan_interval", "want 1ms to 100ms, got 1s"}}},
		{"relay hold negative",
			file(append(r0, "policy:", "  relay_hold: -3s")...),
			[]wantErr{{10, "policy.relay_hold", "must not be negative"}}},

		{"cutoff without leading zero",
			file(append(r0, "policy:", "  daily_cutoff: '3:00'")...),
			[]wantErr{{10, "policy.daily_cutoff", `want a 24-hour time HH:MM such as 03:00, got "3:00"`}}},
		{"cutoff hour 24",
			file(append(r0, "policy:", "  daily_cutoff: '24:00'")...),
			[]wantErr{{10, "policy.daily_cutoff", `got "24:00"`}}},
		{"cutoff as a number",
			file(append(r0, "policy:", "  daily_cutoff: 300")...),
			[]wantErr{{10, "policy.daily_cutoff", `got "300"`}}},

		{"warn days out of range",
			file(append(r0, "policy:", "  warn_days: 61")...),
			[]wantErr{{10, "policy.warn_days", "want 0 to 60, got 61"}}},
		{"warn days not a number",
			file(append(r0, "policy:", "  warn_days: five")...),
			[]wantErr{{10, "policy.warn_days", `want a whole number, got "five"`}}},
		{"warn days a float",
			file(append(r0, "policy:", "  warn_days: 5.5")...),
			[]wantErr{{10, "policy.warn_days", `want a whole number, got "5.5"`}}},
		{"bool as yes",
			file(append(r0, "emulator:", "  clock: yes")...),
			[]wantErr{{10, "emulator.clock", `want true or false, got "yes"`}}},
		{"http a string",
			file(append(r0, "http: 8080")...),
			[]wantErr{{9, "http", `want a mapping of keys, got "8080"`}}},
		{"listen without port",
			file(append(r0, "http:", "  listen: localhost")...),
			[]wantErr{{10, "http.listen", `want host:port such as 127.0.0.1:8080, got "localhost"`}}},
		{"listen port out of range",
			file(append(r0, "http:", "  listen: ':99999'")...),
			[]wantErr{{10, "http.listen", `want a port from 1 to 65535, got "99999"`}}},

		{"bad timezone",
			file(append(r0, "timezone: Asia/Lahore")...),
			[]wantErr{{9, "timezone", `unknown time zone "Asia/Lahore"`}}},
		{"timezone Local",
			file(append(r0, "timezone: Local")...),
			[]wantErr{{9, "timezone", `want an IANA zone such as Asia/Karachi, got "Local"`}}},
		{"empty data dir",
			file(append(r0, `data_dir: ""`)...),
			[]wantErr{{9, "data_dir", "must not be empty"}}},

		{"duplicate top-level key",
			file(append(r0, "centre: c2")...),
			[]wantErr{{9, "centre", "duplicate key (first on line 1)"}}},
		{"duplicate key in a reader",
			file(append(r0, "    seat: A-09")...),
			[]wantErr{{9, "readers[0].seat", "duplicate key (first on line 5)"}}},

		{"duplicate reader id",
			file(append(r0, emulated("desk-1", "A-02")...)...),
			[]wantErr{{9, "readers[1].id", `duplicate reader id "desk-1" (first used by readers[0].id on line 4)`}}},
		{"duplicate seat",
			file(append(r0, emulated("desk-2", "A-01")...)...),
			[]wantErr{{10, "readers[1].seat", `duplicate seat "A-01" (first used by readers[0].seat on line 5)`}}},

		{"spi on an emulated reader",
			file(append(r0, "    spi: SPI0.0")...),
			[]wantErr{{9, "readers[0].spi", "not allowed for kind emulated"}}},
		{"empty spi_hz on an emulated reader",
			file(append(r0, "    spi_hz:")...),
			[]wantErr{{9, "readers[0].spi_hz", "not allowed for kind emulated"}}},
		{"irq and reset on an emulated reader",
			file(append(r0, "    irq: GPIO25", "    reset: GPIO24")...),
			[]wantErr{
				{9, "readers[0].irq", "not allowed for kind emulated"},
				{10, "readers[0].reset", "not allowed for kind emulated"},
			}},
		{"bus on an mfrc522 reader",
			file("  - id: desk-1", "    seat: A-01", "    zone: z", "    kind: mfrc522", "    spi: SPI0.0",
				"    bus: emu0", "    outputs: {green: GPIO17, red: GPIO27}"),
			[]wantErr{{9, "readers[0].bus", "not allowed for kind mfrc522"}}},
		{"mfrc522 without spi or outputs",
			file("  - id: desk-1", "    seat: A-01", "    zone: z", "    kind: mfrc522"),
			[]wantErr{
				{4, "readers[0].spi", "required for kind mfrc522"},
				{4, "readers[0].outputs.green", "required for kind mfrc522"},
				{4, "readers[0].outputs.red", "required for kind mfrc522"},
			}},
		{"mfrc522 with bad spi and spi_hz",
			file("  - id: desk-1", "    seat: A-01", "    zone: z", "    kind: mfrc522", "    spi: spi0",
				"    spi_hz: 50", "    outputs: {green: GPIO17, red: GPIO27}"),
			[]wantErr{
				{8, "readers[0].spi", `want an SPI port such as SPI0.0 or /dev/spidev0.0, got "spi0"`},
				{9, "readers[0].spi_hz", "want 100000 to 10000000, got 50"},
			}},
		{"two readers on one SPI port",
			file("  - {id: d1, seat: A-01, zone: z, kind: mfrc522, spi: SPI0.0, outputs: {green: GPIO17, red: GPIO27}}",
				"  - {id: d2, seat: A-02, zone: z, kind: mfrc522, spi: /dev/spidev0.0, outputs: {green: GPIO5, red: GPIO6}}"),
			[]wantErr{{5, "readers[1].spi", "SPI port SPI0.0 is already used by readers[0].spi on line 4"}}},
		{"one GPIO for two outputs",
			file("  - {id: d1, seat: A-01, zone: z, kind: mfrc522, spi: SPI0.0, outputs: {green: GPIO17, red: GPIO27}}",
				"  - {id: d2, seat: A-02, zone: z, kind: mfrc522, spi: SPI0.1, outputs: {green: GPIO5, red: gpio17}}"),
			[]wantErr{{5, "readers[1].outputs.red", "GPIO gpio17 is already used by readers[0].outputs.green on line 4"}}},
		{"reset shared with an output",
			file("  - {id: d1, seat: A-01, zone: z, kind: mfrc522, spi: SPI0.0, reset: GPIO24, outputs: {green: GPIO17, red: GPIO27}}",
				"  - {id: d2, seat: A-02, zone: z, kind: mfrc522, spi: SPI0.1, reset: GPIO24, outputs: {green: GPIO24, red: GPIO6}}"),
			[]wantErr{{5, "readers[1].outputs.green", "GPIO GPIO24 is already used by readers[0].reset on line 4"}}},
		{"emulated with only a green output",
			file(append(r0, "    outputs: {green: GPIO17}")...),
			[]wantErr{{9, "readers[0].outputs.red", "required when outputs are given"}}},
		{"bad GPIO name",
			file(append(r0, "    outputs: {green: 'GPIO 17', red: GPIO27}")...),
			[]wantErr{{9, "readers[0].outputs.green", `want a GPIO name such as GPIO17, got "GPIO 17"`}}},
		{"unknown kind",
			file("  - {id: d1, seat: A-01, zone: z, kind: pn532}"),
			[]wantErr{{4, "readers[0].kind", `unknown kind "pn532"; want mfrc522 or emulated`}}},

		{"missing centre and gateway",
			doc("data_dir: /tmp/x", "readers:", "  - {id: d1, seat: A-01, zone: z, kind: emulated}"),
			[]wantErr{{1, "centre", "required"}, {1, "gateway", "required"}}},
		{"missing readers",
			doc("centre: c1", "gateway: gw1"),
			[]wantErr{{1, "readers", "at least one reader is required"}}},
		{"empty readers",
			doc("centre: c1", "gateway: gw1", "readers: []"),
			[]wantErr{{3, "readers", "at least one reader is required"}}},
		{"readers a mapping",
			doc("centre: c1", "gateway: gw1", "readers:", "  id: d1"),
			[]wantErr{{4, "readers", "want a list, got a mapping"}}},
		{"missing seat, zone and kind",
			file("  - id: desk-1"),
			[]wantErr{
				{4, "readers[0].seat", "required"},
				{4, "readers[0].zone", "required"},
				{4, "readers[0].kind", "required: mfrc522 or emulated"},
			}},
		{"bad names",
			doc("centre: Lahore Centre", "gateway: gw_1", "readers:", "  - {id: Desk1, seat: ' A-01', zone: z, kind: emulated, bus: EMU}"),
			[]wantErr{
				{1, "centre", `want 1 to 32 of a-z, 0-9 and -, got "Lahore Centre"`},
				{2, "gateway", `got "gw_1"`},
				{4, "readers[0].id", `got "Desk1"`},
				{4, "readers[0].seat", "has leading or trailing spaces"},
				{4, "readers[0].bus", `got "EMU"`},
			}},
		{"control character in a seat",
			file("  - {id: d1, seat: \"A\\x01\", zone: z, kind: emulated}"),
			[]wantErr{{4, "readers[0].seat", "contains control characters or invalid UTF-8"}}},

		{"YAML syntax error",
			file(append(r0, "policy: [")...),
			[]wantErr{{9, "", "YAML: did not find expected node content"}}},
		{"tab indentation",
			doc("centre: c1", "\tgateway: gw1"),
			[]wantErr{{2, "", "YAML: found a tab character that violates indentation"}}},
		{"two documents",
			file(append(r0, "---", "centre: c2")...),
			[]wantErr{{9, "", "more than one YAML document"}}},
		{"top level a list",
			doc("- centre: c1"),
			[]wantErr{{1, "", "want a mapping of keys, got a list"}}},
		{"empty file",
			"",
			[]wantErr{{0, "centre", "required"}, {0, "gateway", "required"}, {0, "readers", "at least one reader is required"}}},

		{"several problems, in line order",
			doc("centre: c1", "gateway: gw1", "policy:", "  warn_days: 99", "  colour: red", "readers:",
				"  - {id: d1, seat: A-01, zone: z, kind: emulated, spi: SPI0.0}", "centre: c3"),
			[]wantErr{
				{4, "policy.warn_days", "want 0 to 60"},
				{5, "policy.colour", "unknown key"},
				{7, "readers[0].spi", "not allowed for kind emulated"},
				{8, "centre", "duplicate key"},
			}},
		{"a value that fails to decode is reported once",
			file("  - {id: d1, seat: A-01, zone: z, kind: mfrc522, spi: SPI0.0, spi_hz: fast, outputs: {green: GPIO17, red: GPIO27}}"),
			[]wantErr{{4, "readers[0].spi_hz", `want a whole number, got "fast"`}}},
		{"an item that is not a mapping is reported once",
			file(append(r0, "  - desk-2")...),
			[]wantErr{{9, "readers[1]", `want a mapping of keys, got "desk-2"`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse(strings.NewReader(tt.yaml), "seatgate.yaml")
			if err == nil {
				t.Fatalf("Parse succeeded (%+v), want errors %v", cfg, tt.want)
			}
			if cfg != nil {
				t.Errorf("Parse returned a config with an error")
			}
			got := allErrors(t, err)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(got), len(tt.want), err)
			}
			for i, w := range tt.want {
				g := got[i]
				if g.File != "seatgate.yaml" || g.Line != w.line || g.Key != w.key || !strings.Contains(g.Msg, w.msg) {
					t.Errorf("error %d:\n got %s:%d key %q msg %q\nwant seatgate.yaml:%d key %q msg containing %q",
						i, g.File, g.Line, g.Key, g.Msg, w.line, w.key, w.msg)
				}
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{"seatgate.yaml", 14, "readers[2].chipselect", "unknown key"}, "seatgate.yaml:14: readers[2].chipselect: unknown key"},
		{Error{"seatgate.yaml", 3, "", "YAML: bad"}, "seatgate.yaml:3: YAML: bad"},
		{Error{"seatgate.yaml", 0, "centre", "required"}, "seatgate.yaml: centre: required"},
		{Error{"", 0, "centre", "required"}, "centre: required"},
		{Error{"", 7, "", "oops"}, "line 7: oops"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestParseDefaults(t *testing.T) {
	cfg, err := Parse(strings.NewReader(doc(
		"centre: c1",
		"gateway: gw1",
		"http:",   // empty: defaults
		"policy:", // empty: defaults
		"readers:",
		"  - {id: d1, seat: A-01, zone: z, kind: emulated}",
		"  - {id: d2, seat: A-02, zone: z, kind: mfrc522, spi: SPI0.0, outputs: {green: GPIO17, red: GPIO27}}",
	)), "seatgate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Centre, want.Gateway = "c1", "gw1"
	want.Readers = []Reader{
		{ID: "d1", Seat: "A-01", Zone: "z", Kind: KindEmulated, Bus: DefaultBus},
		{ID: "d2", Seat: "A-02", Zone: "z", Kind: KindMFRC522, SPI: "SPI0.0", SPIHz: DefaultSPIHz,
			Outputs: Outputs{Green: "GPIO17", Red: "GPIO27"}},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", cfg, want)
	}
}

func TestDefault(t *testing.T) {
	d := Default()
	checks := []struct {
		name      string
		got, want any
	}{
		{"data_dir", d.DataDir, "/var/lib/seatgate"},
		{"timezone", d.Timezone, "Asia/Karachi"},
		{"http.listen", d.HTTP.Listen, "127.0.0.1:8080"},
		{"policy.daily_cutoff", d.Policy.DailyCutoff, "03:00"},
		{"policy.max_session", d.Policy.MaxSession, Duration(16 * time.Hour)},
		{"policy.warn_days", d.Policy.WarnDays, 5},
		{"policy.scan_interval", d.Policy.ScanInterval, Duration(5 * time.Millisecond)},
		{"policy.relay_hold", d.Policy.RelayHold, Duration(0)},
		{"emulator.clock", d.Emulator.Clock, false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("Default %s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if Default() == d {
		t.Errorf("Default returns a shared value")
	}
	// Default lacks only what every file must give.
	var keys []string
	for _, e := range allErrors(t, d.Validate()) {
		keys = append(keys, e.Key)
	}
	if want := []string{"centre", "gateway", "readers"}; !slices.Equal(keys, want) {
		t.Errorf("Default().Validate() complains about %v, want %v", keys, want)
	}
}

func TestExampleFile(t *testing.T) {
	cfg, err := Load("../../../../deploy/seatgate.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Readers) != 3 {
		t.Fatalf("%d readers, want 3", len(cfg.Readers))
	}
	var ports []string
	for _, r := range cfg.Readers {
		if r.Kind != KindMFRC522 || r.Outputs.Green == "" || r.Outputs.Red == "" {
			t.Errorf("reader %s: kind %q outputs %+v, want mfrc522 with green and red", r.ID, r.Kind, r.Outputs)
		}
		ports = append(ports, r.SPI)
	}
	if want := []string{"SPI0.0", "SPI0.1", "SPI1.0"}; !slices.Equal(ports, want) {
		t.Errorf("SPI ports %v, want %v", ports, want)
	}
	if got := cfg.Readers[1].SPIHz; got != DefaultSPIHz {
		t.Errorf("readers[1].spi_hz = %d, want the default %d", got, DefaultSPIHz)
	}
}

func TestEmulatedFile(t *testing.T) {
	cfg, err := Load("testdata/emulated.yaml")
	if err != nil {
		t.Fatal(err)
	}
	buses := map[string]int{}
	for _, r := range cfg.Readers {
		if r.Kind != KindEmulated {
			t.Errorf("reader %s: kind %q, want emulated", r.ID, r.Kind)
		}
		buses[r.Bus]++
	}
	if want := map[string]int{"emu0": 4, "emu1": 2}; !reflect.DeepEqual(buses, want) {
		t.Errorf("readers per bus %v, want %v", buses, want)
	}
	if !cfg.Emulator.Clock {
		t.Errorf("emulator.clock = false, want true")
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/no-such.yaml")
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "testdata/no-such.yaml") {
		t.Errorf("Load = %v, want a not-exist error naming the file", err)
	}
}

func TestParseTooLarge(t *testing.T) {
	big := strings.NewReader("centre: c1\n" + strings.Repeat("# padding\n", MaxSize/10+1))
	_, err := Parse(big, "big.yaml")
	var e *Error
	if !errors.As(err, &e) || e.File != "big.yaml" || !strings.Contains(e.Msg, "larger than") {
		t.Errorf("Parse of an oversized file = %v, want a size error", err)
	}
}

func TestParseAliases(t *testing.T) {
	cfg, err := Parse(strings.NewReader(doc(
		"centre: c1",
		"gateway: gw1",
		"readers:",
		"  - {id: d1, seat: A-01, zone: &hall hall-a, kind: emulated}",
		"  - {id: d2, seat: A-02, zone: *hall, kind: emulated}",
	)), "seatgate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Readers[1].Zone; got != "hall-a" {
		t.Errorf("aliased zone = %q, want hall-a", got)
	}
}

func TestValidateInMemory(t *testing.T) {
	cfg := Default()
	cfg.Centre, cfg.Gateway = "c1", "gw1"
	cfg.Readers = []Reader{{ID: "d1", Seat: "A-01", Zone: "z", Kind: KindEmulated, Bus: "emu0", SPI: "SPI0.0"}}
	errs := allErrors(t, cfg.Validate())
	if len(errs) != 1 || errs[0].File != "" || errs[0].Line != 0 || errs[0].Key != "readers[0].spi" {
		t.Errorf("Validate = %v, want one error for readers[0].spi with no file or line", errs)
	}
	cfg.Readers[0].SPI = ""
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate = %v, want nil", err)
	}
}

func TestCutoffAndLocation(t *testing.T) {
	p := Policy{DailyCutoff: "23:45"}
	if h, m, err := p.Cutoff(); h != 23 || m != 45 || err != nil {
		t.Errorf("Cutoff = %d, %d, %v; want 23, 45, nil", h, m, err)
	}
	if _, _, err := (Policy{DailyCutoff: "3am"}).Cutoff(); err == nil {
		t.Errorf("Cutoff of 3am succeeded")
	}
	loc, err := Default().Location()
	if err != nil {
		t.Fatal(err)
	}
	if _, off := time.Date(2025, 7, 1, 12, 0, 0, 0, loc).Zone(); off != 5*3600 {
		t.Errorf("Asia/Karachi offset %d s, want UTC+5", off)
	}
}

func TestParseAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("centre: c1\ngateway: gw1\nreaders:\n  - &r {")
	for i := range 1000 {
		fmt.Fprintf(&b, "k%d: 0, ", i)
	}
	b.WriteString("id: d}\n")
	for range 1000 { // a million keys once expanded
		b.WriteString("  - *r\n")
	}
	start := time.Now()
	_, err := Parse(strings.NewReader(b.String()), "bomb.yaml")
	if err == nil || !strings.Contains(err.Error(), "expands to more than") {
		t.Errorf("Parse of an alias bomb = %.300v, want it refused", err)
	}
	if errs := allErrors(t, err); len(errs) != 1 || errs[0].Line == 0 {
		t.Errorf("errors %v, want just the one, with its line", errs)
	}
	t.Logf("refused in %v", time.Since(start))
}

func TestParseStopsAfterManyErrors(t *testing.T) {
	var b strings.Builder
	for i := range 2 * maxErrors {
		fmt.Fprintf(&b, "key%d: 1\n", i)
	}
	errs := allErrors(t, func() error { _, err := Parse(strings.NewReader(b.String()), "x.yaml"); return err }())
	if len(errs) != maxErrors+1 {
		t.Fatalf("%d errors, want %d and a last one saying Parse stopped", len(errs), maxErrors+1)
	}
	if last := errs[maxErrors]; last.Msg != "too many errors; stopped after 50" || errs[0].Line != 1 {
		t.Errorf("first %v, last %v; want line 1 first and the stop message last", errs[0], last)
	}
}
