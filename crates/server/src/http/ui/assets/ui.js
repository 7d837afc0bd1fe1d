// Klaxon web UI: live updates over server-sent events. Everything works without this script
// (plain links and forms); it only saves reloads. An element with `data-live="URL"` is
// re-fetched from URL whenever alerts change; ticked checkboxes stay ticked.
(function () {
  "use strict";
  var lives = document.querySelectorAll("[data-live]");
  if (!lives.length || !window.EventSource || !window.htmx) return;
  var status = document.getElementById("live-status");
  var pending = null;
  function refresh() {
    pending = null;
    Array.prototype.forEach.call(lives, function (el) {
      var checked = Array.prototype.map.call(
        el.querySelectorAll("input[name=alert]:checked"), function (c) { return c.value; });
      htmx.ajax("GET", el.getAttribute("data-live"), { target: el, swap: "innerHTML" }).then(function () {
        checked.forEach(function (v) {
          var box = el.querySelector("input[name=alert][value='" + v + "']");
          if (box) box.checked = true;
        });
      });
    });
  }
  var es = new EventSource("/ui/events");
  es.addEventListener("alerts", function () {
    if (!pending) pending = setTimeout(refresh, 250);
  });
  es.onopen = function () { if (status) status.textContent = "Live"; };
  es.onerror = function () { if (status) status.textContent = "Reconnecting…"; };
})();
