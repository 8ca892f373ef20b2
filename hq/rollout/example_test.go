package rollout_test

import (
	"fmt"
	"time"

	"github.com/pkfreelance/seatgate/hq/rollout"
)

func ExampleStep() {
	now := time.Date(2026, 11, 26, 3, 0, 0, 0, time.FixedZone("PKT", 5*3600))
	st, err := rollout.NewStatus(rollout.Spec{
		ID: "stable-1-4-2", Version: "1.4.2", Manifest: manifest, Channel: "stable",
		Canary: []rollout.GatewayRef{{Centre: "khi-01", Gateway: "gw-1"}},
		Window: rollout.Window{Start: "02:00", End: "05:00"},
	}, now)
	if err != nil {
		panic(err)
	}
	fleet := []rollout.GatewayView{
		{Ref: rollout.GatewayRef{Centre: "khi-01", Gateway: "gw-1"}, Online: true, Version: "1.4.1", Channel: "stable"},
		{Ref: rollout.GatewayRef{Centre: "khi-01", Gateway: "gw-2"}, Online: true, Version: "1.4.1", Channel: "stable"},
		{Ref: rollout.GatewayRef{Centre: "lhe-03", Gateway: "gw-1"}, Online: false, Version: "1.4.1", Channel: "stable"},
	}
	st, assign := rollout.Step(st, fleet, now)
	fmt.Println("assign", assign, "cohort", st.Cohort)

	// The canary commits: on to the 5 % (nobody), then the 25 %, where the
	// offline gateway is; it is assigned all the same.
	fleet[0].Rollout, fleet[0].Phase, fleet[0].LastReport = "stable-1-4-2", rollout.PhaseCommitted, now
	st, assign = rollout.Step(st, fleet, now.Add(10*time.Second))
	fmt.Println("assign", assign, "cohort", st.Cohort)

	// Unreachable counts neither for nor against: on to the 100 %.
	st, assign = rollout.Step(st, fleet, now.Add(20*time.Second))
	fmt.Println("assign", assign, "cohort", st.Cohort, st.State)
	fmt.Printf("%+v\n", st.Counts)
	// Output:
	// assign [khi-01/gw-1] cohort 0
	// assign [lhe-03/gw-1] cohort 2
	// assign [khi-01/gw-2] cohort 3 running
	// {Eligible:3 Assigned:3 Succeeded:1 InProgress:1 Failed:0 Stalled:0 Unreachable:1 Pending:0}
}
