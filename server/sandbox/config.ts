import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ConfigError, port } from '../shared/config/env.js';
import { faultPlanSchema, parseLatency, FaultSyntaxError } from './faults.js';
import type { SandboxOptions } from './create-sandbox.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The default port of `npm run sandbox` (next to the engine's 8787 and TTTranscribe's 8788). */
export const DEFAULT_SANDBOX_PORT = 8790;

/** Each flag of `npm run sandbox -- --flag value`, its PLUCT_SANDBOX_* variable, and what it sets. */
export const SANDBOX_SETTINGS = {
  port: {
    variable: 'PLUCT_SANDBOX_PORT',
    help: `port to listen on (default ${DEFAULT_SANDBOX_PORT}; 0 picks a free one)`,
  },
  host: { variable: 'PLUCT_SANDBOX_HOST', help: 'address to listen on (default 127.0.0.1)' },
  'cors-origins': {
    variable: 'PLUCT_SANDBOX_CORS_ORIGINS',
    help: 'comma-separated browser origins allowed by CORS (default *)',
  },
  'job-ms': {
    variable: 'PLUCT_SANDBOX_JOB_MS',
    help: 'how long a job runs unless its URL says /delay/<ms> (default 1500)',
  },
  'starting-credits': {
    variable: 'PLUCT_SANDBOX_STARTING_CREDITS',
    help: 'credits a new user starts with (default 3)',
  },
  'upstream-timeout-ms': {
    variable: 'PLUCT_SANDBOX_UPSTREAM_TIMEOUT_MS',
    help: "the gateway's upstream timeout (default 5000)",
  },
  faults: {
    variable: 'PLUCT_SANDBOX_FAULTS',
    help: 'a JSON fault plan file (seed, latency, operations, tokenExpiredOnCalls, upstream)',
  },
  seed: { variable: 'PLUCT_SANDBOX_SEED', help: "seed of the fault draws (overrides the plan's)" },
  latency: {
    variable: 'PLUCT_SANDBOX_LATENCY',
    help: "latency of every request: 250, 100-400 or exp:200 (overrides the plan's)",
  },
  'log-level': { variable: 'PLUCT_SANDBOX_LOG_LEVEL', help: "the services' log level (default warn)" },
} as const;
type Setting = keyof typeof SANDBOX_SETTINGS;

const count = (max: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(0, 'must not be negative')
    .max(max, `must be at most ${max}`);
const schema = z.object({
  port: port(DEFAULT_SANDBOX_PORT),
  host: z.string().trim().min(1).default('127.0.0.1'),
  'cors-origins': z
    .string()
    .default('*')
    .transform((s) =>
      s
        .split(',')
        .map((o) => o.trim())
        .filter((o) => o !== ''),
    )
    .refine(
      (list) => list.every((o) => o === '*' || /^https?:\/\/[^/\s]+$/.test(o)),
      'must be * or origins such as http://localhost:5173 (scheme://host[:port], no path)',
    ),
  'job-ms': count(600_000).default(1_500),
  'starting-credits': count(100_000).default(3),
  'upstream-timeout-ms': count(60_000)
    .refine((n) => n >= 100, 'must be at least 100')
    .default(5_000),
  faults: z.string().trim().min(1).optional(),
  seed: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').optional(),
  latency: z.string().optional(),
  'log-level': z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
});

/**
 * Reads the sandbox's settings once: flags (`--port 0`) over PLUCT_SANDBOX_* variables over defaults, and the
 * fault plan file. Every problem is reported at once, naming the flag's variable.
 *
 * @throws ConfigError listing each broken rule.
 * @example
 * const options = loadSandboxOptions(process.argv.slice(2), process.env);
 */
export function loadSandboxOptions(argv: readonly string[], env: Env): SandboxOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(Object.keys(SANDBOX_SETTINGS).map((name) => [name, { type: 'string' as const }])),
    strict: true,
    allowPositionals: false,
  });
  const raw: Record<string, string> = {};
  for (const [name, setting] of Object.entries(SANDBOX_SETTINGS)) {
    const value = (values as Record<string, string | undefined>)[name] ?? env[setting.variable];
    if (value !== undefined && value.trim() !== '') raw[name] = value;
  }
  const problems: Array<{ variable: string; message: string }> = [];
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    problems.push(
      ...parsed.error.issues.map((i) => ({
        variable: `--${String(i.path[0])} (${SANDBOX_SETTINGS[i.path[0] as Setting].variable})`,
        message: i.message,
      })),
    );
  }
  let plan: Record<string, unknown> = {};
  if (raw['faults'] !== undefined) {
    try {
      plan = faultPlanSchema.parse(JSON.parse(readFileSync(raw['faults'], 'utf8')));
    } catch (error) {
      const message =
        error instanceof z.ZodError
          ? error.issues.map((i) => `${i.path.join('.') || '(plan)'} ${i.message}`).join('; ')
          : (error as Error).message;
      problems.push({
        variable: '--faults (PLUCT_SANDBOX_FAULTS)',
        message: `must name a readable JSON fault plan: ${message}`,
      });
    }
  }
  const latency = raw['latency'] ?? (plan['latency'] as string | undefined);
  if (latency !== undefined) {
    try {
      parseLatency(latency);
    } catch (error) {
      if (!(error instanceof FaultSyntaxError)) throw error;
      problems.push({ variable: '--latency (PLUCT_SANDBOX_LATENCY)', message: error.message });
    }
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  const o = parsed.data;
  return {
    host: o.host,
    port: o.port,
    corsOrigins: o['cors-origins'],
    jobDurationMs: o['job-ms'],
    startingCredits: o['starting-credits'],
    upstreamTimeoutMs: o['upstream-timeout-ms'],
    faults: {
      ...plan,
      ...(o.seed === undefined ? {} : { seed: o.seed }),
      ...(latency === undefined ? {} : { latency }),
    },
    logLevel: o['log-level'],
  };
}
