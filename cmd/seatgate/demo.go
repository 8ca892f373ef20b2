package main

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/cmd/seatgate/internal/config"
	"github.com/pkfreelance/seatgate/cmd/seatgate/internal/daemon"
	"github.com/pkfreelance/seatgate/hq/dashboard"
	"github.com/pkfreelance/seatgate/hq/service"
	"github.com/pkfreelance/seatgate/web/owner"
)

// demoPassword is a fresh password for the demo's dashboards: four short
// words are easy to type from the terminal.
func demoPassword() string {
	words := []string{"chai", "kite", "desk", "lamp", "rain", "mango", "river", "cloud", "spice", "tiger", "lotus", "pearl"}
	b := make([]byte, 4)
	rand.Read(b)
	parts := make([]string, 4)
	for i := range parts {
		parts[i] = words[int(b[i])%len(words)]
	}
	return strings.Join(parts, "-")
}

//go:embed demo.yaml
var demoConfig []byte

// demoMember is one scripted freelancer.
type demoMember struct {
	ID, Name, Plan, Status string
	From, Until            int // days relative to today
	Cards                  []string
	Revoked                []string
	Seats                  string // "", "zone:A", "fixed:B-02"
	Note                   string
}

var demoMembers = []demoMember{
	{ID: "m-001", Name: "Ayesha Khan", Plan: "flex", From: -20, Until: 40, Cards: []string{"04A1B2C3D4E5F6"}},
	{ID: "m-002", Name: "Bilal Ahmed", Plan: "flex", From: -5, Until: 25, Cards: []string{"5A3C9E01"}},
	{ID: "m-003", Name: "Hira Siddiqui", Plan: "flex", From: -40, Until: 2, Cards: []string{"04B7C8D9E0F112"}, Note: "plan ends in 2 days: amber"},
	{ID: "m-004", Name: "Usman Tariq", Plan: "flex", From: -60, Until: -1, Cards: []string{"7F00A1B2"}, Note: "expired yesterday, in grace: amber"},
	{ID: "m-005", Name: "Sana Malik", Plan: "flex", From: -90, Until: -10, Cards: []string{"0A0B0C0D"}, Note: "expired: red"},
	{ID: "m-006", Name: "Zain Raza", Plan: "night", From: -10, Until: 50, Cards: []string{"04C1C2C3C4C5C6"}, Note: "night shift 20:00-06:00"},
	{ID: "m-007", Name: "Mariam Iqbal", Plan: "flex", From: -3, Until: 27, Status: "suspended", Cards: []string{"1234ABCD"}, Note: "suspended: red"},
	{ID: "m-008", Name: "Omar Farooq", Plan: "flex", From: -12, Until: 18, Cards: []string{"CAFE0042"}, Revoked: []string{"DEAD0042"}, Note: "lost card DEAD0042 revoked"},
	{ID: "m-009", Name: "Fatima Noor", Plan: "flex", From: -1, Until: 29, Cards: []string{"04112233445566778899"}, Seats: "zone:B", Note: "10-byte UID, zone B only"},
	{ID: "m-010", Name: "Hamza Javed", Plan: "flex", From: -7, Until: 23, Cards: []string{"0B1C2D3E"}, Seats: "fixed:A-06", Note: "fixed seat A-06"},
	{ID: "m-011", Name: "Noor Fatima", Plan: "flex", From: 3, Until: 33, Cards: []string{"F00DBABE"}, Note: "plan starts in 3 days"},
	{ID: "m-012", Name: "Ali Hassan", Plan: "flex", From: -15, Until: 15, Cards: []string{"04D1D2D3D4D5D6"}},
	{ID: "m-013", Name: "Sara Qureshi", Plan: "flex", From: -25, Until: 35, Cards: []string{"13131313"}},
	{ID: "m-014", Name: "Ahmed Raza", Plan: "flex", From: -30, Until: 6, Cards: []string{"14141414"}, Note: "plan ends in 6 days"},
	{ID: "m-015", Name: "Ayesha Baig", Plan: "flex", From: -2, Until: 28, Cards: []string{"15151515"}, Seats: "zone:C"},
	{ID: "m-016", Name: "Kamran Akmal", Plan: "flex", From: -9, Until: 21, Cards: []string{"16161616"}},
	{ID: "m-017", Name: "Rabia Anwar", Plan: "flex", From: -14, Until: 16, Cards: []string{"17171717"}},
	{ID: "m-018", Name: "Faisal Mehmood", Plan: "flex", From: -21, Until: 9, Cards: []string{"18181818"}},
	{ID: "m-019", Name: "Mehwish Hayat", Plan: "flex", From: -4, Until: 26, Cards: []string{"19191919"}, Seats: "zone:C"},
	{ID: "m-020", Name: "Asad Shafiq", Plan: "flex", From: -11, Until: 19, Cards: []string{"20202020"}},
	{ID: "m-021", Name: "Nida Yasir", Plan: "flex", From: -6, Until: 24, Cards: []string{"21212121"}},
	{ID: "m-022", Name: "Imran Nazir", Plan: "flex", From: -17, Until: 13, Cards: []string{"22222222"}},
	{ID: "m-023", Name: "Saima Akram", Plan: "night", From: -8, Until: 22, Cards: []string{"23232323"}, Note: "night shift"},
	{ID: "m-024", Name: "Danish Taimoor", Plan: "flex", From: -19, Until: 4, Cards: []string{"24242424"}, Note: "plan ends in 4 days"},
	{ID: "m-025", Name: "Kiran Shah", Plan: "flex", From: -23, Until: 37, Cards: []string{"25252525"}},
	{ID: "m-026", Name: "Yasir Hussain", Plan: "flex", From: -13, Until: 17, Cards: []string{"26262626"}},
}

