/**
 * Compares two bundled OpenAPI 3.1 documents operation by operation: operations, security, parameters,
 * request bodies, response statuses, content types, headers, schemas and the catalog error codes each
 * response lists. Each difference becomes a finding (see findings.ts for severities).
 */
import { diffSchemas, type Direction } from './diff-schemas.js';
import { groupFindings, type Finding, type Severity } from './findings.js';
import { deref, escapePointer, isObject, textOf, type Json, type JsonObject } from './json-ref.js';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

interface Operation {
  template: string;
  method: string;
  op: JsonObject;
  pathItem: JsonObject;
  pointer: string;
}

/** Operations keyed by method and path template with parameter names erased (`/status/{}`), so a rename matches. */
function operationsOf(doc: JsonObject): Map<string, Operation> {
  const result = new Map<string, Operation>();
  const paths = isObject(doc['paths']) ? doc['paths'] : {};
  for (const [template, item] of Object.entries(paths)) {
    if (!isObject(item)) continue;
    for (const method of METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      const key = `${method.toUpperCase()} ${template.replace(/\{[^}]*\}/g, '{}')}`;
      result.set(key, {
        template,
        method,
        op,
        pathItem: item,
        pointer: `#/paths/${escapePointer(template)}/${method}`,
      });
    }
  }
  return result;
}

/**
 * Every difference between two versions of one API, grouped so a change to a shared component is listed once.
 *
 * @example
 * const findings = diffDocuments(JSON.parse(oldJson), JSON.parse(newJson));
 * findings.filter((f) => f.severity === 'breaking');
 */
export function diffDocuments(oldDoc: JsonObject, newDoc: JsonObject): Finding[] {
  const findings: Finding[] = [];
  const oldOps = operationsOf(oldDoc);
  const newOps = operationsOf(newDoc);
  for (const [key, before] of oldOps) {
    const label = `${before.method.toUpperCase()} ${before.template} (${textOf(before.op['operationId'] ?? '?')})`;
    const after = newOps.get(key);
    if (!after) {
      findings.push({
        severity: 'breaking',
        rule: 'operation-removed',
        message: `${label} was removed`,
        operations: [label],
        pointer: before.pointer,
      });
      continue;
    }
    new OperationDiff(oldDoc, newDoc, before, after, label, (f) => findings.push(f)).run();
  }
  for (const [key, after] of newOps) {
    if (oldOps.has(key)) continue;
    const label = `${after.method.toUpperCase()} ${after.template} (${textOf(after.op['operationId'] ?? '?')})`;
    findings.push({
      severity: 'info',
      rule: 'operation-added',
      message: `${label} was added`,
      operations: [label],
      pointer: after.pointer,
    });
  }
  return groupFindings(findings);
}

class OperationDiff {
  constructor(
    private readonly oldDoc: JsonObject,
    private readonly newDoc: JsonObject,
    private readonly before: Operation,
    private readonly after: Operation,
    private readonly label: string,
    private readonly report: (finding: Finding) => void,
  ) {}

  private emit(
    severity: Severity,
    rule: string,
    message: string,
    pointer = this.after.pointer,
    where = this.label,
  ): void {
    this.report({ severity, rule, message, operations: [where], pointer });
  }

  private schemas(oldSchema: unknown, newSchema: unknown, at: string, direction: Direction, where: string): void {
    diffSchemas(oldSchema, newSchema, at, {
      oldDoc: this.oldDoc,
      newDoc: this.newDoc,
      direction,
      operation: where,
      report: this.report,
    });
  }

  run(): void {
    const oldId = this.before.op['operationId'];
    const newId = this.after.op['operationId'];
    if (oldId !== newId)
      this.emit('breaking', 'operation-id-changed', `operationId changed from ${textOf(oldId)} to ${textOf(newId)}`);
    this.security();
    this.parameters();
    this.requestBody();
    this.responses();
  }

