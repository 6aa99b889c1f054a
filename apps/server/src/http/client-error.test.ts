import { describe, expect, it } from 'vitest';
import { clientErrorAnswer } from './client-error.js';

const err = (code: string, reason?: string) => Object.assign(new Error('parse error'), { code, reason });

describe('clientErrorAnswer', () => {
  it('431 for headers over the limit, naming the limit', () => {
    expect(clientErrorAnswer(err('HPE_HEADER_OVERFLOW'), 16384)).toEqual({
      status: 431,
      message: 'malformed HTTP request: headers are too large (the limit is 16384 bytes)',
    });
  });

  it("400 for anything else the parser refused, with the parser's own reason (never the client's bytes)", () => {
    expect(clientErrorAnswer(err('HPE_INVALID_HEADER_TOKEN', 'Invalid header value char'), 16384)).toEqual({
      status: 400,
      message: 'malformed HTTP request: Invalid header value char',
    });
    expect(clientErrorAnswer(err('HPE_INVALID_METHOD'), 16384).message).toBe('malformed HTTP request: HPE_INVALID_METHOD');
  });

  it('408 for a request that did not arrive in time', () => {
    expect(clientErrorAnswer(err('ERR_HTTP_REQUEST_TIMEOUT'), 16384).status).toBe(408);
  });
});
