import { Hash } from '@smithy/core/serde';
import { SignatureV4 } from '@smithy/signature-v4';
import type { ProviderConfig } from '../../config/schema.js';
import type { UpstreamTarget } from '../transport.js';
import type { AttemptKey } from '../types.js';
import { credentialsError } from './map-error.js';

interface AwsCredentialIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}
type CredentialSource = AwsCredentialIdentity | (() => Promise<AwsCredentialIdentity>);

/**
 * How a Bedrock provider proves who it is, in the order it is chosen:
 * - a Bedrock API key (`api_key`, or one of `keys`): `Authorization: Bearer`;
 * - `aws` static keys: SigV4;
 * - otherwise the standard AWS chain (environment, shared config and SSO profiles, web identity,
 *   container and instance roles), loaded on first use; it caches and refreshes what it finds.
 * SigV4 is the AWS SDK's own signer: it signs the host, the date, the body's hash and the other
 * headers, and encodes the path once more for the canonical request (model ids carry `:`).
 */
export class BedrockAuth {
  private signer: SignatureV4 | undefined;
  private readonly source: CredentialSource | undefined;

  constructor(
    private readonly region: string,
    aws: ProviderConfig['aws'],
  ) {
    if (aws) this.source = { accessKeyId: aws.access_key_id, secretAccessKey: aws.secret_access_key, sessionToken: aws.session_token };
  }

  /** The headers that authenticate this request; `url` and `body` exactly as they will be sent. */
  async headersFor(url: URL, headers: Record<string, string>, body: string, key: AttemptKey, target: UpstreamTarget): Promise<Record<string, string>> {
    if (key.value !== undefined) return { ...headers, authorization: `Bearer ${key.value}` };
    const signer = this.signer ?? (this.signer = new SignatureV4({ service: 'bedrock', region: this.region, credentials: await this.credentials(), sha256: Hash.bind(null, 'sha256') }));
    try {
      const signed = await signer.sign({
        method: 'POST',
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port ? Number(url.port) : undefined,
        path: url.pathname,
        query: {},
        headers: { ...headers, host: url.host },
        body,
      });
      return signed.headers as Record<string, string>;
    } catch (err) {
      throw credentialsError(target, err);
    }
  }

  private async credentials(): Promise<CredentialSource> {
    if (this.source) return this.source;
    const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
    return fromNodeProviderChain();
  }
}
