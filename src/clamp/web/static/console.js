// Clamp console: follow an action or a job while it runs, then show the outcome.
(function () {
  "use strict";
  var box = document.querySelector("[data-poll]");
  if (!box) { return; }
  var url = box.getAttribute("data-poll");
  var word = box.querySelector("[data-status], [data-job-status]");
  function settled(data) {
    return "in_flight" in data ? data.in_flight === false : data.status !== "running";
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        // The outcome is shown by the page the server renders once it has settled, so a
        // settled status word always belongs to a page that is no longer reloading.
        if (settled(data)) { window.location.reload(); return; }
        if (word && data.status) { word.textContent = data.status; }
        window.setTimeout(poll, 700);
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 500);
})();
