/**
 * What the spec diff reports: one finding per change, with a severity, a stable rule name, the operation(s)
 * it affects and where in the spec it was found.
 */

/** `breaking` fails the gate unless info.version's major was bumped; `warning` and `info` are only printed. */
export type Severity = 'breaking' | 'warning' | 'info';

export interface Finding {
  severity: Severity;
  /** A stable, kebab-case rule name, e.g. `request-property-required`. */
  rule: string;
  /** What changed, for a person. */
  message: string;
  /** The operation(s) affected, e.g. `POST /v1/vend-token (vendToken) request body`. */
  operations: string[];
  /** Where in the new (or old) document: a JSON pointer such as `#/components/schemas/Balance/properties/main`. */
  pointer: string;
}

/**
 * Merges findings that differ only by operation (a change in a shared schema is reported once, listing every
 * operation that uses it), keeping the first-seen order.
 *
 * @example
 * groupFindings([a, b]); // a and b with the same rule, pointer and message become one finding with 2 operations
 */
export function groupFindings(findings: readonly Finding[]): Finding[] {
  const byKey = new Map<string, Finding>();
  for (const finding of findings) {
    const key = `${finding.severity}\0${finding.rule}\0${finding.pointer}\0${finding.message}`;
    const seen = byKey.get(key);
    if (!seen) byKey.set(key, { ...finding, operations: [...finding.operations] });
    else for (const op of finding.operations) if (!seen.operations.includes(op)) seen.operations.push(op);
  }
  return [...byKey.values()];
}

const LABEL: Record<Severity, string> = { breaking: 'BREAKING', warning: 'warning ', info: 'info    ' };
const MAX_LISTED_OPERATIONS = 4;

/**
 * One readable line (plus an indented "affects" line) per finding, breaking ones first.
 *
 * @example
 * formatFindings(findings).join('\n');
 * // BREAKING  response-property-removed  property 'main' was removed [#/components/schemas/Balance]
 * //           affects: GET /v1/credits/balance (getCreditBalance) response 200
 */
export function formatFindings(findings: readonly Finding[]): string[] {
  const order: Severity[] = ['breaking', 'warning', 'info'];
  const sorted = [...findings].sort((a, b) => order.indexOf(a.severity) - order.indexOf(b.severity));
  return sorted.flatMap((f) => {
    const ops = f.operations.slice(0, MAX_LISTED_OPERATIONS).join('; ');
    const more =
      f.operations.length > MAX_LISTED_OPERATIONS ? ` and ${f.operations.length - MAX_LISTED_OPERATIONS} more` : '';
    const lines = [`${LABEL[f.severity]}  ${f.rule}  ${f.message} [${f.pointer}]`];
    if (ops) lines.push(`          affects: ${ops}${more}`);
    return lines;
  });
}

/** The major part of a semver-like version (`1.4.2` -> 1); NaN when it has none. */
export function majorOf(version: unknown): number {
  const m = /^v?(\d+)(?:\.|$)/.exec(typeof version === 'string' || typeof version === 'number' ? String(version) : '');
  return m?.[1] === undefined ? Number.NaN : Number(m[1]);
}
