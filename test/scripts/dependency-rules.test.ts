import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cruise, type ICruiseResult, type IForbiddenRuleType } from 'dependency-cruiser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The rules of `npm run check:deps`, run on a small tree that breaks each of them once (and keeps one import
// that is allowed), so a rule that stops matching fails here rather than silently passing in CI.
const config = createRequire(import.meta.url)('../../.dependency-cruiser.cjs') as { forbidden: IForbiddenRuleType[] };
const FILES: Record<string, string> = {
  'generated/api/client.ts': "import { x } from '../../server/protocol/p.ts'; export const c = x;",
  'server/protocol/p.ts': "import { s } from '../shared/s.ts'; export const x = s;",
  'server/shared/s.ts': "import { e } from '../business-engine/e.ts'; export const s = e;",
  'server/business-engine/e.ts': "import { t } from '../tttranscribe/t.ts'; export const e = t;",
  'server/tttranscribe/t.ts':
    "import { h } from '../../test/helpers/h.ts'; import { k } from '../../client/k.ts'; export const t = [h, k];",
  'server/tttranscribe/jobs/a.ts': "import { b } from '../media/b.ts'; export const a = 1; export const ab = b;",
  'server/tttranscribe/media/b.ts': "import { a } from '../jobs/a.ts'; export const b = a;",
  'client/k.ts': "import { c } from '../generated/api/client.ts'; export const k = c;",
  'test/helpers/h.ts': 'export const h = 1;',
};
let result: ICruiseResult;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pluct-deps-'));
  for (const [path, text] of Object.entries(FILES)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    const { output } = await cruise(['generated', 'server', 'client', 'test'], {
      validate: true,
      ruleSet: { forbidden: config.forbidden },
      tsPreCompilationDeps: true,
    });
    result = output as ICruiseResult;
  } finally {
    process.chdir(cwd);
  }
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const broken = (rule: string) =>
  result.summary.violations.filter((v) => v.rule.name === rule).map((v) => `${v.from} -> ${v.to}`);

describe('npm run check:deps rules', () => {
  it('refuse each wrong-direction import', () => {
    expect(broken('generated-imports-nothing-local')).toEqual(['generated/api/client.ts -> server/protocol/p.ts']);
    expect(broken('protocol-imports-only-generated')).toEqual(['server/protocol/p.ts -> server/shared/s.ts']);
    expect(broken('shared-and-protocol-import-no-service')).toEqual([
      'server/shared/s.ts -> server/business-engine/e.ts',
    ]);
    expect(broken('services-never-import-each-other')).toEqual([
      'server/business-engine/e.ts -> server/tttranscribe/t.ts',
    ]);
    expect(broken('services-import-no-tooling')).toEqual(['server/tttranscribe/t.ts -> client/k.ts']);
    expect(broken('nothing-imports-test')).toEqual(['server/tttranscribe/t.ts -> test/helpers/h.ts']);
  });

  it('refuse a file cycle and a folder cycle', () => {
    expect(broken('no-file-cycle')).toContain('server/tttranscribe/jobs/a.ts -> server/tttranscribe/media/b.ts');
    expect(broken('no-folder-cycle').join('\n')).toContain('server/tttranscribe/jobs');
  });

  it('allow the right direction (client -> generated; it is only reported as part of the planted cycle)', () => {
    expect(
      result.summary.violations.filter((v) => v.from === 'client/k.ts' && !v.rule.name.endsWith('-cycle')),
    ).toEqual([]);
  });
});
