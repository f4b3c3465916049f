import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { generatedSpec, SERVICES } from '../../scripts/service-registry.js';
import { DEFAULT_MOCK_PORTS, mockPortsFromEnv } from '../../mocks/ports.js';
import { stackEnv, stackPaths } from '../../scripts/stack/stack-env.js';

const root = new URL('../../', import.meta.url);
const redocly = parse(readFileSync(new URL('redocly.yaml', root), 'utf8')) as {
  apis: Record<string, { root: string }>;
};

describe('the service registry', () => {
  it('names exactly the APIs of redocly.yaml, with the same spec roots', () => {
    expect(SERVICES.map((s) => s.id).sort()).toEqual(Object.keys(redocly.apis).sort());
    for (const s of SERVICES) expect(redocly.apis[s.id]?.root.replace(/^\.\//, ''), s.id).toBe(s.spec);
  });

  it('points at files that exist: spec, generated bundle, entry point and its createApp', () => {
    for (const s of SERVICES) {
      for (const path of [s.spec, generatedSpec(s), s.entry, s.entry.replace(/main\.ts$/, 'app.ts')]) {
        expect(existsSync(new URL(path, root)), `${s.id}: ${path}`).toBe(true);
      }
    }
  });

  it('gives every service its own ports and variables', () => {
    const values = SERVICES.flatMap((s) => [s.listen.defaultPort, s.mock.defaultPort]);
    expect(new Set(values).size).toBe(values.length);
    const names = SERVICES.flatMap((s) => [s.listen.hostEnv, s.listen.portEnv, s.mock.portEnv]);
    expect(new Set(names).size).toBe(names.length);
  });

  it('is what the mocks and the stack read', () => {
    const [engine, ttt] = SERVICES;
    expect(DEFAULT_MOCK_PORTS).toEqual({ engine: engine.mock.defaultPort, ttt: ttt.mock.defaultPort });
    expect(mockPortsFromEnv({ [ttt.mock.portEnv]: '5011' })).toEqual({ engine: engine.mock.defaultPort, ttt: 5011 });
    const { urls } = stackEnv(stackPaths('/repo', {}), {}, { [engine.listen.portEnv]: '9000' });
    expect(urls).toEqual({
      [engine.id]: 'http://127.0.0.1:9000',
      [ttt.id]: `http://127.0.0.1:${ttt.listen.defaultPort}`,
    });
  });
});
