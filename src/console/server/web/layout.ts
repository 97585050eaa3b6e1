/**
 * The web view's page shell and login form. A page is a header (brand, navigation, live state,
 * sign-out) and a `<main>` that the script refreshes in place; `<main>` carries the server's clock
 * (`data-now-ms`) and the refresh period. Only the content of `<main>` is sent for a refresh, so
 * what sits outside it (the search box being typed into) is never replaced.
 */
import { html } from './html.js';
import type { SafeHtml } from './html.js';

export type Section = 'clusters' | 'images';

interface PageFrame {
  title: string;
  section: Section;
  nowMs: number;
  refreshMs: number;
  /** Above `<main>`, kept across refreshes (the search box). */
  toolbar?: SafeHtml;
}

/** A LAST SEEN age that the script keeps ticking. */
export function seenAge(lastSeenMs: number, text: string): SafeHtml {
  return html`<span class="seen" data-seen-ms="${lastSeenMs}">${text}</span>`;
}

function head(title: string): SafeHtml {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · sightline</title>
        <link rel="stylesheet" href="/static/web.css" />
        <script src="/static/web.js" defer></script>
      </head>
    </html>`;
}

export function page(frame: PageFrame, content: SafeHtml): string {
  const link = (s: Section, label: string): SafeHtml =>
    html`<a href="/${s}" class="${frame.section === s ? 'active' : ''}">${label}</a>`;
  return html`${head(frame.title)}
<body>
<header>
  <span class="brand">sightline</span>
  <nav>${link('clusters', 'Clusters')}${link('images', 'Images')}</nav>
  <span id="live-state" class="live">live</span>
  <form class="logout" method="post" action="/logout"><button type="submit">Sign out</button></form>
</header>
<div class="page">
${frame.toolbar ?? ''}
<main data-live data-now-ms="${frame.nowMs}" data-refresh-ms="${frame.refreshMs}">
${content}
</main>
</div>
</body>
</html>
`.value;
}

export function loginPage(failed: boolean): string {
  return html`${head('Sign in')}
<body>
<form class="login" method="post" action="/login">
  <h1>sightline console</h1>
  <p class="sub">Read-only view. Sign in with the console's bearer token (the reference console's
  --token-file).</p>
  ${failed ? html`<p class="error" role="alert">That is not the console token.</p>` : ''}
  <label for="token">Token</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
  <button type="submit">Sign in</button>
</form>
</body>
</html>
`.value;
}
