package dashboard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/hq/fleet"
	"github.com/pkfreelance/seatgate/hq/internal/ratelog"
	"github.com/pkfreelance/seatgate/hq/ledger"
	"github.com/pkfreelance/seatgate/hq/registry"
	"github.com/pkfreelance/seatgate/hq/rollout"
	sse "github.com/pkfreelance/seatgate/web/live"
)

// Fleet is the live state of the gateways; *fleet.Tracker implements it.
type Fleet interface {
	// Gateways returns the live state of every gateway heard from in
	// centre ("" for all).
	Gateways(centre string) []fleet.Gateway
}

// Ledger is the seat-hours ledger; *ledger.Ledger implements it.
type Ledger interface {
	Query(ctx context.Context, centre string, from, to access.Date) ([]ledger.Day, error)
}

// Rollouts are the firmware rollouts; *rollout.Store implements it.
type Rollouts interface {
	List(ctx context.Context) ([]rollout.Status, error)
}

// Registry is the enrolled gateways; *registry.Registry implements it.
type Registry interface {
	List(centre string) []registry.Gateway
}

// ChangeNotifier is implemented by a Fleet or Registry that can say when
// it changed (*registry.Registry does); the open pages are then updated
// at once rather than at their next poll.
type ChangeNotifier interface {
	OnChange(f func())
}

// Compile-time checks that HQ's parts are what the dashboard reads.
var (
	_ Fleet          = (*fleet.Tracker)(nil)
	_ Ledger         = (*ledger.Ledger)(nil)
	_ Rollouts       = (*rollout.Store)(nil)
	_ Registry       = (*registry.Registry)(nil)
	_ ChangeNotifier = (*registry.Registry)(nil)
)

// Options wire a Dashboard. Fleet, Ledger, Rollouts, Registry and
// SecretsDir are required.
type Options struct {
	Fleet    Fleet
	Ledger   Ledger
	Rollouts Rollouts
	Registry Registry
	// SecretsDir holds the operator accounts (UsersFile).
	SecretsDir string
	// CentresFile is the centres file (format in the package
	// documentation), read at New and again when it changes. Empty, or a
	// file that does not exist: every centre is unassigned.
	CentresFile string
	Logger      *slog.Logger
	// Now is the clock of sessions, the login limit and "today";
	// time.Now when nil.
	Now func() time.Time
	// PushEvery is how often an open page's stream looks for changes;
	// 1 s when zero.
	PushEvery time.Duration
}

// Dashboard is HQ's analysts' dashboard. Create it with New, serve
// Handler, and call Close when the HTTP server shuts down (it ends the
// live streams, which would otherwise hold Shutdown up).
type Dashboard struct {
	o       Options
	log     *slog.Logger
	rlog    *ratelog.Log // for what every open page would log every second
	auth    *auth
	centres *centresSource
	cache   *cache
	hub     *sse.Hub
	closed  chan struct{}
	close   sync.Once
}

// New checks o, reads the centres file and returns the dashboard.
func New(o Options) (*Dashboard, error) {
	switch {
	case o.Fleet == nil:
		return nil, errors.New("dashboard: Options.Fleet is required")
	case o.Ledger == nil:
		return nil, errors.New("dashboard: Options.Ledger is required")
	case o.Rollouts == nil:
		return nil, errors.New("dashboard: Options.Rollouts is required")
	case o.Registry == nil:
		return nil, errors.New("dashboard: Options.Registry is required")
	case o.SecretsDir == "":
		return nil, errors.New("dashboard: Options.SecretsDir is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PushEvery <= 0 {
		o.PushEvery = time.Second
	}
	d := &Dashboard{
		o: o, log: o.Logger, rlog: ratelog.New(o.Logger, time.Minute), auth: newAuth(o.SecretsDir, o.Now, o.Logger),
		centres: &centresSource{path: o.CentresFile, now: o.Now, log: o.Logger},
		cache:   newCache(), hub: sse.NewHub(maxStreams), closed: make(chan struct{}),
	}
	if err := d.centres.load(); err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	for _, x := range []any{o.Fleet, o.Registry} {
		if n, ok := x.(ChangeNotifier); ok {
			n.OnChange(d.Notify)
		}
	}
	return d, nil
}

// Notify tells the open pages that something changed, so they update now
// rather than at their next poll. It never blocks.
func (d *Dashboard) Notify() { d.hub.Notify() }

// Close ends the live streams. The handler keeps serving pages.
func (d *Dashboard) Close() { d.close.Do(func() { close(d.closed) }) }

// centresReload is how often the centres file is looked at for changes.
const centresReload = 10 * time.Second

// centresSource is the centres file, read again when it changes.
type centresSource struct {
	path string
	now  func() time.Time
	log  *slog.Logger

	mu      sync.Mutex
	checked time.Time
	modTime time.Time
	size    int64
	c       *Centres
}

// load reads the file if it changed since the last time: a missing file
// is no centre; a bad one is an error, and the centres read before stay.
func (s *centresSource) load() error {
	if s.path == "" {
		return nil
	}
	fi, err := os.Stat(s.path)
	if errors.Is(err, os.ErrNotExist) {
		s.c, s.modTime, s.size = nil, time.Time{}, 0
		return nil
	}
	if err != nil {
		return fmt.Errorf("centres: %w", err)
	}
	if s.c != nil && fi.ModTime().Equal(s.modTime) && fi.Size() == s.size {
		return nil
	}
	c, err := LoadCentres(s.path)
	if err != nil {
		return err
	}
	s.c, s.modTime, s.size = c, fi.ModTime(), fi.Size()
	return nil
}

// get returns the centres, reading the file again when it changed and it
// was last looked at more than centresReload ago.
func (s *centresSource) get() *Centres {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now := s.now(); now.Sub(s.checked) >= centresReload || now.Before(s.checked) {
		s.checked = now
		if err := s.load(); err != nil {
			s.log.Error("dashboard: centres file not reloaded; keeping the centres read before", "err", err)
		}
	}
	return s.c
}
