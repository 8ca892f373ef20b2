package e2e_test

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/access/store"
)

var karachi = func() *time.Location {
	l, err := time.LoadLocation("Asia/Karachi")
	if err != nil {
		panic(err)
	}
	return l
}()

// snapshot is a membership snapshot valid around now: n flexible members
// with cards C0000001.., plus an expired member, a suspended one and a
// night-shift one.
func snapshot(n int) string {
	today := time.Now().In(karachi)
	day := func(off int) string { return today.AddDate(0, 0, off).Format("2006-01-02") }
	var ms []string
	for i := 1; i <= n; i++ {
		ms = append(ms, fmt.Sprintf(`{"id":"m-%03d","name":"Member %d","status":"active","plan":"flex","valid_from":%q,"valid_until":%q,"seats":{"kind":"any"},"cards":[{"uid":"C%07X","revoked":false}]}`,
			i, i, day(-10), day(30), i))
	}
	ms = append(ms,
		fmt.Sprintf(`{"id":"m-expired","name":"Sana Malik","status":"active","plan":"flex","valid_from":%q,"valid_until":%q,"seats":{"kind":"any"},"cards":[{"uid":"0A0B0C0D","revoked":false}]}`, day(-90), day(-10)),
		fmt.Sprintf(`{"id":"m-suspended","name":"Mariam Iqbal","status":"suspended","plan":"flex","valid_from":%q,"valid_until":%q,"seats":{"kind":"any"},"cards":[{"uid":"1234ABCD","revoked":false}]}`, day(-3), day(27)),
		fmt.Sprintf(`{"id":"m-night","name":"Zain Raza","status":"active","plan":"night","valid_from":%q,"valid_until":%q,"seats":{"kind":"any"},"cards":[{"uid":"04C1C2C3C4C5C6","revoked":false},{"uid":"DEAD0042","revoked":true}]}`, day(-10), day(50)),
	)
	return fmt.Sprintf(`{"centre":"e2e-centre","revision":1,"generated_at":%q,
"plans":[{"id":"flex","name":"Flexible","days":[],"windows":[],"grace_days":3,"price_pkr":3500},
{"id":"night","name":"Night shift","days":[],"windows":[{"start":"20:00","end":"06:00"}],"grace_days":0,"price_pkr":3000}],
"members":[%s]}`, today.Format(time.RFC3339), strings.Join(ms, ",\n"))
}

