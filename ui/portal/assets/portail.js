// Live progress of a portal job (retrieve or import): Server-Sent Events when the browser has them, else polling.
// Words come from the page (#libelles, written from ui/strings/portal.ts). The page is rendered again by the server once the
// job is finished (links and report come with it).
(function () {
  'use strict';
  var section = document.getElementById('travail');
  var labelsBlock = document.getElementById('libelles');
  if (!section || !labelsBlock || section.getAttribute('data-finished') === '1') return;
  var labels = JSON.parse(labelsBlock.textContent);
  var id = section.getAttribute('data-job');
  var bar = document.getElementById('progression');
  var state = document.getElementById('etat-travail');
  var counters = document.getElementById('compteurs');

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, name) { return name in values ? String(values[name]) : m; });
  }

  function show(job) {
    bar.max = Math.max(1, job.total);
    bar.value = job.done;
    bar.textContent = String(job.done);
    state.textContent = labels.states[job.state] || job.state;
    var parts = [fill(labels.progress, { done: job.done, total: job.total })];
    if (job.kind === 'retrieve') {
      if (job.alreadyCached) parts.push(fill(labels.alreadyCached, { n: job.alreadyCached }));
      parts.push(fill(labels.transferred, { n: job.transferred }));
    } else parts.push(fill(labels.imported, { n: job.transferred }));
    parts.push(fill(labels.bytes, { mb: (job.bytes / 1e6).toLocaleString('fr-FR', { maximumFractionDigits: 1 }) }));
    if (job.failed) parts.push(fill(labels.failed, { n: job.failed }));
    counters.textContent = parts.join(' · ');
    var finished = job.state === 'done' || job.state === 'failed' || job.state === 'cancelled';
    if (finished) window.setTimeout(function () { window.location.reload(); }, 300);
    return finished;
  }

  function poll() {
    fetch('/portal/api/jobs/' + encodeURIComponent(id), { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (job) { if (!job || !show(job)) window.setTimeout(poll, 1000); })
      .catch(function () { window.setTimeout(poll, 2000); });
  }

  if (window.EventSource) {
    var events = new EventSource('/portal/api/jobs/' + encodeURIComponent(id) + '/events');
    events.addEventListener('progress', function (e) {
      if (show(JSON.parse(e.data))) events.close();
    });
    events.onerror = function () { events.close(); poll(); };
  } else poll();
})();

// The card login at the box: an on-screen PIN pad (the kiosk has no keyboard), and the page follows the reader —
// it reloads when /portal/carte/etat reports a card inserted, removed or locked.
(function () {
  'use strict';
  var etat = document.getElementById('carte-etat');
  if (!etat) return;
  var pin = document.getElementById('pin');
  var pad = document.getElementById('pave-pin');
  if (pin && pad) {
    pad.addEventListener('click', function (e) {
      var target = e.target;
      if (!target || !target.getAttribute) return;
      var digit = target.getAttribute('data-chiffre');
      if (digit !== null && pin.value.length < 8) pin.value += digit;
      if (target.id === 'pin-effacer') pin.value = '';
    });
  }
  var shown = etat.getAttribute('data-etat');
  function poll() {
    fetch('/portal/carte/etat', { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (s && s.signature !== shown) window.location.replace('/portal/carte');
        else window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 1000);
})();
