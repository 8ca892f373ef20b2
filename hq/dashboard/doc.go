// Package dashboard is HQ's analysts' dashboard, served by seathq beside
// its JSON API: a national overview, a page per centre and the firmware
// rollouts, in English and Urdu, on a phone as on a desk. Pages are
// rendered on the server; a small script keeps their live parts current
// from a server-sent event stream. Everything it serves is embedded in
// the binary: it loads nothing from another site.
//
// # Pages
//
// The national overview counts centres online (at least one gateway
// online) and offline, gateways by state (online, silent, offline, never
// heard from), the seats occupied now against all seats, and seat-hours
// today against capacity, in total, by city, by tier and per centre.
//
//   - Seats are those the centre's gateways last reported, whatever their
//     state; occupied seats count only on gateways that are online or
//     silent (an offline gateway's last report may be hours old).
//   - Seat-hours today are the ended sessions of today in the ledger
//     (package hq/ledger counts a session when it ends) plus today's part
//     of the sessions open now, from the live occupancy.
//   - Capacity is seats × the time since the centre's midnight, in its
//     time zone.
//
// A centre's page shows its seats live (by zone: free, occupied and by
// whom, or stale when the gateway is offline), its gateways (state, last
// heard, firmware version, update phase, outbox depth and age, readers,
// clock) and its ledger for the last 30 days, each day verified or
// unverified with the reasons: session pieces with an untrusted clock,
// session ends that could not be measured, gateways whose event chain is
// suspect. The rollouts page lists every rollout with its state, cohort,
// counts and failed gateways.
//
// The overview and a centre's page list the centres with an enrolled
// gateway (package hq/registry); the fleet's state of gateways no longer
// enrolled is ignored.
//
// # Centres file
//
// HQ knows a centre only by its ID. The optional centres file
// (CentresFile, "centres.yaml" in seathq's data or secrets directory)
// adds its name, city, tier and time zone:
//
//	centres:
//	  - id: lhr-gulberg          # the centre ID gateways are enrolled under
//	    name: Gulberg Tech Hub   # up to 100 characters
//	    city: Lahore             # up to 60 characters
//	    tier: 1                  # 1, 2 or 3
//	    timezone: Asia/Karachi   # IANA name; Asia/Karachi when left out
//	  - id: mux-cantt
//	    name: Multan Cantt
//	    city: Multan
//	    tier: 2
//
// Every key but id may be left out. A centre the file does not list, or
// lists without a city or tier, shows under "unassigned" in the
// groupings, in Asia/Karachi. The file is read again within 10 s of a
// change; a change that does not parse is logged and the centres read
// before stay. The ledger's days begin at its own midnight (Asia/Karachi
// by default), so a centre in another zone counts its ledger seat-hours
// by HQ's days.
//
// # Login
//
// Operators log in with a name and password. Accounts are the lines of
// UsersFile in seathq's secrets directory, Argon2id hashes set with
// SetPassword ('seathq passwd'). A session lives in memory (a restart of
// seathq logs everyone out) behind an HttpOnly, SameSite=Strict cookie,
// Secure when the request came over TLS, and ends after 8 hours without a
// page request, 24 hours after login, or at logout; an open page's live
// stream does not keep it alive, and is told when it ended. Five wrong
// passwords in a row from one address lock it out for 30 s, doubling with
// every further one up to an hour (429 with Retry-After). POSTs from
// another origin are refused (http.CrossOriginProtection).
//
// Nothing but the login page, the language switch and the style sheet and
// script is served without a session: pages send the browser to the login
// page, the live stream answers 401.
//
// # Live stream
//
// GET /events?topic=overview, ?topic=centre&centre=ID or
// ?topic=rollouts is a text/event-stream. Its "update" events carry
// {"element id": "HTML"} for the parts of the page that changed, rendered
// by the same templates as the page. The stream looks for changes every
// Options.PushEvery (1 s) and at once after Notify or a registry change.
// The fleet is read from memory each time; the ledger and the rollouts
// are read from JetStream at most every 15 s and 2 s.
package dashboard