func TestTapThroughTheAPI(t *testing.T) {
	g := newGW(t)
	g.importMembers(snapshot(5))
	g.start()

	steps := []struct {
		reader, uid           string
		outcome, reason, seat string
	}{
		{"desk-1", "C0000001", "checkin", "", "A-01"},
		{"desk-2", "C0000002", "checkin", "", "A-02"},
		{"desk-2", "C0000001", "deny", "seat_taken", "A-02"},
		{"desk-3", "C0000001", "move", "", "A-03"},
		{"desk-3", "C0000001", "checkout", "", "A-03"},
		{"desk-1", "FFEE0001", "deny", "unknown_card", "A-01"},
		{"desk-1", "0A0B0C0D", "deny", "plan_expired", "A-01"},
		{"desk-1", "1234ABCD", "deny", "member_suspended", "A-01"},
		{"desk-1", "DEAD0042", "deny", "card_revoked", "A-01"},
		{"desk-4", "c0:00:00:03", "checkin", "", "B-01"}, // any UID spelling
	}
	for i, s := range steps {
		got := g.tap(s.reader, s.uid)
		if got.Outcome != s.outcome || got.Reason != s.reason || got.Seat != s.seat {
			t.Fatalf("step %d: tap %s at %s = %+v, want %s/%s at %s", i, s.uid, s.reader, got, s.outcome, s.reason, s.seat)
		}
		if got.Seq != uint64(i+1) {
			t.Errorf("step %d: seq = %d, want %d", i, got.Seq, i+1)
		}
	}

	var seats []struct {
		Seat, State, Member string
		Since               *time.Time
	}
	if _, err := g.call("GET", "/api/v1/seats", nil, &seats); err != nil {
		t.Fatal(err)
	}
	occupied := map[string]string{}
	for _, s := range seats {
		if s.State == "occupied" {
			occupied[s.Seat] = s.Member
			if s.Since == nil {
				t.Errorf("occupied seat %s has no since", s.Seat)
			}
		}
	}
	want := map[string]string{"A-02": "m-002", "B-01": "m-003"}
	if fmt.Sprint(occupied) != fmt.Sprint(want) {
		t.Errorf("occupied seats = %v, want %v", occupied, want)
	}

	evs := g.events()
	if len(evs) != len(steps) {
		t.Fatalf("%d events, want %d", len(evs), len(steps))
	}
	for i, e := range evs {
		if e.Seq != uint64(i+1) || e.Kind != steps[i].outcome || e.Reason != steps[i].reason {
			t.Errorf("event %d = %+v, want seq %d %s/%s", i, e, i+1, steps[i].outcome, steps[i].reason)
		}
	}

	// The desk shows the outcome: after a refusal the red LED is on.
	g.tap("desk-5", "FFEE0002")
	var view struct {
		Green, Red bool
		Pattern    string
		Cards      []string
	}
	if _, err := g.call("GET", "/api/v1/emulator/readers/desk-5", nil, &view); err != nil {
		t.Fatal(err)
	}
	if !view.Red || view.Green || view.Pattern != "refused_unknown" || len(view.Cards) != 0 {
		t.Errorf("desk-5 after an unknown card shows %+v, want red only, refused_unknown, no cards", view)
	}

	// Bad requests get clear errors.
	for _, c := range []struct {
		method, path string
		body         any
		code         int
	}{
		{"POST", "/api/v1/emulator/readers/desk-9/tap", map[string]string{"uid": "C0000001"}, 404},
		{"POST", "/api/v1/emulator/readers/desk-1/tap", map[string]string{"uid": "C00001"}, 400},
		{"POST", "/api/v1/emulator/readers/desk-1/tap", map[string]string{"card": "C0000001"}, 400},
		{"GET", "/api/v1/events?after=x", nil, 400},
		{"POST", "/api/v1/emulator/clock", map[string]string{"now": "yesterday"}, 400},
	} {
		code, err := g.call(c.method, c.path, c.body, nil)
		if code != c.code || err == nil || !strings.Contains(err.Error(), `"error"`) {
			t.Errorf("%s %s: code %d err %v, want %d with an error body", c.method, c.path, code, err, c.code)
		}
	}
	// Prometheus metrics count the taps by outcome and time them.
	resp, err := client.Get(g.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`seatgate_taps_total{outcome="checkin",reason=""}`, `seatgate_tap_decision_seconds_count`,
		`seatgate_readers 6`, `seatgate_build_info{version="e2e-test"} 1`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if err := g.stop(); err != nil {
		t.Errorf("SIGTERM: exit %v, want 0", err)
	}
}

func TestHeldCardsAndEmulatedClock(t *testing.T) {
	g := newGW(t)
	g.importMembers(snapshot(3))
	g.start()

	// A card left on the desk checks in once.
	if _, err := g.call("POST", "/api/v1/emulator/readers/desk-1/cards", map[string]string{"uid": "C0000001"}, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if _, err := g.call("DELETE", "/api/v1/emulator/readers/desk-1/cards/C0000001", nil, nil); err != nil {
		t.Fatal(err)
	}
	evs := g.events()
	if len(evs) != 1 || evs[0].Kind != "checkin" {
		t.Fatalf("events after holding a card 0.5 s = %+v, want one checkin", evs)
	}
	// Two cards at once: both are seen, one after the other.
	g.call("POST", "/api/v1/emulator/readers/desk-2/cards", map[string]string{"uid": "C0000002"}, nil)
	g.call("POST", "/api/v1/emulator/readers/desk-2/cards", map[string]string{"uid": "C0000003"}, nil)
	time.Sleep(300 * time.Millisecond)
	evs = g.events()
	if len(evs) != 3 || evs[1].Kind != "checkin" || evs[2].Kind != "deny" || evs[2].Reason != "seat_taken" {
		t.Fatalf("events after two cards on desk-2 = %+v, want a checkin and a seat_taken", evs)
	}

	// The night plan (20:00–06:00) is refused at noon and accepted at 23:00
	// (tomorrow: the clock may only move forward, see below).
	y, m, d := time.Now().In(karachi).Date()
	noon := time.Date(y, m, d+1, 12, 0, 0, 0, karachi)
	if _, err := g.call("POST", "/api/v1/emulator/clock", map[string]string{"now": noon.Format(time.RFC3339)}, nil); err != nil {
		t.Fatal(err)
	}
	if r := g.tap("desk-4", "04C1C2C3C4C5C6"); r.Outcome != "deny" || r.Reason != "outside_hours" {
		t.Errorf("night plan at noon: %+v, want deny outside_hours", r)
	}
	late := noon.Add(11 * time.Hour)
	g.call("POST", "/api/v1/emulator/clock", map[string]string{"now": late.Format(time.RFC3339)}, nil)
	if r := g.tap("desk-4", "04C1C2C3C4C5C6"); r.Outcome != "checkin" {
		t.Errorf("night plan at 23:00: %+v, want checkin", r)
	}
	// A clock set back behind the persisted time floor (a Pi with no RTC
	// booting with an old time) is not trusted: the floor decides.
	g.call("POST", "/api/v1/emulator/clock", map[string]string{"now": noon.Add(-48 * time.Hour).Format(time.RFC3339)}, nil)
	if r := g.tap("desk-4", "04C1C2C3C4C5C6"); r.Outcome != "checkout" {
		t.Errorf("tap with the clock set back: %+v, want checkout", r)
	}
	evs = g.events()
	last := evs[len(evs)-1]
	if last.ClockTrusted || last.Time.Before(late) {
		t.Errorf("event with the clock set back = %+v, want clock_trusted false and a time at or after the floor %v", last, late)
	}
	for _, e := range evs[:len(evs)-1] {
		if !e.ClockTrusted {
			t.Errorf("event %d untrusted, want trusted", e.Seq)
		}
	}
	var h struct {
		Status       string `json:"status"`
		ClockTrusted bool   `json:"clock_trusted"`
	}
	g.call("GET", "/healthz", nil, &h)
	if h.ClockTrusted || h.Status != "degraded" {
		t.Errorf("healthz with the clock behind the floor = %+v, want degraded, clock untrusted", h)
	}
	g.stop()
}

func TestConfigErrorsNameFileLineAndKey(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.yaml")
	bad := "centre: c1\ngateway: g1\nreaders:\n  - id: r1\n    seat: A-01\n    zone: A\n    kind: emulated\n    chipselect: 3\n"
	if err := writeFile(p, bad); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(seatgateBin, "run", "--config", p).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("bad config: err %v, want exit code 2\n%s", err, out)
	}
	for _, want := range []string{"bad.yaml:8", "readers[0].chipselect", "unknown key"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output %q does not contain %q", out, want)
		}
	}
}

