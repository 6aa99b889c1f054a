import { describe, expect, it } from 'vitest';
import { requestResult, resultLine, unrunResult } from './result-line.js';

describe('batch result lines', () => {
  it('a completed request is `succeeded` with the message as it came, on one line', () => {
    const body = '{"id":"msg_1","type":"message","content":[{"type":"text","text":"a\\nb"}]}';
    const { outcome, result } = requestResult({ status: 'completed', headers: {}, body }, 'req_1');
    expect(outcome).toBe('succeeded');
    expect(result).toBe(`{"type":"succeeded","message":${body}}`);
    const line = resultLine('item-1', result);
    expect(JSON.parse(line)).toEqual({ custom_id: 'item-1', result: { type: 'succeeded', message: JSON.parse(body) } });
  });

  it('a pretty-printed answer is folded onto one line', () => {
    const body = JSON.stringify({ id: 'msg_1', type: 'message', content: [{ type: 'text', text: 'x' }] }, null, 2);
    const { result } = requestResult({ status: 'completed', headers: {}, body }, 'req_1');
    expect(result).not.toMatch(/[\r\n]/);
    expect(JSON.parse(result).message).toEqual(JSON.parse(body));
  });

  it('a failed request is `errored` with the error envelope the sync call would have answered', () => {
    const { outcome, result } = requestResult(
      { status: 'failed', httpStatus: 429, errorType: 'rate_limit_error', message: 'slow down\n"now"', headers: {} },
      'req_9',
    );
    expect(outcome).toBe('errored');
    expect(result).not.toMatch(/[\r\n]/);
    expect(JSON.parse(result)).toEqual({
      type: 'errored',
      error: { type: 'error', error: { type: 'rate_limit_error', message: 'slow down\n"now"' }, request_id: 'req_9' },
    });
  });

  it('canceled and expired requests carry only their type', () => {
    expect(JSON.parse(resultLine('a_b-C', unrunResult('canceled')))).toEqual({ custom_id: 'a_b-C', result: { type: 'canceled' } });
    expect(JSON.parse(resultLine('x', unrunResult('expired')))).toEqual({ custom_id: 'x', result: { type: 'expired' } });
  });
});
