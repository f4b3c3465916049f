// Redocly plugin: the Pluct rules that recommended-strict cannot express.
// Error examples must be catalog entries under the right status, upstream_* codes never stand under 401/403,
// every operation declares problem+json errors for 4xx and 5xx, and every success response has an example.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const catalogPath = fileURLToPath(new URL('../shared/errors.yaml', import.meta.url));
const catalog = parse(readFileSync(catalogPath, 'utf8')).problems;

const isRef = (node) => node !== null && typeof node === 'object' && typeof node.$ref === 'string';
const deref = (node, resolve) => (isRef(node) ? resolve(node).node : node);

function forEachProblemExample(response, resolve, visit) {
  const media = response?.content?.['application/problem+json'];
  if (!media?.examples) return;
  for (const [name, raw] of Object.entries(media.examples)) {
    visit(name, deref(raw, resolve));
  }
}

/** Every problem+json example is a catalog entry, named by its code, under its own status. */
function ProblemExamplesInCatalog() {
  return {
    Response: {
      skip(_, key) {
        return !/^[45][0-9]{2}$/.test(String(key));
      },
      enter(response, { key, report, location, resolve }) {
        forEachProblemExample(response, resolve, (name, example) => {
          const value = example?.value;
          const entry = catalog[value?.code];
          if (!entry) {
            report({
              message: `Example "${name}" has code "${value?.code}", which is not in spec/shared/errors.yaml.`,
              location: location.key(),
            });
            return;
          }
          if (name !== value.code) {
            report({
              message: `Example "${name}" must be named by its code "${value.code}" (Prefer: example=<code>).`,
              location: location.key(),
            });
          }
          if (String(entry.value.status) !== String(key)) {
            report({
              message: `Code "${value.code}" has status ${entry.value.status} in the catalog but stands under ${key}.`,
              location: location.key(),
            });
          }
          for (const member of ['title', 'responsibility', 'retryable', 'guidance', 'status']) {
            if (value[member] !== entry.value[member]) {
              report({
                message: `Example "${name}" differs from the catalog in "${member}".`,
                location: location.key(),
              });
            }
          }
        });
      },
    },
  };
}

/** 401 and 403 mean "your own credential is bad": an upstream failure is never one of them. */
function NoUpstreamCodeUnder401Or403() {
  return {
    Response: {
      skip(_, key) {
        return !/^40[13]$/.test(String(key));
      },
      enter(response, { key, report, location, resolve }) {
        forEachProblemExample(response, resolve, (name, example) => {
          const code = String(example?.value?.code ?? name);
          if (code.startsWith('upstream_')) {
            report({
              message: `"${code}" stands under ${key}: an upstream's failure is a 5xx, never a 401/403.`,
              location: location.key(),
            });
          }
        });
      },
    },
  };
}

/** Each operation declares a problem+json 4xx and a problem+json 5xx. */
function OperationDeclaresProblem4xx5xx() {
  return {
    Operation(operation, { report, location, resolve }) {
      const responses = operation.responses ?? {};
      for (const klass of ['4', '5']) {
        const ok = Object.entries(responses).some(
          ([status, raw]) => status.startsWith(klass) && deref(raw, resolve)?.content?.['application/problem+json'],
        );
        if (!ok) {
          report({
            message: `Operation must declare an application/problem+json ${klass}xx response.`,
            location: location.child('responses'),
          });
        }
      }
    },
  };
}

/** Each 2xx response with a body has at least one example, so mocks and docs show a real answer. */
function SuccessResponseHasExample() {
  return {
    Operation(operation, { report, location, resolve }) {
      for (const [status, raw] of Object.entries(operation.responses ?? {})) {
        if (!status.startsWith('2')) continue;
        const response = deref(raw, resolve);
        for (const [type, media] of Object.entries(response?.content ?? {})) {
          const count = media.example !== undefined ? 1 : Object.keys(media.examples ?? {}).length;
          if (count === 0) {
            report({
              message: `${status} ${type} needs at least one example.`,
              location: location.child(['responses', status]),
            });
          }
        }
      }
    },
  };
}

export default function pluctRules() {
  return {
    id: 'pluct',
    rules: {
      oas3: {
        'problem-examples-in-catalog': ProblemExamplesInCatalog,
        'no-upstream-code-under-401-403': NoUpstreamCodeUnder401Or403,
        'operation-declares-problem-4xx-5xx': OperationDeclaresProblem4xx5xx,
        'success-response-has-example': SuccessResponseHasExample,
      },
    },
  };
}
