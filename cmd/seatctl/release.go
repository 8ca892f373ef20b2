package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/hq/firmware"
	"github.com/pkfreelance/seatgate/hq/pki"
)

const releaseUsage = `Firmware releases (docs/firmware.md). The root key stays offline; the release key on the build machine:
  seatctl release keys root --out DIR [--expires 8760h]
                                            a new root key (DIR/root.key, root.pub) and root metadata
                                            version 1 (DIR/root-1.json: every gateway's firmware.root)
  seatctl release keys release --root-key FILE --root root-N.json --out DIR [--expires 2160h] [--root-expires 8760h]
                                            a new release key (DIR/release.key, release.pub) and
                                            DIR/root-(N+1).json listing it and the unexpired release keys
  seatctl release keys rotate-root --root-key OLD --new-root-key NEW --root root-N.json --out DIR [--root-expires 8760h]
                                            DIR/root-(N+1).json with NEW as the root key, signed by both
                                            (NEW is created unless it exists)
  seatctl release sign --key release.key --version V --arch A --out FILE [--channel stable] [--product seatgate]
                       [--hardware rpi4,rpi5] [--min-from V] [--expires 720h] [--notes TEXT] [--chunk-size 256KiB]
                       [--root root-N.json] ARTIFACT
                                            hash ARTIFACT and write its signed manifest to FILE (with
                                            --root, check that root vouches for the key)
Releases at HQ (through the API, as above):
  seatctl release publish --manifest FILE [--root root-1.json,root-2.json,…] ARTIFACT
                                            upload the roots (in order) and the release; HQ checks both
  seatctl release list                      the published releases
  seatctl release withdraw VERSION          delete a release's artifact (gateways get 410 Gone); the
                                            version is never published again
`

// Files written by release keys.
const (
	rootKeyFile    = "root.key"
	rootPubFile    = "root.pub"
	releaseKeyFile = "release.key"
	releasePubFile = "release.pub"
)

func rootFile(dir string, version uint64) string {
	return filepath.Join(dir, "root-"+strconv.FormatUint(version, 10)+".json")
}

var releaseTable = map[string]command{
	"release keys":     cmdReleaseKeys,
	"release sign":     cmdReleaseSign,
	"release publish":  cmdReleasePublish,
	"release list":     cmdReleaseList,
	"release withdraw": cmdReleaseWithdraw,
}

// releaseCommands dispatches the release commands; ok is false for another
// command.
func releaseCommands(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) (ok bool, err error) {
	f, ok := releaseTable[cmd]
	if !ok {
		return false, nil
	}
	return true, f(ctx, args, stdout, stderr)
}

func localFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func cmdReleaseKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub := ""
	if len(args) > 0 {
		sub = args[0]
	}
	switch sub {
	case "root":
		return cmdReleaseKeysRoot(args[1:], stdout, stderr)
	case "release":
		return cmdReleaseKeysRelease(args[1:], stdout, stderr)
	case "rotate-root":
		return cmdReleaseKeysRotateRoot(args[1:], stdout, stderr)
	}
	fmt.Fprint(stderr, releaseUsage)
	return fmt.Errorf("%w: release keys %q: want root, release or rotate-root", errUsage, sub)
}

// mustNotExist refuses to overwrite a key or a root version.
func mustNotExist(paths ...string) error {
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("%s exists: keys and root versions are never overwritten; give another --out directory or move it away", p)
		}
	}
	return nil
}

// writeKeyPair writes a new key pair: the private key 0600, the public key
// 0644.
func writeKeyPair(privPath, pubPath string, pub ed25519.PublicKey, priv ed25519.PrivateKey) error {
	privPEM, err := release.EncodePrivateKeyPEM(priv)
	if err != nil {
		return err
	}
	pubPEM, err := release.EncodePublicKeyPEM(pub)
	if err != nil {
		return err
	}
	if err := pki.WriteFileAtomic(privPath, privPEM, 0o600); err != nil {
		return err
	}
	return pki.WriteFileAtomic(pubPath, pubPEM, 0o644)
}

