/** Checks replies and SSE event sequences against the gateway's openapi.yaml (OpenAPI 3.1 = JSON Schema 2020-12). */
import { readFileSync } from 'node:fs';
import AjvModule from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import formatsModule from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import type { SseEvent } from './sse.js';

export { parseSse } from './sse.js';
export type { SseEvent } from './sse.js';

// ajv and ajv-formats are CommonJS whose module object also carries itself as `.default`.
const Ajv2020 = AjvModule.default;
const addFormats = formatsModule.default;

const SPEC_ID = 'conduit-openapi';
/** OpenAPI annotations that are not JSON Schema: accepted and ignored. */
const OPENAPI_KEYWORDS = ['discriminator', 'example', 'xml', 'externalDocs'];
const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

export interface Contract {
  spec: any;
  /** Errors of `body` against the application/json schema of that operation's response for `status`; empty means valid. */
  validateResponse(operationPath: string, method: string, status: number, body: unknown): string[];
  /** Errors of `value` against `#/components/schemas/<componentName>`. */
  validateSchema(componentName: string, value: unknown): string[];
  /** Errors of an Anthropic event stream: each event against MessageStreamEvent, and the order of events. */
  validateStreamEvents(events: SseEvent[]): string[];
}

export function loadContract(specPath: string): Contract {
  return contractFromSpec(parseYaml(readFileSync(specPath, 'utf8')));
}

/** A contract from an already parsed OpenAPI document (handy for inline fixtures). */
export function contractFromSpec(spec: any): Contract {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv);
  for (const keyword of OPENAPI_KEYWORDS) ajv.addKeyword({ keyword });
  ajv.addSchema(spec, SPEC_ID);

  const validators = new Map<string, ValidateFunction>();
  const validatorAt = (pointer: string): ValidateFunction => {
    let validate = validators.get(pointer);
    if (!validate) {
      validate = ajv.getSchema(`${SPEC_ID}#${pointer}`);
      if (!validate) throw new Error(`no schema at #${pointer}`);
      validators.set(pointer, validate);
    }
    return validate;
  };
  const run = (pointer: string, value: unknown): string[] => {
    let validate: ValidateFunction;
    try {
      validate = validatorAt(pointer);
    } catch (err) {
      return [`cannot compile schema #${pointer}: ${err instanceof Error ? err.message : String(err)}`];
    }
    return validate(value) ? [] : formatErrors(validate.errors ?? []);
  };

  const validateSchema = (componentName: string, value: unknown): string[] => {
    if (spec?.components?.schemas?.[componentName] === undefined) return [`no component schema named ${componentName}`];
    return run(`/components/schemas/${escapePointer(componentName)}`, value);
  };

  const validateResponse = (operationPath: string, method: string, status: number, body: unknown): string[] => {
    const found = findPathItem(spec, operationPath);
    if (!found) return [`no path ${operationPath} in the spec`];
    const verb = method.toLowerCase();
    const operation = found.item[verb];
    if (!operation) return [`no ${method.toUpperCase()} operation on ${found.key}`];
    const code = String(status);
    const key = [code, `${code[0]}XX`, `${code[0]}xx`, 'default'].find((k) => operation.responses?.[k] !== undefined);
    if (!key) return [`${method.toUpperCase()} ${found.key} documents no response for status ${status}`];
    let pointer = `${found.pointer}/${verb}/responses/${escapePointer(key)}`;
    let response = operation.responses[key];
    for (let hops = 0; typeof response?.$ref === 'string' && hops < 10; hops++) {
      pointer = refToPointer(response.$ref);
      response = resolvePointer(spec, pointer);
    }
    const content = response?.content ?? {};
    const mediaType = content['application/json'] ? 'application/json' : Object.keys(content).find((m) => m.includes('json'));
    if (!mediaType) {
      return body === undefined ? [] : [`${method.toUpperCase()} ${found.key} ${key} has no application/json content`];
    }
    if (content[mediaType].schema === undefined) return [];
    return run(`${pointer}/content/${escapePointer(mediaType)}/schema`, body);
  };

  const validateStreamEvents = (events: SseEvent[]): string[] => {
    const errors: string[] = [];
    const hasErrorSchema = spec?.components?.schemas?.ErrorResponse !== undefined;
    events.forEach((e, i) => {
      const where = `event ${i} (${e.event || 'no event name'})`;
      let problems = validateSchema('MessageStreamEvent', e.data);
      // Some specs describe the in-stream error only as ErrorResponse.
      if (problems.length > 0 && e.event === 'error' && hasErrorSchema) {
        if (validateSchema('ErrorResponse', e.data).length === 0) problems = [];
      }
      for (const p of problems) errors.push(`${where}: ${p}`);
      if (e.data?.type !== e.event) errors.push(`${where}: data.type ${JSON.stringify(e.data?.type)} does not match the event name`);
    });
    return errors.concat(checkEventOrder(events));
  };

  return { spec, validateResponse, validateSchema, validateStreamEvents };
}

const DELTAS_BY_BLOCK: Record<string, readonly string[]> = {
  text: ['text_delta', 'citations_delta'],
  tool_use: ['input_json_delta'],
  server_tool_use: ['input_json_delta'],
  mcp_tool_use: ['input_json_delta'],
  thinking: ['thinking_delta', 'signature_delta'],
};

/**
 * The Anthropic stream grammar: message_start first and once; blocks 0..n-1 opened and closed one at a
 * time, with deltas only for the open block and of its kind; message_delta once all blocks are closed;
 * message_stop last. An error event may end the stream instead. Pings are allowed after message_start.
 */
