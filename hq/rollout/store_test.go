package rollout_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/hq/ingest/ingesttest"
	"github.com/pkfreelance/seatgate/hq/rollout"
)

// startStores starts an embedded HQ broker and opens n Stores on it, each
// over its own connection, as n HQ instances would.
func startStores(t *testing.T, n int) (context.Context, []*rollout.Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	p := ingesttest.NewPKI(t)
	b := ingesttest.StartBroker(t, p.BrokerOptions(t))
	var stores []*rollout.Store
	for range n {
		_, js := ingesttest.Connect(t, b.ClientURL())
		s, err := rollout.NewStore(ctx, js, 1)
		if err != nil {
			t.Fatal(err)
		}
		stores = append(stores, s)
	}
	return ctx, stores
}

func TestStoreStartAndStateRules(t *testing.T) {
	ctx, stores := startStores(t, 2)
	a, b := stores[0], stores[1]
	wantErr := func(what string, err, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Fatalf("%s: %v, want %v", what, err, want)
		}
	}

	st, err := a.Start(ctx, spec("r-1", ref("lhr-01/gw-1")), t0)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != rollout.StateRunning || st.Spec.SuccessThreshold != rollout.DefaultSuccessThreshold || !slices.Equal(st.Spec.Percentages, []int{5, 25, 100}) {
		t.Fatalf("started %+v: want running, with the defaults filled in", st)
	}
	if got, err := b.Get(ctx, "r-1"); err != nil || got.State != rollout.StateRunning || got.Spec.Canary[0] != ref("lhr-01/gw-1") || !got.Started.Equal(t0) {
		t.Fatalf("another instance reads %+v, %v", got, err)
	}
	_, err = b.Start(ctx, spec("r-1"), t0)
	wantErr("the same ID again", err, rollout.ErrConflict)
	_, err = b.Start(ctx, spec("r-2"), t0)
	wantErr("a second rollout on the channel", err, rollout.ErrConflict)
	_, err = a.Get(ctx, "r-2")
	wantErr("the refused rollout", err, rollout.ErrNotFound)
	_, err = a.Get(ctx, "R-2")
	wantErr("an invalid ID", err, rollout.ErrInvalid)
	bad := spec("r-9")
	bad.Percentages = []int{50}
	_, err = a.Start(ctx, bad, t0)
	wantErr("an invalid spec", err, rollout.ErrInvalid)

	if st, err = b.Pause(ctx, "r-1", "waiting for the vendor"); err != nil || st.State != rollout.StatePaused || st.Reason != "waiting for the vendor" {
		t.Fatalf("pause: %+v, %v", st, err)
	}
	_, err = a.Pause(ctx, "r-1", "")
	wantErr("pausing a paused rollout", err, rollout.ErrConflict)
	_, err = a.Start(ctx, spec("r-2"), t0)
	wantErr("a second rollout on the channel of a paused one", err, rollout.ErrConflict)
	beta := spec("r-3")
	beta.Channel = "beta"
	if _, err := a.Start(ctx, beta, t0.Add(time.Minute)); err != nil {
		t.Fatalf("a rollout on another channel: %v", err)
	}

	if st, err = a.Resume(ctx, "r-1"); err != nil || st.State != rollout.StateRunning || st.Reason != "" {
		t.Fatalf("resume: %+v, %v", st, err)
	}
	_, err = a.Resume(ctx, "r-1")
	wantErr("resuming a running rollout", err, rollout.ErrConflict)
	if st, err = b.Abort(ctx, "r-1"); err != nil || st.State != rollout.StateAborted {
		t.Fatalf("abort: %+v, %v", st, err)
	}
	for name, act := range map[string]func() (rollout.Status, error){
		"abort":  func() (rollout.Status, error) { return a.Abort(ctx, "r-1") },
		"resume": func() (rollout.Status, error) { return a.Resume(ctx, "r-1") },
		"pause":  func() (rollout.Status, error) { return a.Pause(ctx, "r-1", "") },
	} {
		_, err := act()
		wantErr(name+" an aborted rollout", err, rollout.ErrConflict)
	}
	_, err = a.Abort(ctx, "r-7")
	wantErr("aborting an unknown rollout", err, rollout.ErrNotFound)

	// The channel is free again.
	if _, err := b.Start(ctx, spec("r-2"), t0.Add(2*time.Minute)); err != nil {
		t.Fatalf("a new rollout after the abort: %v", err)
	}
	list, err := a.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, st := range list {
		ids = append(ids, st.Spec.ID+":"+string(st.State))
	}
	if want := []string{"r-2:running", "r-3:running", "r-1:aborted"}; !slices.Equal(ids, want) {
		t.Fatalf("list %v, want %v (latest first)", ids, want)
	}
}