  private security(): void {
    const alternatives = (doc: JsonObject, op: JsonObject) => {
      const list = (op['security'] ?? doc['security'] ?? []) as Json[];
      const alts = list.filter(isObject).map((req) => Object.keys(req).sort().join(' + ') || 'no credentials');
      return alts.length > 0 ? alts : ['no credentials'];
    };
    const oldAlts = alternatives(this.oldDoc, this.before.op);
    const newAlts = alternatives(this.newDoc, this.after.op);
    if (!newAlts.includes('no credentials')) {
      for (const alt of oldAlts)
        if (!newAlts.includes(alt))
          this.emit('breaking', 'security-changed', `no longer accepts ${alt} (now: ${newAlts.join(' or ')})`);
    }
    for (const alt of newAlts)
      if (!oldAlts.includes(alt)) this.emit('info', 'security-added', `now also accepts ${alt}`);
    const oldSchemes = isObject(this.oldDoc['components']) ? this.oldDoc['components']['securitySchemes'] : undefined;
    const newSchemes = isObject(this.newDoc['components']) ? this.newDoc['components']['securitySchemes'] : undefined;
    for (const name of new Set(oldAlts.flatMap((alt) => alt.split(' + ')))) {
      const o = deref(this.oldDoc, isObject(oldSchemes) ? oldSchemes[name] : undefined, '');
      const n = deref(this.newDoc, isObject(newSchemes) ? newSchemes[name] : undefined, '');
      if (!o.node || !n.node) continue;
      for (const field of ['type', 'scheme', 'in', 'name', 'bearerFormat']) {
        if (JSON.stringify(o.node[field]) !== JSON.stringify(n.node[field])) {
          this.emit(
            'breaking',
            'security-scheme-changed',
            `security scheme '${name}' changed ${field} (${JSON.stringify(o.node[field])} -> ${JSON.stringify(n.node[field])})`,
            `#/components/securitySchemes/${name}`,
          );
        }
      }
    }
  }

  private parametersOf(doc: JsonObject, op: Operation): Map<string, { param: JsonObject; pointer: string }> {
    const result = new Map<string, { param: JsonObject; pointer: string }>();
    let pathIndex = 0;
    for (const list of [op.pathItem['parameters'], op.op['parameters']]) {
      if (!Array.isArray(list)) continue;
      for (const raw of list) {
        const { node } = deref(doc, raw, op.pointer);
        if (!node) continue;
        const where = textOf(node['in']);
        const name = textOf(node['name']);
        // Path parameters match by position, so renaming {id} to {jobId} is not a removal.
        const key =
          where === 'path' ? `path:#${pathIndex++}` : `${where}:${where === 'header' ? name.toLowerCase() : name}`;
        result.set(key, { param: node, pointer: `${op.pointer}/parameters/${escapePointer(name)}` });
      }
    }
    return result;
  }

  private parameters(): void {
    const oldParams = this.parametersOf(this.oldDoc, this.before);
    const newParams = this.parametersOf(this.newDoc, this.after);
    for (const [key, { param, pointer }] of oldParams) {
      const next = newParams.get(key);
      const name = `${textOf(param['in'])} parameter '${textOf(param['name'])}'`;
      if (!next) {
        // Unknown query parameters are rejected (400); unknown headers are ignored.
        this.emit(
          param['in'] === 'header' ? 'warning' : 'breaking',
          'parameter-removed',
          `${name} was removed`,
          pointer,
        );
        continue;
      }
      if (next.param['required'] === true && param['required'] !== true)
        this.emit('breaking', 'parameter-required', `${name} is now required`, next.pointer);
      this.schemas(param['schema'], next.param['schema'], `${next.pointer}/schema`, 'request', `${this.label} ${name}`);
    }
    for (const [key, { param, pointer }] of newParams) {
      if (oldParams.has(key)) continue;
      const name = `${textOf(param['in'])} parameter '${textOf(param['name'])}'`;
      if (param['required'] === true)
        this.emit('breaking', 'parameter-added-required', `new required ${name}`, pointer);
      else this.emit('info', 'parameter-added', `new optional ${name}`, pointer);
    }
  }

