/**
 * The shared chrome of the hand-rendered docs pages (index, error catalog, guides): one HTML shell with the
 * local stylesheet and a top bar of relative links, plus HTML escaping. Every URL it emits is relative, so the
 * site works from any mount point (the engine serves it under `/docs`) and from disk.
 */

/** A link in the top bar and on the index page. */
export interface NavLink {
  /** Relative URL of the page, e.g. `errors.html`. */
  href: string;
  /** Short label for the top bar. */
  label: string;
}

/** What {@link renderPage} needs for one page. */
export interface PageOptions {
  /** The `<title>` (the site name is appended). */
  title: string;
  /** The page's own file name, so the top bar can mark it as current. */
  fileName: string;
  /** Top bar links, in order. */
  nav: readonly NavLink[];
  /** The page body (already HTML). */
  body: string;
  /** Extra relative script URLs, loaded at the end of the body in order (no inline scripts). */
  scripts?: readonly string[];
}

export const SITE_NAME = 'Pluct docs';

/**
 * Declared by every page: the browser itself refuses anything not served by the site ('self'), so a stray
 * external URL cannot load even if one slips in. Inline styles are allowed for Redoc (styled-components) and
 * mermaid's SVGs; Redoc's search runs in a blob: worker; no inline or remote script.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'none'",
].join('; ');
export const STYLESHEET = 'assets/docs.css';
/** A local icon, so browsers do not ask for /favicon.ico (outside the site when it is mounted under /docs). */
export const FAVICON = 'assets/favicon.svg';

/**
 * Escapes text for an HTML text node or a double-quoted attribute value.
 *
 * @example
 * escapeHtml('<a href="x">') // '&lt;a href=&quot;x&quot;&gt;'
 */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** Renders the top bar; the current page is marked with `aria-current`. */
export function renderTopBar(nav: readonly NavLink[], current: string): string {
  const links = nav
    .map((link) => {
      const currentAttr = link.href === current ? ' aria-current="page"' : '';
      return `<a href="${escapeHtml(link.href)}"${currentAttr}>${escapeHtml(link.label)}</a>`;
    })
    .join('\n      ');
  return `<nav class="pluct-topbar" aria-label="Documentation">
      <a class="pluct-brand" href="index.html">${SITE_NAME}</a>
      ${links}
    </nav>`;
}

/**
 * Wraps a page body in the site's HTML shell.
 *
 * @example
 * renderPage({ title: 'Errors', fileName: 'errors.html', nav, body: '<h1>Errors</h1>' })
 */
export function renderPage(options: PageOptions): string {
  const scripts = (options.scripts ?? []).map((src) => `  <script src="${escapeHtml(src)}"></script>`).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">
  <title>${escapeHtml(options.title)} · ${SITE_NAME}</title>
  <link rel="icon" href="${FAVICON}" type="image/svg+xml">
  <link rel="stylesheet" href="${STYLESHEET}">
</head>
<body>
  <header>
    ${renderTopBar(options.nav, options.fileName)}
  </header>
  <main class="pluct-content">
${options.body}
  </main>
${scripts}
</body>
</html>
`;
}
