// Package owner serves the centre owner's dashboard on the gateway's LAN
// listener: a live seat map, today's taps, utilisation charts, the plans
// ending this week and the gateway's health, in English or Urdu, on a
// phone as well as a desk. Every asset is embedded in the binary (HTML
// templates, one stylesheet, one small script, the labels): it works with
// the internet down.
//
// # Log-in
//
// There is one owner and one password, set with `seatgate passwd`
// (SetPassword). It is kept as an Argon2id hash (64 MiB, 2 passes, 2
// lanes, 16-byte salt, 32-byte key) in PasswordFile in the data
// directory, read at each log-in, so a new password works without a
// restart. Logging in starts a session: a random 32-byte token in an
// HttpOnly, SameSite=Strict cookie (Secure over TLS), kept in memory, that
// ends after 12 hours without a request, 7 days after the log-in, at
// /logout or when the gateway restarts. Wrong passwords are limited per
// client address: five in a row are allowed, then each locks the address
// out for 30 s, 1 min, 2 min… up to an hour (429 with Retry-After).
//
// Without a session, pages redirect to /login and data (/events,
// /api/owner/…) answers 401: nothing about members is shown. Requests
// that change something are refused from other origins
// (http.CrossOriginProtection) and must carry the session's CSRF token.
//
// # Live seat map
//
// /events is a text/event-stream of the whole seat map. A stream sends it
// when it opens, after every Notify (the gateway calls it for every event
// it commits), and when a reader's health changes, which it looks at
// every Options.Refresh (2 s) since a failing reader is not an event. An
// unchanged map is not sent again. The page's script only copies the
// server's words into the seat tiles, so there is no translation in
// JavaScript.
//
// # Numbers
//
// The today page and the charts read the event log, kept in memory for
// the last 30 days and read incrementally (see history). Utilisation is
// seat time used over seat time available: sessions come from the events
// that end them (checkout, move, auto_checkout carry Since) and from the
// seats occupied now. Charts are inline SVG drawn on the server.
//
// # Routes
//
//	GET  /               seat map (and the emulator's tap form, on an emulated gateway)
//	GET  /today          check-ins, occupancy, refused taps with reasons
//	GET  /charts         utilisation by hour today, by day for 30 days, by zone
//	GET  /plans          plans ending in the next 7 days
//	GET  /health         HQ link, outbox, firmware, readers, clock
//	GET  /login, POST /login, POST /logout
//	GET  /lang/{en|ur}?back=PATH   choose the language (a cookie)
//	GET  /events         the seat map stream (session)
//	GET  /api/owner/seats          the seat map as JSON (session)
//	POST /api/owner/tap  {"reader": ..., "uid": ...}  emulated tap (session, CSRF)
//	GET  /static/{name}  the stylesheet and the script
//
// The gateway's JSON API (package api: /healthz, /api/v1/…) is a separate
// handler mounted beside this one.
package owner