// loadKey reads a private key file given as flag.
func loadKey(flagName, path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flagName, err)
	}
	k, err := release.ParsePrivateKeyPEM(b)
	if err != nil {
		return nil, fmt.Errorf("--%s %s is not a private key file (a .key file written by 'seatctl release keys'): %w", flagName, path, err)
	}
	return k, nil
}

// loadRoot reads root metadata given as --root and checks it is signed by
// its own root keys.
func loadRoot(path string) ([]byte, *release.Trust, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--root: %w", err)
	}
	t, err := release.NewTrust(b)
	if err != nil {
		return nil, nil, fmt.Errorf("--root %s is not valid root metadata: %w", path, err)
	}
	return b, t, nil
}

func pubOf(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

// checkRootKey checks that k may sign the root after r on its own.
func checkRootKey(r release.Root, k ed25519.PrivateKey, flagName, path, rootPath string) error {
	id := release.KeyID(pubOf(k))
	var ids []string
	for _, rk := range r.RootKeys {
		ids = append(ids, rk.ID)
	}
	if !slices.Contains(ids, id) {
		return fmt.Errorf("--%s %s (key %s) is not a root key of %s (version %d, root keys %s)",
			flagName, path, id, rootPath, r.Version, strings.Join(ids, ", "))
	}
	if r.RootThreshold > 1 {
		return fmt.Errorf("%s (version %d) needs %d root keys to sign the next version; this command signs with one",
			rootPath, r.Version, r.RootThreshold)
	}
	return nil
}

// unexpired returns the release keys of r still valid at now.
func unexpired(r release.Root, now time.Time) (keep, dropped []release.Key) {
	for _, k := range r.ReleaseKeys {
		if k.Expires.After(now) {
			keep = append(keep, k)
		} else {
			dropped = append(dropped, k)
		}
	}
	return keep, dropped
}

// signNextRoot signs next with keys, checks that it chains from the root
// in t, and writes it to dir.
func signNextRoot(t *release.Trust, next release.Root, dir string, keys ...ed25519.PrivateKey) (string, error) {
	b, err := release.SignRoot(next, keys...)
	if err != nil {
		return "", err
	}
	if err := t.Update(b); err != nil {
		return "", fmt.Errorf("the new root does not chain from version %d: %w", next.Version-1, err)
	}
	path := rootFile(dir, next.Version)
	return path, pki.WriteFileAtomic(path, b, 0o644)
}

func describeKeys(ks []release.Key) string {
	if len(ks) == 0 {
		return "none"
	}
	var s []string
	for _, k := range ks {
		s = append(s, k.ID+" (until "+k.Expires.Format(time.DateOnly)+")")
	}
	return strings.Join(s, ", ")
}

func cmdReleaseKeysRoot(args []string, stdout, stderr io.Writer) error {
	fs := localFlags("release keys root", stderr)
	out := fs.String("out", "", "directory for root.key, root.pub and root-1.json")
	expires := fs.Duration("expires", 365*24*time.Hour, "validity of root metadata version 1")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("%w: release keys root needs --out", errUsage)
	}
	if *expires <= 0 {
		return fmt.Errorf("%w: --expires %v: want a positive duration", errUsage, *expires)
	}
	keyPath, pubPath, rootPath := filepath.Join(*out, rootKeyFile), filepath.Join(*out, rootPubFile), rootFile(*out, 1)
	if err := mustNotExist(keyPath, pubPath, rootPath); err != nil {
		return err
	}
	pub, priv, err := release.GenerateKey()
	if err != nil {
		return err
	}
	r := release.Root{Version: 1, Expires: time.Now().Add(*expires).UTC().Truncate(time.Second),
		RootKeys: []release.Key{release.NewKey(pub, time.Time{})}, RootThreshold: 1}
	b, err := release.SignRoot(r, priv)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return err
	}
	if err := writeKeyPair(keyPath, pubPath, pub, priv); err != nil {
		return err
	}
	if err := pki.WriteFileAtomic(rootPath, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created root key %s: %s (secret: keep it offline, backed up) and %s\n", release.KeyID(pub), keyPath, pubPath)
	fmt.Fprintf(stdout, "wrote %s: root version 1, expires %s, no release keys yet\n", rootPath, r.Expires.Format(time.DateOnly))
	fmt.Fprintf(stdout, "ship %s with every gateway (its firmware.root); next: seatctl release keys release --root-key %s --root %s --out DIR\n",
		rootPath, keyPath, rootPath)
	return nil
}

