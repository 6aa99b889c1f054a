import { describe, expect, it } from 'vitest';
import { parseConfig } from './config/load.js';
import { REDACTED, Redactor } from './redaction.js';

const config = parseConfig(
  {
    providers: {
      a: {
        type: 'anthropic',
        base_url: 'https://user:url-pass-1234@example.com',
        keys: [{ value: 'sk-key-one-0001' }, { value: 'short' }],
        headers: { 'x-custom-token': 'Bearer hdr-token-0002', 'user-agent': 'conduit-tests/1.0' },
      },
      b: { type: 'openai', base_url: 'http://127.0.0.1:1/v1', keys: [{ value: 'sk-key-two-0003' }] },
    },
    async: { credential_key: 'credential-key-0004-0123456789abcdef' },
  },
  {},
);

describe('Redactor', () => {
  const redactor = Redactor.fromConfig(config);

  it('replaces every provider key, credential header value and token, URL password and the credential key', () => {
    const text = 'a sk-key-one-0001 b sk-key-two-0003 c hdr-token-0002 d url-pass-1234 e credential-key-0004-0123456789abcdef';
    expect(redactor.redact(text)).toBe(`a ${REDACTED} b ${REDACTED} c ${REDACTED} d ${REDACTED} e ${REDACTED}`);
    expect(redactor.redact('sent "Bearer hdr-token-0002"')).toBe(`sent "${REDACTED}"`);
  });

  it("replaces the gateway's own keys given as secrets, not their hashes", () => {
    const keyed = Redactor.fromConfig(
      parseConfig(
        {
          providers: { a: { type: 'anthropic', keys: [{ value: 'sk-provider-0005' }] } },
          auth: {
            admin_key: 'sk-cdt-admin-0006-secret',
            keys: [
              { name: 'alice', value: 'sk-cdt-alice-0007-secret' },
              { name: 'bob', value: `sha256:${'a'.repeat(64)}` },
            ],
          },
        },
        {},
      ),
    );
    expect(keyed.redact('sk-cdt-admin-0006-secret sk-cdt-alice-0007-secret sk-provider-0005')).toBe(`${REDACTED} ${REDACTED} ${REDACTED}`);
    expect(keyed.redact(`sha256:${'a'.repeat(64)}`)).toBe(`sha256:${'a'.repeat(64)}`);
  });

  it('leaves values too short to be secrets, and other headers, alone', () => {
    expect(redactor.redact('a short answer from conduit-tests/1.0')).toBe('a short answer from conduit-tests/1.0');
  });

  it("also takes out the request's own credential when given", () => {
    expect(redactor.redact('echo sk-client-9999 and sk-key-one-0001', 'sk-client-9999')).toBe(`echo ${REDACTED} and ${REDACTED}`);
    expect(redactor.redact('echo sk-client-9999', undefined)).toBe('echo sk-client-9999');
  });

  it('finds a secret escaped inside JSON text too', () => {
    const odd = new Redactor(['key"with\\quote']);
    expect(odd.redact(JSON.stringify({ message: 'got key"with\\quote' }))).toBe(`{"message":"got ${REDACTED}"}`);
  });

  it('redacts every string of a log record, errors and their causes included, without changing the record', () => {
    const err = new Error('failed with sk-key-one-0001', { cause: new Error('because of sk-key-two-0003') });
    const record = { msg: 'x', nested: [{ text: 'sk-key-one-0001' }], err, n: 1 };
    const out = redactor.redactRecord(record) as any;
    expect(JSON.stringify(out)).not.toMatch(/sk-key/);
    expect(out.err.message).toBe(`failed with ${REDACTED}`);
    expect(out.err.cause.message).toBe(`because of ${REDACTED}`);
    expect(out.n).toBe(1);
    expect(record.nested[0]!.text).toBe('sk-key-one-0001');
  });

  it('returns a record without secrets as it is, without copying it', () => {
    const record = { msg: 'request', status: 200, nested: { model: 'claude' }, err: new Error('plain failure') };
    expect(redactor.redactRecord(record)).toBe(record);
  });

  it('with no secrets configured it has nothing to do', () => {
    expect(new Redactor([]).empty).toBe(true);
    expect(redactor.empty).toBe(false);
  });
});
