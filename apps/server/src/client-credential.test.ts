import { describe, expect, it } from 'vitest';
import { clientCredential } from './client-credential.js';

describe('clientCredential', () => {
  it('takes a non-empty x-api-key first', () => {
    expect(clientCredential({ 'x-api-key': 'k1', authorization: 'Bearer t1' })).toEqual({ kind: 'x-api-key', secret: 'k1' });
  });

  it('an empty x-api-key counts as absent: the bearer token is the credential', () => {
    expect(clientCredential({ 'x-api-key': '', authorization: 'Bearer t1' })).toEqual({ kind: 'bearer', secret: 't1' });
    expect(clientCredential({ 'x-api-key': '  ', authorization: 'bearer   t1' })).toEqual({ kind: 'bearer', secret: 't1' });
  });

  it('an empty bearer token, another scheme, or nothing is no credential', () => {
    expect(clientCredential({ authorization: 'Bearer' })).toBeUndefined();
    expect(clientCredential({ authorization: 'Bearer    ' })).toBeUndefined();
    expect(clientCredential({ authorization: 'Basic YWxpY2U6c2VjcmV0' })).toBeUndefined();
    expect(clientCredential({ 'x-api-key': '' })).toBeUndefined();
    expect(clientCredential({})).toBeUndefined();
  });
});
