/**
 * Markdown to HTML for the docs site (marked): ```mermaid fences become `<pre class="mermaid">` blocks that the
 * local mermaid bundle renders in the browser, headings get stable ids, and relative links to other `.md`
 * pages point at their `.html` page. Only trusted repository text goes through here (raw HTML is kept).
 */
import { Marked, type Tokens } from 'marked';
import { escapeHtml } from './layout.js';

/** One rendered markdown document. */
export interface RenderedMarkdown {
  html: string;
  /** Text of the first level-1 heading, if any. */
  title: string | undefined;
  /** Plain text of the first paragraph, for the index page. */
  summary: string | undefined;
  /** True when the document has at least one ```mermaid block. */
  hasMermaid: boolean;
}

/**
 * Turns heading text into an anchor id (lower case, words joined by `-`).
 *
 * @example
 * slugify('3. Header grammar') // '3-header-grammar'
 */
export function slugify(text: string): string {
  return text
    .toLowerCase()
    .replace(/<[^>]*>/g, '')
    .replace(/[^\p{L}\p{N}\s-]/gu, '')
    .trim()
    .replace(/\s+/g, '-');
}

/**
 * Rewrites a relative link to a markdown page into a link to the page the site builds from it.
 *
 * @example
 * rewriteDocLink('engine-auth.md#4-the-string-to-sign') // 'engine-auth.html#4-the-string-to-sign'
 * rewriteDocLink('https://example.com/a.md') // unchanged
 */
export function rewriteDocLink(href: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('/') || href.startsWith('#')) return href;
  return href.replace(/^(?:\.\/)?([^/?#]+)\.md(?=$|[?#])/, '$1.html');
}

function plainText(markdown: string): string {
  // Code spans are kept verbatim (`auth_failures_total{code,route}` keeps its underscores); elsewhere only
  // emphasis markers go: `*` anywhere, `_` at the edge of a word (snake_case words keep theirs).
  return markdown
    .split(/(`[^`]*`)/)
    .map((part) =>
      part.startsWith('`') && part.endsWith('`') && part.length > 1
        ? part.slice(1, -1)
        : part
            .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
            .replace(/\*+/g, '')
            .replace(/(^|[^\p{L}\p{N}])_+|_+(?=[^\p{L}\p{N}]|$)/gu, '$1'),
    )
    .join('')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Renders one markdown document.
 *
 * @example
 * const page = renderMarkdown('# Title\n\nText with a [link](other.md).');
 * page.title // 'Title'; page.html contains href="other.html"
 */
export function renderMarkdown(source: string): RenderedMarkdown {
  let title: string | undefined;
  let summary: string | undefined;
  let hasMermaid = false;
  const usedIds = new Map<string, number>();
  const marked = new Marked({
    gfm: true,
    walkTokens(token) {
      // marked's Token union includes Tokens.Generic (fields typed any): name the token type each branch reads.
      if (token.type === 'link') {
        const link = token as Tokens.Link;
        link.href = rewriteDocLink(link.href);
      }
      if (token.type === 'heading' && token.depth === 1 && title === undefined)
        title = plainText((token as Tokens.Heading).text);
      if (token.type === 'paragraph' && summary === undefined && title !== undefined)
        summary = plainText((token as Tokens.Paragraph).text);
    },
    renderer: {
      code(token: Tokens.Code) {
        if (token.lang?.trim() !== 'mermaid') return false;
        hasMermaid = true;
        return `<pre class="mermaid">${escapeHtml(token.text)}</pre>\n`;
      },
      heading(token: Tokens.Heading) {
        const inner = this.parser.parseInline(token.tokens);
        const base = slugify(inner) || 'section';
        const seen = usedIds.get(base) ?? 0;
        usedIds.set(base, seen + 1);
        const id = seen === 0 ? base : `${base}-${seen}`;
        return `<h${token.depth} id="${id}">${inner}</h${token.depth}>\n`;
      },
    },
  });
  const html = marked.parse(source, { async: false });
  return { html, title, summary, hasMermaid };
}

/**
 * Renders inline-friendly markdown (a catalog description) to HTML without the page-level extras.
 *
 * @example
 * renderMarkdownFragment('**Fix:** send `Authorization`.') // '<p><strong>Fix:</strong> send <code>…</code>.</p>\n'
 */
export function renderMarkdownFragment(source: string): string {
  return new Marked({ gfm: true }).parse(source, { async: false });
}