  private requestBody(): void {
    const at = `${this.after.pointer}/requestBody`;
    const o = deref(this.oldDoc, this.before.op['requestBody'], `${this.before.pointer}/requestBody`).node;
    const n = deref(this.newDoc, this.after.op['requestBody'], at).node;
    if (!n) {
      if (o) this.emit('warning', 'request-body-removed', 'the request body was removed', at);
      return;
    }
    if (n['required'] === true && o?.['required'] !== true)
      this.emit('breaking', 'request-body-required', 'a request body is now required', at);
    const oldContent = isObject(o?.['content']) ? o['content'] : {};
    const newContent = isObject(n['content']) ? n['content'] : {};
    for (const [type, media] of Object.entries(oldContent)) {
      const next = newContent[type];
      if (!isObject(next)) {
        this.emit('breaking', 'request-content-type-removed', `request content type ${type} is no longer accepted`, at);
        continue;
      }
      if (isObject(media))
        this.schemas(
          media['schema'],
          next['schema'],
          `${at}/content/${escapePointer(type)}/schema`,
          'request',
          `${this.label} request body`,
        );
    }
  }

  private responses(): void {
    const oldResponses = isObject(this.before.op['responses']) ? this.before.op['responses'] : {};
    const newResponses = isObject(this.after.op['responses']) ? this.after.op['responses'] : {};
    for (const [status, raw] of Object.entries(oldResponses)) {
      const where = `${this.label} response ${status}`;
      const at = `${this.after.pointer}/responses/${status}`;
      if (!(status in newResponses)) {
        this.emit(
          'breaking',
          'response-status-removed',
          `response ${status} was removed`,
          `${this.before.pointer}/responses/${status}`,
        );
        continue;
      }
      const o = deref(this.oldDoc, raw, at);
      const n = deref(this.newDoc, newResponses[status], at);
      if (!o.node || !n.node) continue;
      const oldHeaders = isObject(o.node['headers']) ? Object.keys(o.node['headers']).map((h) => h.toLowerCase()) : [];
      const newHeaders = isObject(n.node['headers']) ? Object.keys(n.node['headers']).map((h) => h.toLowerCase()) : [];
      for (const header of oldHeaders)
        if (!newHeaders.includes(header))
          this.emit('breaking', 'response-header-removed', `response header ${header} was removed`, n.pointer, where);
      const oldContent = isObject(o.node['content']) ? o.node['content'] : {};
      const newContent = isObject(n.node['content']) ? n.node['content'] : {};
      for (const [type, media] of Object.entries(oldContent)) {
        const next = newContent[type];
        if (!isObject(next) || !isObject(media)) {
          this.emit(
            'breaking',
            'response-content-type-removed',
            `response content type ${type} was removed`,
            n.pointer,
            where,
          );
          continue;
        }
        this.schemas(
          media['schema'],
          next['schema'],
          `${n.pointer}/content/${escapePointer(type)}/schema`,
          'response',
          where,
        );
        this.errorCodes(media, next, `${n.pointer}/content/${escapePointer(type)}/examples`, where);
      }
      for (const type of Object.keys(newContent)) {
        if (!(type in oldContent))
          this.emit(
            'warning',
            'response-content-type-added',
            `response content type ${type} was added`,
            n.pointer,
            where,
          );
      }
    }
    for (const status of Object.keys(newResponses)) {
      if (status in oldResponses) continue;
      const success = status.startsWith('2');
      this.emit(
        success ? 'warning' : 'info',
        'response-status-added',
        `may now answer ${status}`,
        `${this.after.pointer}/responses/${status}`,
      );
    }
  }

  /** The catalog codes a problem response lists as named examples (each example's `value.code`). */
  private errorCodes(oldMedia: JsonObject, newMedia: JsonObject, at: string, where: string): void {
    const codes = (doc: JsonObject, media: JsonObject) => {
      if (!isObject(media['examples'])) return [];
      return Object.values(media['examples']).flatMap((raw) => {
        const value = deref(doc, raw, '').node?.['value'];
        return isObject(value) && typeof value['code'] === 'string' && value['ok'] === false ? [value['code']] : [];
      });
    };
    const oldCodes = codes(this.oldDoc, oldMedia);
    const newCodes = codes(this.newDoc, newMedia);
    for (const code of oldCodes)
      if (!newCodes.includes(code))
        this.emit('breaking', 'error-code-removed', `error code ${code} is no longer returned`, at, where);
    for (const code of newCodes)
      if (!oldCodes.includes(code))
        this.emit('warning', 'error-code-added', `may now return error code ${code}`, at, where);
  }
}
