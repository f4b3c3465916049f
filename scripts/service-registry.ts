/**
 * The service registry: every Pluct service once, with its spec, entry point and ports. The local stack
 * (scripts/start-stack.ts), the Prism mocks (mocks/), the bench and the docs read it, so adding a service is one
 * entry here plus its `apis:` entry in redocly.yaml (test/scripts/service-registry.test.ts checks the two agree).
 * See CONTRIBUTING.md "Adding a service".
 */

/** One service. */
export interface ServiceEntry {
  /** The API name in redocly.yaml, the folder under generated/ and spec/, and the process name in logs. */
  readonly id: string;
  /** How people call it ("Business Engine"). */
  readonly title: string;
  /** The OpenAPI root under spec/. */
  readonly spec: string;
  /** The module that reads config and listens (`createApp` lives in app.ts beside it). */
  readonly entry: string;
  /** The variables that choose where it listens, and the default port. */
  readonly listen: { readonly hostEnv: string; readonly portEnv: string; readonly defaultPort: number };
  /** The Prism mock of its spec (`npm run mock`). */
  readonly mock: { readonly portEnv: string; readonly defaultPort: number };
}

/**
 * Every service, in start order.
 *
 * @example
 * for (const service of SERVICES) startChildService(service.id, service.entry, { cwd: root, env });
 */
export const SERVICES = [
  {
    id: 'business-engine',
    title: 'Business Engine',
    spec: 'spec/business-engine/openapi.yaml',
    entry: 'server/business-engine/main.ts',
    listen: { hostEnv: 'ENGINE_HOST', portEnv: 'ENGINE_PORT', defaultPort: 8787 },
    mock: { portEnv: 'MOCK_ENGINE_PORT', defaultPort: 4010 },
  },
  {
    id: 'tttranscribe',
    title: 'TTTranscribe',
    spec: 'spec/tttranscribe/openapi.yaml',
    entry: 'server/tttranscribe/main.ts',
    listen: { hostEnv: 'TTT_HOST', portEnv: 'TTT_PORT', defaultPort: 8788 },
    mock: { portEnv: 'MOCK_TTT_PORT', defaultPort: 4011 },
  },
] as const satisfies readonly ServiceEntry[];

export type ServiceId = (typeof SERVICES)[number]['id'];

/**
 * The registry entry of one service.
 *
 * @example
 * service('tttranscribe').entry; // 'server/tttranscribe/main.ts'
 */
export function service(id: ServiceId): ServiceEntry {
  const found = SERVICES.find((s) => s.id === id);
  if (!found) throw new Error(`no service '${id}' in scripts/service-registry.ts`);
  return found;
}

/**
 * The bundled spec `npm run generate` writes for a service (what Prism and the contract tests load).
 *
 * @example
 * generatedSpec(service('business-engine')); // 'generated/business-engine/openapi.json'
 */
export function generatedSpec(entry: ServiceEntry): string {
  return `generated/${entry.id}/openapi.json`;
}