func cmdReleaseKeysRelease(args []string, stdout, stderr io.Writer) error {
	fs := localFlags("release keys release", stderr)
	rootKeyPath := fs.String("root-key", "", "the root key (root.key)")
	rootPath := fs.String("root", "", "the newest root metadata (root-N.json)")
	out := fs.String("out", "", "directory for release.key, release.pub and root-(N+1).json")
	expires := fs.Duration("expires", 90*24*time.Hour, "validity of the release key")
	rootExpires := fs.Duration("root-expires", 365*24*time.Hour, "validity of the new root metadata")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *rootKeyPath == "" || *rootPath == "" || *out == "" {
		return fmt.Errorf("%w: release keys release needs --root-key, --root and --out", errUsage)
	}
	if *expires <= 0 || *rootExpires <= 0 {
		return fmt.Errorf("%w: --expires and --root-expires must be positive", errUsage)
	}
	_, t, err := loadRoot(*rootPath)
	if err != nil {
		return err
	}
	rootKey, err := loadKey("root-key", *rootKeyPath)
	if err != nil {
		return err
	}
	cur := t.Root()
	if err := checkRootKey(cur, rootKey, "root-key", *rootKeyPath, *rootPath); err != nil {
		return err
	}
	keyPath, pubPath := filepath.Join(*out, releaseKeyFile), filepath.Join(*out, releasePubFile)
	if err := mustNotExist(keyPath, pubPath, rootFile(*out, cur.Version+1)); err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Second)
	pub, priv, err := release.GenerateKey()
	if err != nil {
		return err
	}
	keep, dropped := unexpired(cur, now)
	newKey := release.NewKey(pub, now.Add(*expires))
	next := release.Root{Version: cur.Version + 1, Expires: now.Add(*rootExpires), RootKeys: cur.RootKeys,
		RootThreshold: cur.RootThreshold, ReleaseKeys: append(keep, newKey)}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return err
	}
	if err := writeKeyPair(keyPath, pubPath, pub, priv); err != nil {
		return err
	}
	path, err := signNextRoot(t, next, *out, rootKey)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created release key %s, valid until %s: %s (for the build machine: seatctl release sign --key) and %s\n",
		newKey.ID, newKey.Expires.Format(time.DateOnly), keyPath, pubPath)
	fmt.Fprintf(stdout, "wrote %s: root version %d, expires %s, release keys %s\n",
		path, next.Version, next.Expires.Format(time.DateOnly), describeKeys(next.ReleaseKeys))
	if len(dropped) > 0 {
		fmt.Fprintf(stdout, "dropped the expired release keys %s\n", describeKeys(dropped))
	}
	fmt.Fprintf(stdout, "publish it with the next release (seatctl release publish --root …,%s)\n", path)
	return nil
}

