package wire_test

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/sync/wire"
)

func TestTopics(t *testing.T) {
	tp, err := wire.NewTopics("lhr-01", "gw-1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		got, want, kind, gateway string
	}{
		{tp.Events(), "seats/v1/lhr-01/gw-1/events", wire.KindEvents, "gw-1"},
		{tp.Birth(), "seats/v1/lhr-01/gw-1/birth", wire.KindBirth, "gw-1"},
		{tp.Status(), "seats/v1/lhr-01/gw-1/status", wire.KindStatus, "gw-1"},
		{tp.Health(), "seats/v1/lhr-01/gw-1/health", wire.KindHealth, "gw-1"},
		{tp.Occupancy(), "seats/v1/lhr-01/gw-1/occupancy", wire.KindOccupancy, "gw-1"},
		{tp.JournalWant(), "seats/v1/lhr-01/gw-1/journal/want", wire.KindJournalWant, "gw-1"},
		{tp.Ack(), "seats/v1/lhr-01/gw-1/ack", wire.KindAck, "gw-1"},
		{tp.Journal(), "seats/v1/lhr-01/journal", wire.KindJournal, ""},
		{tp.JournalCatchUp(), "seats/v1/lhr-01/gw-1/journal", wire.KindJournal, "gw-1"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got topic %q, want %q", tt.got, tt.want)
		}
		c, g, k, err := wire.ParseTopic(tt.want)
		if err != nil || c != "lhr-01" || g != tt.gateway || k != tt.kind {
			t.Errorf("ParseTopic(%q) = %q, %q, %q, %v; want lhr-01, %q, %q, nil", tt.want, c, g, k, err, tt.gateway, tt.kind)
		}
	}
}

func TestNewTopicsRejects(t *testing.T) {
	tests := []struct{ name, centre, gateway, text string }{
		{"empty centre", "", "gw-1", "centre id missing"},
		{"empty gateway", "lhr-01", "", "gateway id missing"},
		{"capitals", "LHR-01", "gw-1", "a-z"},
		{"underscore", "lhr-01", "gw_1", "a-z"},
		{"dot (a NATS token separator)", "lhr.01", "gw-1", "a-z"},
		{"slash (an MQTT level separator)", "lhr-01", "gw/1", "a-z"},
		{"MQTT wildcard", "lhr-01", "+", "a-z"},
		{"NATS wildcard", "lhr-01", "*", "a-z"},
		{"non-ASCII", "lhr-01", "gw-١", "a-z"},
		{"33 characters", strings.Repeat("a", 33), "gw-1", "longer than 32"},
		{"reserved gateway ID", "lhr-01", "journal", "reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := wire.NewTopics(tt.centre, tt.gateway)
			if !errors.Is(err, wire.ErrTopic) || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("got %v, want an ErrTopic mentioning %q", err, tt.text)
			}
		})
	}
	if _, err := wire.NewTopics(strings.Repeat("a", 32), "0-9"); err != nil {
		t.Errorf("32 characters: %v", err)
	}
}

func TestParseTopicRejects(t *testing.T) {
	for _, topic := range []string{
		"",
		"seats",
		"seats/v1",
		"seats/v1/lhr-01",
		"seats/v2/lhr-01/gw-1/events",
		"Seats/v1/lhr-01/gw-1/events",
		"/seats/v1/lhr-01/gw-1/events",
		"seats/v1/lhr-01/gw-1/events/",
		"seats/v1/lhr-01/gw-1/unknown",
		"seats/v1/lhr-01/gw-1/journal/all",
		"seats/v1/lhr-01/gw-1/ack/more/levels",
		"seats/v1/lhr-01/events",
		"seats/v1/lhr-01//events",
		"seats/v1/LHR/gw-1/events",
		"seats/v1/lhr-01/+/events",
		"seats/v1/lhr-01/#",
		"seats/v1/lhr-01/journal/ack",  // the reserved gateway ID
		"seats/v1/lhr-01/journal/want", // centre journal has no want
	} {
		if c, g, k, err := wire.ParseTopic(topic); !errors.Is(err, wire.ErrTopic) {
			t.Errorf("ParseTopic(%q) = %q, %q, %q, %v; want ErrTopic", topic, c, g, k, err)
		}
	}
	_, _, _, err := wire.ParseTopic("seats/v2/lhr-01/gw-1/events")
	if !strings.Contains(err.Error(), `version "v2", want v1`) {
		t.Errorf("got %v, want it to name the version", err)
	}
}

