package image

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/firmware/releasetest"
	"github.com/pkfreelance/seatgate/firmware/state"
	"github.com/pkfreelance/seatgate/firmware/tryboot"
)

// autobootIdle is autoboot.txt with partition 2 committed and no trial
// armed: the factory layout.
const autobootIdle = "[all]\ntryboot_a_b=1\nboot_partition=2\n"

// fakePi is a Raspberry Pi as the backend sees it: a boot directory with
// autoboot.txt, a device tree directory whose chosen/bootloader holds the
// tryboot and partition cells, a boot ID file, and two partitions as
// regular files. Reboot only records its argument; reboot plays the
// bootloader, powerCut a power loss, and restart a restart of the gateway
// in the same boot.
//
// Every boot checks what a real one would depend on: autoboot.txt, read as
// the bootloader reads it (no repair), names one of the two partitions for
// both kinds of boot; a boot without the tryboot flag starts an image that
// is the factory one or passed its trial; a tryboot boot starts one of
// those or a release's image, never anything else.
type fakePi struct {
	t          *testing.T
	dir        string
	bootDir    string
	dt         string
	bootIDPath string
	parts      map[int]string

	mu        sync.Mutex // Reboot is called from the agent's goroutines
	reboots   []string   // Reboot's arguments in this boot
	rebootErr error      // Reboot returns it
	crashAt   func(arg string) bool

	boots   []string        // "2", "tryboot 3": every boot, in order
	images  map[string]bool // SHA-256 of the images a tryboot boot may start
	passed  map[string]bool // … and those a normal boot may start
	bootSeq int
}

