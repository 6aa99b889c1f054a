import { fileURLToPath } from 'node:url';
import { loadContract, parseSse } from '@conduit/testkit';
import { expect } from 'vitest';

export const SPEC_PATH = fileURLToPath(new URL('../../../../openapi.yaml', import.meta.url));
export const contract = loadContract(SPEC_PATH);

/** Fails the test when a JSON answer is not what openapi.yaml says for that route and status. */
export function expectContractResponse(path: string, method: string, status: number, body: unknown): void {
  expect(contract.validateResponse(path, method, status, body), `${method.toUpperCase()} ${path} ${status} body vs openapi.yaml`).toEqual([]);
}

/** Parses an SSE body and fails the test when the events break the schema or the Anthropic event grammar. */
export function expectContractStream(text: string): Array<{ event: string; data: any }> {
  const events = parseSse(text);
  expect(contract.validateStreamEvents(events), 'SSE events vs openapi.yaml').toEqual([]);
  return events;
}
