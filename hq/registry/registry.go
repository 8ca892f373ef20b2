// Package registry keeps HQ's list of enrolled gateways: which gateways exist,
// in which centre, and the ed25519 device key each one signs its evidence with.
// It lives in the JetStream key-value bucket GATEWAYS, so every HQ instance
// sees the same list; each instance keeps a copy in memory, kept current by a
// watch, and answers ingest's key look-ups from it.
//
// Enrolment binds a device key to a gateway. Replacing the key of an enrolled
// gateway (a gateway whose storage was replaced) is a separate, explicit act:
// Enrol refuses it unless asked to replace, so a typo cannot silently re-key
// another centre's gateway.
package registry

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkfreelance/seatgate/hq/ingest"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// Bucket is the key-value bucket of enrolments; a key is "{centre}.{gateway}".
const Bucket = "GATEWAYS"

// Errors of Enrol and Remove.
var (
	ErrExists   = errors.New("gateway already enrolled with another device key")
	ErrNotFound = errors.New("gateway not enrolled")
	ErrInvalid  = errors.New("invalid enrolment")
)

// Gateway is one enrolment.
type Gateway struct {
	Centre     string    `json:"centre"`
	Gateway    string    `json:"gateway"`
	DeviceKey  []byte    `json:"device_key"` // ed25519 public key, 32 bytes (base64 in JSON)
	KeyID      string    `json:"key_id"`
	EnrolledAt time.Time `json:"enrolled_at"`
	Note       string    `json:"note,omitempty"` // free text for operators: address, installer
}

// Validate checks the IDs, the key and its id.
func (g Gateway) Validate() error {
	if _, err := wire.NewTopics(g.Centre, g.Gateway); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if len(g.DeviceKey) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: device key of %d bytes, want an ed25519 public key (%d bytes)", ErrInvalid, len(g.DeviceKey), ed25519.PublicKeySize)
	}
	if g.KeyID != wire.KeyID(g.DeviceKey) {
		return fmt.Errorf("%w: key id %q does not match the device key", ErrInvalid, g.KeyID)
	}
	if len(g.Note) > 200 {
		return fmt.Errorf("%w: note longer than 200 characters", ErrInvalid)
	}
	return nil
}

// Key is the gateway's key in the bucket.
func Key(centre, gateway string) string { return centre + "." + gateway }

// Registry is the enrolled gateways. It implements ingest.Registry. Its
// methods are safe for concurrent use.
type Registry struct {
	kv jetstream.KeyValue
	lg *slog.Logger

	mu       sync.RWMutex
	gateways map[string]Gateway
	onChange []func()
	synced   chan struct{}
}

var _ ingest.Registry = (*Registry)(nil)

// Open creates bucket GATEWAYS if missing (with replicas copies) and starts
// watching it until ctx is done. It returns once the copy in memory holds the
// whole bucket, or fails after SyncTimeout.
func Open(ctx context.Context, js jetstream.JetStream, replicas int, lg *slog.Logger) (*Registry, error) {
	if replicas == 0 {
		replicas = 1
	}
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	cctx, cancel := context.WithTimeout(ctx, SyncTimeout)
	defer cancel()
	kv, err := js.CreateOrUpdateKeyValue(cctx, jetstream.KeyValueConfig{
		Bucket: Bucket, History: 5, Replicas: replicas, Description: "enrolled gateways and their device keys",
	})
	if err != nil {
		return nil, fmt.Errorf("registry: bucket %s: %w", Bucket, err)
	}
	r := &Registry{kv: kv, lg: lg, gateways: map[string]Gateway{}, synced: make(chan struct{})}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("registry: watch %s: %w", Bucket, err)
	}
	go r.watch(ctx, w)
	select {
	case <-r.synced:
		return r, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(SyncTimeout):
		return nil, fmt.Errorf("registry: bucket %s not loaded after %v", Bucket, SyncTimeout)
	}
}

// SyncTimeout bounds how long Open waits for the bucket, and then for its
// content.
const SyncTimeout = 10 * time.Second

func (r *Registry) watch(ctx context.Context, w jetstream.KeyWatcher) {
	defer w.Stop()
	initial := true
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e == nil { // the end of the initial values
				if initial {
					initial = false
					close(r.synced)
				}
				continue
			}
			r.apply(e)
			if !initial {
				r.changed()
			}
		}
	}
}

