package config

import (
	"fmt"
	"strconv"
	"time"
)

// Reader kinds.
const (
	KindMFRC522  = "mfrc522"  // an NXP MFRC522 on an SPI port
	KindEmulated = "emulated" // the in-process chip emulator, driven over HTTP
)

// Defaults that depend on a reader's kind; Parse fills them in.
const (
	DefaultSPIHz = 5_000_000 // spi_hz of an mfrc522 reader
	DefaultBus   = "emu0"    // bus of an emulated reader
)

// Config is the gateway's configuration, read from seatgate.yaml. The YAML
// key of each field is in its tag; the comments give the rules and the
// default a key takes when it is left out.
type Config struct {
	// Centre names the freelancing centre: 1 to 32 of a-z, 0-9 and "-".
	// Required.
	Centre string `yaml:"centre"`
	// Gateway names this gateway within the centre, same form as Centre.
	// Required.
	Gateway string `yaml:"gateway"`
	// DataDir holds the gateway's database and keys.
	// Default "/var/lib/seatgate".
	DataDir string `yaml:"data_dir"`
	// Timezone is the IANA zone the centre runs on (plans, the daily
	// cutoff, reports). Default "Asia/Karachi". The zone data is built in.
	Timezone string `yaml:"timezone"`

	HTTP     HTTP     `yaml:"http"`
	Policy   Policy   `yaml:"policy"`
	Emulator Emulator `yaml:"emulator"`
	HQ       HQ       `yaml:"hq"`
	Firmware Firmware `yaml:"firmware"`

	// Readers are the desks' card readers. At least one; ids and seats are
	// unique.
	Readers []Reader `yaml:"readers"`
}

// HQ configures the link to headquarters (protocol in docs/protocol.md).
// Without a broker the gateway works alone: desks answer, events wait in
// the outbox until a broker is configured.
// DeviceKey as hq.key: the client certificate is for the device key.
const DeviceKey = "device"

type HQ struct {
	// Broker is the MQTT broker: "tls://hq.example.pk:8883". "tcp://" is
	// accepted only for a broker on this machine (tests, local brokers).
	Broker string `yaml:"broker"`
	// CA is the PEM file of HQ's certificate authority, the only one the
	// gateway trusts for the broker (pinned). Cert and Key are the
	// gateway's client certificate (CN "{centre}.{gateway}") and key;
	// Key "device" (DeviceKey) means the certificate is for the gateway's
	// device key, as HQ issues it at enrolment. Required with a tls://
	// broker.
	CA   string `yaml:"ca"`
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
	// HQKey is HQ's ed25519 public key, standard base64: acknowledgements,
	// membership changes and snapshot files not signed with it are
	// refused. Required with a broker; without one it still checks
	// snapshots imported by hand (seatgate members import).
	HQKey string `yaml:"hq_key"`
	// Retention is how long events HQ has acknowledged stay in the
	// gateway's log. Undelivered events are never dropped. Default 720h.
	Retention Duration `yaml:"retention"`
	// BatchSize is the most events per message (default 100, at most
	// 900); BatchesPerSecond limits the drain rate (default 20, 1 to 1000),
	// so a fleet reconnecting after an HQ outage does not stampede.
	BatchSize        int `yaml:"batch_size"`
	BatchesPerSecond int `yaml:"batches_per_second"`
	// DiskQuotaMB is the most the gateway's database may hold (default
	// 1024); MinFreeMB the free space it keeps on its file system (default
	// 200). Past either, the gateway raises a disk alarm in its health,
	// prunes every event HQ has acknowledged (whatever Retention says) and
	// keeps serving desks; undelivered events are never dropped.
	DiskQuotaMB int `yaml:"disk_quota_mb"`
	MinFreeMB   int `yaml:"min_free_mb"`
}