func TestStoreTickRunsARolloutOnASimulatedFleet(t *testing.T) {
	ctx, stores := startStores(t, 1)
	store := stores[0]
	s := newSim(200, 10)
	canaries := []string{"c00/gw-000", "c01/gw-001"}
	s.set(canaries[0], func(g *simGateway) { g.does = rollsBack })
	if _, err := store.Start(ctx, spec("r-1", ref(canaries[0]), ref(canaries[1])), t0); err != nil {
		t.Fatal(err)
	}
	now := t0
	tick := func() rollout.Status {
		t.Helper()
		now = now.Add(10 * time.Second)
		if err := store.Tick(ctx, now, s.fleet, s.assign); err != nil {
			t.Fatal(err)
		}
		s.progress(now)
		st, err := store.Get(ctx, "r-1")
		if err != nil {
			t.Fatal(err)
		}
		checkCounts(t, st)
		return st
	}

	tick()
	if keys, _ := s.sent(); !slices.Equal(keys, canaries) {
		t.Fatalf("first tick sent to %v, want the canaries", keys)
	}
	tick()
	st := tick()
	if st.State != rollout.StatePaused || !strings.Contains(st.Reason, "canary "+canaries[0]) {
		t.Fatalf("canary rolled back: state %s (%s), want paused naming it", st.State, st.Reason)
	}
	for range 5 {
		tick()
	}
	if keys, _ := s.sent(); !slices.Equal(keys, canaries) {
		t.Fatalf("sent to %v while paused, want only the canaries", keys)
	}

	// The fix: the canary retries and commits; then the operator resumes.
	s.set(canaries[0], func(g *simGateway) {
		g.does = commits
		g.view.Phase, g.view.LastReport = rollout.PhaseDownloading, now
	})
	if _, err := store.Resume(ctx, "r-1"); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if st = tick(); st.State != rollout.StateRunning {
			break
		}
	}
	if st.State != rollout.StateCompleted || st.Counts.Succeeded != 200 || st.Cohort != 3 {
		t.Fatalf("after resuming: state %s (%s), cohort %d, counts %+v; want completed, 200 succeeded", st.State, st.Reason, st.Cohort, st.Counts)
	}
	if keys, total := s.sent(); len(keys) != 200 || total != 200 {
		t.Fatalf("%d gateways sent %d assignments, want each of 200 once", len(keys), total)
	}
	if _, err := store.Start(ctx, spec("r-2"), now); err != nil {
		t.Fatalf("a new rollout once the last completed: %v", err)
	}
}

func TestConcurrentTicksAdvanceACohortOnce(t *testing.T) {
	ctx, stores := startStores(t, 2)
	s := newSim(200, 10)
	canary := "c00/gw-000"
	if _, err := stores[0].Start(ctx, spec("r-1", ref(canary)), t0); err != nil {
		t.Fatal(err)
	}
	if err := stores[1].Tick(ctx, t0, s.fleet, s.assign); err != nil {
		t.Fatal(err)
	}
	s.progress(t0)
	s.progress(t0) // the canary committed

	now := t0.Add(10 * time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() { errs <- stores[i%2].Tick(ctx, now, s.fleet, s.assign) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st, err := stores[0].Get(ctx, "r-1")
	if err != nil {
		t.Fatal(err)
	}
	want := append(s.inRange(0, 5, canary), canary)
	slices.Sort(want)
	keys, total := s.sent()
	if st.Cohort != 1 || !slices.Equal(keys, want) || total != len(want) {
		t.Fatalf("8 concurrent ticks: cohort %d, %d gateways sent %d assignments; want cohort 1, each of %d once", st.Cohort, len(keys), total, len(want))
	}
	var assigned []string
	for k := range st.Assigned {
		assigned = append(assigned, k)
	}
	slices.Sort(assigned)
	if !slices.Equal(assigned, want) {
		t.Fatalf("assigned %v, want %v", assigned, want)
	}
}

func TestTickWithoutRolloutsDoesNotAskForTheFleet(t *testing.T) {
	ctx, stores := startStores(t, 1)
	asked := false
	fleet := func() []rollout.GatewayView { asked = true; return newSim(5, 1).fleet() }
	if err := stores[0].Tick(ctx, t0, fleet, nil); err != nil || asked {
		t.Fatalf("tick with no rollout: %v, fleet asked: %v", err, asked)
	}
	if _, err := stores[0].Start(ctx, spec("r-1"), t0); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[0].Abort(ctx, "r-1"); err != nil {
		t.Fatal(err)
	}
	if err := stores[0].Tick(ctx, t0, fleet, nil); err != nil || asked {
		t.Fatalf("tick with an aborted rollout only: %v, fleet asked: %v", err, asked)
	}
}

func TestCorruptRecordIsReported(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := ingesttest.NewPKI(t)
	b := ingesttest.StartBroker(t, p.BrokerOptions(t))
	_, js := ingesttest.Connect(t, b.ClientURL())
	store, err := rollout.NewStore(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, rollout.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "r-1", []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Get(ctx, "r-1"); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("corrupt record: %v", err)
	}
	if _, err := store.List(ctx); err == nil {
		t.Fatal("list with a corrupt record: no error")
	}
}
