import { GatewayError, invalidRequest } from '../../errors.js';
import { clip } from '../../quote.js';
import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COLON, COMMA, isJsonSpace, OPEN_BRACE, OPEN_BRACKET, QUOTE } from '../../contract/json-bytes.js';

export interface BatchBodyLimits {
  /** Requests accepted in `requests` (config `batches.max_requests`). */
  maxRequests: number;
  /** Bytes of one request, or of any other top-level value (config `body_limit`). */
  maxValueBytes: number;
  /** Deepest nesting in the whole body, the body itself being level 1 (config `body_max_depth`). */
  maxDepth: number;
  /** Bytes of the whole body, after decompression (config `batches.body_limit`). */
  maxBodyBytes: number;
}

/** One element of `requests`, parsed (not yet validated). */
export interface BatchBodyItem {
  index: number;
  value: unknown;
}

type State =
  | 'start' // before the body's `{`
  | 'key-or-end' // after `{`: a key or `}`
  | 'key' // after `,`: a key
  | 'colon'
  | 'value' // a top-level value (other than requests)
  | 'requests-open' // the `[` of requests
  | 'element-or-end' // after `[`: an element or `]`
  | 'element' // after `,` in requests
  | 'after-element' // `,` or `]`
  | 'after-value' // `,` or `}`
  | 'end'; // after the body's `}`

/**
 * Reads a Message Batch body as it arrives: `{"requests": [ ... ], ...}`, yielding each element of
 * `requests` parsed on its own, so a 256 MB body is never held (nor parsed) whole. The scanner only
 * finds where values begin and end (strings, brackets); each value's text is then parsed by
 * JSON.parse, which judges its grammar. Other top-level fields are parsed and dropped (unknown
 * fields are accepted, as everywhere in the API).
 *
 * Throws a GatewayError naming what is wrong: 400 for JSON that is broken, nested too deep, not an
 * object, without `requests` (or with it twice, or not a list, or an empty one, or longer than
 * `maxRequests`), 413 for a body or one request over its byte limit.
 */
export async function* readBatchBody(source: AsyncIterable<Buffer>, limits: BatchBodyLimits): AsyncGenerator<BatchBodyItem> {
  const scanner = new BatchBodyScanner(limits);
  const chunks = source[Symbol.asyncIterator]();
  let size = 0;
  let done = false;
  try {
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await chunks.next();
      } catch (err) {
        // The body itself failed: cut off, or compressed data that does not inflate.
        throw invalidRequest(`request body could not be read: ${clip((err as Error).message, 200)}`);
      }
      if (next.done) break;
      size += next.value.length;
      if (size > limits.maxBodyBytes) throw batchTooLarge(limits.maxBodyBytes);
      for (const item of scanner.push(next.value)) yield item;
    }
    done = true;
  } finally {
    if (!done) await chunks.return?.();
  }
  scanner.end();
}

/** The 413 for a batch body over `batches.body_limit`. */
export function batchTooLarge(limit: number): GatewayError {
  return tooLarge(`the batch is over ${limit} bytes (batches.body_limit)`);
}

class BatchBodyScanner {
  private state: State = 'start';
  private key = '';
  private sawRequests = false;
  private count = 0;
  /** The value being captured: its bytes so far (earlier chunks) and where it began in this chunk. */
  private parts: Buffer[] = [];
  private partsBytes = 0;
  private capturing: 'key' | 'value' | 'element' | undefined;
  private from = 0;
  /** Inside the captured value: nesting, and whether in a string (and right after a backslash). */
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** A captured scalar (number, true, ...) ends at the next delimiter, not at a closing bracket. */
  private scalar = false;

  constructor(private readonly limits: BatchBodyLimits) {}

  push(chunk: Buffer): BatchBodyItem[] {
    const out: BatchBodyItem[] = [];
    this.from = 0;
    let i = 0;
    while (i < chunk.length) {
      if (this.capturing !== undefined) {
        const end = this.scan(chunk, i);
        if (end === -1) {
          this.keep(chunk, chunk.length);
          i = chunk.length;
          break;
        }
        const text = this.take(chunk, end);
        i = end;
        this.finishValue(text, out);
        continue;
      }
      const c = chunk[i]!;
      if (isJsonSpace(c)) {
        i++;
        continue;
      }
      i = this.structural(c, i);
    }
    return out;
  }

  end(): void {
    if (this.capturing !== undefined) {
      throw invalidRequest('request body is not valid JSON: it ends in the middle of a value');
    }
    if (this.state === 'start') throw invalidRequest('request body: required (a JSON object with `requests`)');
    if (this.state !== 'end') throw invalidRequest('request body is not valid JSON: it ends before the closing `}`');
    if (!this.sawRequests) throw invalidRequest("requests: must have required property 'requests' (a list of 1 to " + this.limits.maxRequests + ' requests)');
  }

