import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';
import { createBusinessEngineClient, type components } from '../../generated/business-engine/client.js';
import { signUserJwt, type BenchCredentials } from './bench-credentials.js';
import type { HttpRequestSpec } from './closed-load.js';

type VendTokenResponse = components['schemas']['VendTokenResponse'];

const GRANT_CHUNK = 100_000; // the spec's maximum per grant
const VEND_CONCURRENCY = 32;

/**
 * The bench's users on one Business Engine: a user JWT each, credits granted through the admin endpoint as they
 * are needed, and helpers that build single-use request supplies (vend requests, vended service tokens).
 *
 * @example
 * const users = await EngineUsers.create(creds, engine.url);
 * const tokens = await users.vendTokens(5000); // real service tokens, 1 credit each
 */
export class EngineUsers {
  private readonly remaining = new Map<string, number>();
  private cursor = 0;

  private constructor(
    private readonly creds: BenchCredentials,
    readonly engineUrl: string,
    readonly ids: readonly string[],
    private readonly jwts: ReadonlyMap<string, string>,
  ) {}

  static async create(creds: BenchCredentials, engineUrl: string, count = 50): Promise<EngineUsers> {
    const ids = Array.from({ length: count }, (_, i) => `bench-user-${i}`);
    const jwts = new Map<string, string>();
    for (const id of ids) jwts.set(id, await signUserJwt(creds, id));
    return new EngineUsers(creds, engineUrl, ids, jwts);
  }

  jwt(userId: string): string {
    const jwt = this.jwts.get(userId);
    if (!jwt) throw new Error(`unknown bench user ${userId}`);
    return jwt;
  }

  /** GET /v1/credits/balance for the first bench user (reusable, so one request repeats). */
  balanceRequest(): HttpRequestSpec {
    return {
      method: 'GET',
      path: '/v1/credits/balance',
      headers: { authorization: `Bearer ${this.jwt(this.ids[0] as string)}` },
    };
  }

  /** `count` POST /v1/vend-token requests, round-robin over users, each with a fresh clientRequestId; credits granted first. */
  async vendSupply(count: number): Promise<HttpRequestSpec[]> {
    const plan = this.plan(count);
    await this.ensureCredits(plan);
    return plan.map((userId) => ({
      method: 'POST',
      path: '/v1/vend-token',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.jwt(userId)}` },
      body: JSON.stringify({ clientRequestId: `bench-${randomUUID()}` }),
    }));
  }

  /** Vends `count` real service tokens through POST /v1/vend-token (not timed; concurrency 32). */
  async vendTokens(count: number): Promise<string[]> {
    const supply = await this.vendSupply(count);
    const pool = new Pool(this.engineUrl, { connections: VEND_CONCURRENCY });
    const tokens: string[] = new Array<string>(supply.length);
    let next = 0;
    const worker = async () => {
      while (next < supply.length) {
        const i = next++;
        const r = supply[i] as HttpRequestSpec;
        const res = await pool.request({
          method: r.method,
          path: r.path,
          headers: { ...r.headers },
          body: r.body ?? null,
        });
        const text = await res.body.text();
        if (res.statusCode !== 200) throw new Error(`vend-token answered ${res.statusCode}: ${text.slice(0, 300)}`);
        tokens[i] = (JSON.parse(text) as VendTokenResponse).token;
      }
    };
    try {
      await Promise.all(Array.from({ length: VEND_CONCURRENCY }, worker));
    } finally {
      await pool.close();
    }
    return tokens;
  }

  private plan(count: number): string[] {
    const out: string[] = [];
    for (let i = 0; i < count; i++) out.push(this.ids[this.cursor++ % this.ids.length] as string);
    return out;
  }

  /** Grants credits (admin endpoint) to every user whose known balance cannot cover its share of `plan`. */
  private async ensureCredits(plan: readonly string[]): Promise<void> {
    const need = new Map<string, number>();
    for (const userId of plan) need.set(userId, (need.get(userId) ?? 0) + 1);
    const client = createBusinessEngineClient({ baseUrl: this.engineUrl });
    for (const [userId, n] of need) {
      let left = this.remaining.get(userId) ?? 0;
      while (left < n) {
        const amount = Math.min(GRANT_CHUNK, Math.max(n - left, 10_000));
        const { data, error, response } = await client.POST('/admin/credits/grant', {
          headers: { authorization: `Bearer ${this.creds.adminToken}` },
          body: { userId, amount, bucket: 'main', reason: 'bench credits' },
        });
        if (!data) throw new Error(`grant answered ${response.status}: ${JSON.stringify(error)}`);
        left = data.balance;
      }
      this.remaining.set(userId, left - n);
    }
  }
}
