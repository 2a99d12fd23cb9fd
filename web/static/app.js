// Live updates layered on the server-rendered pages: poll the status every 5 s and repaint
// states in place. Everything here is optional: the pages read the same without it.
(function () {
  "use strict";
  var page = document.body.getAttribute("data-page");
  var STATES = ["healthy", "degraded", "down", "unknown"];
  function setState(el, state, prefix) {
    STATES.forEach(function (s) { el.classList.remove((prefix || "") + s); });
    el.classList.add((prefix || "") + state);
  }
  function apply(s) {
    var up = document.getElementById("updated");
    if (up) up.textContent = s.updated;
    s.paths.forEach(function (p) {
      var box = document.querySelector('[data-path="' + CSS.escape(p.path) + '"]');
      if (!box) return;
      var pill = box.querySelector('[data-role="state"]');
      if (pill) { setState(pill, p.state); pill.textContent = p.label; }
      var reason = box.querySelector('[data-role="reason"]');
      if (reason) reason.textContent = p.reason;
    });
    s.nodes.forEach(function (n) {
      var g = document.querySelector('g.node[data-node="' + CSS.escape(n[0]) + '"]');
      if (g) setState(g, n[1], "st-");
      var d = document.querySelector('[data-node-dot="' + CSS.escape(n[0]) + '"]');
      if (d) setState(d, n[1]);
    });
    s.links.forEach(function (l) {
      var g = document.querySelector('g.edge[data-link="' + CSS.escape(l[0]) + '"]');
      if (g) setState(g, l[1], "st-");
    });
  }
  function poll() {
    fetch("/api/dashboard/status", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { if (r.status === 401) { location.href = "/masuk"; } return r.ok ? r.json() : null; })
      .then(function (s) { if (s) apply(s); })
      .catch(function () {});
  }
  if (page === "overview" || page === "topology") setInterval(poll, 5000);
  // A click on a device of the diagram shows its probes.
  document.querySelectorAll("g.node[data-node]").forEach(function (g) {
    var go = function () { location.href = "/topologi?node=" + encodeURIComponent(g.getAttribute("data-node")) + "#detail"; };
    g.addEventListener("click", go);
    g.addEventListener("keydown", function (e) { if (e.key === "Enter") go(); });
  });
  var picked = new URLSearchParams(location.search).get("node");
  if (picked) {
    var g = document.querySelector('g.node[data-node="' + CSS.escape(picked) + '"]');
    if (g) g.classList.add("picked");
  }
  // History: a new range or target shows at once.
  var filters = document.querySelector("form.filters");
  if (filters) filters.addEventListener("change", function () { filters.submit(); });
})();
