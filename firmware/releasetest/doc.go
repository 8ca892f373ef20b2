// Package releasetest holds what the tests of the firmware update path
// share: release keys (fixed or fresh) and the root metadata that lists
// them, manifests built and signed for artifacts of known or random bytes,
// and an HTTPS server of artifacts standing in for HQ.
//
// It is imported only by tests (TestImportedOnlyByTests checks). Every
// helper fails the test at once when the release package refuses what it
// was given: these are fixtures, not the cases under test. The tests of
// package fetch, inside that package, cannot import it (it imports fetch
// for the path artifacts are served under).
package releasetest
