import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { RequestHandler } from 'express';
import { ConfigError } from '../config/env.js';

/** The response header naming the replica that answered (every response of both services). */
export const INSTANCE_ID_HEADER = 'X-Instance-Id';

const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;

let processDefault: string | undefined;

/**
 * This process's default instance id: `<hostname>-<pid>-<6 random hex>`, made once per process so every
 * component of one replica reports the same name. The random part tells apart two replicas that a container
 * runtime started with the same host name and pid.
 *
 * @example
 * defaultInstanceId(); // 'web-1-4711-a3f09c'
 */
export function defaultInstanceId(): string {
  processDefault ??= `${
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .slice(0, 60) || 'host'
  }-${process.pid}-${randomBytes(3).toString('hex')}`;
  return processDefault;
}

/**
 * Reads INSTANCE_ID (a replica's chosen name: letters, digits, `.`, `_`, `:`, `-`, at most 100 characters),
 * or returns {@link defaultInstanceId} when it is unset or blank.
 *
 * @throws ConfigError naming INSTANCE_ID when it is set but malformed.
 * @example
 * instanceIdFromEnv({ INSTANCE_ID: 'engine-a' }); // 'engine-a'
 * instanceIdFromEnv({}); // 'web-1-4711-a3f09c'
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
