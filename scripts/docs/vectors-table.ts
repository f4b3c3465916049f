/**
 * Renders the X-Engine-Auth v1 test vectors (spec/shared/engine-auth-vectors.json) as an HTML section that is
 * appended to the X-Engine-Auth guide page, so the guide carries every vector next to the rules it tests.
 */
import type { EngineAuthVector, EngineAuthVectorsFile } from '../../server/protocol/test-vectors.js';
import { escapeHtml } from './layout.js';

const code = (text: string): string => `<code>${escapeHtml(text)}</code>`;

function renderInputs(vector: EngineAuthVector): string {
  const token = vector.bearerToken === null ? '(no Authorization header)' : vector.bearerToken;
  return `<details id="vector-${escapeHtml(vector.name)}">
  <summary>Inputs of <code>${escapeHtml(vector.name)}</code></summary>
  <dl class="pluct-facts">
    <dt>Secrets (TEST-ONLY)</dt><dd>${vector.secrets.map(code).join('<br>')}</dd>
    <dt>Body (UTF-8)</dt><dd>${vector.body === '' ? '(empty)' : code(vector.body)}</dd>
    <dt>Bearer token</dt><dd>${code(token)}</dd>
  </dl>
  <p>String to sign:</p>
  <pre><code>${escapeHtml(vector.stringToSign)}</code></pre>
</details>`;
}

/**
 * Renders the "Test vectors" section.
 *
 * @example
 * const html = renderVectorsSection(JSON.parse(readFileSync('spec/shared/engine-auth-vectors.json', 'utf8')));
 */
export function renderVectorsSection(file: EngineAuthVectorsFile): string {
  const rows = file.vectors.map(
    (v) => `<tr>
  <td><a href="#vector-${escapeHtml(v.name)}">${escapeHtml(v.name)}</a></td>
  <td>${escapeHtml(v.method)}</td>
  <td>${code(v.target)}</td>
  <td>${v.keyIds.map(code).join(', ')}</td>
  <td>${code(v.header)}</td>
</tr>`,
  );
  return `<section class="pluct-vectors" id="test-vectors">
<h2>Test vectors</h2>
<p>From <code>spec/shared/engine-auth-vectors.json</code> (${file.vectors.length} vectors). The keys are
TEST-ONLY: never use them in any environment. Every implementation must reproduce each header exactly.</p>
<table>
<thead><tr><th>Name</th><th>Method</th><th>Target</th><th>Key id(s)</th><th>Header</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
${file.vectors.map(renderInputs).join('\n')}
</section>`;
}
