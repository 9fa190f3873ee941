(function () {
  'use strict';
  // Ledger text reaches the page only through textContent and option values.
  var dataEl = document.getElementById('findings-data');
  var metaEl = document.getElementById('findings-meta');
  var tbody = document.querySelector('#findings-table tbody');
  if (!dataEl || !tbody) { return; }
  var data = JSON.parse(dataEl.textContent || '[]');
  var meta = metaEl ? JSON.parse(metaEl.textContent || '{}') : {};
  var rank = {};
  (meta.severity_order || []).forEach(function (s, i) { rank[s] = i; });
  var COL = meta.columns || {};
  var ft = document.getElementById('filter-text');
  var fa = document.getElementById('filter-agency');
  var fs = document.getElementById('filter-system');
  var fv = document.getElementById('filter-severity');
  var count = document.getElementById('filter-count');
  var collator = new Intl.Collator('zh-CN', { numeric: true });
  var haystack = data.map(function (r) { return r.join('\u0001').toLowerCase(); });
  var sortCol = -1;
  var asc = true;

  var h = new URLSearchParams(location.hash.slice(1));
  if (h.get('q')) { ft.value = h.get('q'); }
  [['agency', fa], ['system', fs], ['severity', fv]].forEach(function (p) {
    var v = h.get(p[0]);
    if (v !== null) { p[1].value = v; }
  });

  function compare(a, b) {
    var x = a[sortCol];
    var y = b[sortCol];
    if (sortCol === COL.severity) {
      var rx = x in rank ? rank[x] : 99;
      var ry = y in rank ? rank[y] : 99;
      if (rx !== ry) { return rx - ry; }
    }
    return collator.compare(String(x), String(y));
  }

  function render() {
    var q = ft.value.trim().toLowerCase();
    var rows = [];
    for (var i = 0; i < data.length; i++) {
      var r = data[i];
      if (fa.value && r[COL.agency] !== fa.value) { continue; }
      if (fs.value && r[COL.system] !== fs.value) { continue; }
      if (fv.value && r[COL.severity] !== fv.value) { continue; }
      if (q && haystack[i].indexOf(q) < 0) { continue; }
      rows.push(r);
    }
    if (sortCol >= 0) {
      rows.sort(function (a, b) { return compare(a, b) * (asc ? 1 : -1); });
    }
    var frag = document.createDocumentFragment();
    rows.forEach(function (r) {
      var tr = document.createElement('tr');
      r.forEach(function (v) {
        var td = document.createElement('td');
        td.textContent = v;
        tr.appendChild(td);
      });
      frag.appendChild(tr);
    });
    while (tbody.firstChild) { tbody.removeChild(tbody.firstChild); }
    tbody.appendChild(frag);
    count.textContent = '显示 ' + rows.length + ' / ' + data.length + ' 条';
  }

  var timer = 0;
  ft.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(render, 150);
  });
  [fa, fs, fv].forEach(function (e) { e.addEventListener('change', render); });
  var ths = document.querySelectorAll('#findings-table thead th');
  Array.prototype.forEach.call(ths, function (th, i) {
    th.tabIndex = 0;
    function sortBy() {
      if (sortCol === i) { asc = !asc; } else { sortCol = i; asc = true; }
      Array.prototype.forEach.call(ths, function (o) { o.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
      render();
    }
    th.addEventListener('click', sortBy);
    th.addEventListener('keydown', function (ev) {
      if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); sortBy(); }
    });
  });
  render();
})();
