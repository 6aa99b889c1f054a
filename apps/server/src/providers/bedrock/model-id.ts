/**
 * Bedrock model ids: foundation models (`anthropic.claude-sonnet-4-5-20250929-v1:0`,
 * `amazon.nova-pro-v1:0`), cross-region inference profiles (the same with a geography in front:
 * `us.`, `eu.`, `apac.`, `global.` ...) and ARNs (provisioned throughput, application inference
 * profiles). The id becomes one path segment, so it is checked before any call.
 */

const PLAIN_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,255}$/;
const ARN = /^arn:aws(?:-[a-z]+)*:bedrock:[a-z0-9-]+:\d{0,12}:[a-z-]+\/[A-Za-z0-9][A-Za-z0-9._:-]{0,255}$/;
/** Geography of a cross-region inference profile. */
const PROFILE_PREFIX = /^(?:us|eu|apac|jp|au|ca|us-gov|global)\./;

/** Why `model` cannot be a Bedrock model id, or undefined when it can. */
export function bedrockModelIdProblem(model: string): string | undefined {
  if ((PLAIN_ID.test(model) || ARN.test(model)) && !model.includes('..')) return undefined;
  return `"${model}" is not a Bedrock model id, inference profile id or ARN (letters, digits and . _ : -; an ARN's resource after its one "/")`;
}

/** Claude models take Anthropic's body on InvokeModel; every other model goes through Converse. */
export function isClaudeModel(model: string): boolean {
  return /(?:^|[./])anthropic\.claude/.test(model);
}

/** The foundation model behind an inference profile id (CountTokens takes only foundation models). */
export function foundationModelId(model: string): string {
  return model.replace(PROFILE_PREFIX, '');
}

/** `/model/{id}/{operation}` with the id encoded as one segment (`:` → `%3A`, an ARN's `/` → `%2F`), as the AWS SDK sends it. */
export function modelPath(model: string, operation: string): string {
  return `/model/${encodeURIComponent(model)}/${operation}`;
}