func cmdReleaseKeysRotateRoot(args []string, stdout, stderr io.Writer) error {
	fs := localFlags("release keys rotate-root", stderr)
	oldPath := fs.String("root-key", "", "the current root key")
	newPath := fs.String("new-root-key", "", "the new root key: created if the file does not exist")
	rootPath := fs.String("root", "", "the newest root metadata (root-N.json)")
	out := fs.String("out", "", "directory for root-(N+1).json")
	rootExpires := fs.Duration("root-expires", 365*24*time.Hour, "validity of the new root metadata")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *oldPath == "" || *newPath == "" || *rootPath == "" || *out == "" {
		return fmt.Errorf("%w: release keys rotate-root needs --root-key, --new-root-key, --root and --out", errUsage)
	}
	if *rootExpires <= 0 {
		return fmt.Errorf("%w: --root-expires must be positive", errUsage)
	}
	_, t, err := loadRoot(*rootPath)
	if err != nil {
		return err
	}
	oldKey, err := loadKey("root-key", *oldPath)
	if err != nil {
		return err
	}
	cur := t.Root()
	if err := checkRootKey(cur, oldKey, "root-key", *oldPath, *rootPath); err != nil {
		return err
	}
	if err := mustNotExist(rootFile(*out, cur.Version+1)); err != nil {
		return err
	}
	var newKey ed25519.PrivateKey
	created := false
	if _, err := os.Stat(*newPath); err == nil {
		if newKey, err = loadKey("new-root-key", *newPath); err != nil {
			return err
		}
	} else {
		pubPath := strings.TrimSuffix(*newPath, ".key") + ".pub"
		if err := mustNotExist(pubPath); err != nil {
			return err
		}
		var pub ed25519.PublicKey
		if pub, newKey, err = release.GenerateKey(); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(*newPath), 0o700); err != nil {
			return err
		}
		if err := writeKeyPair(*newPath, pubPath, pub, newKey); err != nil {
			return err
		}
		created = true
	}
	oldID, newID := release.KeyID(pubOf(oldKey)), release.KeyID(pubOf(newKey))
	if oldID == newID {
		return fmt.Errorf("--new-root-key %s is the current root key %s", *newPath, oldID)
	}
	now := time.Now().UTC().Truncate(time.Second)
	keep, dropped := unexpired(cur, now)
	next := release.Root{Version: cur.Version + 1, Expires: now.Add(*rootExpires),
		RootKeys: []release.Key{release.NewKey(pubOf(newKey), time.Time{})}, RootThreshold: 1, ReleaseKeys: keep}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return err
	}
	path, err := signNextRoot(t, next, *out, oldKey, newKey)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(stdout, "created root key %s: %s (secret: keep it offline, backed up)\n", newID, *newPath)
	}
	fmt.Fprintf(stdout, "wrote %s: root version %d, signed by root keys %s (old) and %s (new); from then on only %s signs roots\n",
		path, next.Version, oldID, newID, newID)
	fmt.Fprintf(stdout, "expires %s, release keys %s\n", next.Expires.Format(time.DateOnly), describeKeys(next.ReleaseKeys))
	if len(dropped) > 0 {
		fmt.Fprintf(stdout, "dropped the expired release keys %s\n", describeKeys(dropped))
	}
	fmt.Fprintf(stdout, "publish it with the next release (seatctl release publish --root …,%s)\n", path)
	return nil
}

// parseSize reads a byte count: 262144, 256KiB, 1MiB.
func parseSize(s string) (int64, error) {
	num, mult := s, int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = n, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("%q: want a size such as 262144, 256KiB or 1MiB", s)
	}
	return n * mult, nil
}