export function checkEventOrder(events: SseEvent[]): string[] {
  if (events.length === 0) return ['the stream has no events'];
  const errors: string[] = [];
  // Asserted, not annotated: the forEach callback mutates it, which control-flow narrowing cannot see.
  let phase = 'before' as 'before' | 'blocks' | 'delta' | 'stopped' | 'errored';
  let open: { index: number; type: string } | null = null;
  let nextIndex = 0;
  events.forEach((e, i) => {
    const name = e.event || e.data?.type;
    const where = `event ${i} (${name})`;
    if (phase === 'stopped' || phase === 'errored') {
      errors.push(`${where}: after ${phase === 'stopped' ? 'message_stop' : 'error'} nothing may follow`);
      return;
    }
    // A ping (keep-alive while the upstream is silent) or an error may come before message_start.
    if (phase === 'before' && name !== 'message_start' && name !== 'ping' && name !== 'error') {
      errors.push(`${where}: the stream must begin with message_start`);
      return;
    }
    const index = e.data?.index;
    switch (name) {
      case 'message_start':
        if (phase !== 'before') errors.push(`${where}: a second message_start`);
        phase = 'blocks';
        break;
      case 'ping':
        break;
      case 'content_block_start':
        if (phase !== 'blocks') errors.push(`${where}: content_block_start after message_delta`);
        else if (open) errors.push(`${where}: block ${index} opened while block ${open.index} is still open`);
        else if (index !== nextIndex) errors.push(`${where}: block index ${index}, expected ${nextIndex}`);
        else open = { index, type: e.data?.content_block?.type };
        break;
      case 'content_block_delta': {
        if (!open) {
          errors.push(`${where}: delta for block ${index} with no open block`);
          break;
        }
        if (index !== open.index) errors.push(`${where}: delta for block ${index} while block ${open.index} is open`);
        const kind = e.data?.delta?.type;
        const allowed = DELTAS_BY_BLOCK[open.type] ?? [];
        if (!allowed.includes(kind)) errors.push(`${where}: ${kind} is not a delta a ${open.type} block takes`);
        break;
      }
      case 'content_block_stop':
        if (!open) errors.push(`${where}: content_block_stop for block ${index} with no open block`);
        else if (index !== open.index) errors.push(`${where}: stop for block ${index} while block ${open.index} is open`);
        else {
          open = null;
          nextIndex++;
        }
        break;
      case 'message_delta':
        if (open) errors.push(`${where}: message_delta while block ${open.index} is still open`);
        if (phase === 'delta') errors.push(`${where}: a second message_delta`);
        phase = 'delta';
        break;
      case 'message_stop':
        if (phase !== 'delta') errors.push(`${where}: message_stop before message_delta`);
        phase = 'stopped';
        break;
      case 'error':
        phase = 'errored';
        break;
      default:
        errors.push(`${where}: unknown event`);
    }
  });
  if (phase !== 'stopped' && phase !== 'errored') errors.push('the stream ended without message_stop or error');
  return errors;
}

function formatErrors(errors: ErrorObject[]): string[] {
  const out = new Set<string>();
  for (const e of errors) {
    let detail = '';
    if (e.keyword === 'additionalProperties') detail = `: ${String(e.params.additionalProperty)}`;
    else if (e.keyword === 'enum') detail = `: ${JSON.stringify(e.params.allowedValues)}`;
    else if (e.keyword === 'const') detail = `: ${JSON.stringify(e.params.allowedValue)}`;
    out.add(`${e.instancePath || '(root)'} ${e.message ?? e.keyword}${detail}`);
  }
  return [...out];
}

/** A JSON pointer segment, also percent-encoded so it survives as a URI fragment (`{id}` in paths). */
function escapePointer(segment: string): string {
  return encodeURIComponent(segment.replace(/~/g, '~0').replace(/\//g, '~1'));
}

function refToPointer(ref: string): string {
  if (!ref.startsWith('#')) throw new Error(`only local $refs are supported, got ${ref}`);
  return ref.slice(1);
}

function resolvePointer(doc: any, pointer: string): any {
  let node = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    node = node?.[key];
  }
  return node;
}

/** The path item for `/v1/messages` or a concrete path like `/v1/models/abc` matched against `/v1/models/{model_id}`. */
function findPathItem(spec: any, path: string): { key: string; item: any; pointer: string } | null {
  const paths = spec?.paths ?? {};
  const make = (key: string) => {
    let item = paths[key];
    let pointer = `/paths/${escapePointer(key)}`;
    if (typeof item?.$ref === 'string') {
      pointer = refToPointer(item.$ref);
      item = resolvePointer(spec, pointer);
    }
    return { key, item, pointer };
  };
  if (paths[path] !== undefined) return make(path);
  const keys = Object.keys(paths).filter((key) => Object.keys(paths[key] ?? {}).some((k) => HTTP_METHODS.has(k) || k === '$ref'));
  const exact = keys.find((key) => templateRegExp(key).test(path));
  if (exact) return make(exact);
  // The spec may mount the API under a prefix (`/anthropic/v1/messages`): accept the unprefixed path when one key matches.
  const prefixed = keys.filter((key) => {
    const segments = key.split('/').slice(1);
    for (let i = 1; i < segments.length; i++) if (templateRegExp(`/${segments.slice(i).join('/')}`).test(path)) return true;
    return false;
  });
  return prefixed.length === 1 ? make(prefixed[0]) : null;
}

function templateRegExp(template: string): RegExp {
  return new RegExp(`^${template.split(/\{[^}]+\}/).map(escapeRegExp).join('[^/]+')}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
