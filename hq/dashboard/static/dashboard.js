// SeatGate HQ dashboard: keeps a page's live parts current from its
// server-sent event stream (body[data-stream]). Each "update" event is
// {"element id": "its new HTML"}, rendered and escaped by the server.
(function () {
  "use strict";
  var src = document.body.getAttribute("data-stream");
  var badge = document.getElementById("live-state");
  if (!src || !window.EventSource) return;

  function show(state) {
    if (!badge) return;
    badge.className = state;
    badge.textContent = badge.getAttribute(state === "on" ? "data-live-on" : "data-live-off");
  }

  function toLogin() {
    location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
  }

  var es = new EventSource(src);
  es.addEventListener("open", function () { show("on"); });
  es.addEventListener("update", function (e) {
    var parts = JSON.parse(e.data);
    Object.keys(parts).forEach(function (id) {
      var el = document.getElementById(id);
      if (el) el.innerHTML = parts[id];
    });
    document.body.setAttribute("data-updated", String(Date.now()));
    show("on");
  });
  es.addEventListener("expired", function () { es.close(); toLogin(); });
  es.addEventListener("error", function () {
    // The browser reconnects by itself, unless the server refused the
    // stream (the session is gone): then it is closed.
    if (es.readyState === EventSource.CLOSED) {
      fetch(src, { method: "HEAD", credentials: "same-origin" }).then(function (r) {
        if (r.status === 401) toLogin(); else show("off");
      }, function () { show("off"); });
      return;
    }
    show("off");
  });
})();
