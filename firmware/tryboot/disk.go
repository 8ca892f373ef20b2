package tryboot

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// The files of the boot directory this package writes.
const (
	autobootName = "autoboot.txt"
	newSuffix    = ".new" // the next content, complete and fsynced before the rename
	bakSuffix    = ".bak" // the content the last write replaced
)

// disk is the file system as the crash-safe write uses it, one call per
// step, so that a test can make any step fail as a power cut would
// (crash_test.go). osDisk is the real one.
type disk interface {
	// writeFile creates or truncates name, writes data, fsyncs and closes.
	writeFile(name string, data []byte) error
	// syncFile fsyncs a file written earlier.
	syncFile(name string) error
	rename(from, to string) error
	// syncDir fsyncs a directory, making the names in it durable.
	syncDir(dir string) error
}

type osDisk struct{}

func (osDisk) writeFile(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (osDisk) syncFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (osDisk) rename(from, to string) error { return os.Rename(from, to) }

func (osDisk) syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

// install replaces autoboot.txt in dir with data so that a power cut at
// any point leaves a file that ParseAutoboot accepts, or one that
// loadAutoboot repairs from the other two (see the package documentation,
// "Writing autoboot.txt on FAT"):
//
//  1. autoboot.txt.bak ← previous (skipped when previous is nil), fsynced;
//  2. autoboot.txt.new ← data, fsynced;
//  3. fsync the directory, so both names are on the card;
//  4. rename autoboot.txt.new over autoboot.txt;
//  5. fsync the directory.
func install(d disk, dir string, data, previous []byte) error {
	live := filepath.Join(dir, autobootName)
	if previous != nil {
		if err := d.writeFile(live+bakSuffix, previous); err != nil {
			return fmt.Errorf("write %s: %w", live+bakSuffix, err)
		}
	}
	if err := d.writeFile(live+newSuffix, data); err != nil {
		return fmt.Errorf("write %s: %w", live+newSuffix, err)
	}
	return promoteNew(d, dir)
}

// promoteNew makes autoboot.txt.new, complete and fsynced, autoboot.txt:
// steps 3 to 5 of install.
func promoteNew(d disk, dir string) error {
	live := filepath.Join(dir, autobootName)
	if err := d.syncDir(dir); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	if err := d.rename(live+newSuffix, live); err != nil {
		return fmt.Errorf("rename %s: %w", live+newSuffix, err)
	}
	if err := d.syncDir(dir); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// readSmall reads a file of at most MaxAutobootSize bytes, and one byte
// more, so that ParseAutoboot sees a longer file is too long.
func readSmall(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxAutobootSize+1))
}

// loadAutoboot reads autoboot.txt from dir and checks it with valid. If it
// is missing or fails, it repairs it from the first of autoboot.txt.new
// and autoboot.txt.bak that passes and returns that: a
// valid .new is fsynced and renamed into place, as the cut write would
// have done; a valid .bak is installed by a new write, which leaves .bak
// as it is. A repair cut by the power leaves its source intact for the
// next one. With neither valid it returns autoboot.txt's error. It never
// changes a valid autoboot.txt, and leaves a stale .new (a write cut
// before its rename) alone: the next write replaces it before it could
// matter.
func loadAutoboot(d disk, dir string, valid func(Autoboot) error) (Autoboot, []byte, error) {
	live := filepath.Join(dir, autobootName)
	ab, data, liveErr := readValid(live, valid)
	if liveErr == nil {
		return ab, data, nil
	}
	if ab, data, err := readValid(live+newSuffix, valid); err == nil {
		err := d.syncFile(live + newSuffix)
		if err == nil {
			err = promoteNew(d, dir)
		}
		if err != nil {
			return Autoboot{}, nil, fmt.Errorf("tryboot: repair %s from %s: %w", live, live+newSuffix, err)
		}
		return ab, data, nil
	}
	if ab, data, err := readValid(live+bakSuffix, valid); err == nil {
		if err := install(d, dir, data, nil); err != nil {
			return Autoboot{}, nil, fmt.Errorf("tryboot: repair %s from %s: %w", live, live+bakSuffix, err)
		}
		return ab, data, nil
	}
	return Autoboot{}, nil, liveErr
}

func readValid(name string, valid func(Autoboot) error) (Autoboot, []byte, error) {
	data, err := readSmall(name)
	if err != nil {
		return Autoboot{}, nil, fmt.Errorf("tryboot: %w", err)
	}
	ab, err := ParseAutoboot(data)
	if err != nil {
		return Autoboot{}, nil, fmt.Errorf("tryboot: %s: %w", name, err)
	}
	if err := valid(ab); err != nil {
		return Autoboot{}, nil, fmt.Errorf("tryboot: %s: %w", name, err)
	}
	return ab, data, nil
}
