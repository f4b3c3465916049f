import type { RequestHandler, Response } from 'express';
import { errorCatalog, isErrorCode, type ErrorCode } from '../../generated/errors.js';
import { ApiError } from '../shared/errors/api-error.js';
import { problemBody } from '../shared/errors/problem.js';
import { createOperationMatcher, type OpenApiDocument } from '../shared/http/operation-matcher.js';
import {
  FaultSyntaxError,
  mergeFaults,
  parseFaultHeader,
  type FaultDecider,
  type RequestFaults,
  type UpstreamFault,
} from './faults.js';
import { FAULT_HEADER } from './magic-inputs.js';

type Json = Record<string, unknown>;
const asObject = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});

/**
 * The catalog codes each operation lists in its spec (the examples of its problem responses): a fault may only
 * produce a code the operation can answer, so a sandbox response never leaves the contract.
 *
 * @example
 * listedCodes(engineSpec).get('vendToken')?.has('rate_limited'); // true
 */
export function listedCodes(spec: OpenApiDocument): Map<string, Set<ErrorCode>> {
  const doc = spec as unknown as Json;
  const resolve = (node: unknown): Json => {
    let n = asObject(node);
    for (let i = 0; i < 8 && typeof n['$ref'] === 'string'; i += 1) {
      n = n['$ref']
        .slice(2)
        .split('/')
        .reduce<Json>((at, key) => asObject(at[key.replace(/~1/g, '/').replace(/~0/g, '~')]), doc);
    }
    return n;
  };
  const byOperation = new Map<string, Set<ErrorCode>>();
  for (const item of Object.values(asObject(doc['paths']))) {
    for (const op of Object.values(asObject(item))) {
      const operation = asObject(op);
      if (typeof operation['operationId'] !== 'string') continue;
      const codes = new Set<ErrorCode>();
      for (const response of Object.values(asObject(operation['responses']))) {
        const media = asObject(asObject(resolve(response)['content'])['application/problem+json']);
        for (const example of Object.values(asObject(media['examples']))) {
          const code = asObject(resolve(example)['value'])['code'];
          if (isErrorCode(code)) codes.add(code);
        }
      }
      byOperation.set(operation['operationId'], codes);
    }
  }
  return byOperation;
}

/** Upstream faults of requests in flight, by request id (the engine passes its request id on to TTTranscribe). */
export type PendingUpstreamFaults = Map<string, UpstreamFault>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function faultError(
  code: ErrorCode,
  faults: RequestFaults,
  operationId: string,
  now: () => number,
  credential: string,
): ApiError {
  const details: Json = { ...asObject(errorCatalog[code].exampleDetails) };
  const headers: Record<string, string> = {};
  if (code === 'rate_limited') {
    details['retryAfterSec'] = faults.rateLimited ?? 1;
    headers['Retry-After'] = String(faults.rateLimited ?? 1);
  }
  if (code === 'token_expired') {
    const at = now();
    Object.assign(details, {
      credential,
      expiredAt: new Date(at - 60_000).toISOString(),
      serverTime: new Date(at).toISOString(),
    });
  }
  if ('retryAfterSec' in details && headers['Retry-After'] === undefined)
    headers['Retry-After'] = String(details['retryAfterSec']);
  return new ApiError(code, `Sandbox fault on ${operationId}: ${errorCatalog[code].title}.`, { details, headers });
}

/**
 * The Business Engine's first middleware in the sandbox: reads and removes the `Pluct-Sandbox-Fault` header (so the
 * engine's own refusal of it never fires here), draws the run's faults for the operation, waits the latency, and
 * answers a fault the operation's spec lists (429 rate_limited with Retry-After, 401 token_expired, any listed
 * `error=`), or notes an upstream fault for the TTTranscribe side. A fault the operation cannot answer is a 400
 * invalid_request naming the codes it can.
 *
 * @example
 * createApp(engineConfig, { logger, before: [engineFaults({ spec, decider, pending, now })] });
 */
