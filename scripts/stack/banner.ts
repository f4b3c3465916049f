import { createBusinessEngineClient } from '../../generated/business-engine/client.js';
import { createTttranscribeClient } from '../../generated/tttranscribe/client.js';

/** What the stack prints once both services answer; holds key ids and URLs only, never a secret. */
export interface BannerInput {
  readonly engineUrl: string;
  readonly tttUrl: string;
  readonly envFile: string;
  readonly envCreated: boolean;
  readonly dataDir: string;
  readonly docs: { readonly served: boolean; readonly note?: string };
  /** Used only to ask the engine for its redacted config (key ids); never printed. */
  readonly adminToken: string | undefined;
  /** One line per system tool still missing, with its fix (from `ensureTools`). */
  readonly missingTools?: readonly string[];
  /** Whether TTT_ALLOW_PRIVATE_CIDRS is set, so `pluct transcribe ./file` can work. */
  readonly localMediaAllowed?: boolean;
}

/**
 * Asks the running services for their key ids (the engine's redacted /admin/config, TTTranscribe's accepted
 * X-Engine-Auth key ids) and formats the start-up banner with the URLs and the next steps.
 *
 * @example
 * console.log(await stackBanner({ engineUrl, tttUrl, envFile, envCreated, dataDir, docs: { served: true }, adminToken }));
 */
export async function stackBanner(input: BannerInput): Promise<string> {
  const engine = createBusinessEngineClient({ baseUrl: input.engineUrl });
  const ttt = createTttranscribeClient({ baseUrl: input.tttUrl });
  const signal = () => AbortSignal.timeout(3_000);
  const [config, auth, health] = await Promise.all([
    input.adminToken
      ? engine
          .GET('/admin/config', { headers: { Authorization: `Bearer ${input.adminToken}` }, signal: signal() })
          .catch(() => undefined)
      : undefined,
    ttt.GET('/.well-known/engine-auth', { signal: signal() }).catch(() => undefined),
    ttt.GET('/health', { signal: signal() }).catch(() => undefined),
  ]);
  const transcriber = health?.data?.transcriber;
  const missing = input.missingTools ?? [];
  const speech =
    transcriber === undefined
      ? '(TTTranscribe did not say)'
      : transcriber.available
        ? `${transcriber.engine}${transcriber.model ? ` (${transcriber.model})` : ''}, available`
        : `UNAVAILABLE with ${transcriber.engine}: ${transcriber.reason ?? 'no reason given'}`;
  const keyRows = (config?.data?.secrets ?? [])
    .filter((s) => s.status === 'configured')
    .map((s) => `    ${s.name.padEnd(27)}${s.keyId ?? '(configured)'}`);
  const accepted = auth?.data?.acceptedKeyIds;
  const lines = [
    '',
    `Pluct stack is up. Settings: ${input.envFile}${input.envCreated ? ' (just created with fresh secrets, mode 0600)' : ''}; data: ${input.dataDir}`,
    `  Business Engine   ${input.engineUrl}`,
    `  TTTranscribe      ${input.tttUrl}`,
    `  Transcription     ${speech}`,
    ...(missing.length > 0
      ? [
          '  Missing system tools (transcription is unavailable until they are installed; then restart npm start):',
          ...missing.map((line) => `    ${line}`),
        ]
      : []),
    ...(input.localMediaAllowed
      ? []
      : [
          '  Local files: TTT_ALLOW_PRIVATE_CIDRS is not set, so TTTranscribe refuses media on 127.0.0.1; add TTT_ALLOW_PRIVATE_CIDRS=127.0.0.0/8,::1/128 to your .env (local stacks only).',
        ]),
    `  Docs              ${input.docs.served ? `${input.engineUrl}/docs/` : `not served (${input.docs.note ?? 'docs-dist/ is missing'})`}`,
    '  Key ids (compare these, never the secrets):',
    ...(keyRows.length > 0
      ? keyRows
      : ['    (the engine did not report them: see its "Business Engine listening" log line)']),
    `    ${'TTTranscribe accepts'.padEnd(27)}${accepted ? accepted.join(', ') : '(unknown)'}`,
    '  Next:',
    ...(input.engineUrl === 'http://127.0.0.1:8787' ? [] : [`    export PLUCT_ENGINE_URL=${input.engineUrl}`]),
    ...(input.tttUrl === 'http://127.0.0.1:8788' ? [] : [`    export PLUCT_TTT_URL=${input.tttUrl}`]),
    '    export PLUCT_TOKEN=$(npx pluct token mint --sub me)',
    '    npx pluct balance',
    '    npx pluct transcribe ./clip.mp4   # a local file (served to TTTranscribe for the job only), or a URL',
    '    npx pluct credits grant --user me --amount 10   # after the 3 signup credits',
    '    npx pluct doctor          # checks keys, clocks and signing end to end',
    '  Ctrl-C stops both services (they drain first); npm then reports exit status 130.',
    '',
  ];
  return lines.join('\n');
}
