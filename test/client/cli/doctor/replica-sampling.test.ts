import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { judgeReplicas, sampleReplicas, type ReplicaSamples } from '../../../../client/cli/doctor/replica-sampling.js';

const keys = (userJwt: string | null, serviceToken: string, ttt: string[]) => ({
  userJwt,
  serviceToken,
  tttSharedSecret: ttt,
});
const samples = (
  engines: Array<[string, ReturnType<typeof keys> | null]>,
  ttts: Array<[string, string[]]>,
  unnamed = 0,
): ReplicaSamples => ({ engines: new Map(engines), ttts: new Map(ttts), tries: 12, unnamed });

describe('judgeReplicas', () => {
  it('passes when every replica reports the same key ids, naming what it saw', () => {
    const check = judgeReplicas(
      samples(
        [
          ['engine-2', keys('u1', 's1', ['k1'])],
          ['engine-1', keys('u1', 's1', ['k1'])],
        ],
        [
          ['ttt-2', ['k1']],
          ['ttt-1', ['k1']],
        ],
      ),
    );
    expect(check).toMatchObject({ name: 'replica_key_ids', status: 'pass' });
    expect(check.detail).toBe(
      'Saw 2 engine replicas (engine-1, engine-2) and 2 TTTranscribe replicas (ttt-1, ttt-2) in up to 12 requests each; their key ids agree.',
    );
  });

  it('names the odd engine replica against the majority, with the variable and the fix', () => {
    const check = judgeReplicas(
      samples(
        [
          ['engine-1', keys('u1', 's1', ['k1'])],
          ['engine-2', keys('u2', 's1', ['k1'])],
          ['engine-3', keys('u1', 's1', ['k1'])],
        ],
        [['ttt-1', ['k1']]],
      ),
    );
    expect(check.status).toBe('fail');
    expect(check.detail).toContain(
      'engine replica engine-2 has USER_JWT_SECRET key id u2, the others u1: user requests it answers fail with invalid_token (about 1 request in 3)',
    );
    expect(check.detail).not.toMatch(/engine-1 has|engine-3 has/);
    expect(check.fix).toBe('Give engine-2 the same USER_JWT_SECRET as the other engine replicas and restart it.');
  });

  it('with two replicas and no majority, names both, and the X-Engine-Auth cross-check says which one TTTranscribe refuses', () => {
    const check = judgeReplicas(
      samples(
        [
          ['engine-1', keys('u1', 's1', ['k1'])],
          ['engine-2', keys('u1', 's1', ['k2'])],
        ],
        [
          ['ttt-1', ['k1']],
          ['ttt-2', ['k1']],
        ],
      ),
    );
    expect(check.status).toBe('fail');
    // The key id TTTranscribe accepts breaks the tie.
    expect(check.detail).toContain('engine replica engine-2 has TTT_SHARED_SECRET key id k2, the others k1');
    expect(check.detail).not.toContain('engine-1 has');
    expect(check.detail).toContain(
      'engine replica engine-2 signs with key id k2, which no TTTranscribe replica accepts',
    );
    expect(check.detail).not.toContain('engine-1 signs');
    expect(check.fix).toContain('Give engine-2 the TTT_SHARED_SECRET the TTTranscribe replicas hold');
    // A tie nothing breaks names both replicas.
    const userTie = judgeReplicas(
      samples(
        [
          ['engine-1', keys('u1', 's1', ['k1'])],
          ['engine-2', keys('u2', 's1', ['k1'])],
        ],
        [['ttt-1', ['k1']]],
      ),
    );
    expect(userTie.detail).toContain(
      'engine replicas disagree on USER_JWT_SECRET: engine-1 has key id u1, engine-2 has key id u2',
    );
    expect(userTie.fix).toBe(
      'Choose the right USER_JWT_SECRET, set it on every engine replica and restart the others.',
    );
  });

  it('names a TTTranscribe replica that accepts other key ids, and the engines it refuses', () => {
    const check = judgeReplicas(
      samples(
        [['engine-1', keys('u1', 's1', ['k1'])]],
        [
          ['ttt-1', ['k1']],
          ['ttt-2', ['k9']],
          ['ttt-3', ['k1']],
        ],
      ),
    );
    expect(check.status).toBe('fail');
    expect(check.detail).toContain('TTTranscribe replica ttt-2 has TTT_SHARED_SECRET key id k9, the others k1');
    expect(check.detail).toContain(
      'engine replica engine-1 signs with key id k1, which TTTranscribe replica ttt-2 accepts',
    );
    expect(check.fix).toContain('Give ttt-2 the TTT_SHARED_SECRET engine-1 signs with');
  });

  it('accepts a rotation in progress when every replica accepts the same pair', () => {
    const check = judgeReplicas(
      samples(
        [
          ['engine-1', keys(null, 's1', ['k2', 'k1'])],
          ['engine-2', keys(null, 's1', ['k2', 'k1'])],
        ],
        [
          ['ttt-1', ['k1', 'k2']],
          ['ttt-2', ['k2', 'k1']],
        ],
      ),
    );
    expect(check.status).toBe('pass');
  });

  it('skips when no replica names itself, and warns when some answers were unnamed', () => {
    expect(judgeReplicas(samples([], [], 24)).status).toBe('skip');
    const partial = judgeReplicas(samples([['engine-1', keys('u1', 's1', ['k1'])]], [['ttt-1', ['k1']]], 3));
    expect(partial.status).toBe('warn');
    expect(partial.detail).toContain('3 answers named no instance');
  });
});

describe('sampleReplicas', () => {
  const servers: Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));
  async function roundRobin(bodies: Array<[string, unknown]>): Promise<{ url: string; hits: () => number }> {
    let hits = 0;
    const server = createServer((_req, res) => {
      const [id, body] = bodies[hits++ % bodies.length]!;
      res.writeHead(200, { 'content-type': 'application/json', 'x-instance-id': id }).end(JSON.stringify(body));
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits };
  }

  it('finds every replica behind a round-robin balancer and stops once the rotation repeats', async () => {
    const engine = await roundRobin(
      [1, 2, 3].map((i) => [`engine-${i}`, { keyIds: keys(`u${i}`, 's', ['k']) }] as [string, unknown]),
    );
    const ttt = await roundRobin([['ttt-1', { acceptedKeyIds: ['k'] }]]);
    const found = await sampleReplicas({ engineUrl: engine.url, tttUrl: ttt.url, maxTries: 50, timeoutMs: 2000 });
    expect([...found.engines.keys()]).toEqual(['engine-1', 'engine-2', 'engine-3']);
    expect(found.engines.get('engine-2')).toEqual(keys('u2', 's', ['k']));
    expect([...found.ttts]).toEqual([['ttt-1', ['k']]]);
    expect(engine.hits()).toBeLessThan(50);
    expect(ttt.hits()).toBeLessThan(50);
  });
});

describe('sampleReplicas against an unreachable service', () => {
  it('gives up on the first network failure instead of trying every sample', async () => {
    let calls = 0;
    const realFetch = globalThis.fetch;
    globalThis.fetch = async () => {
      calls++;
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      });
    };
    try {
      const found = await sampleReplicas({
        engineUrl: 'http://127.0.0.1:9',
        tttUrl: 'http://127.0.0.1:9',
        maxTries: 50,
        timeoutMs: 1000,
      });
      expect(found.engines.size + found.ttts.size).toBe(0);
      expect(calls).toBe(2); // one per service
      expect(judgeReplicas(found).status).toBe('skip');
    } finally {
      globalThis.fetch = realFetch;
    }
  });
});
