// Package config reads the gateway's configuration file, seatgate.yaml.
//
// Parse is a pure function from an io.Reader to a *Config: it fills in the
// defaults documented on the Config fields and validates the result in one
// place (Config.Validate). It is strict, so that a typo never silently
// changes what a centre does: an unknown key, a key given twice, a value of
// the wrong type or out of range, and a field that does not apply to a
// reader's kind are all errors, each naming the file, the line and the key:
//
//	seatgate.yaml:14: readers[2].chipselect: unknown key; valid keys here: id, seat, ...
//	seatgate.yaml:9: policy.max_session: want a duration such as 250ms or 16h, got "16"
//	seatgate.yaml:31: readers[3].id: duplicate reader id "desk-1" (first used by readers[0].id on line 12)
//
// Key paths count list items from 0. An empty value ("key:" with nothing
// after it) is the same as leaving the key out. Anchors and aliases are
// followed; merge keys (<<) are not supported.
//
// A complete file, with every key and its default:
//
//	centre: lahore-gulberg          # required: a-z, 0-9, -; up to 32
//	gateway: gw1                    # required, same form
//	data_dir: /var/lib/seatgate
//	timezone: Asia/Karachi          # IANA name; zone data is built in
//	http:
//	  listen: 127.0.0.1:8080        # host:port
//	policy:
//	  daily_cutoff: "03:00"         # HH:MM, local time
//	  max_session: 16h              # > 0
//	  warn_days: 5                  # 0..60
//	  scan_interval: 5ms            # 1ms..100ms
//	  relay_hold: 0s                # >= 0; 0 never switches relays
//	emulator:
//	  clock: false                  # POST /api/v1/emulator/clock
//	readers:                        # at least one; ids and seats unique
//	  - id: desk-01
//	    seat: A-01
//	    zone: hall-a
//	    kind: mfrc522               # or emulated
//	    spi: SPI0.0                 # mfrc522: required
//	    irq: GPIO25                 # mfrc522: optional
//	    reset: GPIO24               # mfrc522: optional, may be shared
//	    spi_hz: 5000000             # mfrc522: 100000..10000000
//	    outputs:                    # green, red required for mfrc522
//	      green: GPIO17
//	      red: GPIO27
//	      buzzer: GPIO22            # optional
//	      relay: GPIO23             # optional
//	  - id: desk-02
//	    seat: A-02
//	    zone: hall-a
//	    kind: emulated
//	    bus: emu0                   # emulated: readers on one bus share it
//
// deploy/seatgate.example.yaml is a commented example for a real centre;
// testdata/emulated.yaml runs without hardware.
package config
