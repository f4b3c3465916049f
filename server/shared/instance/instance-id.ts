import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { RequestHandler } from 'express';
import { ConfigError } from '../config/env.js';

/** The response header naming the replica that answered (every response of both services). */
export const INSTANCE_ID_HEADER = 'X-Instance-Id';

const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;

let processDefault: string | undefined;

/**
 * This process's default instance id: `i-` and 8 random base32 characters (40 bits), made once per process so
 * every component of one replica reports the same name. It is public (the X-Instance-Id header of every
 * response), so it reveals neither host name nor pid: {@link instanceStartFields} puts those in the start log line,
 * where an operator maps an id to its host.
 *
 * @example
 * defaultInstanceId(); // 'i-k3v9q2ma'
 */
export function defaultInstanceId(): string {
  // 40 random bits as 8 base32 digits (RFC 4648's base32hex alphabet, 0-9 a-v).
  processDefault ??= `i-${BigInt(`0x${randomBytes(5).toString('hex')}`)
    .toString(32)
    .padStart(8, '0')}`;
  return processDefault;
}

/**
 * What the start log line says about this replica: its public instance id and, kept out of responses, the host
 * name and pid it runs as.
 *
 * @example
 * logger.info({ ...instanceStartFields(instanceId), url }, 'TTTranscribe listening');
 */
export function instanceStartFields(instanceId: string): { instanceId: string; hostname: string; pid: number } {
  return { instanceId, hostname: hostname(), pid: process.pid };
}

/**
 * Reads INSTANCE_ID (a replica's chosen name: letters, digits, `.`, `_`, `:`, `-`, at most 100 characters),
 * or returns {@link defaultInstanceId} when it is unset or blank.
 *
 * @throws ConfigError naming INSTANCE_ID when it is set but malformed.
 * @example
 * instanceIdFromEnv({ INSTANCE_ID: 'engine-a' }); // 'engine-a'
 * instanceIdFromEnv({}); // 'i-k3v9q2ma'
 */
export function instanceIdFromEnv(env: Readonly<Record<string, string | undefined>>): string {
  const value = env['INSTANCE_ID']?.trim();
  if (value === undefined || value === '') return defaultInstanceId();
  if (!INSTANCE_ID.test(value)) {
    throw new ConfigError([
      {
        variable: 'INSTANCE_ID',
        message: 'must be 1-100 characters of letters, digits, ".", "_", ":" or "-", starting with a letter or digit',
      },
    ]);
  }
  return value;
}

/**
 * Middleware that names the replica on every response (success, problem+json, 404) with X-Instance-Id, so a
 * client behind a load balancer, `pluct doctor` or an operator reading one failed response knows which replica
 * answered.
 *
 * @example
 * createServiceApp({ ..., before: [instanceIdHeader(config.instanceId ?? defaultInstanceId())] });
 */
export function instanceIdHeader(instanceId: string): RequestHandler {
  return (_req, res, next) => {
    res.setHeader(INSTANCE_ID_HEADER, instanceId);
    next();
  };
}
