import type { Config } from './config/schema.js';

/** What a secret is replaced with. */
export const REDACTED = '[redacted]';

/**
 * Values shorter than this are not looked for: they are not real secrets, and replacing every
 * occurrence of a 3-letter word would garble messages.
 */
export const MIN_SECRET_LENGTH = 8;

/** Provider header names whose values are credentials. */
const SECRET_HEADER = /auth|key|token|secret|password|cookie|signature|credential/i;

/**
 * Removes secrets from text that leaves the gateway: error messages relayed to clients (and their
 * headers), stream `error` events, stored job outcomes and log lines. It knows the config's secrets
 * (every provider key, credential-like provider header values, the async credential key); each call
 * may add one more, the request's own credential. An upstream that echoes a key it received (in an
 * error body, a stream error event) therefore cannot hand it on.
 */
export class Redactor {
  /** Longest first, so a secret that contains another is replaced whole. */
  private readonly secrets: string[];

  constructor(secrets: Iterable<string>) {
    const all = new Set<string>();
    for (const secret of secrets) for (const form of forms(secret)) all.add(form);
    this.secrets = [...all].sort((a, b) => b.length - a.length);
  }

  static fromConfig(
    config: Pick<Config, 'providers'> & { async?: { credential_key?: string }; auth?: { admin_key?: string; keys?: ReadonlyArray<{ value: string }> } },
  ): Redactor {
    const secrets: string[] = [];
    // Gateway keys given as the secret itself (a `sha256:` hash is no secret).
    for (const value of [config.auth?.admin_key, ...(config.auth?.keys ?? []).map((k) => k.value)]) {
      if (value !== undefined && !value.startsWith('sha256:')) secrets.push(value);
    }
    for (const provider of Object.values(config.providers)) {
      for (const key of provider.keys) secrets.push(key.value);
      for (const [name, value] of Object.entries(provider.headers ?? {})) {
        if (!SECRET_HEADER.test(name)) continue;
        secrets.push(value);
        // "Bearer <token>", "Basic <token>": the token alone is the secret too.
        const token = /^\S+\s+(\S+)$/.exec(value.trim());
        if (token) secrets.push(token[1]!);
      }
      const password = urlPassword(provider.base_url);
      if (password) secrets.push(password);
    }
    if (config.async?.credential_key) secrets.push(config.async.credential_key);
    return new Redactor(secrets);
  }

  /** `text` with every known secret (and `extra`, e.g. the request's credential) replaced by [redacted]. */
  redact(text: string, extra?: string): string {
    let out = text;
    for (const secret of this.secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    if (extra !== undefined) for (const form of forms(extra)) if (out.includes(form)) out = out.split(form).join(REDACTED);
    return out;
  }

  /** Header values, redacted. */
  redactHeaders(headers: Readonly<Record<string, string>>, extra?: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) out[name] = this.redact(value, extra);
    return out;
  }

  /**
   * A log record with every string in it redacted (errors are turned into plain objects first:
   * message, stack and cause). Objects are copied, never changed in place; a record with nothing to
   * redact (nearly every one) is returned as it is, without a copy.
   */
  redactRecord(value: unknown): unknown {
    return this.holdsSecret(value, 0) ? this.redactValue(value, 0) : value;
  }

  private holdsSecret(value: unknown, depth: number): boolean {
    if (typeof value === 'string') {
      for (const secret of this.secrets) if (value.includes(secret)) return true;
      return false;
    }
    if (value === null || typeof value !== 'object' || depth > MAX_RECORD_DEPTH) return false;
    if (value instanceof Error) return this.holdsSecret(plainError(value), depth + 1);
    if (Array.isArray(value)) return value.some((v) => this.holdsSecret(v, depth + 1));
    for (const key in value) if (Object.hasOwn(value, key) && this.holdsSecret((value as Record<string, unknown>)[key], depth + 1)) return true;
    return false;
  }

  private redactValue(value: unknown, depth: number): unknown {
    if (typeof value === 'string') return this.redact(value);
    if (value === null || typeof value !== 'object' || depth > MAX_RECORD_DEPTH) return value;
    if (value instanceof Error) return this.redactValue(plainError(value), depth + 1);
    if (Array.isArray(value)) return value.map((v) => this.redactValue(v, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = this.redactValue(v, depth + 1);
    return out;
  }

  /** Whether there is anything to look for at all. */
  get empty(): boolean {
    return this.secrets.length === 0;
  }
}

/** Log records nest a few levels (a request body with log_bodies: up to body_max_depth). */
const MAX_RECORD_DEPTH = 1_100;

/** A secret as it may appear: as is, and escaped inside a JSON string (a log line, a JSON error body). */
function forms(secret: string): string[] {
  if (secret.length < MIN_SECRET_LENGTH) return [];
  const escaped = JSON.stringify(secret).slice(1, -1);
  return escaped === secret ? [secret] : [secret, escaped];
}

function urlPassword(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}

/** An Error as pino's serializer would show it, with its causes, as a plain object. */
function plainError(err: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { type: err.name, message: err.message, stack: err.stack };
  for (const [k, v] of Object.entries(err)) if (!(k in out)) out[k] = v;
  if (err.cause !== undefined) out.cause = err.cause;
  return out;
}