// Firmware configures updates (docs/firmware.md). Without Root the
// gateway takes no updates; HQ's assignments are then logged and ignored.
// Updates need `seatgate supervise` as the service's command (the A/B
// slots and the trial live under DataDir/firmware).
type Firmware struct {
	// Backend is how a release is installed: "slots" (default: A/B slots
	// for the seatgate binary in DataDir, run by 'seatgate supervise') or
	// "tryboot" (full A/B boot images on a Raspberry Pi, see Tryboot).
	Backend string  `yaml:"backend"`
	Tryboot Tryboot `yaml:"tryboot"`
	// Root is the root metadata file shipped with the gateway
	// ("/etc/seatgate/firmware-root.json"): the only release keys the
	// gateway trusts are those it, or a root it vouches for, lists.
	Root string `yaml:"root"`
	// Channel is the release channel this gateway follows. Default "stable".
	Channel string `yaml:"channel"`
	// Hardware is the board ("rpi4", "rpi5", "cm4"); a release for named
	// boards is refused by others. Empty: only releases for any board.
	Hardware string `yaml:"hardware"`
	// Window is when downloads may run, local time, "HH:MM-HH:MM"
	// (crossing midnight is fine). Empty: any time.
	Window string `yaml:"window"`
	// RateKBps caps the download in KiB/s. 0: no cap.
	RateKBps int `yaml:"rate_kbps"`
	// Peers are other gateways of the centre that may serve chunks
	// ("http://10.0.0.12:8090"). They are untrusted: every chunk is
	// checked against the signed manifest, and HQ is the fallback.
	Peers []string `yaml:"peers,omitempty"`
	// Serve is the LAN address on which this gateway serves the chunks it
	// holds to its peers (":8090"). Empty: it does not serve.
	Serve string `yaml:"serve"`
	// StartJitter is the most a download waits before its first request,
	// at random, so that a centre's gateways (and a fleet) do not all
	// start at once. 0 to 1h. Default 30s.
	StartJitter Duration `yaml:"start_jitter"`
	// Dwell is how long the new version's health must hold on trial
	// before it commits. 10s to 24h. Default 5m.
	Dwell Duration `yaml:"dwell"`
}

// Firmware backends.
const (
	BackendSlots   = "slots"
	BackendTryboot = "tryboot"
)

// Tryboot configures backend "tryboot" (docs/firmware.md, backend B).
type Tryboot struct {
	// BootDir is where the FAT partition holding autoboot.txt is mounted.
	// Default "/boot/firmware".
	BootDir string `yaml:"boot_dir"`
	// DeviceTree is the running device tree. Default "/proc/device-tree".
	DeviceTree string `yaml:"device_tree"`
	// Partitions maps the two slots' boot partition numbers to their
	// block devices: {2: /dev/mmcblk0p2, 3: /dev/mmcblk0p3}.
	Partitions map[int]string `yaml:"partitions,omitempty"`
}

// HTTP configures the owner dashboard and API.
type HTTP struct {
	// Listen is the host:port to serve on. Default "127.0.0.1:8080"; an
	// empty host (":8080") listens on every interface.
	Listen string `yaml:"listen"`
}

// Policy tunes the access decisions.
type Policy struct {
	// DailyCutoff is the local time, "HH:MM" (24-hour), at which a day's
	// sessions are closed and counted. Default "03:00".
	DailyCutoff string `yaml:"daily_cutoff"`
	// MaxSession is the longest a check-in lasts before the gateway checks
	// the freelancer out itself. Greater than zero. Default 16h.
	MaxSession Duration `yaml:"max_session"`
	// WarnDays: a check-in within this many days of the plan's end shows
	// plan_ending (amber). 0 to 60, 0 turns the warning off. Default 5.
	WarnDays int `yaml:"warn_days"`
	// ScanInterval is how often each reader is polled for a card.
	// 1ms to 100ms. Default 5ms.
	ScanInterval Duration `yaml:"scan_interval"`
	// RelayHold is how long a desk's relay stays on after a check-in.
	// Zero or more; 0 (the default) never switches relays.
	RelayHold Duration `yaml:"relay_hold"`
}

// Emulator configures the card emulator's HTTP endpoints, which exist only
// for emulated readers.
type Emulator struct {
	// Clock enables POST /api/v1/emulator/clock, which sets the gateway's
	// clock for demos and tests. Never enable it in a real centre.
	// Default false.
	Clock bool `yaml:"clock"`
}

