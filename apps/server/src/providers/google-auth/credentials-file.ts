import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** Google's OAuth token endpoint: where a key file without `token_uri` gets its tokens. */
export const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';

/** The fields of a service-account key file that the JWT-bearer grant needs. */
export interface ServiceAccountKey {
  clientEmail: string;
  /** PEM, PKCS#8. */
  privateKey: string;
  privateKeyId?: string;
  /** Where assertions are posted: the file's own `token_uri` (private endpoints, tests), else Google's. */
  tokenUri: string;
  projectId?: string;
}

/** A credentials file: a service account (our own grant), or another kind that google-auth-library handles. */
export type GoogleCredentials = { kind: 'service_account'; key: ServiceAccountKey } | { kind: 'other'; type: string };

/** Reads and checks a credentials file; throws an Error whose message says what is wrong with it. */
export function readCredentialsFile(path: string): GoogleCredentials {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseCredentials(text, path);
}

export function parseCredentials(text: string, what = 'the credentials file'): GoogleCredentials {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`${what} is not JSON`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new Error(`${what} is not a JSON object`);
  const type = json.type;
  if (typeof type !== 'string') throw new Error(`${what} has no "type" (expected service_account, authorized_user, external_account, ...)`);
  if (type !== 'service_account') return { kind: 'other', type };
  const clientEmail = json.client_email;
  const privateKey = json.private_key;
  if (typeof clientEmail !== 'string' || !clientEmail) throw new Error(`${what}: service account without client_email`);
  if (typeof privateKey !== 'string' || !privateKey) throw new Error(`${what}: service account without private_key`);
  try {
    createPrivateKey(privateKey);
  } catch {
    throw new Error(`${what}: private_key is not a PEM private key`);
  }
  const tokenUri = json.token_uri === undefined ? GOOGLE_TOKEN_URI : json.token_uri;
  if (typeof tokenUri !== 'string' || !isAcceptableTokenUri(tokenUri)) {
    throw new Error(`${what}: token_uri must be an https URL (http only on a loopback address), got ${JSON.stringify(tokenUri)}`);
  }
  return {
    kind: 'service_account',
    key: {
      clientEmail,
      privateKey,
      privateKeyId: typeof json.private_key_id === 'string' ? json.private_key_id : undefined,
      tokenUri,
      projectId: typeof json.project_id === 'string' ? json.project_id : undefined,
    },
  };
}

/** Assertions travel over TLS; plain http only to this machine (a local token service, tests). */
function isAcceptableTokenUri(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && (url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(url.hostname));
}
