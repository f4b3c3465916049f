import { FAULT_HEADER, SANDBOX_MEDIA } from './magic-inputs.js';

/** One of the five steps of an app's flow, as a curl line over shell variables ($SANDBOX, $TOKEN, ...). */
export interface FlowStep {
  readonly title: string;
  readonly command: string;
  /** The variable the next steps need from this answer, and the body field it comes from. */
  readonly sets?: { readonly variable: string; readonly field: string };
  /** Repeat until the answer's `status` is one of these. */
  readonly repeatUntil?: readonly string[];
}

const json = `-H 'Content-Type: application/json'`;

/**
 * The five steps (balance, vend, submit, poll status, ledger) with curl only: printed by the start banner, rendered
 * on the docs page "Testing your app in the sandbox", and run by the sandbox's curl test against `npm run sandbox`.
 */
export const FIVE_STEPS: readonly FlowStep[] = [
  { title: 'Read the balance', command: 'curl -s "$SANDBOX/v1/credits/balance" -H "Authorization: Bearer $TOKEN"' },
  {
    title: 'Vend a service token (1 credit)',
    command: `curl -s -X POST "$SANDBOX/v1/vend-token" -H "Authorization: Bearer $TOKEN" ${json} -d '{"clientRequestId":"my-first-vend"}'`,
    sets: { variable: 'SERVICE_TOKEN', field: 'token' },
  },
  {
    title: 'Submit a job with the service token',
    command: `curl -s -X POST "$SANDBOX/ttt/transcribe" -H "Authorization: Bearer $SERVICE_TOKEN" ${json} -d '{"url":"${SANDBOX_MEDIA}/say/hello-from-the-sandbox"}'`,
    sets: { variable: 'JOB_ID', field: 'jobId' },
  },
  {
    title: 'Poll the job until it is completed',
    command: 'curl -s "$SANDBOX/ttt/status/$JOB_ID" -H "Authorization: Bearer $TOKEN"',
    repeatUntil: ['completed', 'failed'],
  },
  { title: 'Read the ledger', command: 'curl -s "$SANDBOX/v1/credits/ledger" -H "Authorization: Bearer $TOKEN"' },
];

export interface BannerInput {
  readonly url: string;
  readonly userJwt: string;
  readonly sub: string;
  readonly jobDurationMs: number;
  readonly startingCredits: number;
  readonly corsOrigins: readonly string[];
  /** A one-line summary of the run's fault plan, or undefined for none. */
  readonly faults: string | undefined;
}

/**
 * The start banner: where the sandbox listens, a ready user JWT (a sandbox token: the secret that signs it exists
 * only in this process's memory) and the five steps as curl lines.
 *
 * @example
 * process.stdout.write(sandboxBanner({ url, userJwt, sub: 'sandbox-user', jobDurationMs: 1500, ... }));
 */
export function sandboxBanner(input: BannerInput): string {
  return [
    '',
    `Pluct sandbox is up at ${input.url} (in memory only: Ctrl-C stops it and forgets everything).`,
    `  API               ${input.url}  (the Business Engine; TTTranscribe runs behind it with a simulated engine)`,
    `  Jobs              ${input.jobDurationMs} ms each; media on ${SANDBOX_MEDIA}/ is never fetched (/say/<words>, /fail/<code>, /delay/<ms>)`,
    `  New users         start with ${input.startingCredits} credits; subjects starting with nocredits- start with none`,
    `  State, reset      GET ${input.url}/sandbox/state   POST ${input.url}/sandbox/reset`,
    `  More users        curl -s -X POST ${input.url}/sandbox/tokens ${json} -d '{"sub":"bob"}'`,
    `  CORS origins      ${input.corsOrigins.join(', ')}`,
    `  Faults            ${input.faults ?? `none for the run; per request: ${FAULT_HEADER}: upstream=down (see the docs page)`}`,
    '  Guide             docs/sandbox.md ("Testing your app in the sandbox"): every error code and how to cause it',
    '',
    `A user JWT for sub "${input.sub}" (valid 24 hours, for this run only):`,
    `  export SANDBOX=${input.url}`,
    `  export TOKEN=${input.userJwt}`,
    '',
    'The five steps:',
    ...FIVE_STEPS.flatMap((step, i) => [
      `  # ${i + 1}. ${step.title}${step.sets ? ` (then: export ${step.sets.variable}=<the "${step.sets.field}" of the answer>)` : ''}`,
      `  ${step.command}`,
    ]),
    '',
  ].join('\n');
}