export function engineFaults(options: {
  spec: OpenApiDocument;
  decider: FaultDecider;
  pending: PendingUpstreamFaults;
  now: () => number;
}): RequestHandler {
  const match = createOperationMatcher(options.spec);
  const listed = listedCodes(options.spec);
  return async (req, res, next) => {
    const header = req.headers[FAULT_HEADER.toLowerCase()];
    Reflect.deleteProperty(req.headers, FAULT_HEADER.toLowerCase());
    const found = match(req.method, req.path);
    if (found.kind !== 'operation') {
      next();
      return;
    }
    const operationId = found.operation.operationId;
    let asked: RequestFaults = {};
    try {
      if (header !== undefined) asked = parseFaultHeader(Array.isArray(header) ? header.join(';') : header);
    } catch (error) {
      if (!(error instanceof FaultSyntaxError)) throw error;
      next(
        new ApiError('invalid_request', `${FAULT_HEADER}: ${error.message}.`, {
          details: { header: FAULT_HEADER, reason: error.message },
        }),
      );
      return;
    }
    const faults = mergeFaults(options.decider.decide(operationId, req.headers.authorization !== undefined), asked);
    if (faults.latency) await sleep(options.decider.drawLatency(faults.latency));
    const codes = listed.get(operationId) ?? new Set<ErrorCode>();
    const wanted: ErrorCode | undefined =
      faults.rateLimited !== undefined ? 'rate_limited' : faults.tokenExpired ? 'token_expired' : faults.error;
    if (wanted !== undefined) {
      if (!codes.has(wanted)) {
        next(
          new ApiError(
            'invalid_request',
            `${FAULT_HEADER}: ${operationId} cannot answer ${wanted}; its spec lists ${[...codes].join(', ')}.`,
            {
              details: { header: FAULT_HEADER, reason: 'code_not_listed_for_operation', operationId, code: wanted },
            },
          ),
        );
        return;
      }
      const credential = operationId === 'submitTranscription' ? 'service_token' : 'user_jwt';
      next(faultError(wanted, faults, operationId, options.now, credential));
      return;
    }
    if (faults.upstream) {
      const id = res.locals['requestId'] as string;
      options.pending.set(id, faults.upstream);
      res.once('close', () => options.pending.delete(id));
    }
    next();
  };
}

/** What a failing TTTranscribe would answer: a catalog problem. */
function answer(
  res: Response,
  status: number,
  code: 'service_unavailable' | 'internal_error',
  requestId: string | undefined,
  headers: Record<string, string>,
): void {
  // The problem body every service writes (problemBody), at the status this fault stands for.
  const body = { ...problemBody(code, requestId ?? '', `Sandbox fault: TTTranscribe answered ${status}.`), status };
  res.status(status).set(headers).type('application/problem+json').send(JSON.stringify(body));
}

/**
 * In front of the sandbox's TTTranscribe: plays the upstream fault noted for the engine's request id. `down` answers
 * 503 (the gateway answers 503 upstream_unavailable), `error` answers 500 (502 upstream_error), `timeout`
 * never answers (504 upstream_timeout), `auth` spoils the engine's X-Engine-Auth so TTTranscribe refuses it
 * (502 upstream_auth_failure). The engine's lookup by Idempotency-Key after a failed submission is not faulted: it
 * reaches the real TTTranscribe, which never stored the job, so `down` and `error` end in a refund.
 *
 * @example
 * root.use('/_ttt', tttFaults({ pending, upstreamTimeoutMs: 5000 }), tttApp);
 */
export function tttFaults(options: { pending: PendingUpstreamFaults; upstreamTimeoutMs: number }): RequestHandler {
  return (req, res, next) => {
    const id = req.headers['x-request-id'];
    const settling = req.method === 'GET' && req.path.startsWith('/jobs/by-idempotency-key/');
    const fault = typeof id === 'string' && !settling ? options.pending.get(id) : undefined;
    switch (fault) {
      case 'down':
        answer(res, 503, 'service_unavailable', typeof id === 'string' ? id : undefined, { 'Retry-After': '5' });
        return;
      case 'timeout':
        setTimeout(() => req.socket.destroy(), options.upstreamTimeoutMs + 1_000).unref();
        return;
      case 'error':
        answer(res, 500, 'internal_error', typeof id === 'string' ? id : undefined, {});
        return;
      case 'auth':
        req.headers['x-engine-auth'] = 'v1 sandbox-spoiled-signature';
        break;
      default:
        break;
    }
    next();
  };
}
