/**
 * The generated part of the guide "Testing your app in the sandbox" (docs/sandbox.md): the five steps with curl
 * (the lines the sandbox's banner prints) and, for every code of the error catalog and every job failure code, the
 * magic input that produces it in the sandbox (server/sandbox/magic-inputs.ts), or why no app can cause it.
 */
import { errorCatalog, errorCodes, jobFailureCatalog, jobFailureCodes } from '../../generated/errors.js';
import { FIVE_STEPS } from '../../server/sandbox/banner.js';
import { MAGIC_INPUTS, UNREACHABLE_BY_DESIGN } from '../../server/sandbox/magic-inputs.js';
import { renderMarkdownFragment } from './markdown.js';

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The section's markdown (exported for tests: every code appears in it by name). */
export function sandboxSectionMarkdown(): string {
  const steps = FIVE_STEPS.flatMap((step, i) => [
    `# ${i + 1}. ${step.title}${step.sets ? ` (then: export ${step.sets.variable}=<the "${step.sets.field}" of the answer>)` : ''}`,
    step.command,
  ]);
  const problemRows = errorCodes.map((code) => {
    const meta = errorCatalog[code];
    const magic = MAGIC_INPUTS.find((m) => m.code === code);
    const unreachable = UNREACHABLE_BY_DESIGN.find((u) => u.code === code);
    const how = magic
      ? magic.input
      : unreachable
        ? `*No app can cause it, by design:* ${unreachable.reason}`
        : '**missing**';
    return `| [\`${code}\`](errors.html#${code}) | ${meta.status} | ${meta.responsibility} | ${cell(how)} |`;
  });
  const jobRows = jobFailureCodes.map((code) => {
    const magic = MAGIC_INPUTS.find((m) => m.code === code);
    return `| [\`${code}\`](errors.html#${code}) | ${jobFailureCatalog[code].responsibility} | ${cell(magic ? magic.input : '**missing**')} |`;
  });
  return [
    '## The five steps with curl',
    '',
    'The start banner prints these lines with `SANDBOX` and `TOKEN` already exported:',
    '',
    '```sh',
    ...steps,
    '```',
    '',
    '## Every error code and how to cause it',
    '',
    "Generated from the error catalog and the sandbox's magic-input registry; a test runs each input against a",
    'sandbox and fails on a code that has none.',
    '',
    '| code | status | who acts | magic input in the sandbox |',
    '| --- | --- | --- | --- |',
    ...problemRows,
    '',
    '## Every job failure code and how to cause it',
    '',
    'A job fails after the job duration; `GET /ttt/status/{jobId}` then answers `status: failed` with `error.code`.',
    '',
    '| job failure code | who acts | magic input in the sandbox |',
    '| --- | --- | --- |',
    ...jobRows,
    '',
  ].join('\n');
}

/**
 * The section as HTML, appended to the sandbox guide page.
 *
 * @example
 * const html = renderSandboxSection();
 */
export function renderSandboxSection(): string {
  return renderMarkdownFragment(sandboxSectionMarkdown());
}
