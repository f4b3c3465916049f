/**
 * The landing page (index.html): what Pluct is, the three parties and how they talk, and links to every page
 * of the site (API references and their raw specs, the error catalog, each guide).
 */
import type { GuidePage } from './guide-pages.js';
import { escapeHtml } from './layout.js';
import type { BundledApi } from './redoc-pages.js';
import { SERVICES } from '../service-registry.js';

function apiItem(page: BundledApi): string {
  const info = (page.spec.info ?? {}) as { title?: string; summary?: string; version?: string };
  const title = escapeHtml(info.title ?? page.api);
  const version = info.version ? ` <span class="pluct-muted">v${escapeHtml(info.version)}</span>` : '';
  const summary = info.summary ? ` — ${escapeHtml(info.summary)}` : '';
  return `<li><a href="${page.fileName}">${title} API reference</a>${version}${summary}
    (<a href="${page.specJson}">${page.specJson}</a>)</li>`;
}

function guideItem(guide: GuidePage): string {
  const summary = guide.summary ? ` — ${escapeHtml(guide.summary)}` : '';
  return `<li><a href="${guide.fileName}">${escapeHtml(guide.title)}</a>${summary}</li>`;
}

/**
 * Renders the body of index.html.
 *
 * @example
 * const body = renderIndexBody(bundles, guides);
 */
export function renderIndexBody(apis: readonly BundledApi[], guides: readonly GuidePage[]): string {
  const engineAuth = guides.some((g) => g.slug === 'engine-auth')
    ? '<a href="engine-auth.html"><code>X-Engine-Auth</code></a>'
    : '<code>X-Engine-Auth</code>';
  const guideList =
    guides.length > 0 ? guides.map(guideItem).join('\n') : '<li class="pluct-muted">No guides yet.</li>';
  return `<h1>Pluct</h1>
<p>Pluct turns a video link into text. The Pluct mobile app sends the URL of a short video (or any public audio
or video file) and gets a transcript back; every transcription costs one credit. These pages are the contract between the three parties
that make this work, generated from the OpenAPI specs and the error catalog in <code>spec/</code>.</p>

<h2 id="parties">The three parties</h2>
<div class="pluct-parties">
  <div class="pluct-card">
    <h3>Pluct app</h3>
    <p>The mobile client. With the user's JWT (from the app's identity provider) it shows their credits and buys a
    single-use service token for 1 credit, then submits the video URL with that token. It only ever talks to the
    Business Engine.</p>
  </div>
  <div class="pluct-card">
    <h3>Business Engine</h3>
    <p>The gateway: credits and ledger, service-token vending, and a signed proxy that forwards transcription
    requests to TTTranscribe with an ${engineAuth} header.</p>
  </div>
  <div class="pluct-card">
    <h3>TTTranscribe</h3>
    <p>The transcription service. It runs asynchronous jobs and accepts requests only from the Business Engine
    (signed with the shared secret), each paid for by one service token.</p>
  </div>
</div>
<pre><code>Pluct app --user JWT / service token--&gt; Business Engine --X-Engine-Auth + service token--&gt; TTTranscribe</code></pre>

<h2 id="reference">API reference</h2>
<ul>
${apis.map(apiItem).join('\n')}
</ul>

<h2 id="errors">Errors</h2>
<ul>
  <li><a href="errors.html">Error catalog</a> — every error code of every service: meaning, who acts, how to fix,
  an example body and the operations that return it. Problem <code>type</code> URLs link here.</li>
</ul>

<h2 id="guides">Guides</h2>
<ul>
${guideList}
</ul>

<h2 id="mocks">Mock servers</h2>
<p><code>npm run mock</code> serves every spec with Prism (${SERVICES.map((s) => `${escapeHtml(s.title)} on port ${s.mock.defaultPort}`).join(', ')}).
Ask for any documented answer with a <code>Prefer</code> header, e.g.
<code>Prefer: code=401, example=token_expired</code>.</p>
`;
}
