package daemon

import (
	"fmt"
	"regexp"
	"sort"
	"time"

	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/pkfreelance/seatgate/device/desk"
	"github.com/pkfreelance/seatgate/device/emu"
	"github.com/pkfreelance/seatgate/device/mfrc522"
	"github.com/pkfreelance/seatgate/device/scan"
)

// buildReaders groups the configured readers into scanner buses and makes
// each desk's outputs. Emulated readers get an emulated MFRC522 and
// emulated pins; mfrc522 readers are opened through periph when the
// scanner first runs (and reopened after a fault).
func (g *Gateway) buildReaders() ([]scan.Bus, error) {
	byBus := map[string]*scan.Bus{}
	var order []string
	bus := func(name string, clk scan.Clock) *scan.Bus {
		b, ok := byBus[name]
		if !ok {
			b = &scan.Bus{Name: name, Clock: clk}
			byBus[name] = b
			order = append(order, name)
		}
		return b
	}
	resetUsers := map[string]int{}
	for _, rc := range g.cfg.Readers {
		if rc.Reset != "" {
			resetUsers[rc.Reset]++
		}
	}
	sharedReset := map[string]*resetLine{}
	for pin, n := range resetUsers {
		if n > 1 {
			sharedReset[pin] = new(resetLine)
		}
	}
	for _, rc := range g.cfg.Readers {
		var pins desk.Pins
		switch rc.Kind {
		case "emulated":
			if g.emu == nil {
				g.emu = &emulator{readers: map[string]*emuReader{}}
			}
			chip := emu.NewChip(emu.SystemClock{}, emu.ChipOptions{Name: rc.ID})
			er := &emuReader{id: rc.ID, seat: rc.Seat, chip: chip,
				green: &gpiotest.Pin{N: rc.ID + "-green"}, red: &gpiotest.Pin{N: rc.ID + "-red"},
				buzzer: &gpiotest.Pin{N: rc.ID + "-buzzer"}, relay: &gpiotest.Pin{N: rc.ID + "-relay"}}
			g.emu.readers[rc.ID] = er
			pins = desk.Pins{Green: er.green, Red: er.red, Buzzer: er.buzzer, Relay: er.relay}
			id := rc.ID
			b := bus("emulated:"+rc.Bus, mfrc522.SystemClock{})
			b.Readers = append(b.Readers, scan.ReaderSpec{ID: id, Open: func() (scan.Reader, error) {
				return mfrc522.New(chip, mfrc522.Options{Name: id + " (emulated)"})
			}})
		case "mfrc522":
			var err error
			pins, err = hardwarePins(rc)
			if err != nil {
				return nil, err
			}
			b := bus(spiBus(rc.SPI), mfrc522.SystemClock{})
			b.Readers = append(b.Readers, scan.ReaderSpec{ID: rc.ID, Open: openMFRC522(rc, sharedReset[rc.Reset])})
		default:
			return nil, fmt.Errorf("reader %s: unknown kind %q", rc.ID, rc.Kind)
		}
		if pins.Green != nil || pins.Red != nil {
			d, err := desk.New(pins, desk.Options{RelayHold: time.Duration(g.cfg.Policy.RelayHold)})
			if err != nil {
				return nil, fmt.Errorf("reader %s: desk outputs: %w", rc.ID, err)
			}
			g.desks[rc.ID] = d
			if g.emu != nil {
				if er, ok := g.emu.readers[rc.ID]; ok {
					er.desk = d
				}
			}
		}
	}
	sort.Strings(order)
	buses := make([]scan.Bus, 0, len(order))
	for _, name := range order {
		buses = append(buses, *byBus[name])
	}
	return buses, nil
}

var spiName = regexp.MustCompile(`^(?:/dev/spidev|SPI)(\d+)\.(\d+)$`)

// spiBus names the bus a port is on: /dev/spidev0.1 and SPI0.0 are both on
// "spi0", so their readers share one scanning goroutine.
func spiBus(port string) string {
	if m := spiName.FindStringSubmatch(port); m != nil {
		return "spi" + m[1]
	}
	return port
}
