import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compareSpecs, runSpecDiff } from '../../scripts/spec-diff.js';
import { diffDocuments } from '../../scripts/spec-diff/diff-documents.js';
import type { Json, JsonObject } from '../../scripts/spec-diff/json-ref.js';

// A small fixture API; each case below derives the "after" spec from it with one change.
type Spec = JsonObject & {
  paths: Record<string, Record<string, JsonObject>>;
  components: Record<string, Record<string, JsonObject>>;
};
/** The object at `keys` below `node` (array members by index); throws when the fixture has none there. */
function at(node: Json | undefined, ...keys: string[]): JsonObject {
  let current = node;
  for (const key of keys)
    current = typeof current === 'object' && current !== null ? (current as Record<string, Json>)[key] : undefined;
  if (typeof current !== 'object' || current === null || Array.isArray(current))
    throw new Error(`the fixture has no object at ${keys.join(' > ')}`);
  return current;
}
const problem = (code: string) => ({ value: { ok: false, code, status: 404 } });
function baseSpec(version = '1.0.0'): Spec {
  return structuredClone({
    openapi: '3.1.0',
    info: { title: 'fixture', version },
    security: [{ userJwt: [] }],
    paths: {
      '/items/{itemId}': {
        parameters: [{ name: 'itemId', in: 'path', required: true, schema: { type: 'string' } }],
        get: {
          operationId: 'getItem',
          parameters: [{ name: 'expand', in: 'query', required: false, schema: { type: 'string', enum: ['a', 'b'] } }],
          responses: {
            '200': {
              description: 'ok',
              headers: { 'X-Request-ID': { schema: { type: 'string' } } },
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Item' } } },
            },
            '404': {
              description: 'no item',
              content: {
                'application/problem+json': {
                  schema: { type: 'object' },
                  examples: { not_found: problem('not_found') },
                },
              },
            },
          },
        },
      },
      '/items': {
        post: {
          operationId: 'createItem',
          security: [{ adminToken: [] }],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/ItemInput' } } },
          },
          responses: {
            '201': {
              description: 'created',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Item' } } },
            },
          },
        },
      },
    },
    components: {
      securitySchemes: {
        userJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        adminToken: { type: 'http', scheme: 'bearer' },
      },
      schemas: {
        Item: {
          type: 'object',
          required: ['id', 'name', 'kind'],
          properties: {
            id: { type: 'string' },
            name: { type: 'string' },
            kind: { type: 'string', enum: ['x', 'y'] },
            note: { type: ['string', 'null'] },
          },
        },
        ItemInput: {
          type: 'object',
          required: ['name'],
          properties: {
            name: { type: 'string', maxLength: 50 },
            kind: { type: 'string', enum: ['x', 'y'] },
            count: { type: 'number' },
            label: { type: 'string' },
          },
        },
      },
    },
  }) as unknown as Spec;
}

function changed(mutate: (s: Spec) => void, version = '1.0.0'): Spec {
  const s = baseSpec(version);
  mutate(s);
  return s;
}
const S = (s: Spec) =>
  s.components['schemas'] as Record<
    string,
    { properties: Record<string, JsonObject>; required: string[] } & JsonObject
  >;
const rules = (after: Spec) => diffDocuments(baseSpec(), after).map((f) => `${f.severity}:${f.rule}`);

