/* Live updates for the support desk's pages. Include with
 *   <script src="{% static 'support/live.js' %}" data-group="inbox" defer></script>
 * (or data-group="inquiry-<number>"). Each update from the server is dispatched on document.body as
 *   new CustomEvent("live:update", {detail: {kind, inquiry, status, message?}})
 * so htmx elements can refresh with hx-trigger="live:update from:body". Reconnects with backoff. */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-group]");
  if (!script || !window.WebSocket) return;
  var group = script.getAttribute("data-group") || "inbox";
  var path = group === "inbox" ? "inbox/" : "inquiry/" + group.replace(/^inquiry-/, "") + "/";
  var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/support/" + path;
  var tries = 0;

  function connect() {
    var ws = new WebSocket(url);
    ws.onopen = function () {
      tries = 0;
      document.body.dispatchEvent(new CustomEvent("live:connected", { detail: { group: group } }));
    };
    ws.onmessage = function (ev) {
      var detail;
      try { detail = JSON.parse(ev.data); } catch (e) { return; }
      document.body.dispatchEvent(new CustomEvent("live:update", { detail: detail }));
    };
    ws.onclose = function (ev) {
      if (ev.code === 4403) return;  // not allowed: do not hammer the server
      var wait = Math.min(30000, 500 * Math.pow(2, tries++)) * (0.75 + Math.random() / 2);
      setTimeout(connect, wait);
    };
  }
  connect();
})();
