package rollout

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkfreelance/seatgate/sync/wire"
)

// Bucket is the key-value bucket of rollouts. A rollout's key is its ID;
// the key "channel.{hex of the channel}" names the rollout that holds the
// channel (the last one started on it), so that two HQ instances cannot
// start two rollouts on one channel at once and Tick reads only the
// rollouts that may still change.
const Bucket = "ROLLOUTS"

// maxAttempts bounds the compare-and-set retries of one change.
const maxAttempts = 20

// Store keeps rollouts in bucket ROLLOUTS, shared by every HQ instance.
// Every change is a compare-and-set on the rollout's revision, so
// instances never undo each other's changes. Its methods are safe for
// concurrent use.
type Store struct {
	kv       jetstream.KeyValue
	maxValue int // bytes a record may have: the server's max payload, less room for headers
}

// NewStore creates bucket ROLLOUTS if missing, with replicas copies (0
// means 1).
func NewStore(ctx context.Context, js jetstream.JetStream, replicas int) (*Store, error) {
	if replicas == 0 {
		replicas = 1
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: Bucket, History: 1, Replicas: replicas, Description: "firmware rollouts: spec, state, cohort, assignments, counts",
	})
	if err != nil {
		return nil, fmt.Errorf("rollout: bucket %s: %w", Bucket, err)
	}
	s := &Store{kv: kv}
	if nc := js.Conn(); nc != nil && nc.MaxPayload() > 0 {
		s.maxValue = int(nc.MaxPayload()) - 4096
	}
	return s, nil
}

func claimKey(channel string) string { return "channel." + hex.EncodeToString([]byte(channel)) }

// Start starts a rollout of spec (defaults filled in) at now. It refuses,
// with ErrConflict, an ID already used (even by a finished rollout) and a
// channel on which another rollout is running or paused; with ErrInvalid,
// a spec that is not valid.
func (s *Store) Start(ctx context.Context, spec Spec, now time.Time) (Status, error) {
	st, err := NewStatus(spec, now)
	if err != nil {
		return Status{}, err
	}
	id := st.Spec.ID
	data, err := s.encode(st)
	if err != nil {
		return Status{}, err
	}
	// The record first, then the claim: a claim always names a rollout
	// that exists, and the loser of a race for the channel removes its
	// record again.
	rev, err := s.kv.Create(ctx, id, data)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return Status{}, fmt.Errorf("%w: rollout %s already exists", ErrConflict, id)
	}
	if err != nil {
		return Status{}, fmt.Errorf("rollout %s: create: %w", id, err)
	}
	if err := s.claim(ctx, st.Spec.Channel, id); err != nil {
		if derr := s.kv.Delete(ctx, id, jetstream.LastRevision(rev)); derr != nil {
			err = errors.Join(err, fmt.Errorf("rollout %s: remove the record again: %w", id, derr))
		}
		return Status{}, err
	}
	return st, nil
}

// claim makes id the holder of channel, unless a rollout that is not
// finished holds it.
func (s *Store) claim(ctx context.Context, channel, id string) error {
	key := claimKey(channel)
	for range maxAttempts {
		e, err := s.kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			_, err = s.kv.Create(ctx, key, []byte(id))
		} else if err == nil {
			holder := string(e.Value())
			other, _, gerr := s.get(ctx, holder)
			switch {
			case gerr == nil && !other.State.Final():
				return fmt.Errorf("%w: rollout %s is %s on channel %q; abort it or let it complete first", ErrConflict, holder, other.State, channel)
			case gerr != nil && !errors.Is(gerr, ErrNotFound):
				return fmt.Errorf("rollout %s: channel %q: %w", id, channel, gerr)
			}
			_, err = s.kv.Update(ctx, key, []byte(id), e.Revision())
		}
		if err == nil {
			return nil
		}
		if !isRevisionMismatch(err) {
			return fmt.Errorf("rollout %s: claim channel %q: %w", id, channel, err)
		}
	}
	return fmt.Errorf("%w: rollout %s: channel %q kept changing", ErrConflict, id, channel)
}

// release frees channel if id holds it. It is tidiness only (Start takes
// over the claim of a finished rollout), so its errors are ignored.
func (s *Store) release(ctx context.Context, channel, id string) {
	key := claimKey(channel)
	if e, err := s.kv.Get(ctx, key); err == nil && string(e.Value()) == id {
		_ = s.kv.Delete(ctx, key, jetstream.LastRevision(e.Revision()))
	}
}

func isRevisionMismatch(err error) bool {
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}

func (s *Store) encode(st Status) ([]byte, error) {
	data, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("rollout %s: encode: %w", st.Spec.ID, err)
	}
	if s.maxValue > 0 && len(data) > s.maxValue {
		return nil, fmt.Errorf("rollout %s: record of %d bytes is over the server's limit of %d (%d gateways assigned)",
			st.Spec.ID, len(data), s.maxValue, len(st.Assigned))
	}
	return data, nil
}

// get reads a rollout and its revision.
func (s *Store) get(ctx context.Context, id string) (Status, uint64, error) {
	if !wire.ValidID(id) {
		return Status{}, 0, fmt.Errorf("%w: rollout id %.40q: want 1 to 32 characters of a-z, 0-9 and '-'", ErrInvalid, id)
	}
	e, err := s.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Status{}, 0, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return Status{}, 0, fmt.Errorf("rollout %s: read: %w", id, err)
	}
	st, err := decode(e)
	return st, e.Revision(), err
}

func decode(e jetstream.KeyValueEntry) (Status, error) {
	var st Status
	if err := json.Unmarshal(e.Value(), &st); err != nil {
		return Status{}, fmt.Errorf("rollout %s: corrupt record (revision %d): %w", e.Key(), e.Revision(), err)
	}
	return st, nil
}

