/** A minimal view of an OpenAPI document: the paths with their operations. */
export interface OpenApiDocument {
  paths: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
}

/** An operation of the spec, as matched against a request. */
export interface MatchedOperation {
  operationId: string;
  method: string;
  /** The spec's path template, e.g. `/ttt/status/{jobId}`. */
  pathTemplate: string;
  /** The Express form of the template, e.g. `/ttt/status/:jobId`. */
  expressPath: string;
  params: Record<string, string>;
  /**
   * Path parameters whose percent-encoding is malformed (`%ff%fe`, `job_%`: `%` without two hex digits, or bytes
   * that are not UTF-8), left undecoded in `params`: the caller's mistake, for the app to refuse with a 400.
   */
  malformedParams: string[];
}

export type MatchResult =
  | { kind: 'operation'; operation: MatchedOperation }
  | { kind: 'method_not_allowed'; allowed: string[] }
  | { kind: 'not_found' };

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

interface CompiledPath {
  template: string;
  expressPath: string;
  regex: RegExp;
  names: string[];
  operations: Map<string, string>;
}

/**
 * Matches requests to the spec's operations, so routing, 404 and 405 follow the spec alone.
 *
 * @example
 * const match = createOperationMatcher(spec);
 * match('GET', '/ttt/status/job_123'); // { kind: 'operation', operation: { operationId: 'getTranscriptionStatus', ... } }
 */
export function createOperationMatcher(spec: OpenApiDocument): (method: string, path: string) => MatchResult {
  const compiled: CompiledPath[] = Object.entries(spec.paths).map(([template, item]) => {
    const names: string[] = [];
    const pattern = template
      .split(/(\{[^}]+\})/)
      .map((part) => {
        const name = /^\{([^}]+)\}$/.exec(part)?.[1];
        if (name) {
          names.push(name);
          return '([^/]+)';
        }
        return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('');
    const operations = new Map<string, string>();
    for (const method of METHODS) {
      const op = item[method] as { operationId?: string } | undefined;
      if (op?.operationId) operations.set(method.toUpperCase(), op.operationId);
    }
    const expressPath = template.replace(/\{([^}]+)\}/g, ':$1');
    return { template, expressPath, regex: new RegExp(`^${pattern}/?$`), names, operations };
  });

  return (method, path) => {
    for (const entry of compiled) {
      const m = entry.regex.exec(path);
      if (!m) continue;
      const upper = method.toUpperCase();
      const operationId = entry.operations.get(upper) ?? (upper === 'HEAD' ? entry.operations.get('GET') : undefined);
      if (!operationId) return { kind: 'method_not_allowed', allowed: [...entry.operations.keys()] };
      const params: Record<string, string> = {};
      const malformedParams: string[] = [];
      entry.names.forEach((name, i) => {
        const raw = m[i + 1] ?? '';
        try {
          params[name] = decodeURIComponent(raw);
        } catch {
          params[name] = raw;
          malformedParams.push(name);
        }
      });
      return {
        kind: 'operation',
        operation: {
          operationId,
          method: upper,
          pathTemplate: entry.template,
          expressPath: entry.expressPath,
          params,
          malformedParams,
        },
      };
    }
    return { kind: 'not_found' };
  };
}

/** Every operation of the spec: operationId, method, Express path, and whether it declares a request body. */
export function listOperations(
  spec: OpenApiDocument,
): Array<{ operationId: string; method: string; expressPath: string; hasRequestBody: boolean }> {
  return Object.entries(spec.paths).flatMap(([template, item]) =>
    METHODS.flatMap((method) => {
      const op = item[method] as { operationId?: string; requestBody?: unknown } | undefined;
      return op?.operationId
        ? [
            {
              operationId: op.operationId,
              method,
              expressPath: template.replace(/\{([^}]+)\}/g, ':$1'),
              hasRequestBody: op.requestBody !== undefined,
            },
          ]
        : [];
    }),
  );
}