// TestSIGKILLDuringTapStorm: every tap the API answered is in the event log
// after a SIGKILL, sequence numbers have no gaps, and the database passes
// bbolt's consistency check.
func TestSIGKILLDuringTapStorm(t *testing.T) {
	g := newGW(t)
	g.importMembers(snapshot(60))
	answered := map[uint64]tapResult{}
	var mu sync.Mutex
	readers := []string{"desk-1", "desk-2", "desk-3", "desk-4", "desk-5", "desk-6"}

	for round := range 3 {
		g.start()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w, reader := range readers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(round), uint64(w)))
				for {
					select {
					case <-stop:
						return
					default:
					}
					uid := fmt.Sprintf("C%07X", 1+w*10+rng.IntN(10))
					var res tapResult
					_, err := g.call("POST", "/api/v1/emulator/readers/"+reader+"/tap", map[string]string{"uid": uid}, &res)
					if err != nil {
						continue // the process died under us: this tap was never answered
					}
					mu.Lock()
					answered[res.Seq] = res
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Duration(800+rand.IntN(700)) * time.Millisecond)
		g.kill()
		close(stop)
		wg.Wait()
	}
	g.start()
	evs := g.events()
	if err := g.stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
	if len(answered) < 30 {
		t.Fatalf("only %d taps answered: the storm did not run", len(answered))
	}
	bySeq := map[uint64]event{}
	for i, e := range evs {
		if e.Seq != uint64(i+1) {
			t.Fatalf("event %d has seq %d: the log has a gap", i, e.Seq)
		}
		bySeq[e.Seq] = e
	}
	for seq, res := range answered {
		e, ok := bySeq[seq]
		if !ok {
			t.Errorf("answered tap seq %d (%+v) is not in the log", seq, res)
			continue
		}
		if e.Kind != res.Outcome || e.Seat != res.Seat || e.Reason != res.Reason {
			t.Errorf("seq %d: log has %+v, the desk was told %+v", seq, e, res)
		}
	}
	t.Logf("%d taps answered over 3 SIGKILLs, %d events in the log", len(answered), len(evs))

	st, err := store.Open(filepath.Join(g.dir, "data", "seatgate.db"), store.Options{})
	if err != nil {
		t.Fatalf("open database after the kills: %v", err)
	}
	defer st.Close()
	if err := st.Check(); err != nil {
		t.Errorf("bbolt consistency check: %v", err)
	}
}

