package config

import (
	"bytes"
	"os"
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"
)

func FuzzParse(f *testing.F) {
	for _, path := range []string{"testdata/emulated.yaml", "../../../../deploy/seatgate.example.yaml"} {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"",
		"centre: c1\ncentre: c2\n",
		"readers: [{id: a, seat: 1, zone: z, kind: emulated, spi: x}]\n",
		"a: &x [*x]\n",
		"policy: {max_session: 16, daily_cutoff: 25:00}\n",
		"---\n---\n",
		"readers: [&r {id: a, seat: s, zone: z, kind: emulated}, *r]\n",
		"centre: c\ngateway: g\nreaders: [{id: a, seat: \"12\", zone: 'z z', kind: emulated, outputs: {green: G1, red: G2}}]\n",
		"centre: c\ngateway: g\npolicy: {relay_hold: 1h30m, warn_days: 0}\nemulator: {clock: true}\nreaders:\n- {id: a, seat: s, zone: &z z, kind: mfrc522, spi: /dev/spidev1.2, spi_hz: 0x100000, irq: GPIO1, reset: GPIO2, outputs: {green: G1, red: G2, relay: G3}}\n- {id: b, seat: t, zone: *z, kind: mfrc522, spi: SPI0.0, reset: GPIO2, outputs: {green: G4, red: G5}}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(bytes.NewReader(data), "f.yaml")
		if err != nil {
			if cfg != nil {
				t.Fatalf("Parse returned a config and an error")
			}
			for _, e := range allErrors(t, err) {
				if e.File != "f.yaml" || e.Line < 0 || e.Msg == "" {
					t.Fatalf("malformed error %#v", e)
				}
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that Validate rejects: %v", err)
		}
		// What Parse accepts survives a round trip through YAML.
		out, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		again, err := Parse(bytes.NewReader(out), "again.yaml")
		if err != nil {
			t.Fatalf("re-parse of\n%s\nfailed: %v", out, err)
		}
		if !reflect.DeepEqual(cfg, again) {
			t.Fatalf("round trip changed the config:\n%+v\n%+v", cfg, again)
		}
	})
}
