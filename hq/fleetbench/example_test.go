package fleetbench_test

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/pkfreelance/seatgate/hq/fleetbench"
)

func ExampleSummarize() {
	var lags []time.Duration
	for i := 1; i <= 100; i++ {
		lags = append(lags, time.Duration(i)*time.Millisecond)
	}
	fmt.Println(fleetbench.Summarize(lags))
	// Output: p50 50ms  p99 99ms  max 100ms  (n=100)
}

func ExampleLogCounter() {
	counter := fleetbench.NewLogCounter()
	log := slog.New(counter) // what each gateway of a fleet logs through
	for _, port := range []int{40001, 40002} {
		log.Info("mqtt reconnect scheduled", "err", fmt.Errorf("connect to tls://127.0.0.1:%d: EOF", port))
	}
	log.Info("mqtt connected")
	for key, n := range counter.Counts() {
		if n.N > 1 {
			fmt.Println(n.N, key)
		}
	}
	// Output: 2 mqtt reconnect scheduled: connect to tls://N.N.N.N:N: EOF
}
