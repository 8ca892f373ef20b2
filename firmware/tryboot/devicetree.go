package tryboot

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
)

// readCell reads a 32-bit property the bootloader leaves in
// /chosen/bootloader of the device tree. Linux shows a property as a file
// holding its raw value, and a device-tree cell is a big-endian u32
// (device-tree.adoc, "Common bootloader properties /chosen/bootloader":
// partition and tryboot are "32-bit integer"), so the file must be exactly
// 4 bytes. A missing property is returned as an error satisfying
// errors.Is(err, fs.ErrNotExist).
func readCell(deviceTree, name string) (uint32, error) {
	path := filepath.Join(deviceTree, "chosen", "bootloader", name)
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("tryboot: read device tree: %w", err)
	}
	if len(b) != 4 {
		return 0, fmt.Errorf("tryboot: device tree %s: %d bytes, want one 4-byte big-endian cell", path, len(b))
	}
	return binary.BigEndian.Uint32(b), nil
}
