package daemon

import (
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
	"periph.io/x/conn/v3/spi/spireg"
	"periph.io/x/host/v3"

	"github.com/pkfreelance/seatgate/cmd/seatgate/internal/config"
	"github.com/pkfreelance/seatgate/device/desk"
	"github.com/pkfreelance/seatgate/device/mfrc522"
	"github.com/pkfreelance/seatgate/device/scan"
)

var hostInit = sync.OnceValue(func() error {
	_, err := host.Init()
	return err
})

// openMFRC522 returns the scanner's opener for a reader on real hardware:
// it opens the SPI port and pins by name and hands them to the driver. The
// returned Reader closes the port when the scanner closes it.
//
// A reset line of its own is pulsed by the driver at every open (a hard
// reset is the surest cure for a wedged chip). A line shared by several
// readers is pulsed once, before the first of them opens: pulsing it again
// to recover one reader would reset its healthy neighbours.
func openMFRC522(rc config.Reader, sharedReset *resetLine) func() (scan.Reader, error) {
	return func() (scan.Reader, error) {
		if err := hostInit(); err != nil {
			return nil, fmt.Errorf("periph host init: %w", err)
		}
		port, err := spireg.Open(rc.SPI)
		if err != nil {
			return nil, fmt.Errorf("open SPI port %s: %w (is SPI enabled with dtparam=spi=on, and the user in group spi?)", rc.SPI, err)
		}
		conn, err := port.Connect(physic.Frequency(rc.SPIHz)*physic.Hertz, spi.Mode0, 8)
		if err != nil {
			port.Close()
			return nil, fmt.Errorf("connect SPI port %s: %w", rc.SPI, err)
		}
		o := mfrc522.Options{Name: fmt.Sprintf("%s (%s)", rc.ID, rc.SPI)}
		if rc.IRQ != "" {
			p := gpioreg.ByName(rc.IRQ)
			if p == nil {
				port.Close()
				return nil, fmt.Errorf("irq pin %s: no such GPIO", rc.IRQ)
			}
			o.IRQ = p
		}
		if rc.Reset != "" {
			p := gpioreg.ByName(rc.Reset)
			if p == nil {
				port.Close()
				return nil, fmt.Errorf("reset pin %s: no such GPIO", rc.Reset)
			}
			if sharedReset == nil {
				o.Reset = p
			} else if err := sharedReset.pulse(p); err != nil {
				port.Close()
				return nil, err
			}
		}
		dev, err := mfrc522.New(conn, o)
		if err != nil {
			port.Close()
			return nil, err
		}
		return &portReader{Dev: dev, port: port}, nil
	}
}

// portReader is a driver that owns its port.
type portReader struct {
	*mfrc522.Dev
	port spi.PortCloser
}

func (p *portReader) Close() error {
	err := p.Dev.Close()
	if cerr := p.port.Close(); err == nil {
		err = cerr
	}
	return err
}

// hardwarePins looks up a desk's output pins by name.
func hardwarePins(rc config.Reader) (pins desk.Pins, err error) {
	get := func(what, name string) (gpio.PinOut, error) {
		if name == "" {
			return nil, nil
		}
		if err := hostInit(); err != nil {
			return nil, fmt.Errorf("periph host init: %w", err)
		}
		p := gpioreg.ByName(name)
		if p == nil {
			return nil, fmt.Errorf("reader %s: %s output %s: no such GPIO", rc.ID, what, name)
		}
		return p, nil
	}
	if pins.Green, err = get("green", rc.Outputs.Green); err != nil {
		return
	}
	if pins.Red, err = get("red", rc.Outputs.Red); err != nil {
		return
	}
	if pins.Buzzer, err = get("buzzer", rc.Outputs.Buzzer); err != nil {
		return
	}
	pins.Relay, err = get("relay", rc.Outputs.Relay)
	return
}

// resetLine is an NRSTPD line shared by several readers: pulsed once.
type resetLine struct {
	once sync.Once
	err  error
}

// pulse holds NRSTPD low for 100 µs, then high for the oscillators to
// start, the first time it is called; it returns that first pulse's error
// to every reader on the line.
func (l *resetLine) pulse(p gpio.PinOut) error {
	l.once.Do(func() {
		if err := p.Out(gpio.Low); err != nil {
			l.err = fmt.Errorf("reset line %s low: %w", p, err)
			return
		}
		time.Sleep(100 * time.Microsecond)
		if err := p.Out(gpio.High); err != nil {
			l.err = fmt.Errorf("reset line %s high (the readers on it stay powered down): %w", p, err)
			return
		}
		time.Sleep(50 * time.Millisecond)
	})
	return l.err
}
