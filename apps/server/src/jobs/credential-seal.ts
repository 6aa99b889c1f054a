import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { ClientCredential } from '../client-credential.js';

const VERSION = 'v1';

/**
 * Keeps a client's credential out of the job store: a job that must forward it (a provider without
 * keys of its own) stores it sealed with AES-256-GCM under a key the store never sees, bound to the
 * job's id. The key is `async.credential_key` (any instance configured with it can run the job), or
 * else one drawn at random when the process starts: then only this process can run the job, and a
 * job it did not finish before it stopped cannot be run by anyone (the job fails and says so).
 */
export class CredentialSealer {
  private readonly key: Buffer;
  /** Whether every instance with the same config can open what this one sealed. */
  readonly shared: boolean;

  constructor(secret?: string) {
    this.shared = secret !== undefined;
    this.key = secret === undefined ? randomBytes(32) : Buffer.from(hkdfSync('sha256', secret, 'conduit', 'async job credential', 32));
  }

  seal(credential: ClientCredential, jobId: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(jobId));
    const sealed = Buffer.concat([cipher.update(JSON.stringify(credential), 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), sealed.toString('base64url')].join('.');
  }

  /** The credential, or undefined when this key did not seal it (another instance's random key, another job). */
  open(token: string, jobId: string): ClientCredential | undefined {
    const [version, iv, tag, sealed] = token.split('.');
    if (version !== VERSION || iv === undefined || tag === undefined || sealed === undefined) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(jobId));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      const text = Buffer.concat([decipher.update(Buffer.from(sealed, 'base64url')), decipher.final()]).toString('utf8');
      const parsed = JSON.parse(text) as ClientCredential;
      return parsed.kind === 'x-api-key' || parsed.kind === 'bearer' ? parsed : undefined;
    } catch {
      return undefined;
    }
  }
}
