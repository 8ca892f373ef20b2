package config_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pkfreelance/seatgate/cmd/seatgate/internal/config"
)

func ExampleParse() {
	cfg, err := config.Parse(strings.NewReader(`
centre: lahore-gulberg-01
gateway: gw1
readers:
  - {id: desk-01, seat: A-01, zone: hall-a, kind: emulated}
`), "seatgate.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	r := cfg.Readers[0]
	fmt.Println(cfg.Timezone, cfg.Policy.MaxSession, r.ID, r.Bus)
	// Output: Asia/Karachi 16h0m0s desk-01 emu0
}

func ExampleParse_errors() {
	_, err := config.Parse(strings.NewReader(`
centre: lahore-gulberg-01
gateway: gw1
readers:
  - id: desk-01
    seat: A-01
    zone: hall-a
    kind: emulated
    spi: SPI0.0
    chipselect: 1
`), "seatgate.yaml")
	fmt.Println(err)

	var e *config.Error
	if errors.As(err, &e) {
		fmt.Printf("first: line %d, key %s\n", e.Line, e.Key)
	}
	// Output:
	// seatgate.yaml:9: readers[0].spi: not allowed for kind emulated
	// seatgate.yaml:10: readers[0].chipselect: unknown key; valid keys here: id, seat, zone, kind, spi, irq, reset, spi_hz, bus, outputs
	// first: line 9, key readers[0].spi
}
