// Seatgate owner dashboard: the live seat map (server-sent events from
// /events) and the emulator's tap form. Everything the page shows comes
// from the server already in the viewer's language.
"use strict";

(function () {
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  // Live seat map.
  const map = document.getElementById("seatmap");
  if (map && window.EventSource) {
    const live = document.getElementById("live");
    const summary = document.getElementById("summary");
    const tiles = new Map();
    for (const el of map.querySelectorAll("[data-seat]")) tiles.set(el.dataset.seat, el);
    const labels = { on: live.dataset.labelOn, lost: live.dataset.labelLost };
    const setLive = (state) => {
      live.className = "live " + state;
      live.textContent = labels[state];
    };
    const part = (el, cls, text) => {
      const p = el.querySelector("." + cls);
      if (p && p.textContent !== text) p.textContent = text;
    };
    const es = new EventSource("/events");
    es.addEventListener("open", () => setLive("on"));
    es.addEventListener("seats", (e) => {
      setLive("on");
      const m = JSON.parse(e.data);
      summary.textContent = m.summary;
      for (const s of m.seats) {
        const el = tiles.get(s.seat);
        if (!el) { window.location.reload(); return; } // the seats were reconfigured
        el.className = "seat " + s.class;
        el.title = s.fault || "";
        part(el, "label", s.label);
        part(el, "who", s.who);
        part(el, "since", s.since);
      }
      map.dataset.updated = String(Date.now());
    });
    es.addEventListener("expired", () => { es.close(); window.location.href = "/login"; });
    es.addEventListener("error", () => {
      setLive("lost");
      if (es.readyState === EventSource.CLOSED) {
        // The server refused the stream (the session ended?): ask once.
        fetch("/api/owner/seats", { credentials: "same-origin" }).then((r) => {
          if (r.status === 401) window.location.href = "/login";
        });
      }
    });
  }

  // Emulator: tap a card.
  const form = document.getElementById("tapform");
  if (form) {
    const out = document.getElementById("emu-result");
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const body = JSON.stringify({ reader: form.reader.value, uid: form.uid.value.trim() });
      out.textContent = "…";
      out.className = "result";
      try {
        const r = await fetch("/api/owner/tap", {
          method: "POST", credentials: "same-origin", body,
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        });
        const a = await r.json();
        if (r.status === 401) { window.location.href = "/login"; return; }
        out.textContent = r.ok ? a.message : a.error;
        out.className = "result " + (r.ok ? a.result.outcome : "error");
      } catch (err) {
        out.textContent = String(err);
        out.className = "result error";
      }
    });
  }
})();
