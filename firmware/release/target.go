package release

import (
	"fmt"
	"slices"
)

// Target is the gateway a release would be installed on, as Check needs
// it.
type Target struct {
	Product  string   // ProductBinary or ProductImage: what this gateway's backend installs
	Arch     string   // "linux/arm64", …, as a Manifest names it
	Channel  string   // the channel the gateway follows: "stable", "beta", …
	Hardware string   // the board: "rpi4", "rpi5", "cm4", … ("" = unknown)
	Running  string   // the running version
	Floor    string   // anti-rollback floor: the highest version ever committed ("" = none)
	Refused  []string // versions rolled back on this gateway
}

// Check reports whether a verified manifest applies to the target. In
// order, it refuses a manifest for another product (ErrProduct), another
// architecture (ErrArch), hardware that does not include the target's
// board when it names any (ErrHardware; an unknown board matches only a
// manifest that names none), another channel (ErrChannel); a version not
// above the floor or the running version (ErrRollback); a running version
// below min_from (ErrMinFrom); and a version rolled back here before
// (ErrRefused). Versions compare with CompareVersions, so an invalid
// running version, such as a development build's "dev", is below every
// release (and below any min_from).
func (tg Target) Check(m Manifest) error {
	name := fmt.Sprintf("release: manifest %s %s", m.Product, m.Version)
	switch {
	case m.Product != tg.Product:
		return fmt.Errorf("%s: %w: this gateway installs %q", name, ErrProduct, tg.Product)
	case m.Arch != tg.Arch:
		return fmt.Errorf("%s: %w: built for %s, this gateway is %s", name, ErrArch, m.Arch, tg.Arch)
	case len(m.Hardware) > 0 && !slices.Contains(m.Hardware, tg.Hardware):
		return fmt.Errorf("%s: %w: for %v, this gateway is %q", name, ErrHardware, m.Hardware, tg.Hardware)
	case m.Channel != tg.Channel:
		return fmt.Errorf("%s: %w: on %q, this gateway follows %q", name, ErrChannel, m.Channel, tg.Channel)
	case tg.Floor != "" && CompareVersions(m.Version, tg.Floor) <= 0:
		return fmt.Errorf("%s: %w: not above %s, the highest version committed here", name, ErrRollback, tg.Floor)
	case CompareVersions(m.Version, tg.Running) <= 0:
		return fmt.Errorf("%s: %w: not above the running version %s", name, ErrRollback, tg.Running)
	case m.MinFrom != "" && CompareVersions(tg.Running, m.MinFrom) < 0:
		return fmt.Errorf("%s: %w: needs version %s or later running, this gateway runs %s", name, ErrMinFrom, m.MinFrom, tg.Running)
	}
	for _, v := range tg.Refused {
		if CompareVersions(m.Version, v) == 0 {
			return fmt.Errorf("%s: %w: rolled back on this gateway before", name, ErrRefused)
		}
	}
	return nil
}