func (r *Registry) apply(e jetstream.KeyValueEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.Operation() != jetstream.KeyValuePut {
		delete(r.gateways, e.Key())
		return
	}
	var g Gateway
	if err := json.Unmarshal(e.Value(), &g); err != nil || g.Validate() != nil || Key(g.Centre, g.Gateway) != e.Key() {
		r.lg.Error("registry: ignoring a corrupt enrolment", "key", e.Key())
		delete(r.gateways, e.Key())
		return
	}
	r.gateways[e.Key()] = g
}

func (r *Registry) changed() {
	r.mu.RLock()
	fs := slices.Clone(r.onChange)
	r.mu.RUnlock()
	for _, f := range fs {
		f()
	}
}

// OnChange registers f, called (from the watch goroutine) after every change
// made by any HQ instance once Open has returned.
func (r *Registry) OnChange(f func()) {
	r.mu.Lock()
	r.onChange = append(r.onChange, f)
	r.mu.Unlock()
}

// GatewayKey implements ingest.Registry.
func (r *Registry) GatewayKey(centre, gateway string) (ed25519.PublicKey, bool) {
	r.mu.RLock()
	g, ok := r.gateways[Key(centre, gateway)]
	r.mu.RUnlock()
	if !ok {
		return nil, false
	}
	return ed25519.PublicKey(g.DeviceKey), true
}

// Get returns one enrolment.
func (r *Registry) Get(centre, gateway string) (Gateway, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	g, ok := r.gateways[Key(centre, gateway)]
	return g, ok
}

// List returns the enrolled gateways of centre ("" for every centre),
// sorted by centre and gateway.
func (r *Registry) List(centre string) []Gateway {
	r.mu.RLock()
	out := make([]Gateway, 0, len(r.gateways))
	for _, g := range r.gateways {
		if centre == "" || g.Centre == centre {
			out = append(out, g)
		}
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b Gateway) int {
		return strings.Compare(Key(a.Centre, a.Gateway), Key(b.Centre, b.Gateway))
	})
	return out
}

// Enrol enrols gateway g (KeyID and EnrolledAt are filled in). Enrolling
// the same key again changes nothing and succeeds; another key for an
// enrolled gateway is refused with ErrExists unless replace is set. It waits
// until this instance's copy shows the change.
func (r *Registry) Enrol(ctx context.Context, g Gateway, replace bool) (Gateway, error) {
	g.KeyID = wire.KeyID(g.DeviceKey)
	if len(g.DeviceKey) != ed25519.PublicKeySize {
		g.KeyID = ""
	}
	if g.EnrolledAt.IsZero() {
		g.EnrolledAt = time.Now().UTC().Truncate(time.Second)
	}
	if err := g.Validate(); err != nil {
		return Gateway{}, err
	}
	key := Key(g.Centre, g.Gateway)
	data, err := json.Marshal(g)
	if err != nil {
		return Gateway{}, err
	}
	cur, err := r.kv.Get(ctx, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		_, err = r.kv.Create(ctx, key, data)
	case err != nil:
		return Gateway{}, fmt.Errorf("registry: read %s: %w", key, err)
	default:
		var old Gateway
		known := json.Unmarshal(cur.Value(), &old) == nil
		if known && old.KeyID == g.KeyID && old.Note == g.Note {
			return old, nil
		}
		if known && old.KeyID != g.KeyID && !replace {
			return Gateway{}, fmt.Errorf("%s/%s: %w (enrolled key %s, given %s); replace it explicitly if the gateway's storage was replaced", g.Centre, g.Gateway, ErrExists, old.KeyID, g.KeyID)
		}
		_, err = r.kv.Update(ctx, key, data, cur.Revision())
	}
	if err != nil {
		return Gateway{}, fmt.Errorf("registry: enrol %s: %w", key, err)
	}
	return g, r.waitFor(ctx, func() bool {
		cur, ok := r.Get(g.Centre, g.Gateway)
		return ok && cur.KeyID == g.KeyID
	})
}

// Remove withdraws a gateway's enrolment: HQ stops accepting its evidence,
// and the broker its connections.
func (r *Registry) Remove(ctx context.Context, centre, gateway string) error {
	if _, ok := r.Get(centre, gateway); !ok {
		return fmt.Errorf("%s/%s: %w", centre, gateway, ErrNotFound)
	}
	if err := r.kv.Delete(ctx, Key(centre, gateway)); err != nil {
		return fmt.Errorf("registry: remove %s/%s: %w", centre, gateway, err)
	}
	return r.waitFor(ctx, func() bool { _, ok := r.Get(centre, gateway); return !ok })
}

func (r *Registry) waitFor(ctx context.Context, cond func() bool) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("registry: waiting for the change to show: %w", ctx.Err())
		case <-t.C:
		}
	}
	return nil
}
