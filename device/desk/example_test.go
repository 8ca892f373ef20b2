package desk_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"periph.io/x/conn/v3/gpio/gpioreg"

	"github.com/pkfreelance/seatgate/device/desk"
)

func ExampleSteps() {
	for _, s := range desk.Steps(desk.CheckedOut) {
		fmt.Printf("green=%-5v red=%-5v buzzer=%-5v for %v\n", s.Green, s.Red, s.Buzzer, s.For)
	}
	// Output:
	// green=true  red=false buzzer=true  for 100ms
	// green=true  red=false buzzer=false for 200ms
	// green=false red=false buzzer=false for 200ms
	// green=true  red=false buzzer=true  for 100ms
	// green=true  red=false buzzer=false for 200ms
}

// ExampleNew shows the wiring in cmd: the pins are opened there by name and
// passed in; the desk is run by its owner and told what to show.
func ExampleNew() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	d, err := desk.New(desk.Pins{
		Green:  gpioreg.ByName("GPIO17"),
		Red:    gpioreg.ByName("GPIO27"),
		Buzzer: gpioreg.ByName("GPIO22"),
	}, desk.Options{RelayHold: 3 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()

	d.Show(desk.CheckedIn) // after the access decision
	cancel()
	if err := <-done; err != nil {
		log.Print(err)
	}
}
