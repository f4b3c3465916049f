import { readFileSync } from 'node:fs';
import type { components } from '../../generated/business-engine/schema.js';

export type BuildInfo = components['schemas']['BuildInfo'];

/**
 * The engine's build information: the package version, and GIT_SHA / BUILT_AT when the build sets them. Never the
 * Node version: GET /health is unauthenticated and a runtime version only helps an attacker pick an exploit.
 *
 * @example
 * readBuildInfo(process.env); // { version: '0.1.0', gitSha: null, builtAt: null }
 */
export function readBuildInfo(env: Readonly<Record<string, string | undefined>> = {}): BuildInfo {
  let version = '0.0.0';
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    version = pkg.version ?? version;
  } catch {
    // A bundled deployment may not ship package.json; the version is informational.
  }
  return { version, gitSha: env['GIT_SHA'] || null, builtAt: env['BUILT_AT'] || null };
}
