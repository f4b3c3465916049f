import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { ConfigError } from '../../shared/config/env.js';

/** Where the keys that verify service tokens come from: the engine's JWKS URL, or a JWKS file. */
export type ServiceTokenKeySource =
  { readonly kind: 'url'; readonly url: string } | { readonly kind: 'file'; readonly path: string };

/**
 * A printable description of a key source for the start-up log (a URL or path, never key material).
 *
 * @example
 * logger.info({ serviceTokenKeys: describeKeySource(config.serviceTokenKeys) }, 'listening');
 */
export function describeKeySource(source: ServiceTokenKeySource): string {
  return source.kind === 'url' ? source.url : `file:${source.path}`;
}

/**
 * Builds the jose key resolver for service tokens. A URL becomes `createRemoteJWKSet`, fetched lazily on the first
 * token (so the engine may start after TTTranscribe), cached, and refetched when an unknown `kid` arrives (the
 * engine rotated its key). A file is read now and must hold a JWK Set with at least one key; otherwise a
 * ConfigError names TTT_SERVICE_TOKEN_JWKS_FILE and the rule.
 *
 * @example
 * const getKey = loadServiceTokenKeys({ kind: 'url', url: 'http://127.0.0.1:8787/.well-known/jwks.json' });
 */
export function loadServiceTokenKeys(source: ServiceTokenKeySource): JWTVerifyGetKey {
  if (source.kind === 'url') {
    return createRemoteJWKSet(new URL(source.url), {
      timeoutDuration: 5000,
      cooldownDuration: 30_000,
      cacheMaxAge: 10 * 60_000,
    });
  }
  const problem = (message: string) => new ConfigError([{ variable: 'TTT_SERVICE_TOKEN_JWKS_FILE', message }]);
  let text: string;
  try {
    text = readFileSync(source.path, 'utf8');
  } catch (error) {
    throw problem(
      `must name a readable JWKS file; ${source.path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  let jwks: unknown;
  try {
    jwks = JSON.parse(text);
  } catch {
    throw problem(`must hold a JSON JWK Set; ${source.path} is not valid JSON`);
  }
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0)
    throw problem(`must hold a JWK Set ({"keys":[...]}) with at least one key; ${source.path} has none`);
  if (keys.some((k) => typeof k !== 'object' || k === null || 'd' in k)) {
    throw problem(`must hold public keys only; ${source.path} contains a private key or a non-object entry`);
  }
  return createLocalJWKSet(jwks as JSONWebKeySet);
}
