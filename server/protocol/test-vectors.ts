/**
 * The shape of the X-Engine-Auth v1 test vectors (spec/shared/engine-auth-vectors.json), which
 * scripts/generate-engine-auth-vectors.ts writes and the docs, the CLI and the tests read.
 *
 * @example
 * const { vectors } = JSON.parse(readFileSync(ENGINE_AUTH_VECTORS_URL, 'utf8')) as EngineAuthVectorsFile;
 */
export interface EngineAuthVector {
  readonly name: string;
  /** TEST-ONLY shared secrets, current first. */
  readonly secrets: readonly string[];
  readonly keyIds: readonly string[];
  readonly method: string;
  readonly target: string;
  /** UTF-8 text; '' is an empty body. */
  readonly body: string;
  /** `null`: no Authorization header. */
  readonly bearerToken: string | null;
  readonly timestamp: number;
  readonly nonce: string;
  readonly bodySha256: string;
  readonly tokenSha256: string;
  readonly stringToSign: string;
  readonly header: string;
}

/** The vectors file. */
export interface EngineAuthVectorsFile {
  readonly description?: string;
  readonly vectors: readonly EngineAuthVector[];
}

/** Where the vectors live, for readers that resolve files relative to this module. */
export const ENGINE_AUTH_VECTORS_URL = new URL('../../spec/shared/engine-auth-vectors.json', import.meta.url);