func newFakePi(t *testing.T) *fakePi {
	t.Helper()
	dir := t.TempDir()
	p := &fakePi{
		t: t, dir: dir,
		bootDir:    filepath.Join(dir, "boot"),
		dt:         filepath.Join(dir, "device-tree"),
		bootIDPath: filepath.Join(dir, "boot_id"),
		parts:      map[int]string{2: filepath.Join(dir, "mmcblk0p2"), 3: filepath.Join(dir, "mmcblk0p3")},
		images:     map[string]bool{},
		passed:     map[string]bool{},
	}
	for _, d := range []string{p.bootDir, filepath.Join(p.dt, "chosen", "bootloader")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	factory := bytes.Repeat([]byte("seatgate image 1.0.0\n"), 1000)
	p.write(p.parts[2], factory)
	p.write(p.parts[3], []byte("whatever was there before"))
	p.passed[sum(factory)], p.images[sum(factory)] = true, true
	p.write(filepath.Join(p.bootDir, "autoboot.txt"), []byte(autobootIdle))
	p.setBoot(false, 2)
	return p
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func (p *fakePi) write(path string, b []byte) {
	p.t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// config is the backend's configuration on this Pi, with its state in
// dir/firmware.
func (p *fakePi) config() Config {
	return Config{
		Dir: filepath.Join(p.dir, "firmware"),
		Tryboot: tryboot.Config{BootDir: p.bootDir, DeviceTree: p.dt, Partitions: p.parts,
			Reboot: p.reboot},
		BootIDPath: p.bootIDPath,
	}
}

// open is a start of the gateway: Open on this Pi.
func (p *fakePi) open() *Backend {
	p.t.Helper()
	b, err := Open(p.config())
	if err != nil {
		p.t.Fatalf("Open: %v", err)
	}
	return b
}

// crash is the panic a test's crash point raises: the process dies there.
type crash struct{ point string }

// reboot is Config.Tryboot.Reboot: it records arg (a reboot queued), or
// fails with rebootErr, or crashes when crashAt says so.
func (p *fakePi) reboot(arg string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.crashAt != nil && p.crashAt(arg) {
		panic(crash{"reboot " + arg})
	}
	if p.rebootErr != nil {
		return p.rebootErr
	}
	p.reboots = append(p.reboots, arg)
	return nil
}

func (p *fakePi) rebootArgs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.reboots)
}

// bootNow completes the reboot asked for last: the bootloader takes the
// tryboot flag from its argument (one-shot) and boots.
func (p *fakePi) bootNow() {
	p.t.Helper()
	args := p.rebootArgs()
	if len(args) == 0 {
		p.t.Fatal("bootNow: no reboot was asked for")
	}
	p.boot(args[len(args)-1] == "0 tryboot")
}

// powerCut loses power and boots again: whatever reboot was asked for,
// the tryboot flag does not survive.
func (p *fakePi) powerCut() { p.boot(false) }

// boot plays the bootloader: it reads autoboot.txt, boots the partition
// it names for this kind of boot, checks the image there, and leaves its
// findings in the device tree with a new boot ID.
func (p *fakePi) boot(tryflag bool) {
	p.t.Helper()
	p.mu.Lock()
	p.reboots = nil
	p.mu.Unlock()
	ab, err := p.bootloaderReads()
	if err != nil {
		p.t.Fatalf("boot %d: the bootloader finds no bootable configuration: %v", len(p.boots)+1, err)
	}
	part := ab.BootPartition(tryflag)
	img, err := os.ReadFile(p.parts[part])
	if err != nil {
		p.t.Fatal(err)
	}
	ok := p.passed[sum(img)] || tryflag && p.images[sum(img)]
	if !ok {
		p.t.Fatalf("boot %d (tryboot %v) starts partition %d, whose image (%d bytes) is neither committed nor a release's",
			len(p.boots)+1, tryflag, part, len(img))
	}
	p.setBoot(tryflag, part)
	name := fmt.Sprint(part)
	if tryflag {
		name = "tryboot " + name
	}
	p.boots = append(p.boots, name)
}

// bootloaderReads parses autoboot.txt as the bootloader does: the file
// itself, not repaired, naming a partition for both kinds of boot.
func (p *fakePi) bootloaderReads() (tryboot.Autoboot, error) {
	data, err := os.ReadFile(filepath.Join(p.bootDir, "autoboot.txt"))
	if err != nil {
		return tryboot.Autoboot{}, err
	}
	ab, err := tryboot.ParseAutoboot(data)
	if err != nil {
		return tryboot.Autoboot{}, err
	}
	if !ab.TrybootAB() {
		return ab, fmt.Errorf("tryboot_a_b=1 missing:\n%s", data)
	}
	for _, tf := range []bool{false, true} {
		if n := ab.BootPartition(tf); p.parts[n] == "" {
			return ab, fmt.Errorf("a boot (tryboot %v) boots partition %d:\n%s", tf, n, data)
		}
	}
	return ab, nil
}

// autoboot returns the partitions a boot without and with the tryboot
// flag would start.
func (p *fakePi) autoboot() (normal, try int) {
	p.t.Helper()
	ab, err := p.bootloaderReads()
	if err != nil {
		p.t.Fatal(err)
	}
	return ab.BootPartition(false), ab.BootPartition(true)
}

func (p *fakePi) setBoot(tryflag bool, part int) {
	p.t.Helper()
	dir := filepath.Join(p.dt, "chosen", "bootloader")
	flag := uint32(0)
	if tryflag {
		flag = 1
	}
	p.write(filepath.Join(dir, "tryboot"), binary.BigEndian.AppendUint32(nil, flag))
	p.write(filepath.Join(dir, "partition"), binary.BigEndian.AppendUint32(nil, uint32(part)))
	p.bootSeq++
	p.write(p.bootIDPath, fmt.Appendf(nil, "boot-%d\n", p.bootSeq))
}

// newRelease builds an image of size random bytes, signs its manifest
// with a fresh key, and tells p it is a release's image.
func (p *fakePi) newRelease(version string, size int) releasetest.Artifact {
	p.t.Helper()
	_, key, err := release.GenerateKey()
	if err != nil {
		p.t.Fatal(err)
	}
	return p.signRelease(version, size, key)
}

// signRelease is newRelease with the release key given.
func (p *fakePi) signRelease(version string, size int, key ed25519.PrivateKey) releasetest.Artifact {
	p.t.Helper()
	r := releasetest.NewArtifact(p.t, release.Manifest{Product: release.ProductImage, Version: version,
		Channel: "stable", Arch: "linux/arm64", ChunkSize: 64 << 10, Created: time.Now()}, size, key)
	p.images[r.Manifest.SHA256] = true
	return r
}

// download does what the agent does before RequestTrial, without the
// network: it records the assignment, calls Prepare and writes the image
// into the target as firmware/fetch would.
func (p *fakePi) download(b *Backend, r releasetest.Artifact) {
	p.t.Helper()
	now := time.Now()
	_, err := b.State().Update(func(st *state.State) error {
		st.Rollout, st.Manifest, st.Version, st.SHA256, st.From = "r-1", r.Signed, r.Manifest.Version, r.Manifest.SHA256, "1.0.0"
		st.Slot, st.Attempts, st.ReArms, st.BootID, st.Done, st.Total = "", 0, 0, "", 0, r.Manifest.NumChunks()
		st.Enter(now, state.Waiting, "assigned by rollout r-1")
		return nil
	})
	if err != nil {
		p.t.Fatal(err)
	}
	target, _, err := b.Prepare(r.Manifest)
	if err != nil {
		p.t.Fatalf("Prepare: %v", err)
	}
	if err := os.WriteFile(target, r.Data, 0o644); err != nil {
		p.t.Fatal(err)
	}
	_, err = b.State().Update(func(st *state.State) error {
		st.Done = st.Total
		st.Enter(now, state.Downloading, "downloading done")
		return nil
	})
	if err != nil {
		p.t.Fatal(err)
	}
}

func (p *fakePi) state(b *Backend) state.State {
	p.t.Helper()
	st, err := b.State().Load()
	if err != nil {
		p.t.Fatal(err)
	}
	return st
}

// phases lists the phases of st's history from entry from on.
func phases(st state.State, from int) []state.Phase {
	var out []state.Phase
	for _, e := range st.History[min(from, len(st.History)):] {
		out = append(out, e.Phase)
	}
	return out
}
