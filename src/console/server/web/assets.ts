/**
 * The web view's static assets, served from memory at /static/: one stylesheet and one small
 * hand-written script (no build step, nothing fetched from the network). The script keeps a page
 * live: every second it re-computes each LAST SEEN age from its `data-seen-ms` timestamp (against
 * the server's clock, so a skewed browser clock does not matter), and every `data-refresh-ms` it
 * fetches the page's `<main>` again (`X-Sightline-Fragment: 1`, server-rendered and escaped) and
 * swaps it in. A 401 sends the browser to the login form; a failed fetch is shown and retried.
 * The search box filters as one types (debounced) and keeps the query in the address bar.
 */

export const webScript = String.raw`(() => {
  'use strict';
  const main = document.querySelector('main[data-live]');
  if (!main) return;
  const refreshMs = Number(main.dataset.refreshMs) || 2000;
  const state = document.getElementById('live-state');
  let skewMs = Number(main.dataset.nowMs) - Date.now();
  const show = (text, bad) => {
    if (!state) return;
    state.textContent = text;
    state.className = bad ? 'live bad' : 'live';
  };
  const age = (ms) => {
    const s = Math.max(0, Math.floor((Date.now() + skewMs - ms) / 1000));
    if (s < 60) return s + 's';
    const m = Math.floor(s / 60);
    if (m < 60) return m + 'm';
    const h = Math.floor(m / 60);
    if (h < 24) return h + 'h';
    return Math.floor(h / 24) + 'd';
  };
  const tick = () => {
    for (const el of document.querySelectorAll('[data-seen-ms]')) {
      const text = age(Number(el.dataset.seenMs));
      if (el.textContent !== text) el.textContent = text;
    }
  };
  let busy = false;
  let again = false;
  const refresh = async () => {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const res = await fetch(location.pathname + location.search, {
        headers: { 'X-Sightline-Fragment': '1' },
        credentials: 'same-origin',
        cache: 'no-store',
      });
      if (res.status === 401) { location.assign('/login'); return; }
      if (!res.ok) { show('update failed (HTTP ' + res.status + '), retrying', true); return; }
      const body = await res.text();
      const now = Number(res.headers.get('X-Sightline-Now-Ms'));
      if (now > 0) skewMs = now - Date.now();
      main.innerHTML = body;
      tick();
      show('live', false);
    } catch (err) {
      show('console not answering, retrying', true);
    } finally {
      busy = false;
      if (again) { again = false; void refresh(); }
    }
  };
  const search = document.querySelector('input[name="q"]');
  if (search) {
    let timer;
    search.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const url = new URL(location.href);
        if (search.value === '') url.searchParams.delete('q');
        else url.searchParams.set('q', search.value);
        history.replaceState(null, '', url);
        void refresh();
      }, 250);
    });
  }
  tick();
  setInterval(tick, 1000);
  setInterval(() => void refresh(), refreshMs);
})();
`;

export const webStyle = `
:root { color-scheme: light; --fg: #1d2433; --muted: #5b6476; --line: #e3e6ec; --accent: #3b3fd8;
  --ok: #137a3d; --old: #8a5a00; --gone: #9b2c2c; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
  background: #f6f7f9; }
header { display: flex; align-items: center; gap: 24px; padding: 12px 24px; background: #fff;
  border-bottom: 1px solid var(--line); }
header .brand { font-weight: 700; letter-spacing: .02em; }
header nav a { margin-right: 16px; color: var(--muted); text-decoration: none; padding: 4px 0; }
header nav a.active { color: var(--fg); border-bottom: 2px solid var(--accent); }
header .live { margin-left: auto; font-size: 12px; color: var(--ok); }
header .live.bad { color: var(--gone); }
header form.logout button { background: none; border: 0; color: var(--muted); cursor: pointer; font: inherit; }
.page { padding: 20px 24px; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 24px 0 8px; }
.sub { color: var(--muted); margin: 0 0 16px; }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
th { white-space: nowrap; text-align: left; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted);
  padding: 8px 12px; border-bottom: 1px solid var(--line); background: #fafbfc; }
td { padding: 8px 12px; border-bottom: 1px solid var(--line); vertical-align: top; }
tr:last-child td { border-bottom: 0; }
a { color: var(--accent); }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; background: #eef0f4; }
.badge.CLOUD_RUN { background: #e6f0ff; } .badge.ECS { background: #fff1e0; }
.badge.current { background: #e3f6ea; color: var(--ok); } .badge.superseded { background: #fdf3dc; color: var(--old); }
.badge.deleted { background: #fbe6e6; color: var(--gone); }
.label { display: inline-block; margin: 0 4px 4px 0; padding: 0 6px; border: 1px solid var(--line);
  border-radius: 4px; font-size: 12px; background: #fafbfc; }
.muted { color: var(--muted); }
.nowrap { white-space: nowrap; }
form.search input { width: 420px; max-width: 100%; padding: 7px 10px; border: 1px solid var(--line);
  border-radius: 6px; font: inherit; margin-bottom: 12px; }
.login { max-width: 380px; margin: 80px auto; background: #fff; border: 1px solid var(--line); padding: 24px;
  border-radius: 8px; }
.login input { width: 100%; padding: 8px 10px; margin: 8px 0 12px; font: inherit; border: 1px solid var(--line);
  border-radius: 6px; }
.login button { padding: 8px 16px; font: inherit; background: var(--accent); color: #fff; border: 0; border-radius: 6px; }
.error { color: var(--gone); }
`;