  /** A structural character outside any captured value; returns the next index to read. */
  private structural(c: number, i: number): number {
    switch (this.state) {
      case 'start':
        if (c !== OPEN_BRACE) throw invalidRequest('request body: must be a JSON object with `requests`');
        this.state = 'key-or-end';
        return i + 1;
      case 'key-or-end':
      case 'key':
        if (c === CLOSE_BRACE && this.state === 'key-or-end') {
          this.state = 'end';
          return i + 1;
        }
        if (c !== QUOTE) throw syntax(`expected a field name, found ${describe(c)}`);
        this.begin('key', i);
        return i;
      case 'colon':
        if (c !== COLON) throw syntax(`expected ":" after a field name, found ${describe(c)}`);
        if (this.key === 'requests') {
          if (this.sawRequests) throw invalidRequest('requests: given twice; send one list');
          this.sawRequests = true;
          this.state = 'requests-open';
        } else {
          this.state = 'value';
        }
        return i + 1;
      case 'value':
        this.begin('value', i);
        return i;
      case 'requests-open':
        if (c !== OPEN_BRACKET) throw invalidRequest(`requests: must be an array of requests, found ${describe(c)}`);
        this.state = 'element-or-end';
        return i + 1;
      case 'element-or-end':
      case 'element':
        if (c === CLOSE_BRACKET && this.state === 'element-or-end') {
          throw invalidRequest('requests: must NOT have fewer than 1 items');
        }
        if (this.count >= this.limits.maxRequests) {
          throw invalidRequest(`requests: must NOT have more than ${this.limits.maxRequests} items (batches.max_requests)`);
        }
        this.begin('element', i);
        return i;
      case 'after-element':
        if (c === COMMA) this.state = 'element';
        else if (c === CLOSE_BRACKET) this.state = 'after-value';
        else throw syntax(`expected "," or "]" after requests.${this.count - 1}, found ${describe(c)}`);
        return i + 1;
      case 'after-value':
        if (c === COMMA) this.state = 'key';
        else if (c === CLOSE_BRACE) this.state = 'end';
        else throw syntax(`expected "," or "}" after a field, found ${describe(c)}`);
        return i + 1;
      case 'end':
        throw syntax(`unexpected ${describe(c)} after the closing "}"`);
    }
  }

  private begin(kind: 'key' | 'value' | 'element', i: number): void {
    this.capturing = kind;
    this.from = i;
    this.parts = [];
    this.partsBytes = 0;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    this.scalar = false;
  }

  /**
   * Scans the captured value from `i`; returns the index just past its end, or -1 when it goes on
   * in the next chunk.
   */
  private scan(chunk: Buffer, i: number): number {
    // Depth of the captured value within the body: a request is at level 3 ({ → requests [ → it).
    const base = this.capturing === 'element' ? 2 : 1;
    const atStart = this.partsBytes === 0 && i === this.from;
    if (atStart) {
      const c = chunk[i]!;
      if (c !== OPEN_BRACE && c !== OPEN_BRACKET && c !== QUOTE) this.scalar = true;
    }
    for (let j = i; j < chunk.length; j++) {
      const c = chunk[j]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) {
          this.inString = false;
          if (this.depth === 0) return this.checkSize(j + 1);
        }
        continue;
      }
      if (this.scalar) {
        if (c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || isJsonSpace(c)) return this.checkSize(j);
        continue;
      }
      if (c === QUOTE) this.inString = true;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        if (++this.depth + base > this.limits.maxDepth) {
          throw invalidRequest(`request body is nested deeper than ${this.limits.maxDepth} levels (objects and arrays within each other)`);
        }
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        if (--this.depth === 0) return this.checkSize(j + 1);
        if (this.depth < 0) throw syntax(`unexpected ${describe(c)}`);
      }
    }
    this.checkSize(chunk.length);
    return -1;
  }

  /** Holds the captured value to its byte limit; returns `end`. */
  private checkSize(end: number): number {
    const bytes = this.partsBytes + (end - this.from);
    if (bytes > this.limits.maxValueBytes) {
      throw tooLarge(
        this.capturing === 'element'
          ? `requests.${this.count}: over ${this.limits.maxValueBytes} bytes (body_limit, the largest Messages request)`
          : `a field of the batch is over ${this.limits.maxValueBytes} bytes (body_limit)`,
      );
    }
    return end;
  }

  private keep(chunk: Buffer, end: number): void {
    if (end > this.from) {
      // A copy: the chunk's memory belongs to the stream.
      this.parts.push(Buffer.from(chunk.subarray(this.from, end)));
      this.partsBytes += end - this.from;
    }
    this.from = 0;
  }

  private take(chunk: Buffer, end: number): string {
    const tail = chunk.subarray(this.from, end);
    const text = this.parts.length === 0 ? tail.toString('utf8') : Buffer.concat([...this.parts, tail]).toString('utf8');
    this.parts = [];
    this.partsBytes = 0;
    this.from = end;
    return text;
  }

  private finishValue(text: string, out: BatchBodyItem[]): void {
    const kind = this.capturing!;
    this.capturing = undefined;
    if (kind === 'key') {
      this.key = parse(text, 'a field name') as string;
      this.state = 'colon';
      return;
    }
    const where = kind === 'element' ? `requests.${this.count}` : quoteKey(this.key);
    const value = parse(text, where);
    if (kind === 'element') {
      out.push({ index: this.count++, value });
      this.state = 'after-element';
    } else {
      this.state = 'after-value';
    }
  }
}

function parse(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw invalidRequest(`request body is not valid JSON: ${clip((err as Error).message, 200)} (in ${where})`);
  }
}

function syntax(what: string): GatewayError {
  return invalidRequest(`request body is not valid JSON: ${what}`);
}

function tooLarge(message: string): GatewayError {
  return new GatewayError(413, `request body is too large: ${message}`, { type: 'request_too_large' });
}

function describe(c: number): string {
  return c >= 0x20 && c < 0x7f ? JSON.stringify(String.fromCharCode(c)) : `byte 0x${c.toString(16).padStart(2, '0')}`;
}

function quoteKey(key: string): string {
  return clip(JSON.stringify(key), 66);
}