// demoSnapshot builds the membership snapshot for the day of now, in the
// documented JSON form (store.Membership's MarshalJSON).
func demoSnapshot(now time.Time) ([]byte, error) {
	today := access.DateOf(now)
	m := store.Membership{
		Centre: "demo-centre", Revision: 1, GeneratedAt: now,
		Plans: []access.Plan{
			{ID: "flex", Name: "Flexible (any time)", GraceDays: 3, PricePKR: 3500},
			{ID: "night", Name: "Night shift", GraceDays: 3, PricePKR: 3000,
				Days:    []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday},
				Windows: []access.Window{{Start: access.Clock(20, 0), End: access.Clock(6, 0)}}},
		},
	}
	for _, d := range demoMembers {
		mem := access.Member{ID: d.ID, Name: d.Name, Status: access.StatusActive, PlanID: d.Plan,
			ValidFrom: today.AddDays(d.From), ValidUntil: today.AddDays(d.Until), Seats: access.SeatRule{Kind: access.SeatAny}}
		if d.Status != "" {
			mem.Status = access.MemberStatus(d.Status)
		}
		switch {
		case strings.HasPrefix(d.Seats, "zone:"):
			mem.Seats = access.SeatRule{Kind: access.SeatZones, Zones: []string{strings.TrimPrefix(d.Seats, "zone:")}}
		case strings.HasPrefix(d.Seats, "fixed:"):
			mem.Seats = access.SeatRule{Kind: access.SeatFixed, Seat: strings.TrimPrefix(d.Seats, "fixed:")}
		}
		m.Members = append(m.Members, mem)
		for _, c := range d.Cards {
			m.Cards = append(m.Cards, access.Card{UID: c, MemberID: d.ID})
		}
		for _, c := range d.Revoked {
			m.Cards = append(m.Cards, access.Card{UID: c, MemberID: d.ID, Revoked: true})
		}
	}
	return json.MarshalIndent(m, "", "  ")
}

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flagSet("demo", stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "HTTP address (falls back to a free port if taken)")
	dataDir := fs.String("data", "", "data directory (default: a fresh temporary directory, removed at exit)")
	interval := fs.Duration("interval", 1500*time.Millisecond, "time between scripted taps")
	taps := fs.Int("taps", 0, "stop after this many scripted taps (0: run until interrupted)")
	seed := fs.Uint64("seed", 0, "random seed for the script (0: from the clock)")
	verbose := fs.Bool("v", false, "show the gateway's and HQ's log")
	noHQ := fs.Bool("no-hq", false, "run the gateway alone, without the embedded HQ")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := config.Parse(bytes.NewReader(demoConfig), "demo.yaml")
	if err != nil {
		return fmt.Errorf("demo config: %w", err)
	}
	if *dataDir == "" {
		dir, err := os.MkdirTemp("", "seatgate-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*dataDir = dir
	}
	cfg.DataDir = *dataDir
	cfg.HTTP.Listen = *listen
	ownerPassword := demoPassword()
	if err := owner.SetPassword(cfg.DataDir, ownerPassword); err != nil {
		return err
	}

	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		return err
	}
	snap, err := demoSnapshot(time.Now().In(loc))
	if err != nil {
		return err
	}
	logw := io.Discard
	if *verbose {
		logw = stderr
	}
	var hq *service.Service
	if *noHQ {
		snapPath := cfg.DataDir + "/demo-members.json"
		if err := os.WriteFile(snapPath, snap, 0o640); err != nil {
			return err
		}
		if _, err := importMembers(cfg, snapPath); err != nil {
			return err
		}
	} else {
		if hq, err = startDemoHQ(ctx, cfg, snap, newLogger(logw, slog.LevelInfo)); err != nil {
			return err
		}
		defer hq.Close()
		if err := dashboard.SetPassword(hq.SecretsDir(), "demo", ownerPassword); err != nil {
			return err
		}
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
	}
	g, err := daemon.New(cfg, daemon.Options{Version: version, Logger: newLogger(logw, slog.LevelInfo), Listener: ln})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()

	base := "http://" + ln.Addr().String()
	if hq != nil {
		if err := waitMembership(ctx, g, hq, cfg.Centre); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "HQ dashboard:    %s/   user: demo   password: %s\n\n", hq.APIURL(), ownerPassword)
		fmt.Fprintf(stdout, `HQ (seathq, embedded NATS with JetStream and MQTT over TLS) is running too; the gateway is enrolled,
has its certificate, and took its membership from HQ's journal. Try (the token is in %s/api-token):

  export SEATHQ_URL=%s SEATHQ_TOKEN=%s
  seatctl gateways                       (go run ./cmd/seatctl gateways)
  seatctl occupancy --centre %s
  seatctl ledger --centre %s --from %s --to %s
  seatctl card revoke --centre %s 5A3C9E01   (Bilal's card: refused at the desk within a second)

`, hq.SecretsDir(), hq.APIURL(), hq.Token, cfg.Centre, cfg.Centre, time.Now().In(loc).Format("2006-01-02"), time.Now().In(loc).Format("2006-01-02"), cfg.Centre)
	}
	fmt.Fprintf(stdout, `Owner dashboard: %s/   password: %s
  (live seat map, today, charts, plans ending, health; tap a card from its emulator panel)

seatgate demo: a centre with 24 emulated desks (zones A, B, C), %d freelancers, data in %s

  seats now:      curl -s %s/api/v1/seats
  event log:      curl -s '%s/api/v1/events?after=0&limit=20'
  health:         curl -s %s/healthz
  tap yourself:   curl -s -X POST %s/api/v1/emulator/readers/desk-a01/tap -d '{"uid":"04A1B2C3D4E5F6"}'
  what desk shows: curl -s %s/api/v1/emulator/readers/desk-a01

A scripted day plays at one tap every %s, the centre's clock running fast (arrivals from 08:00,
moves after lunch, departures from 16:00, the night shift from 20:00; an expired plan, a suspended
member, a lost card, strangers' cards). Ctrl-C to stop.

`, base, ownerPassword, len(demoMembers), cfg.DataDir, base, base, base, base, base, *interval)

	s := newDemoScript(*seed, demoDayStart(time.Now().In(loc)))
	n := 0
	tick := time.NewTicker(*interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return <-done
		case err := <-done:
			return err
		case <-tick.C:
		}
		t, clock := s.next()
		if err := g.SetClock(clock); err != nil {
			return err
		}
		res, err := g.EmulatedTap(ctx, t.reader, t.uid)
		now := clock.Format("Mon 15:04")
		if err != nil {
			fmt.Fprintf(stdout, "%s  %-15s %-9s error: %v\n", now, t.who, t.reader, err)
		} else {
			line := fmt.Sprintf("%s  %-15s taps %-9s → %-8s", now, t.who, t.reader, res.Outcome)
			if res.Reason != "" {
				line += " (" + res.Reason + ")"
			}
			if res.Warning != "" {
				line += " [" + res.Warning + "]"
			}
			fmt.Fprintln(stdout, line)
		}
		n++
		if *taps > 0 && n >= *taps {
			cancel()
			return <-done
		}
	}
}
