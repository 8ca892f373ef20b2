package release_test

import (
	"testing"

	"github.com/pkfreelance/seatgate/firmware/release"
)

func TestTargetCheck(t *testing.T) {
	// testManifest: seatgate 1.4.2, linux/arm64, stable, rpi4 or cm4, min_from 1.2.
	gw := release.Target{Product: release.ProductBinary, Arch: "linux/arm64", Channel: "stable", Hardware: "rpi4",
		Running: "1.3.0", Floor: "1.3.0"}
	anyBoard := func(m *release.Manifest) { m.Hardware = nil }
	for _, tt := range []struct {
		name     string
		change   func(*release.Target)
		manifest func(*release.Manifest)
		want     error
	}{
		{"applies", nil, nil, nil},
		{"other listed board", func(g *release.Target) { g.Hardware = "cm4" }, nil, nil},
		{"any board", func(g *release.Target) { g.Hardware = "rpi5" }, anyBoard, nil},
		{"unknown board, any board", func(g *release.Target) { g.Hardware = "" }, anyBoard, nil},
		{"no floor yet", func(g *release.Target) { g.Floor = "" }, nil, nil},
		{"running exactly min_from", func(g *release.Target) { g.Running, g.Floor = "1.2", "1.2" }, nil, nil},
		{"refused another version", func(g *release.Target) { g.Refused = []string{"1.4.1", "1.5"} }, nil, nil},
		{"development build", func(g *release.Target) { g.Running, g.Floor = "dev", "" }, anyMinFrom, nil},

		{"image product", func(g *release.Target) { g.Product = release.ProductImage }, nil, release.ErrProduct},
		{"other arch", func(g *release.Target) { g.Arch = "linux/arm/7" }, nil, release.ErrArch},
		{"unlisted board", func(g *release.Target) { g.Hardware = "rpi5" }, nil, release.ErrHardware},
		{"unknown board", func(g *release.Target) { g.Hardware = "" }, nil, release.ErrHardware},
		{"other channel", func(g *release.Target) { g.Channel = "beta" }, nil, release.ErrChannel},
		{"same as running", func(g *release.Target) { g.Running, g.Floor = "1.4.2", "" }, nil, release.ErrRollback},
		{"same as running, other spelling", func(g *release.Target) { g.Running, g.Floor = "1.4.2.0", "" }, nil, release.ErrRollback},
		{"older than running", func(g *release.Target) { g.Running, g.Floor = "1.10", "" }, nil, release.ErrRollback},
		{"at the floor", func(g *release.Target) { g.Floor = "1.4.2" }, nil, release.ErrRollback},
		// Running an old version after a rollback: the floor still
		// refuses what was once committed.
		{"below the floor, above running", func(g *release.Target) { g.Running, g.Floor = "1.3", "1.5" }, nil, release.ErrRollback},
		{"running below min_from", func(g *release.Target) { g.Running, g.Floor = "1.1.9", "1.1.9" }, nil, release.ErrMinFrom},
		{"development build, min_from", func(g *release.Target) { g.Running, g.Floor = "dev", "" }, nil, release.ErrMinFrom},
		{"rolled back before", func(g *release.Target) { g.Refused = []string{"1.4.0", "1.4.2"} }, nil, release.ErrRefused},
		{"rolled back before, other spelling", func(g *release.Target) { g.Refused = []string{"1.4.2.0"} }, nil, release.ErrRefused},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g, m := gw, testManifest(t)
			if tt.change != nil {
				tt.change(&g)
			}
			if tt.manifest != nil {
				tt.manifest(&m)
			}
			wantErr(t, g.Check(m), tt.want)
		})
	}
}

func anyMinFrom(m *release.Manifest) { m.MinFrom = "" }
