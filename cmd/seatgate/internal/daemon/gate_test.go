package daemon

import (
	"testing"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/device/desk"
)

func TestPatternFor(t *testing.T) {
	tests := []struct {
		d    access.Decision
		want desk.Pattern
	}{
		{access.Decision{Outcome: access.OutcomeCheckin}, desk.CheckedIn},
		{access.Decision{Outcome: access.OutcomeCheckin, Warning: access.WarningPlanEnding}, desk.PlanEnding},
		{access.Decision{Outcome: access.OutcomeCheckin, Warning: access.WarningGrace}, desk.PlanEnding},
		{access.Decision{Outcome: access.OutcomeCheckout}, desk.CheckedOut},
		{access.Decision{Outcome: access.OutcomeMove}, desk.Moved},
		{access.Decision{Outcome: access.OutcomeMove, Warning: access.WarningPlanEnding}, desk.PlanEnding},
		{access.Decision{Outcome: access.OutcomeDeny, Reason: access.ReasonUnknownCard}, desk.RefusedUnknown},
		{access.Decision{Outcome: access.OutcomeDeny, Reason: access.ReasonPlanExpired}, desk.RefusedExpired},
		{access.Decision{Outcome: access.OutcomeDeny, Reason: access.ReasonSeatTaken}, desk.Refused},
		{access.Decision{Outcome: access.OutcomeDeny, Reason: access.ReasonCardRevoked}, desk.Refused},
	}
	for _, tt := range tests {
		if got := patternFor(tt.d); got != tt.want {
			t.Errorf("patternFor(%s/%s/%s) = %s, want %s", tt.d.Outcome, tt.d.Reason, tt.d.Warning, got, tt.want)
		}
	}
}

func TestSPIBus(t *testing.T) {
	for in, want := range map[string]string{"SPI0.0": "spi0", "/dev/spidev0.1": "spi0", "SPI1.2": "spi1", "weird": "weird"} {
		if got := spiBus(in); got != want {
			t.Errorf("spiBus(%q) = %q, want %q", in, got, want)
		}
	}
}