// Reader is one desk: its card reader and its outputs. Fields marked
// mfrc522 or emulated are allowed only on readers of that kind.
type Reader struct {
	// ID names the reader: 1 to 32 of a-z, 0-9 and "-". Required, unique.
	ID string `yaml:"id"`
	// Seat is the seat the reader sits at, as the centre labels it.
	// Required, unique.
	Seat string `yaml:"seat"`
	// Zone groups seats (a room, a floor) for plans and reports. Required.
	Zone string `yaml:"zone"`
	// Kind is KindMFRC522 or KindEmulated. Required.
	Kind string `yaml:"kind"`

	// SPI (mfrc522, required) is the periph SPI port: "SPI0.0" or
	// "/dev/spidev0.0" (the same port; two readers cannot share it).
	SPI string `yaml:"spi,omitempty"`
	// IRQ (mfrc522, optional) is the GPIO the chip's IRQ line is wired to,
	// e.g. "GPIO25". Without it the reader is polled.
	IRQ string `yaml:"irq,omitempty"`
	// Reset (mfrc522, optional) is the GPIO wired to the chip's NRSTPD
	// line. Readers may share one reset line.
	Reset string `yaml:"reset,omitempty"`
	// SPIHz (mfrc522) is the SPI clock, 100000 to 10000000.
	// Default DefaultSPIHz (5 MHz).
	SPIHz int64 `yaml:"spi_hz,omitempty"`

	// Bus (emulated) names the emulated SPI bus; readers with the same bus
	// share it, as chips on one real bus do. Default DefaultBus ("emu0").
	Bus string `yaml:"bus,omitempty"`

	// Outputs are the desk's lights, buzzer and relay. Green and red are
	// required for mfrc522 readers; an emulated reader without them gets
	// emulated pins.
	Outputs Outputs `yaml:"outputs,omitempty"`
}

// Outputs name the GPIOs of a desk's outputs, e.g. "GPIO17". Buzzer and
// Relay are optional. No GPIO may be used twice in the file, except a reset
// line shared by several readers.
type Outputs struct {
	Green  string `yaml:"green,omitempty"`
	Red    string `yaml:"red,omitempty"`
	Buzzer string `yaml:"buzzer,omitempty"`
	Relay  string `yaml:"relay,omitempty"`
}

// Duration is a time.Duration written in YAML as a Go duration string:
// "250ms", "16h", "1h30m".
type Duration time.Duration

// String returns the duration in Go syntax, "16h0m0s".
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes the duration as String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Default returns the configuration with every default filled in and no
// centre, gateway or readers.
func Default() *Config {
	return &Config{
		DataDir:  "/var/lib/seatgate",
		Timezone: "Asia/Karachi",
		HTTP:     HTTP{Listen: "127.0.0.1:8080"},
		Policy: Policy{
			DailyCutoff:  "03:00",
			MaxSession:   Duration(16 * time.Hour),
			WarnDays:     5,
			ScanInterval: Duration(5 * time.Millisecond),
		},
		HQ: HQ{Retention: Duration(720 * time.Hour), BatchSize: 100, BatchesPerSecond: 20, DiskQuotaMB: 1024, MinFreeMB: 200},
		Firmware: Firmware{Backend: BackendSlots, Channel: "stable", Dwell: Duration(5 * time.Minute), StartJitter: Duration(30 * time.Second),
			Tryboot: Tryboot{BootDir: "/boot/firmware", DeviceTree: "/proc/device-tree"}},
	}
}

// Location loads c.Timezone.
func (c *Config) Location() (*time.Location, error) {
	return time.LoadLocation(c.Timezone)
}

// Cutoff returns DailyCutoff as an hour and minute.
func (p Policy) Cutoff() (hour, minute int, err error) {
	m := cutoffRE.FindStringSubmatch(p.DailyCutoff)
	if m == nil {
		return 0, 0, fmt.Errorf("daily cutoff %q is not HH:MM", p.DailyCutoff)
	}
	hour, _ = strconv.Atoi(m[1])
	minute, _ = strconv.Atoi(m[2])
	return hour, minute, nil
}
