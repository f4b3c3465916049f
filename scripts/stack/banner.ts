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
  const [config, auth] = await Promise.all([
    input.adminToken
      ? engine.GET('/admin/config', { headers: { Authorization: `Bearer ${input.adminToken}` }, signal: signal() }).catch(() => undefined)
      : undefined,
    ttt.GET('/.well-known/engine-auth', { signal: signal() }).catch(() => undefined),
  ]);
  const keyRows = (config?.data?.secrets ?? [])
    .filter((s) => s.status === 'configured')
    .map((s) => `    ${s.name.padEnd(27)}${s.keyId ?? '(configured)'}`);
  const accepted = auth?.data?.acceptedKeyIds;
  const lines = [
    '',
    `Pluct stack is up. Settings: ${input.envFile}${input.envCreated ? ' (just created with fresh secrets, mode 0600)' : ''}; data: ${input.dataDir}`,
    `  Business Engine   ${input.engineUrl}`,
    `  TTTranscribe      ${input.tttUrl}`,
    `  Docs              ${input.docs.served ? `${input.engineUrl}/docs/` : `not served (${input.docs.note ?? 'docs-dist/ is missing'})`}`,
    '  Key ids (compare these, never the secrets):',
    ...(keyRows.length > 0 ? keyRows : ['    (the engine did not report them: see its "Business Engine listening" log line)']),
    `    ${'TTTranscribe accepts'.padEnd(27)}${accepted ? accepted.join(', ') : '(unknown)'}`,
    '  Next:',
    ...(input.engineUrl === 'http://127.0.0.1:8787' ? [] : [`    export PLUCT_ENGINE_URL=${input.engineUrl}`]),
    ...(input.tttUrl === 'http://127.0.0.1:8788' ? [] : [`    export PLUCT_TTT_URL=${input.tttUrl}`]),
    '    export PLUCT_TOKEN=$(npx pluct token mint --sub me)',
    '    npx pluct balance',
    '    npx pluct transcribe <video-or-audio-url>',
    '    npx pluct doctor          # checks keys, clocks and signing end to end',
    '  Ctrl-C stops both services.',
    '',
  ];
  return lines.join('\n');
}
