import { describe, expect, it } from 'vitest';
import type { InputMessage } from '../generated/types.gen.js';
import { emptyContentError } from './empty-content.js';

const user = (content: InputMessage['content']): InputMessage => ({ role: 'user', content });
const assistant = (content: InputMessage['content']): InputMessage => ({ role: 'assistant', content });

describe('emptyContentError', () => {
  it('names the first message whose content is "" or [], in Anthropic\'s words', () => {
    const err = emptyContentError([user('Hi'), assistant('Hello'), user([])]);
    expect(err?.status).toBe(400);
    expect(err?.type).toBe('invalid_request_error');
    expect(err?.message).toBe('messages.2: all messages must have non-empty content except for the optional final assistant message');
    expect(emptyContentError([user('')])?.message).toMatch(/^messages\.0: /);
    expect(emptyContentError([user('Hi'), assistant(''), user('Again')])?.message).toMatch(/^messages\.1: /);
  });

  it('a final assistant message may be empty (a prefill); anything with content passes', () => {
    expect(emptyContentError([user('Hi'), assistant('')])).toBeUndefined();
    expect(emptyContentError([user('Hi'), assistant([])])).toBeUndefined();
    expect(emptyContentError([user([{ type: 'text', text: 'Hi' }])])).toBeUndefined();
    expect(emptyContentError([user(' ')])).toBeUndefined();
  });
});
