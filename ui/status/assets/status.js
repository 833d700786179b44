// The status screen refreshes its tiles without reloading: every 5 s the fragment comes again from the box. While
// the box restarts its services (after a configuration change) it says so and keeps trying. No inline script (CSP).
(function () {
  'use strict';
  var holder = document.getElementById('tuiles');
  var offline = document.getElementById('hors-ligne');
  if (!holder) return;
  var source = holder.getAttribute('data-source');
  function refresh() {
    fetch(source, { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var y = window.scrollY;
        holder.innerHTML = html;
        window.scrollTo(0, y);
        offline.hidden = true;
      })
      .catch(function () { offline.hidden = false; });
  }
  setInterval(refresh, 5000);
})();
