// The setup pages' live parts, without reloading: the RIS test message as it arrives, and the box coming back
// after a configuration is applied. No inline script (CSP): this file is served by the box.
(function () {
  'use strict';
  var messages = document.getElementById('ris-messages');
  if (messages) {
    var since = messages.getAttribute('data-depuis');
    var last = '';
    setInterval(function () {
      fetch('/setup/ris/messages?depuis=' + encodeURIComponent(since), { credentials: 'same-origin' })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          if (html !== last) {
            last = html;
            messages.innerHTML = html;
          }
        })
        .catch(function () { /* the next round tries again */ });
    }, 1500);
  }
})();