// update applies f to rollout id and saves the result, with
// compare-and-set, reading again and re-applying f on a conflict.
func (s *Store) update(ctx context.Context, id string, f func(Status) (Status, error)) (Status, error) {
	for range maxAttempts {
		old, rev, err := s.get(ctx, id)
		if err != nil {
			return Status{}, err
		}
		st, err := f(old)
		if err != nil {
			return Status{}, err
		}
		data, err := s.encode(st)
		if err != nil {
			return Status{}, err
		}
		_, err = s.kv.Update(ctx, id, data, rev)
		if err == nil {
			if st.State.Final() {
				s.release(ctx, st.Spec.Channel, id)
			}
			return st, nil
		}
		if !isRevisionMismatch(err) {
			return Status{}, fmt.Errorf("rollout %s: save: %w", id, err)
		}
	}
	return Status{}, fmt.Errorf("%w: rollout %s kept changing under us", ErrConflict, id)
}

// Pause pauses a running rollout (Status.Pause).
func (s *Store) Pause(ctx context.Context, id, reason string) (Status, error) {
	return s.update(ctx, id, func(st Status) (Status, error) { return st.Pause(reason) })
}

// Resume resumes a paused rollout, acknowledging its failures
// (Status.Resume).
func (s *Store) Resume(ctx context.Context, id string) (Status, error) {
	return s.update(ctx, id, Status.Resume)
}

// Abort ends a running or paused rollout for good (Status.Abort).
func (s *Store) Abort(ctx context.Context, id string) (Status, error) {
	return s.update(ctx, id, Status.Abort)
}

// Get returns one rollout, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (Status, error) {
	st, _, err := s.get(ctx, id)
	return st, err
}

// List returns every rollout, the latest started first.
func (s *Store) List(ctx context.Context) ([]Status, error) {
	var out []Status
	err := s.each(ctx, "*", func(e jetstream.KeyValueEntry) error {
		st, err := decode(e)
		if err != nil {
			return err
		}
		out = append(out, st)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Status) int {
		if c := b.Started.Compare(a.Started); c != 0 {
			return c
		}
		return strings.Compare(a.Spec.ID, b.Spec.ID)
	})
	return out, nil
}

// each calls f for every key matching filter, as the bucket holds it now.
func (s *Store) each(ctx context.Context, filter string, f func(jetstream.KeyValueEntry) error) error {
	w, err := s.kv.WatchFiltered(ctx, []string{filter}, jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("rollout: list %s: %w", Bucket, err)
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("rollout: list %s: %w", Bucket, ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("rollout: list %s: the watch ended", Bucket)
			}
			if e == nil { // every key seen
				return nil
			}
			if err := f(e); err != nil {
				return err
			}
		}
	}
}

// Tick steps every running or paused rollout (Step) against the fleet at
// now, saves what changed with compare-and-set (on a conflict it reads
// the rollout again and steps that), then calls assign for each gateway
// to assign, with the status saved. fleet is called once, and only when
// there is a rollout to step.
//
// Run it every ten seconds or so on every HQ instance: instances ticking
// at once never advance a cohort twice nor lose an assignment, and a
// gateway is assigned by one of them. An error of one rollout, or of
// assign, does not stop the others; Tick returns them all.
func (s *Store) Tick(ctx context.Context, now time.Time, fleet func() []GatewayView, assign func(Status, GatewayRef) error) error {
	var ids []string
	err := s.each(ctx, "channel.>", func(e jetstream.KeyValueEntry) error {
		ids = append(ids, string(e.Value()))
		return nil
	})
	if err != nil || len(ids) == 0 {
		return err
	}
	slices.Sort(ids)
	var views []GatewayView
	var errs []error
	for i, id := range ids {
		if i > 0 && id == ids[i-1] {
			continue
		}
		st, todo, err := s.step(ctx, id, now, func() []GatewayView {
			if views == nil {
				views = fleet()
			}
			return views
		})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, ref := range todo {
			if err := assign(st, ref); err != nil {
				errs = append(errs, fmt.Errorf("rollout %s: assign %s: %w", id, ref, err))
			}
		}
	}
	return errors.Join(errs...)
}

// step steps rollout id once, saving the result if it changed.
func (s *Store) step(ctx context.Context, id string, now time.Time, fleet func() []GatewayView) (Status, []GatewayRef, error) {
	for range maxAttempts {
		old, rev, err := s.get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return Status{}, nil, nil // a claim left by a failed Start
		}
		if err != nil {
			return Status{}, nil, err
		}
		if old.State.Final() {
			s.release(ctx, old.Spec.Channel, id)
			return old, nil, nil
		}
		st, todo := Step(old, fleet(), now)
		if len(todo) == 0 && !s.changed(old, st) {
			return st, nil, nil
		}
		data, err := s.encode(st)
		if err != nil {
			return Status{}, nil, err
		}
		_, err = s.kv.Update(ctx, id, data, rev)
		if err == nil {
			if st.State.Final() {
				s.release(ctx, st.Spec.Channel, id)
			}
			return st, todo, nil
		}
		if !isRevisionMismatch(err) {
			return Status{}, nil, fmt.Errorf("rollout %s: save: %w", id, err)
		}
	}
	return Status{}, nil, fmt.Errorf("%w: rollout %s kept changing under us", ErrConflict, id)
}

// changed reports whether b differs from a in more than the time it was
// stepped: only then is it worth a write.
func (s *Store) changed(a, b Status) bool {
	a.Updated, b.Updated = time.Time{}, time.Time{}
	ja, erra := json.Marshal(a)
	jb, errb := json.Marshal(b)
	return erra != nil || errb != nil || !bytes.Equal(ja, jb)
}
