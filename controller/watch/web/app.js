// converge status page (served as /ui/app.js; embedded in the binary).
// Overview: polls /status every 2 s and redraws the resource tables in place, filters them as
// you type. Runs page: draws the timeline (SVG) from the runs table's data attributes.
// Every value from the server is put in the page with textContent or setAttribute on a fixed
// attribute: nothing is parsed as HTML, so a name or label is always shown as text.
'use strict';
(function () {
  const POLL_MS = 2000;
  const SVG = 'http://www.w3.org/2000/svg';
  const RANK = { held: 0, failed: 1, drifted: 2, progressing: 3, 'not-pruned': 4, synced: 5 };
  const STATES = ['held', 'failed', 'drifted', 'progressing', 'not-pruned', 'synced'];

  function rank(s) { return s in RANK ? RANK[s] : 4; }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const c of children) {
      if (c === null || c === undefined) continue;
      e.append(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return e;
  }

  function setLive(text, ok) {
    const live = document.getElementById('live');
    if (!live) return;
    live.textContent = text;
    live.className = 'live ' + (ok ? 'ok' : 'stale');
  }

  // "App//shop/web" -> "App /shop/web" (the server's Display()).
  function display(key) {
    const i = key.indexOf('/');
    return i < 0 ? key : key.slice(0, i) + ' ' + key.slice(i + 1);
  }

  function matches(r, f) {
    if (!f) return true;
    const hay = [r.key, r.backend, r.state, r.reason, r.last_error]
      .concat(Object.entries(r.labels || {}).map(([k, v]) => k + '=' + v));
    return hay.some((s) => String(s || '').toLowerCase().includes(f));
  }

  function lastChange(r) {
    const td = el('td', { class: 'c-change' });
    if (!r.last_change) { td.textContent = '—'; return td; }
    td.append(el('time', {}, r.last_change));
    if (r.last_run) {
      td.append(' · ', el('a', { href: '/runs#run-' + Number(r.last_run) }, 'run ' + Number(r.last_run)));
    }
    if (r.last_commit) td.append(' · ', el('code', {}, r.last_commit.slice(0, 12)));
    return td;
  }

  function row(r) {
    // Held and failed resources say why in their reason; the others show an earlier error.
    let why = r.reason || '';
    if (r.last_error && r.state !== 'held' && r.state !== 'failed') {
      why += (why ? ' — last error: ' : '') + r.last_error;
    }
    const href = typeof r.url === 'string' && r.url.startsWith('/resources/') ? r.url : '/';
    const key = el('td', { class: 'c-key' }, el('a', { href: href }, display(r.key)));
    const labels = Object.entries(r.labels || {});
    if (labels.length) key.append(el('ul', { class: 'labels' }, ...labels.map(([k, v]) => el('li', {}, k + '=' + v))));
    const tr = el('tr', { class: 'res st-' + r.state, 'data-key': r.key },
      el('td', { class: 'c-state' }, el('span', { class: 'badge st-' + r.state }, r.state)),
      key,
      el('td', { class: 'c-health' }, r.health || '—'),
      lastChange(r),
      el('td', { class: 'c-reason' }, why));
    return tr;
  }

  function drawOverview(st, filter) {
    const counts = {};
    for (const r of st.resources) counts[r.state] = (counts[r.state] || 0) + 1;
    const ul = document.getElementById('counts');
    if (ul) {
      const states = STATES.slice();
      for (const s of Object.keys(counts)) if (!states.includes(s)) states.push(s);
      states.sort((a, b) => rank(a) - rank(b));
      ul.replaceChildren(...states.map((s) => el('li', { class: 'st-' + s, 'data-state': s },
        el('span', { class: 'n' }, String(counts[s] || 0)), ' ' + s)));
    }
    const ready = document.getElementById('ready');
    if (ready) {
      ready.textContent = st.ready ? 'ready' : 'not ready';
      ready.className = st.ready ? 'ready' : 'not-ready';
    }
    const sync = document.getElementById('last-sync');
    if (sync) sync.textContent = st.last_successful_sync || 'never';
    const problems = document.getElementById('problems');
    if (problems) {
      const items = [];
      if (st.backends_error) items.push(el('p', { class: 'error' }, 'Backends: ' + st.backends_error));
      if (st.failed_files.length) {
        items.push(el('p', { class: 'error' }, 'Spec files that failed to load (every prune is blocked):'));
        items.push(el('ul', {}, ...st.failed_files.map((f) => el('li', {}, el('code', {}, f)))));
      }
      for (const e of st.spec_errors) items.push(el('p', { class: 'error' }, el('code', {}, e)));
      problems.replaceChildren(...items);
    }
    const byBackend = new Map();
    for (const r of st.resources) {
      if (!matches(r, filter)) continue;
      if (!byBackend.has(r.backend)) byBackend.set(r.backend, []);
      byBackend.get(r.backend).push(r);
    }
    const groups = [];
    for (const [b, rs] of byBackend) {
      rs.sort((x, y) => rank(x.state) - rank(y.state) || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
      groups.push([rank(rs[0].state), b, rs]);
    }
    groups.sort((x, y) => x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0));
    const box = document.getElementById('resources');
    if (!box) return;
    if (!groups.length) {
      box.replaceChildren(el('p', { class: 'empty' },
        st.resources.length ? 'Nothing matches the filter.' : 'No resources yet.'));
      return;
    }
    box.replaceChildren(...groups.map(([, b, rs]) => el('section', { class: 'backend', 'data-backend': b },
      el('h2', {}, 'backend ' + (b || '(unknown)')),
      el('table', {},
        el('thead', {}, el('tr', {}, ...['state', 'resource', 'health', 'last change', 'reason / last error'].map((h) => el('th', {}, h)))),
        el('tbody', {}, ...rs.map(row))))));
  }

  function overview() {
    const input = document.getElementById('filter');
    const form = input && input.form;
    let last = null;
    const filterText = () => (input ? input.value.trim().toLowerCase() : '');
    if (form) {
      form.addEventListener('submit', (ev) => { ev.preventDefault(); });
      input.addEventListener('input', () => {
        const q = input.value.trim();
        history.replaceState(null, '', q ? '/?q=' + encodeURIComponent(q) : '/');
        if (last) drawOverview(last, filterText());
      });
    }
    async function poll() {
      try {
        const res = await fetch('/status', { cache: 'no-store', headers: { Accept: 'application/json' } });
        if (!res.ok) throw new Error('HTTP ' + res.status);
        last = await res.json();
        drawOverview(last, filterText());
        setLive('live · ' + new Date().toLocaleTimeString(), true);
      } catch (e) {
        setLive('not updating: ' + e.message, false);
      }
      setTimeout(poll, POLL_MS);
    }
    poll();
  }

  function svg(tag, attrs, title) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (title) {
      const t = document.createElementNS(SVG, 'title');
      t.textContent = title;
      e.append(t);
    }
    return e;
  }

  function runs() {
    const fig = document.getElementById('timeline');
    if (!fig) return;
    const rows = Array.from(document.querySelectorAll('tr.run'));
    const spans = [];
    const marks = [];
    for (const tr of rows) {
      const id = Number(tr.dataset.run);
      const start = Date.parse(tr.dataset.start);
      const end = tr.dataset.end ? Date.parse(tr.dataset.end) : Date.now();
      if (!isNaN(start)) spans.push({ id, start, end: isNaN(end) ? start : end, status: tr.dataset.status });
      for (const li of tr.querySelectorAll('li[data-at]')) {
        const at = Date.parse(li.dataset.at);
        if (!isNaN(at)) marks.push({ id, at, state: li.dataset.state, key: li.dataset.key });
      }
    }
    const times = spans.flatMap((s) => [s.start, s.end]).concat(marks.map((m) => m.at));
    if (!times.length) return;
    let t0 = Math.min(...times);
    let t1 = Math.max(...times);
    if (t1 - t0 < 1000) { t0 -= 500; t1 += 500; }
    const W = 960;
    const PAD = 10;
    const x = (t) => PAD + ((t - t0) / (t1 - t0)) * (W - 2 * PAD);
    const root = svg('svg', { viewBox: '0 0 ' + W + ' 92', width: '100%', role: 'img', 'aria-label': 'changes over time', class: 'tl' });
    const runsLabel = svg('text', { x: PAD, y: 12, class: 'tl-label' });
    runsLabel.textContent = 'runs';
    root.append(runsLabel);
    for (const s of spans) {
      const a = svg('a', { href: '#run-' + s.id });
      a.append(svg('rect', { x: x(s.start), y: 16, width: Math.max(2, x(s.end) - x(s.start)), height: 14, class: 'tl-run r-' + s.status },
        'run ' + s.id + ': ' + s.status));
      root.append(a);
    }
    const label = svg('text', { x: PAD, y: 46, class: 'tl-label' });
    label.textContent = 'changes';
    root.append(label);
    for (const m of marks) {
      const a = svg('a', { href: '#run-' + m.id });
      a.append(svg('rect', { x: x(m.at) - 2, y: 50, width: 4, height: 22, class: 'tl-mark m-' + m.state },
        m.key + ' → ' + m.state + ' (run ' + m.id + ')'));
      root.append(a);
    }
    const from = svg('text', { x: PAD, y: 88, class: 'tl-axis' });
    from.textContent = new Date(t0).toISOString();
    const to = svg('text', { x: W - PAD, y: 88, class: 'tl-axis end' });
    to.textContent = new Date(t1).toISOString();
    root.append(from, to);
    fig.replaceChildren(root);
  }

  const page = document.body && document.body.dataset.page;
  if (page === 'overview') overview();
  if (page === 'runs') runs();
})();