describe('spec diff: breaking changes', () => {
  const cases: Array<[string, (s: Spec) => void, string]> = [
    ['an operation is removed', (s) => delete s.paths['/items']!['post'], 'operation-removed'],
    [
      'a success status changes (201 -> 200)',
      (s) => {
        const r = s.paths['/items']!['post']!['responses'] as JsonObject;
        r['200'] = r['201']!;
        delete r['201'];
      },
      'response-status-removed',
    ],
    ['a response property is removed', (s) => delete S(s)['Item']!.properties['name'], 'response-property-removed'],
    [
      'a response property is no longer required',
      (s) => {
        S(s)['Item']!.required = ['id', 'kind'];
      },
      'response-property-optional',
    ],
    [
      'a response type widens (may now be null)',
      (s) => {
        S(s)['Item']!.properties['id'] = { type: ['string', 'null'] };
      },
      'response-type-changed',
    ],
    [
      'a response enum value is removed',
      (s) => {
        S(s)['Item']!.properties['kind'] = { type: 'string', enum: ['x'] };
      },
      'response-enum-value-removed',
    ],
    [
      'a request type narrows (number -> integer)',
      (s) => {
        S(s)['ItemInput']!.properties['count'] = { type: 'integer' };
      },
      'request-type-narrowed',
    ],
    [
      'a request enum value is removed',
      (s) => {
        S(s)['ItemInput']!.properties['kind'] = { type: 'string', enum: ['y'] };
      },
      'request-enum-value-removed',
    ],
    [
      'a request property becomes required',
      (s) => {
        S(s)['ItemInput']!.required = ['name', 'kind'];
      },
      'request-property-required',
    ],
    [
      'a new required request property',
      (s) => {
        S(s)['ItemInput']!.properties['owner'] = { type: 'string' };
        S(s)['ItemInput']!.required.push('owner');
      },
      'request-property-required',
    ],
    [
      'a request maxLength is lowered',
      (s) => {
        S(s)['ItemInput']!.properties['name'] = { type: 'string', maxLength: 20 };
      },
      'request-constraint-tightened',
    ],
    [
      'a request pattern is added',
      (s) => {
        S(s)['ItemInput']!.properties['label'] = { type: 'string', pattern: '^[a-z]+$' };
      },
      'request-constraint-tightened',
    ],
    [
      'a request closes to extra properties',
      (s) => {
        S(s)['ItemInput']!['additionalProperties'] = false;
      },
      'request-additional-properties-closed',
    ],
    [
      'a new required query parameter',
      (s) =>
        (s.paths['/items/{itemId}']!['get']!['parameters'] as JsonObject[]).push({
          name: 'v',
          in: 'query',
          required: true,
          schema: { type: 'string' },
        }),
      'parameter-added-required',
    ],
    [
      'a query parameter becomes required',
      (s) => {
        (s.paths['/items/{itemId}']!['get']!['parameters'] as JsonObject[])[0]!['required'] = true;
      },
      'parameter-required',
    ],
    [
      'a query parameter is removed',
      (s) => {
        s.paths['/items/{itemId}']!['get']!['parameters'] = [];
      },
      'parameter-removed',
    ],
    [
      'an error code is no longer returned',
      (s) => {
        at(s.paths['/items/{itemId}'], 'get', 'responses', '404', 'content', 'application/problem+json')['examples'] = {
          job_not_found: problem('job_not_found'),
        };
      },
      'error-code-removed',
    ],
    [
      'the required credential changes',
      (s) => {
        s.paths['/items']!['post']!['security'] = [{ userJwt: [] }];
      },
      'security-changed',
    ],
    [
      'a security scheme changes',
      (s) => {
        s.components['securitySchemes']!['userJwt'] = { type: 'apiKey', in: 'header', name: 'X-Key' };
      },
      'security-scheme-changed',
    ],
    [
      'a response header is removed',
      (s) => delete at(s.paths['/items/{itemId}'], 'get', 'responses', '200')['headers'],
      'response-header-removed',
    ],
    [
      'a request content type is removed',
      (s) => {
        at(s.paths['/items'], 'post', 'requestBody')['content'] = { 'text/plain': { schema: { type: 'string' } } };
      },
      'request-content-type-removed',
    ],
    [
      'an operationId is renamed',
      (s) => {
        s.paths['/items']!['post']!['operationId'] = 'addItem';
      },
      'operation-id-changed',
    ],
  ];
  it.each(cases)('%s', (_name, mutate, rule) => {
    expect(rules(changed(mutate))).toContain(`breaking:${rule}`);
  });
});

describe('spec diff: non-breaking changes', () => {
  const cases: Array<[string, (s: Spec) => void]> = [
    [
      'a response property is added',
      (s) => {
        S(s)['Item']!.properties['size'] = { type: 'integer' };
      },
    ],
    [
      'an optional request property is added',
      (s) => {
        S(s)['ItemInput']!.properties['colour'] = { type: 'string' };
      },
    ],
    [
      'a request enum value is added',
      (s) => {
        S(s)['ItemInput']!.properties['kind'] = { type: 'string', enum: ['x', 'y', 'z'] };
      },
    ],
    [
      'a request type widens (number -> number|null)',
      (s) => {
        S(s)['ItemInput']!.properties['count'] = { type: ['number', 'null'] };
      },
    ],
    [
      'a request maxLength is raised',
      (s) => {
        S(s)['ItemInput']!.properties['name'] = { type: 'string', maxLength: 500 };
      },
    ],
    [
      'a response type narrows (string|null -> string)',
      (s) => {
        S(s)['Item']!.properties['note'] = { type: 'string' };
      },
    ],
    [
      'an operation is added',
      (s) => {
        s.paths['/things'] = { get: { operationId: 'listThings', responses: { '200': { description: 'ok' } } } };
      },
    ],
    [
      'a path parameter is renamed',
      (s) => {
        s.paths['/items/{id}'] = s.paths['/items/{itemId}']!;
        delete s.paths['/items/{itemId}'];
        at(s.paths['/items/{id}'], 'parameters', '0')['name'] = 'id';
      },
    ],
    [
      'an operation becomes public',
      (s) => {
        s.paths['/items']!['post']!['security'] = [];
      },
    ],
    [
      'a new error status is declared',
      (s) => {
        (s.paths['/items']!['post']!['responses'] as JsonObject)['409'] = { description: 'conflict' };
      },
    ],
    [
      'descriptions change',
      (s) => {
        s.paths['/items']!['post']!['description'] = 'new words';
        S(s)['Item']!['description'] = 'an item';
      },
    ],
  ];
  it.each(cases)('%s', (_name, mutate) => {
    expect(rules(changed(mutate)).filter((r) => r.startsWith('breaking:'))).toEqual([]);
  });

  it('reports a change in a shared schema once, listing every operation that uses it', () => {
    const findings = diffDocuments(
      baseSpec(),
      changed((s) => delete S(s)['Item']!.properties['name']),
    );
    const removed = findings.filter((f) => f.rule === 'response-property-removed');
    expect(removed).toHaveLength(1);
    expect(removed[0]).toMatchObject({ pointer: '#/components/schemas/Item', message: "property 'name' was removed" });
    expect(removed[0]!.operations).toEqual([
      'GET /items/{itemId} (getItem) response 200',
      'POST /items (createItem) response 201',
    ]);
  });
});

