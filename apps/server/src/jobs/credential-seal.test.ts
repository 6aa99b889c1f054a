import { describe, expect, it } from 'vitest';
import { CredentialSealer } from './credential-seal.js';

const credential = { kind: 'x-api-key' as const, secret: 'sk-ant-client-0123456789' };

describe('CredentialSealer', () => {
  it('seals a credential so the sealed text does not contain it, and opens it again', () => {
    const sealer = new CredentialSealer();
    const sealed = sealer.seal(credential, 'job_1');
    expect(sealed).not.toContain(credential.secret);
    expect(sealed).not.toContain(Buffer.from(credential.secret).toString('base64'));
    expect(sealer.open(sealed, 'job_1')).toEqual(credential);
  });

  it('another job id, another random key or a tampered text opens nothing', () => {
    const sealer = new CredentialSealer();
    const sealed = sealer.seal(credential, 'job_1');
    expect(sealer.open(sealed, 'job_2')).toBeUndefined();
    expect(new CredentialSealer().open(sealed, 'job_1')).toBeUndefined();
    const [v, iv, tag, body] = sealed.split('.');
    const flipped = `${body!.slice(0, -2)}${body!.endsWith('AA') ? 'BB' : 'AA'}`;
    expect(sealer.open([v, iv, tag, flipped].join('.'), 'job_1')).toBeUndefined();
    expect(sealer.open('garbage', 'job_1')).toBeUndefined();
  });

  it('instances configured with the same credential_key open each other’s', () => {
    const sealed = new CredentialSealer('a-shared-secret-of-some-length').seal(credential, 'job_1');
    expect(new CredentialSealer('a-shared-secret-of-some-length').open(sealed, 'job_1')).toEqual(credential);
    expect(new CredentialSealer('another-secret-of-some-length').open(sealed, 'job_1')).toBeUndefined();
  });
});