// TestReaderFaultIsIsolated: a reader whose chip drops off the bus shows
// the fault pattern at its desk and in /healthz, the other desks on the
// same bus keep answering, and it recovers by itself when the chip returns.
func TestReaderFaultIsIsolated(t *testing.T) {
	g := newGW(t)
	g.importMembers(snapshot(3))
	g.start()
	if _, err := g.call("POST", "/api/v1/emulator/readers/desk-6/fault", map[string]any{"fault": "missing"}, nil); err != nil {
		t.Fatal(err)
	}
	type readerHealth struct {
		ID     string `json:"id"`
		OK     bool   `json:"ok"`
		Error  string `json:"error"`
		Faults int    `json:"faults"`
	}
	var h struct {
		Status  string         `json:"status"`
		Readers []readerHealth `json:"readers"`
	}
	health := func() readerHealth {
		if _, err := g.call("GET", "/healthz", nil, &h); err != nil {
			t.Fatal(err)
		}
		for _, r := range h.Readers {
			if r.ID == "desk-6" {
				return r
			}
		}
		t.Fatal("desk-6 missing from /healthz")
		return readerHealth{}
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if cond() {
				return
			}
		}
		t.Fatalf("timed out waiting for %s", what)
	}
	waitFor("desk-6 to be reported faulty", func() bool { return !health().OK })
	if r := health(); h.Status != "degraded" || r.Faults == 0 || !strings.Contains(r.Error, "VersionReg") {
		t.Errorf("healthz = %s %+v, want degraded with a VersionReg error for desk-6", h.Status, r)
	}
	var view struct{ Pattern string }
	g.call("GET", "/api/v1/emulator/readers/desk-6", nil, &view)
	if view.Pattern != "reader_fault" {
		t.Errorf("desk-6 shows %q, want reader_fault", view.Pattern)
	}
	// desk-5 shares the emulated bus with desk-6 and still answers.
	if r := g.tap("desk-5", "C0000001"); r.Outcome != "checkin" {
		t.Errorf("tap at desk-5 while desk-6 is faulty: %+v", r)
	}
	if code, err := g.call("POST", "/api/v1/emulator/readers/desk-6/tap", map[string]string{"uid": "C0000002"}, nil); code != 409 {
		t.Errorf("tap at the faulty desk: %d %v, want 409", code, err)
	}
	g.call("POST", "/api/v1/emulator/readers/desk-6/fault", map[string]any{"fault": "clear"}, nil)
	waitFor("desk-6 to recover", func() bool { return health().OK })
	if r := g.tap("desk-6", "C0000002"); r.Outcome != "checkin" {
		t.Errorf("tap at desk-6 after recovery: %+v", r)
	}
	g.stop()
}
