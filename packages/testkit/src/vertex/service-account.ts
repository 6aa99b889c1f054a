import { generateKeyPairSync, type KeyObject } from 'node:crypto';

/** A throwaway service account: its key pair is made in memory for one test run, never written to the repository. */
export interface FakeServiceAccount {
  clientEmail: string;
  privateKeyId: string;
  privateKeyPem: string;
  publicKey: KeyObject;
  /** The JSON of its key file, as Google issues them, with `token_uri` pointing where the test wants. */
  keyFile(tokenUri: string, projectId?: string): string;
}

let counter = 0;

export function createFakeServiceAccount(clientEmail = `gateway-${++counter}@fake-project.iam.gserviceaccount.com`): FakeServiceAccount {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const privateKeyId = `fake${Date.now().toString(16)}${counter}`;
  return {
    clientEmail,
    privateKeyId,
    privateKeyPem,
    publicKey,
    keyFile(tokenUri, projectId = 'fake-project') {
      return JSON.stringify({
        type: 'service_account',
        project_id: projectId,
        private_key_id: privateKeyId,
        private_key: privateKeyPem,
        client_email: clientEmail,
        client_id: '100000000000000000001',
        auth_uri: 'https://accounts.google.com/o/oauth2/auth',
        token_uri: tokenUri,
      });
    },
  };
}
