import type { RequestHandler } from 'express';
import type { components } from '../../../generated/tttranscribe/schema.js';
import type { JobStore } from '../jobs/job-store.js';
import type { TranscriberProbe } from '../transcriber-status.js';

export type BuildInfo = components['schemas']['BuildInfo'];
type TttHealth = components['schemas']['TttHealth'];

/**
 * GET /health: liveness, build, this replica's instance id, the speech engine's availability (and why not) and
 * the queue's size. Needs no credentials and reveals no secret or key id.
 *
 * @example
 * operations: { getHealth: { handler: getHealth({ store, transcriber, build, now, startedAt: now(), instanceId }) } }
 */
export function getHealth(deps: {
  store: JobStore;
  transcriber: TranscriberProbe;
  build: BuildInfo;
  now: () => number;
  startedAt: number;
  instanceId: string;
}): RequestHandler {
  return async (_req, res) => {
    const [transcriber, jobs] = await Promise.all([deps.transcriber(), deps.store.counts()]);
    const at = deps.now();
    const body: TttHealth = {
      ok: true,
      service: 'tttranscribe',
      build: deps.build,
      uptimeSec: Math.max(0, Math.round((at - deps.startedAt) / 1000)),
      serverTime: new Date(at).toISOString(),
      instanceId: deps.instanceId,
      transcriber,
      jobs,
    };
    res.json(body);
  };
}
