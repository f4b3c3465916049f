/** Variables that configure the sandbox (`npm run sandbox`); a service started normally refuses every one. */
export const SANDBOX_VARIABLE_PREFIX = 'PLUCT_SANDBOX_';

/**
 * The sandbox settings present in a service's environment, as configuration problems: a production start with any
 * of them refuses to start and names the variable, so a sandbox setting can never leak into a real deployment.
 *
 * @example
 * problems.push(...sandboxSettingProblems(process.env)); // [{ variable: 'PLUCT_SANDBOX_FAULTS', message: '...' }]
 */
export function sandboxSettingProblems(
  env: Readonly<Record<string, string | undefined>>,
): Array<{ variable: string; message: string }> {
  return Object.keys(env)
    .filter((name) => name.startsWith(SANDBOX_VARIABLE_PREFIX) && env[name] !== undefined)
    .sort()
    .map((variable) => ({
      variable,
      message: 'is a sandbox setting (npm run sandbox); a real service never runs with one: unset it',
    }));
}
