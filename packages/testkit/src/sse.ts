/** One server-sent event: the `event:` name ('' when the frame had none) and its data, JSON-parsed when possible. */
export interface SseEvent {
  event: string;
  data: any;
}

/** Formats a named SSE frame, as Anthropic sends them. */
export function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Formats a data-only SSE frame, as OpenAI sends them. */
export function dataFrame(data: unknown): string {
  return `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}

/** Parses an SSE body into events. Frames end at a blank line; `\r\n` and `\r` line ends are accepted; comments are skipped. */
export function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  const lines = text.split(/\r\n|\r|\n/);
  let event = '';
  let data: string[] = [];
  let seen = false;
  const flush = () => {
    if (seen) {
      const raw = data.join('\n');
      let parsed: any = raw;
      try {
        parsed = JSON.parse(raw);
      } catch {
        // Not JSON (e.g. OpenAI's [DONE]): keep the text.
      }
      events.push({ event, data: parsed });
    }
    event = '';
    data = [];
    seen = false;
  };
  for (const line of lines) {
    if (line === '') {
      flush();
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') {
      event = value;
      seen = true;
    } else if (field === 'data') {
      data.push(value);
      seen = true;
    }
  }
  flush();
  return events;
}
