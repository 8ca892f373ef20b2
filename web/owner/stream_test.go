package owner_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// stream reads server-sent events from /events.
type stream struct {
	res    *http.Response
	events chan sse
}

type sse struct {
	name, data string
}

type streamSeat struct {
	Seat, Class, Label, Who, Since, Fault string
}

type streamMap struct {
	Seats    []streamSeat
	Occupied int
	Total    int
	Faults   int
	Summary  string
}

func openStream(t *testing.T, base, token string) *stream {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/events", nil)
	req.AddCookie(&http.Cookie{Name: "seatgate_owner", Value: token})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		res.Body.Close()
		t.Fatalf("GET /events: got %d %q, want 200 text/event-stream", res.StatusCode, res.Header.Get("Content-Type"))
	}
	s := &stream{res: res, events: make(chan sse, 16)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(s.events)
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(nil, 1<<20)
		var ev sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" || ev.data != "" {
					s.events <- ev
				}
				ev = sse{}
			case strings.HasPrefix(line, "event: "):
				ev.name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				ev.data += line[len("data: "):]
			}
		}
	}()
	t.Cleanup(func() {
		res.Body.Close()
		<-done
	})
	return s
}

// nextEvent waits for the next event (the deadline is a guard against a
// hang, not a measurement).
func (s *stream) nextEvent(t *testing.T) sse {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			t.Fatal("the stream ended")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
	}
	return sse{}
}

// next waits for the next seat map.
func (s *stream) next(t *testing.T) streamMap {
	t.Helper()
	ev := s.nextEvent(t)
	if ev.name != "seats" {
		t.Fatalf("got event %q (%s), want seats", ev.name, ev.data)
	}
	var m streamMap
	if err := json.Unmarshal([]byte(ev.data), &m); err != nil {
		t.Fatalf("seat map %s: %v", ev.data, err)
	}
	return m
}

func (m streamMap) seat(id string) streamSeat {
	for _, s := range m.Seats {
		if s.Seat == id {
			return s
		}
	}
	return streamSeat{}
}

func serve(t *testing.T, f *fixture) *httptest.Server {
	srv := httptest.NewServer(f.h)
	t.Cleanup(srv.Close)
	t.Cleanup(f.dash.Close) // runs first: ends the streams srv.Close waits for
	return srv
}

func TestStreamSendsTheSeatMapAfterNotify(t *testing.T) {
	f := newFixture(t, withSlowRefresh)
	srv := serve(t, f)
	s := openStream(t, srv.URL, f.login())
	first := s.next(t)
	if a1 := first.seat("A1"); a1.Class != "free" || a1.Label != "Free" || a1.Who != "" {
		t.Fatalf("A1 before the tap: got %+v, want free", a1)
	}
	if first.Total != 3 || first.Occupied != 0 || first.Summary != "0 of 3 seats occupied" {
		t.Errorf("first map: got %d/%d %q", first.Occupied, first.Total, first.Summary)
	}
	f.clock.Set(at("2026-11-26 12:05"))
	f.tap("desk-a1", ayeshaCard, f.clock.Now()) // calls Notify
	m := s.next(t)
	want := streamSeat{Seat: "A1", Class: "occupied", Label: "Occupied", Who: "Ayesha Khan", Since: "since 12:05"}
	if got := m.seat("A1"); got != want {
		t.Errorf("A1 after the tap: got %+v, want %+v", got, want)
	}
	if m.Occupied != 1 || m.Summary != "1 of 3 seats occupied" {
		t.Errorf("after the tap: got %d occupied, %q", m.Occupied, m.Summary)
	}
	f.tap("desk-a1", ayeshaCard, at("2026-11-26 13:00"))
	if got := s.next(t).seat("A1"); got.Class != "free" || got.Who != "" {
		t.Errorf("A1 after checking out: got %+v, want free", got)
	}
}

func TestStreamSpeaksTheViewersLanguage(t *testing.T) {
	f := newFixture(t, withSlowRefresh)
	srv := serve(t, f)
	f.tap("desk-b1", bilalCard, at("2026-11-26 09:30"))
	req, _ := http.NewRequest("GET", srv.URL+"/events", nil)
	req.AddCookie(&http.Cookie{Name: "seatgate_owner", Value: f.login()})
	req.AddCookie(&http.Cookie{Name: "seatgate_lang", Value: "ur"})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			var m streamMap
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatal(err)
			}
			if got := m.seat("B1"); got.Label != "زیرِ استعمال" || got.Since != "09:30 سے" {
				t.Errorf("B1 in Urdu: got %+v, want label زیرِ استعمال, since 09:30 سے", got)
			}
			return
		}
	}
	t.Fatal("the stream ended without a seat map")
}

func TestStreamReportsReaderFaults(t *testing.T) {
	f := newFixture(t) // refreshes every 10 ms
	srv := serve(t, f)
	s := openStream(t, srv.URL, f.login())
	if m := s.next(t); m.Faults != 0 {
		t.Fatalf("first map: %d faults, want 0", m.Faults)
	}
	f.health.Break("desk-b1", "no answer on spi0.1")
	m := s.next(t) // no Notify: the periodic refresh sees it
	want := streamSeat{Seat: "B1", Class: "free fault", Label: "Reader fault", Fault: "no answer on spi0.1"}
	if got := m.seat("B1"); got != want {
		t.Errorf("B1 with its reader broken: got %+v, want %+v", got, want)
	}
	if m.Faults != 1 || !strings.Contains(m.Summary, "1 readers not working") {
		t.Errorf("summary: got %d faults, %q", m.Faults, m.Summary)
	}
}

func TestStreamSendsNothingWhenNothingChanged(t *testing.T) {
	f := newFixture(t)
	srv := serve(t, f)
	s := openStream(t, srv.URL, f.login())
	s.next(t)
	f.dash.Notify()
	f.dash.Notify()
	f.tap("desk-a2", bilalCard, at("2026-11-26 12:00"))
	// The two empty notifications sent nothing: the next map is the tap's.
	if got := s.next(t).seat("A2"); got.Who != "Bilal Ahmed" {
		t.Errorf("the first map after two empty notifications and a tap: A2 is %+v, want Bilal's", got)
	}
}

func TestCloseEndsStreams(t *testing.T) {
	f := newFixture(t, withSlowRefresh)
	srv := serve(t, f)
	s := openStream(t, srv.URL, f.login())
	s.next(t)
	f.dash.Close()
	select {
	case _, ok := <-s.events:
		if ok {
			t.Error("got an event after Close, want the stream to end")
		}
	case <-time.After(10 * time.Second):
		t.Error("the stream is still open 10 s after Close")
	}
}

// The gateway's server has a WriteTimeout for pages; a stream clears it.
// With a timeout already past when the handler starts, a stream that did
// not clear it could not send its first event.
func TestStreamOutlivesTheServersWriteTimeout(t *testing.T) {
	f := newFixture(t, withSlowRefresh)
	srv := httptest.NewUnstartedServer(f.h)
	srv.Config.WriteTimeout = time.Nanosecond
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(f.dash.Close)
	s := openStream(t, srv.URL, f.login())
	s.next(t)
	f.tap("desk-a1", ayeshaCard, at("2026-11-26 12:00"))
	if got := s.next(t).seat("A1"); got.Who != "Ayesha Khan" {
		t.Errorf("A1: got %+v, want Ayesha", got)
	}
}