describe('spec diff: the version gate', () => {
  const breakingChange = (s: Spec) => delete S(s)['Item']!.properties['name'];
  it('fails a breaking change without a major bump and says what to bump', () => {
    const c = compareSpecs('fixture', 'HEAD~1', baseSpec(), changed(breakingChange, '1.1.0'));
    expect(c.ok).toBe(false);
    expect(c.notes.join()).toContain('bump info.version to 2.0.0');
  });
  it('allows a breaking change when the major was bumped', () => {
    const c = compareSpecs('fixture', 'HEAD~1', baseSpec(), changed(breakingChange, '2.0.0'));
    expect(c).toMatchObject({ ok: true, oldVersion: '1.0.0', newVersion: '2.0.0' });
    expect(c.breaking).toHaveLength(1);
  });
  it('asks for a baseline refresh after a major bump', () => {
    const c = compareSpecs('fixture', 'spec/baseline/fixture.json', baseSpec(), changed(breakingChange, '2.0.0'), {
      requireBaselineMajor: true,
    });
    expect(c.ok).toBe(false);
    expect(c.notes.join()).toContain('npm run spec:baseline');
  });
  it('fails when the major goes down', () => {
    expect(compareSpecs('fixture', 'x', baseSpec('2.0.0'), baseSpec('1.9.0')).ok).toBe(false);
  });
});

describe('spec diff: the CLI', () => {
  let root: string;
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  function repo(current: Spec, baseline?: Spec): string {
    root = mkdtempSync(join(tmpdir(), 'spec-diff-'));
    writeFileSync(
      join(root, 'redocly.yaml'),
      'apis:\n  fixture:\n    root: ./spec/fixture.yaml\n    x-openapi-ts:\n      output: ./generated/fixture/schema.d.ts\n',
    );
    const write = (path: string, doc: Spec) => {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), JSON.stringify(doc));
    };
    write('generated/fixture/openapi.json', current);
    if (baseline) write('spec/baseline/fixture.json', baseline);
    return root;
  }
  const run = (argv: string[]) => {
    const lines: string[] = [];
    const code = runSpecDiff(argv, root, (l) => lines.push(l));
    return { code, out: lines.join('\n') };
  };

  it('fails against the baseline and prints the change with its operation', () => {
    repo(
      changed((s) => delete s.paths['/items']!['post']),
      baseSpec(),
    );
    const { code, out } = run([]);
    expect(code).toBe(1);
    expect(out).toContain('BREAKING  operation-removed  POST /items (createItem) was removed');
    expect(out).toContain('no previous commit');
  });

  it('refuses to write a baseline that would hide a breaking change, unless forced', () => {
    repo(
      changed((s) => delete s.paths['/items']!['post']),
      baseSpec(),
    );
    expect(run(['--write-baseline']).code).toBe(1);
    expect(run(['--write-baseline', '--force']).code).toBe(0);
    expect(
      at(JSON.parse(readFileSync(join(root, 'spec/baseline/fixture.json'), 'utf8')) as Json, 'paths', '/items')['post'],
    ).toBeUndefined();
    expect(run([]).code).toBe(0);
  });

  it('compares with the previous commit when the history has one', () => {
    repo(baseSpec(), baseSpec());
    const git = (...args: string[]) =>
      execFileSync(
        'git',
        ['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'commit.gpgsign=false', ...args],
        { cwd: root, stdio: 'ignore' },
      );
    git('init', '-q');
    git('add', '.');
    git('commit', '-q', '-m', 'one');
    writeFileSync(
      join(root, 'generated/fixture/openapi.json'),
      JSON.stringify(
        changed((s) => {
          S(s)['ItemInput']!.required = ['name', 'count'];
        }),
      ),
    );
    git('commit', '-q', '-am', 'two');
    writeFileSync(join(root, 'spec/baseline/fixture.json'), readFileSync(join(root, 'generated/fixture/openapi.json')));
    const { code, out } = run([]);
    expect(code).toBe(1);
    expect(out).toMatch(/ok {3}fixture 1\.0\.0 -> 1\.0\.0 \(against spec\/baseline\/fixture\.json\)/);
    expect(out).toMatch(/FAIL fixture .*against HEAD~1/);
    expect(out).toContain("property 'count' is now required");
  });
});
