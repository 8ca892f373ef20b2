// Package browsertest drives the owner dashboard in headless Chromium
// (Debian package chromium): log in, watch the seat map change through
// server-sent events when a card is tapped, open the charts, switch to
// Urdu, and save screenshots to $ARTIFACTS_DIR or testdata-artifacts/.
// Without Chromium the test fails when CI=true and is skipped, with a
// message, otherwise. It holds tests only.
package browsertest