func TestNATSMapping(t *testing.T) {
	tests := []struct{ topic, subject string }{
		{"seats/v1/lhr-01/gw-1/events", "seats.v1.lhr-01.gw-1.events"},
		{"seats/v1/lhr-01/gw-1/journal/want", "seats.v1.lhr-01.gw-1.journal.want"},
		{"seats/v1/lhr-01/journal", "seats.v1.lhr-01.journal"},
		{"seats/v1/+/+/events", "seats.v1.*.*.events"},
		{"seats/v1/lhr-01/gw-1/#", "seats.v1.lhr-01.gw-1.>"},
		{"#", ">"},
	}
	for _, tt := range tests {
		got, err := wire.NATSSubject(tt.topic)
		if err != nil || got != tt.subject {
			t.Errorf("NATSSubject(%q) = %q, %v; want %q", tt.topic, got, err, tt.subject)
		}
		back, err := wire.MQTTTopic(tt.subject)
		if err != nil || back != tt.topic {
			t.Errorf("MQTTTopic(%q) = %q, %v; want %q", tt.subject, back, err, tt.topic)
		}
	}
	for _, topic := range []string{"", "a//b", "/a", "a/", "a.b/c", "a/#/b", "a/b+", "a/*", "a/>", "a/b c"} {
		if s, err := wire.NATSSubject(topic); !errors.Is(err, wire.ErrTopic) {
			t.Errorf("NATSSubject(%q) = %q, %v; want ErrTopic", topic, s, err)
		}
	}
	for _, subject := range []string{"", "a..b", ".a", "a.", "a/b.c", "a.>.b", "a.b*", "a.+", "a.#", "a.b c"} {
		if s, err := wire.MQTTTopic(subject); !errors.Is(err, wire.ErrTopic) {
			t.Errorf("MQTTTopic(%q) = %q, %v; want ErrTopic", subject, s, err)
		}
	}
}

func TestFirmwareTopicAndWindow(t *testing.T) {
	tp := wire.Topics{Centre: "lhr-01", Gateway: "gw-1"}
	c, g, k, err := wire.ParseTopic(tp.Firmware())
	if err != nil || c != "lhr-01" || g != "gw-1" || k != wire.KindFirmware {
		t.Fatalf("ParseTopic(%q) = %q %q %q %v", tp.Firmware(), c, g, k, err)
	}
	s, e, err := wire.ParseWindow("22:30-05:00")
	if err != nil || s != 22*60+30 || e != 5*60 {
		t.Fatalf("ParseWindow = %d %d %v", s, e, err)
	}
	loc := time.FixedZone("PKT", 5*3600)
	for _, c := range []struct {
		hhmm string
		in   bool
	}{{"22:29", false}, {"22:30", true}, {"23:59", true}, {"00:00", true}, {"04:59", true}, {"05:00", false}, {"12:00", false}} {
		tm, _ := time.ParseInLocation("15:04", c.hhmm, loc)
		if got := wire.InWindow(tm, s, e); got != c.in {
			t.Errorf("InWindow(%s) = %v, want %v", c.hhmm, got, c.in)
		}
	}
	for _, bad := range []string{"", "02:00", "02:00-02:00", "2:00-05:00", "02:00-24:00", "02:60-03:00", "02:00-05:00x"} {
		if _, _, err := wire.ParseWindow(bad); err == nil {
			t.Errorf("ParseWindow(%q) accepted", bad)
		}
	}
}

func TestFirmwareAssignRoundTrip(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	m := wire.FirmwareAssign{V: wire.Version, Centre: "lhr-01", Gateway: "gw-1", Rollout: "r-1",
		Manifest: []byte(`{"signed":{}}`), Roots: [][]byte{[]byte("{}")}, URLs: []string{"https://hq:8443/a"},
		Window: "02:00-05:00", Issued: time.Date(2026, 11, 4, 10, 0, 0, 0, time.UTC)}
	if err := wire.Sign(priv, &m); err != nil {
		t.Fatal(err)
	}
	b, err := wire.Encode(&m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := wire.DecodeFirmwareAssign(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := wire.Verify(priv.Public().(ed25519.PublicKey), &got); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []func(*wire.FirmwareAssign){
		func(m *wire.FirmwareAssign) { m.URLs = []string{"http://hq/a"} },
		func(m *wire.FirmwareAssign) { m.Manifest = nil },
		func(m *wire.FirmwareAssign) { m.Window = "2-5" },
		func(m *wire.FirmwareAssign) { m.Rollout = "R 1" },
	} {
		c := m
		bad(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%+v validated", c)
		}
	}
}
