import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { GatewayError, invalidRequest } from '../../errors.js';
import type { CreateMessageRequest, InputMessage } from '../../generated/types.gen.js';
import { emptyContentError } from '../../http/empty-content.js';
import { describeValidation, type ValidatorIssue } from '../../http/validation-message.js';
import { loadValidatorSpec } from '../../http/validator-spec.js';
import type { RouteTarget } from '../../routing/resolve.js';

// ajv is CommonJS whose module object also carries itself as `.default`.
const Ajv2020 = AjvModule.default;

/** A request of a batch that passed every check: what is stored, and where it goes. */
export interface CheckedRequest {
  customId: string;
  params: CreateMessageRequest;
  plan: RouteTarget[];
}

/**
 * Checks each request of a batch as the messages route checks its body, so a request a batch
 * accepts is one `POST /anthropic/v1/messages` would have accepted, and a refusal reads the same
 * with the request's place in front (`requests.3.params.messages.0.content: ...`):
 *  - the contract: MessageBatchRequestItem (custom_id, and params = CreateMessageRequest), from the
 *    same dispatch-on-type copy of openapi.yaml the route's validator runs (validator-spec.ts), with
 *    that validator's ajv options and its way of naming fields;
 *  - the rule the contract cannot say (empty content, http/empty-content.ts);
 *  - what a batch refuses as Anthropic does: `stream: true` (a batch request has one JSON answer) and
 *    `max_tokens: 0` (a cache warm-up would be long gone by the time it is used);
 *  - routing: the model and fallbacks resolve to configured providers (the plan, as a submit does).
 * The contract is compiled on first use (it takes a moment), then kept.
 */
export class BatchRequestCheck {
  private validate?: ValidateFunction;

  constructor(
    private readonly specPath: string,
    private readonly plan: (params: CreateMessageRequest) => RouteTarget[],
  ) {}

  check(value: unknown, index: number): CheckedRequest {
    const validate = (this.validate ??= compile(this.specPath));
    const at = `requests.${index}`;
    if (!validate(value)) {
      throw invalidRequest(describeValidation(issuesOf(validate.errors ?? [], `/body/requests/${index}`)));
    }
    const { custom_id: customId, params } = value as { custom_id: string; params: CreateMessageRequest };
    const empty = emptyContentError(params.messages as InputMessage[]);
    if (empty) throw invalidRequest(`${at}.params.${empty.message}`);
    if (params.stream === true) {
      throw invalidRequest(`${at}.params.stream: streaming is not supported in a batch; leave stream out (each result is one JSON Message)`);
    }
    if (params.max_tokens === 0) {
      throw invalidRequest(`${at}.params.max_tokens: must be at least 1 in a batch (max_tokens: 0 warms a cache, which would expire before it is used)`);
    }
    let plan: RouteTarget[];
    try {
      plan = this.plan(params);
    } catch (err) {
      if (err instanceof GatewayError && err.status < 500) throw new GatewayError(err.status, `${at}.params.${err.message}`, { type: err.type });
      throw err;
    }
    return { customId, params, plan };
  }
}

/** Compiles MessageBatchRequestItem with the options express-openapi-validator gives request bodies. */
function compile(specPath: string): ValidateFunction {
  const doc = loadValidatorSpec(specPath);
  const ajv = new Ajv2020({
    strict: false,
    strictNumbers: true,
    strictTuples: true,
    allowUnionTypes: false,
    validateSchema: false,
    coerceTypes: false,
    useDefaults: true,
    removeAdditional: false,
    logger: false,
  });
  return ajv.compile({ components: doc.components, $ref: '#/components/schemas/MessageBatchRequestItem' });
}

/** ajv errors as the route's validator reports them (express-openapi-validator's paths and enum messages). */
function issuesOf(errors: ErrorObject[], prefix: string): ValidatorIssue[] {
  return errors.map((e) => {
    const params = e.params as { missingProperty?: string; additionalProperty?: string; allowedValues?: unknown[] };
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'enum' && Array.isArray(params.allowedValues)) message = `${message}: ${params.allowedValues.join(', ')}`;
    const extra = params.missingProperty ?? params.additionalProperty;
    return { path: `${prefix}${e.instancePath}${extra === undefined ? '' : `/${extra}`}`, message };
  });
}
