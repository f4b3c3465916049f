import type { Check } from './check.js';
import type { EngineAuthInfo, EngineHealth } from './schemas.js';

type EngineKeyIds = NonNullable<EngineHealth['keyIds']>;

/** What several requests through a load balancer learned about the replicas behind it. */
export interface ReplicaSamples {
  /** Engine replicas by instance id, with the key ids each reported in /health (null: an older engine without them). */
  readonly engines: ReadonlyMap<string, EngineKeyIds | null>;
  /** TTTranscribe replicas by instance id (X-Instance-Id of /.well-known/engine-auth), with the key ids each accepts. */
  readonly ttts: ReadonlyMap<string, readonly string[]>;
  /** Requests made per service, and how many answered without an instance id (a server older than instance ids). */
  readonly tries: number;
  readonly unnamed: number;
}

export interface SampleOptions {
  readonly engineUrl: string;
  readonly tttUrl: string;
  /** At most this many requests per service. */
  readonly maxTries: number;
  readonly timeoutMs: number;
}

/**
 * Samples the replicas behind each URL: repeats GET /health (engine) and GET /.well-known/engine-auth
 * (TTTranscribe) until every instance seen so far was seen twice and two whole rounds brought no new one (a
 * round-robin balancer has then shown them all), or `maxTries` requests. Never throws: an error answer counts as
 * a try; a network failure or timeout ends that service's sampling (the reachability checks report it), so an
 * unreachable host costs one timeout, not `maxTries`.
 *
 * @example
 * const samples = await sampleReplicas({ engineUrl, tttUrl, maxTries: 12, timeoutMs: 5000 });
 * judgeReplicas(samples).status; // 'fail' when one replica holds another secret
 */
export async function sampleReplicas(options: SampleOptions): Promise<ReplicaSamples> {
  let unnamed = 0;
  const sample = async <T>(url: string, read: (body: unknown) => T): Promise<Map<string, T>> => {
    const seen = new Map<string, T>();
    const counts = new Map<string, number>();
    let quiet = 0;
    for (let i = 0; i < options.maxTries; i++) {
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs) });
        const body: unknown = await response.json();
        const id = response.headers.get('x-instance-id');
        if (!response.ok) continue;
        if (!id) {
          unnamed++;
          continue;
        }
        quiet = seen.has(id) ? quiet + 1 : 0;
        if (!seen.has(id)) seen.set(id, read(body));
        counts.set(id, (counts.get(id) ?? 0) + 1);
      } catch {
        break; // unreachable or too slow: the reachability checks report it; never wait out N timeouts
      }
      // Two quiet rounds: a replica skipped once (a slow health check, a weighted balancer) still gets its turn.
      if (seen.size > 0 && quiet >= Math.max(4, 2 * seen.size) && [...counts.values()].every((n) => n >= 2)) break;
    }
    return seen;
  };
  const [engines, ttts] = await Promise.all([
    sample(`${options.engineUrl}/health`, (b) => (b as EngineHealth).keyIds ?? null),
    sample(`${options.tttUrl}/.well-known/engine-auth`, (b) => [
      ...((b as Partial<EngineAuthInfo>).acceptedKeyIds ?? []),
    ]),
  ]);
  return { engines, ttts, tries: options.maxTries, unnamed };
}

const ENGINE_KEYS = [
  { key: 'userJwt', variable: 'USER_JWT_SECRET', effect: 'user requests it answers fail with invalid_token' },
  {
    key: 'serviceToken',
    variable: 'SERVICE_TOKEN_PRIVATE_KEY',
    effect: 'service tokens it vends are refused by TTTranscribe',
  },
  { key: 'tttSharedSecret', variable: 'TTT_SHARED_SECRET', effect: 'jobs it forwards are refused by TTTranscribe' },
] as const;

/**
 * Judges the sampled replicas: every engine replica must report the same user-JWT, service-token and
 * X-Engine-Auth key ids; every TTTranscribe replica must accept the same key ids; and each engine's signing key
 * id must be accepted by every TTTranscribe replica. A disagreement fails and names the odd instance (against a
 * majority; with no majority, every instance and its key id) and the variable to fix. Pure: no I/O.
 *
 * @example
 * judgeReplicas(samples); // { name: 'replica_key_ids', status: 'fail', detail: 'engine-2 has USER_JWT_SECRET key id … ' }
 */