func cmdReleaseSign(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := localFlags("release sign", stderr)
	keyPath := fs.String("key", "", "the release key (release.key)")
	version := fs.String("version", "", "the release's version (1.4.2)")
	channel := fs.String("channel", "stable", "channel: stable, beta, …")
	arch := fs.String("arch", "", "architecture: linux/arm64, linux/arm/7, linux/amd64")
	product := fs.String("product", release.ProductBinary, "seatgate (the binary) or seatgate-image (a boot image)")
	hardware := fs.String("hardware", "", "boards it runs on, comma separated (default any)")
	minFrom := fs.String("min-from", "", "the oldest running version that may update to it")
	expires := fs.Duration("expires", 0, "the manifest's validity (default: no expiry)")
	notes := fs.String("notes", "", "release notes, one line")
	chunkSize := fs.String("chunk-size", "256KiB", "chunk size")
	out := fs.String("out", "", "manifest file to write")
	rootPath := fs.String("root", "", "root metadata to check the key against (optional)")
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	if *keyPath == "" || *version == "" || *arch == "" || *out == "" {
		return fmt.Errorf("%w: release sign needs --key, --version, --arch and --out", errUsage)
	}
	if err := release.ValidVersion(*version); err != nil {
		return fmt.Errorf("%w: --version: %v", errUsage, err)
	}
	if *minFrom != "" {
		if err := release.ValidVersion(*minFrom); err != nil {
			return fmt.Errorf("%w: --min-from: %v", errUsage, err)
		}
	}
	cs, err := parseSize(*chunkSize)
	if err != nil {
		return fmt.Errorf("%w: --chunk-size %v", errUsage, err)
	}
	var trust *release.Trust
	if *rootPath != "" {
		if _, trust, err = loadRoot(*rootPath); err != nil {
			return err
		}
	}
	key, err := loadKey("key", *keyPath)
	if err != nil {
		return err
	}
	m := release.Manifest{Product: *product, Version: *version, Channel: *channel, Arch: *arch, MinFrom: *minFrom,
		ChunkSize: cs, Created: time.Now().UTC().Truncate(time.Second), Notes: *notes}
	if *hardware != "" {
		m.Hardware = strings.Split(*hardware, ",")
	}
	if *expires > 0 {
		m.Expires = m.Created.Add(*expires)
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	if m, err = release.Build(f, m); err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	signed, err := release.SignManifest(m, key)
	if err != nil {
		return err
	}
	keyID := release.KeyID(pubOf(key))
	if trust != nil {
		if _, err := trust.VerifyManifest(signed, time.Now()); err != nil {
			return fmt.Errorf("the manifest would not verify against %s (is %s a release key it lists?): %w", *rootPath, keyID, err)
		}
	}
	if err := pki.WriteFileAtomic(*out, signed, 0o644); err != nil {
		return err
	}
	exp := "never"
	if !m.Expires.IsZero() {
		exp = m.Expires.Format(time.DateTime + " MST")
	}
	hw := "any"
	if len(m.Hardware) > 0 {
		hw = strings.Join(m.Hardware, ",")
	}
	fmt.Fprintf(stdout, "signed %s %s for %s (channel %s, hardware %s) → %s\n", m.Product, m.Version, m.Arch, m.Channel, hw, *out)
	fmt.Fprintf(stdout, "  size     %d bytes\n  sha256   %s\n  chunks   %d of %d bytes\n  key id   %s\n  expires  %s\n",
		m.Size, m.SHA256, len(m.Chunks), m.ChunkSize, keyID, exp)
	return nil
}

func cmdReleasePublish(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	h := newHQCommand("release publish", stderr, noCentre)
	manifestPath := h.fs.String("manifest", "", "the signed manifest ('seatctl release sign')")
	roots := h.fs.String("root", "", "root metadata files to upload first, in version order, comma separated")
	c, err := h.parse(args, 1)
	if err != nil {
		return err
	}
	if *manifestPath == "" {
		return fmt.Errorf("%w: release publish needs --manifest", errUsage)
	}
	signed, err := os.ReadFile(*manifestPath)
	if err != nil {
		return err
	}
	m, err := release.ParseManifest(signed)
	if err != nil {
		return fmt.Errorf("--manifest %s: %w", *manifestPath, err)
	}
	artifactPath := h.fs.Arg(0)
	st, err := os.Stat(artifactPath)
	if err != nil {
		return err
	}
	if st.Size() != m.Size {
		return fmt.Errorf("%s has %d bytes, its manifest %s says %d: not the artifact it was signed for", artifactPath, st.Size(), *manifestPath, m.Size)
	}
	if *roots != "" {
		for _, p := range strings.Split(*roots, ",") {
			b, err := os.ReadFile(p)
			if err != nil {
				return fmt.Errorf("--root: %w", err)
			}
			var ri firmware.RootInfo
			if _, err := c.call(ctx, "POST", "/api/v1/firmware/roots", "application/json", b, &ri); err != nil {
				return fmt.Errorf("root %s: %w", p, err)
			}
			state := "stored"
			if ri.Unchanged {
				state = "HQ has it already"
			}
			fmt.Fprintf(stdout, "root version %d (%s): %s\n", ri.Version, p, state)
		}
	}
	body, ctype, err := releaseUpload(signed, artifactPath, m.Size)
	if err != nil {
		return err
	}
	var ri firmware.ReleaseInfo
	if _, err := c.call(ctx, "POST", "/api/v1/firmware/releases", ctype, body, &ri); err != nil {
		return err
	}
	if ri.Unchanged {
		fmt.Fprintf(stdout, "HQ has release %s already (published %s): nothing changed\n", ri.Version, ri.Published.Local().Format(time.DateTime))
		return nil
	}
	fmt.Fprintf(stdout, "published %s %s for %s (channel %s): %d bytes, sha256 %s, %d chunks\n",
		ri.Product, ri.Version, ri.Arch, ri.Channel, ri.Size, ri.SHA256, ri.Chunks)
	fmt.Fprintf(stdout, "gateways download it from HQ's firmware server at %s; start a rollout: seatctl rollout start --version %s …\n",
		ri.Artifact, ri.Version)
	return nil
}

// releaseUpload builds the body of a release upload (firmware.APIHandler):
// the manifest part, then the artifact part. The API client sends bodies
// from memory, so the artifact is read whole.
func releaseUpload(signed []byte, artifactPath string, size int64) (body []byte, ctype string, err error) {
	f, err := os.Open(artifactPath)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	var b bytes.Buffer
	b.Grow(int(size) + len(signed) + 1024)
	mw := multipart.NewWriter(&b)
	w, err := mw.CreateFormFile(firmware.PartManifest, filepath.Base(artifactPath)+".manifest")
	if err != nil {
		return nil, "", err
	}
	w.Write(signed)
	if w, err = mw.CreateFormFile(firmware.PartArtifact, filepath.Base(artifactPath)); err != nil {
		return nil, "", err
	}
	n, err := io.Copy(w, f)
	if err != nil {
		return nil, "", fmt.Errorf("read %s: %w", artifactPath, err)
	}
	if n != size {
		return nil, "", fmt.Errorf("%s changed while it was read (%d bytes, want %d)", artifactPath, n, size)
	}
	if err := mw.Close(); err != nil {
		return nil, "", err
	}
	return b.Bytes(), mw.FormDataContentType(), nil
}

func cmdReleaseList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := newHQCommand("release list", stderr, noCentre).parse(args, 0)
	if err != nil {
		return err
	}
	var rels []firmware.ReleaseInfo
	if _, err := c.call(ctx, "GET", "/api/v1/firmware/releases", "", nil, &rels); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	fmt.Fprintln(tw, "VERSION\tPRODUCT\tCHANNEL\tARCH\tHARDWARE\tMIN FROM\tSIZE\tSHA256\tPUBLISHED\tSTATE")
	for _, r := range rels {
		hw, minFrom, state := "any", "-", "published"
		if len(r.Hardware) > 0 {
			hw = strings.Join(r.Hardware, ",")
		}
		if r.MinFrom != "" {
			minFrom = r.MinFrom
		}
		if !r.Withdrawn.IsZero() {
			state = "withdrawn " + r.Withdrawn.Local().Format(time.DateOnly)
		} else if !r.Expires.IsZero() && r.Expires.Before(time.Now()) {
			state = "expired"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s…\t%s\t%s\n", r.Version, r.Product, r.Channel, r.Arch, hw, minFrom,
			r.Size, r.SHA256[:min(16, len(r.SHA256))], r.Published.Local().Format(time.DateTime), state)
	}
	return nil
}

func cmdReleaseWithdraw(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	h := newHQCommand("release withdraw", stderr, noCentre)
	c, err := h.parse(args, 1)
	if err != nil {
		return err
	}
	version := h.fs.Arg(0)
	if err := release.ValidVersion(version); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	var ri firmware.ReleaseInfo
	if _, err := c.call(ctx, "DELETE", "/api/v1/firmware/releases/"+url.PathEscape(version), "", nil, &ri); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "withdrew release %s (sha256 %s): its artifact is deleted, gateways get 410 Gone, and %s is never published again\n",
		ri.Version, ri.SHA256, ri.Version)
	return nil
}
