// The status screen refreshes its tiles without reloading: 5 s after the last answer the fragment comes again from
// the box. While the box restarts its services (after a configuration change) it says so and keeps trying. No inline
// script (CSP); plain ES5 for the kiosk's browser, no build step.
(function () {
  'use strict';
  var PERIOD_MS = 5000;
  var TIMEOUT_MS = 10000;
  var holder = document.getElementById('tuiles');
  var offline = document.getElementById('hors-ligne');
  if (!holder || !window.fetch) return;
  var source = holder.getAttribute('data-source');
  // The report's time changes at every answer: compare without it, so an unchanged screen is left alone (no flicker
  // under a finger about to tap "Réessayer").
  var stamp = / data-a="[^"]*"/;
  var last = holder.innerHTML.replace(stamp, '');

  function setOffline(on) {
    if (offline) offline.hidden = !on;
  }

  function swap(html) {
    var bare = html.replace(stamp, '');
    if (bare === last) return;
    var x = window.scrollX;
    var y = window.scrollY;
    holder.innerHTML = html;
    last = bare;
    window.scrollTo(x, y);
  }

  function once() {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, TIMEOUT_MS) : null;
    return fetch(source, { credentials: 'same-origin', cache: 'no-store', signal: controller ? controller.signal : undefined })
      .then(function (r) {
        // Sent elsewhere (the session ended and the PIN is asked): the whole page goes there.
        if (r.redirected || r.status === 401) {
          window.location.reload();
          return;
        }
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.text().then(function (html) {
          if (html.indexOf('id="tuiles-contenu"') < 0) throw new Error('not the tiles');
          swap(html);
          setOffline(false);
        });
      })
      .catch(function () { setOffline(true); })
      .then(function () { if (timer) clearTimeout(timer); });
  }

  function loop() {
    once().then(function () { setTimeout(loop, PERIOD_MS); });
  }
  setTimeout(loop, PERIOD_MS);
})();
