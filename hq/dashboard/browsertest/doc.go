// Package browsertest drives HQ's dashboard in headless Chromium (Debian
// package chromium) on fakes of the fleet, ledger, rollouts and
// registry: log in, see the overview list a centre, open the centre,
// watch a seat change arrive by server-sent events without a reload, see
// the rollouts, switch to Urdu and log out; screenshots go to
// $ARTIFACTS_DIR or testdata-artifacts/hq-dashboard/. Without Chromium
// the test fails when CI=true and is skipped, with a message, otherwise.
// It holds tests only.
package browsertest
