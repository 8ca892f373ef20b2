// Package auth holds the login machinery the two dashboards share: the
// gateway's owner dashboard (web/owner) and seathq's (hq/dashboard).
//
//   - Hash is an Argon2id password hash in its PHC string form,
//     $argon2id$v=19$m=65536,t=2,p=2$<salt>$<hash>; ParseHash bounds the
//     parameters a stored hash may ask for, so a damaged or hostile file
//     cannot make a login take minutes or gigabytes.
//   - Verifier admits a bounded number of hash computations at once:
//     each takes the hash's memory (64 MiB for a new one).
//   - Limiter counts wrong passwords per client address and locks an
//     address out for longer with every further one.
//   - Sessions holds logged-in browsers in memory, keyed by the SHA-256
//     of their cookie token, and ends them after an idle time, an
//     absolute lifetime, or to make room.
//   - WriteSecretFile replaces a file atomically with mode 0600.
//   - ClientIP and LocalPath read a login request: the address to limit
//     and a safe page to return to.
//
// Every clock is injected, so tests move time by hand. The package knows
// nothing of the files the dashboards keep their hashes in, their
// cookies or their pages; it imports neither hq, device nor sync.
package auth