export function judgeReplicas(samples: ReplicaSamples): Check {
  const name = 'replica_key_ids';
  const byName = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });
  const engineIds = [...samples.engines.keys()].sort(byName);
  const tttIds = [...samples.ttts.keys()].sort(byName);
  const data = {
    engines: Object.fromEntries(samples.engines),
    ttts: Object.fromEntries(samples.ttts),
    triesPerService: samples.tries,
  };
  if (engineIds.length === 0 && tttIds.length === 0) {
    return {
      name,
      status: 'skip',
      detail:
        'Not checked: no replica named itself (X-Instance-Id): the services predate instance ids, or did not answer.',
      data,
    };
  }
  const problems: string[] = [];
  const fixes: string[] = [];
  const acceptedByAll = (id: string) =>
    samples.ttts.size > 0 && [...samples.ttts.values()].every((ids) => ids.includes(id));
  for (const { key, variable, effect } of ENGINE_KEYS) {
    const values = new Map<string, string>();
    for (const [id, keyIds] of samples.engines)
      if (keyIds) values.set(id, key === 'tttSharedSecret' ? (keyIds[key][0] ?? '') : String(keyIds[key]));
    // Without a majority, the X-Engine-Auth key id every TTTranscribe replica accepts is the reference.
    const split = disagreement(values, key === 'tttSharedSecret' ? acceptedByAll : undefined);
    if (!split) continue;
    problems.push(
      `${describeSplit('engine', variable, split)}: ${effect} (about 1 request in ${samples.engines.size})`,
    );
    fixes.push(
      split.majority !== undefined
        ? `Give ${split.odd.map((o) => o.id).join(', ')} the same ${variable} as the other engine replicas and restart it`
        : `Choose the right ${variable}, set it on every engine replica and restart the others`,
    );
  }
  const accepted = new Map([...samples.ttts].map(([id, ids]) => [id, [...ids].sort().join(',')]));
  const tttSplit = disagreement(accepted);
  if (tttSplit) {
    problems.push(describeSplit('TTTranscribe', 'TTT_SHARED_SECRET', tttSplit));
    fixes.push('Give every TTTranscribe replica the same TTT_SHARED_SECRET (and _NEXT) and restart the odd one');
  }
  for (const [engine, keyIds] of samples.engines) {
    const signing = keyIds?.tttSharedSecret[0];
    if (!signing) continue;
    const refusing = [...samples.ttts].filter(([, ids]) => !ids.includes(signing)).map(([id]) => id);
    if (refusing.length === 0) continue;
    const which =
      refusing.length === samples.ttts.size
        ? 'no TTTranscribe replica'
        : `TTTranscribe replica${refusing.length === 1 ? '' : 's'} ${refusing.join(', ')}`;
    problems.push(`engine replica ${engine} signs with key id ${signing}, which ${which} accepts`);
    fixes.push(
      refusing.length === samples.ttts.size
        ? `Give ${engine} the TTT_SHARED_SECRET the TTTranscribe replicas hold`
        : `Give ${refusing.join(', ')} the TTT_SHARED_SECRET ${engine} signs with`,
    );
  }
  const seen = `${engineIds.length} engine replica${engineIds.length === 1 ? '' : 's'} (${engineIds.join(', ') || 'none named'}) and ${tttIds.length} TTTranscribe replica${tttIds.length === 1 ? '' : 's'} (${tttIds.join(', ') || 'none named'}) in up to ${samples.tries} requests each`;
  if (problems.length > 0) {
    return {
      name,
      status: 'fail',
      detail: `Saw ${seen}. ${[...new Set(problems)].join('; ')}.`,
      fix: `${[...new Set(fixes)].join('; ')}.`,
      data,
    };
  }
  if (samples.unnamed > 0) {
    return {
      name,
      status: 'warn',
      detail: `Saw ${seen}; ${samples.unnamed} answers named no instance (a replica older than instance ids?), so those were not compared.`,
      fix: 'Upgrade every replica, then re-run pluct doctor.',
      data,
    };
  }
  return { name, status: 'pass', detail: `Saw ${seen}; their key ids agree.`, data };
}

/**
 * How the instances' values disagree: the odd ones out against a strict majority (or, in a tie, against the one
 * value `isReference` singles out), else every instance with its value.
 */
function disagreement(
  values: ReadonlyMap<string, string>,
  isReference?: (value: string) => boolean,
): { odd: Array<{ id: string; value: string }>; majority?: string } | undefined {
  const distinct = new Set(values.values());
  if (distinct.size < 2) return undefined;
  const tally = new Map<string, number>();
  for (const v of values.values()) tally.set(v, (tally.get(v) ?? 0) + 1);
  const [top, count] = [...tally.entries()].reduce((best, entry) => (entry[1] > best[1] ? entry : best));
  const tied = [...tally.values()].filter((n) => n === count).length > 1;
  const references = isReference ? [...distinct].filter(isReference) : [];
  const reference = !tied ? top : references.length === 1 ? references[0] : undefined;
  const all = [...values].map(([id, value]) => ({ id, value }));
  return reference === undefined
    ? { odd: all }
    : { odd: all.filter((e) => e.value !== reference), majority: reference };
}

function describeSplit(
  kind: string,
  variable: string,
  split: { odd: Array<{ id: string; value: string }>; majority?: string },
): string {
  if (split.majority !== undefined) {
    return split.odd
      .map((o) => `${kind} replica ${o.id} has ${variable} key id ${o.value}, the others ${split.majority}`)
      .join('; ');
  }
  return `${kind} replicas disagree on ${variable}: ${split.odd.map((o) => `${o.id} has key id ${o.value}`).join(', ')}`;
}
