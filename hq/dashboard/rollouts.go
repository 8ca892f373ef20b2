package dashboard

import (
	"context"
	"slices"
	"strings"

	"github.com/pkfreelance/seatgate/hq/rollout"
)

// RolloutRow is one rollout on the rollouts page.
type RolloutRow struct {
	rollout.Status
	// CohortPercent is the share of the eligible fleet of the cohort in
	// progress; 0 while the canaries are.
	CohortPercent int
	Failures      []FailureRow // by gateway
}

// FailureRow is one failed gateway of a rollout.
type FailureRow struct {
	Gateway string // "centre/gateway"
	rollout.Failure
}

// rolloutRows lists the rollouts, the latest started first.
func (d *Dashboard) rolloutRows(ctx context.Context) ([]RolloutRow, error) {
	list, err := cached(d.cache, "rollouts", rolloutsTTL, d.o.Now(), func() ([]rollout.Status, error) {
		return d.o.Rollouts.List(ctx)
	})
	if err != nil {
		return nil, err
	}
	out := make([]RolloutRow, 0, len(list))
	for _, st := range list {
		r := RolloutRow{Status: st}
		if st.Cohort >= 1 && st.Cohort <= len(st.Spec.Percentages) {
			r.CohortPercent = st.Spec.Percentages[st.Cohort-1]
		}
		for g, f := range st.Failures {
			r.Failures = append(r.Failures, FailureRow{Gateway: g, Failure: f})
		}
		slices.SortFunc(r.Failures, func(a, b FailureRow) int { return strings.Compare(a.Gateway, b.Gateway) })
		out = append(out, r)
	}
	return out, nil
}
