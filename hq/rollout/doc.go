// Package rollout sends a firmware release to the fleet in stages
// (docs/firmware.md §4): first named canary gateways, then growing shares
// of the eligible fleet, advancing when enough of a cohort succeeded and
// pausing itself when too many fail, inside each centre's maintenance
// window.
//
// It has two layers. Step is pure planning: given a rollout's Status and
// what HQ knows of every gateway (GatewayView), it returns the next status
// and the gateways to send the assignment to. Store keeps rollouts in the
// JetStream key-value bucket ROLLOUTS, one key per rollout, so every HQ
// instance shares them; Store.Tick runs Step on each instance every few
// seconds, and compare-and-set on the key's revision keeps instances from
// advancing a cohort twice or losing an assignment.
//
// # Cohorts
//
// Cohort 0 is the named canaries; cohort i ≥ 1 is Spec.Percentages[i-1]
// percent of the eligible fleet. A gateway's place in the percentages is
// Cohort(ref), a number in [0, 100) from the SHA-256 of "centre/gateway",
// and it belongs to the p % cohort when Cohort(ref) < p: the choice is
// the same on every instance and for every rollout, and cohorts are
// cumulative (the 5 % are among the 25 %). Canaries belong to every
// cohort. The place does not depend on the rollout, so the same gateways
// go first every time: pick canaries for risk, the percentages spread it.
//
// Eligible gateways are those on the release's channel (or whose channel
// is unknown) running a version below the release's (an unknown or
// non-release version is below every release, as release.CompareVersions
// says). Architecture is not checked here: a gateway refuses a release
// for another one and reports it failed.
//
// # Outcomes
//
// An assigned gateway has
//
//   - succeeded when it reports committed for this rollout or runs the
//     release's version or a higher one;
//   - failed when it reports rolled_back or failed for this rollout;
//   - unreachable when it is offline (or no longer in the fleet),
//     whatever it last reported, unless it succeeded or failed;
//   - stalled when it is online and has neither been sent the assignment
//     nor reported on it for Spec.StallAfter while its centre's window was
//     open (the clock does not run while the window is closed: the
//     gateway is then waiting, as it should);
//   - in progress otherwise.
//
// Members of the cohorts started so far that are not assigned yet are
// pending: their centre's window is closed.
//
// # Advancing, pausing, completing
//
// A cohort is done when succeeded ≥ SuccessThreshold × (members −
// unreachable − acknowledged failures): unreachable gateways count
// neither for nor against a cohort, as an offline gateway says nothing
// about the release. Cohorts are cumulative, so the share is over every
// member so far: the canaries' success carries a later slice of the fleet
// that happens to be offline. A cohort with no member is done; one whose
// members are all unreachable is not (no evidence). The last cohort (100 %) is
// done, and the rollout completed, when moreover no member is pending or
// in progress: every eligible gateway has succeeded, failed, stalled or
// is unreachable. Unreachable gateways keep their assignment after
// completion (a gateway ignores an assignment it has acted on, and takes
// one it missed from the next rollout).
//
// A running rollout pauses itself, with a Reason, when a canary fails,
// when unacknowledged failures exceed FailureThreshold of the gateways
// assigned so far, and, while on the canaries, when a canary is not in
// the fleet or is on another channel (a typo must not skip the canary
// stage). Resume acknowledges every failure known at that moment: those
// gateways no longer pause the rollout nor hold their cohort back, but a
// new failure report from them does. Resuming is the operator's statement
// that the failures seen are understood.
//
// # Assignments
//
// Step assigns the members of the cohorts started so far when their
// centre's window is open (Spec.Window in Spec.CentreTZ[centre] or
// Window.TZ), offline ones too: the broker may hold the message, and the
// gateway acts on it when it comes back. A gateway that is online, in
// progress or stalled, and silent on the rollout for ResendAfter since
// it was sent the assignment or last reported is sent it again, at most
// once per ResendAfter. A gateway that succeeded or failed is never sent
// it again.
//
// # States
//
// running → paused (Pause, or Step) → running (Resume); running or
// paused → aborted (Abort); running → completed (Step). Completed and
// aborted are final. Any other transition is refused with ErrConflict.
// Only one rollout may be running or paused per channel.
package rollout
