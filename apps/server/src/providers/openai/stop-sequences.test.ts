import { describe, expect, it } from 'vitest';
import { cutAtStop, firstStop, splitStopSequences, stopSequencesBeyondLimits, StopSequenceWatch } from './stop-sequences.js';

describe('splitStopSequences', () => {
  it('sends the first four and enforces the rest; all of them when the model refuses stop', () => {
    const six = ['a', 'b', 'c', 'd', 'e', 'f'];
    expect(splitStopSequences(six, true)).toEqual({ sent: ['a', 'b', 'c', 'd'], enforced: ['e', 'f'] });
    expect(splitStopSequences(six, false)).toEqual({ sent: [], enforced: six });
    expect(splitStopSequences(['END'], true)).toEqual({ sent: ['END'], enforced: [] });
    expect(splitStopSequences(undefined, true)).toEqual({ sent: [], enforced: [] });
    expect(splitStopSequences(['', 'x'], false)).toEqual({ sent: [], enforced: ['x'] });
  });
});

describe('stopSequencesBeyondLimits', () => {
  it('at most 64 sequences of at most 1 000 characters', () => {
    expect(stopSequencesBeyondLimits(Array.from({ length: 64 }, (_, i) => `s${i}`))).toBeUndefined();
    expect(stopSequencesBeyondLimits(Array.from({ length: 65 }, (_, i) => `s${i}`))).toBe('more than 64');
    expect(stopSequencesBeyondLimits(['x'.repeat(1_000)])).toBeUndefined();
    expect(stopSequencesBeyondLimits(['x'.repeat(1_001)])).toBe('one longer than 1000 characters');
  });
});

describe('firstStop and cutAtStop', () => {
  it('the sequence that completes first wins; the text stops where it starts', () => {
    expect(firstStop('one two three', ['three', 'two'])).toEqual({ at: 4, sequence: 'two' });
    // "bc" is complete before "abcd" could be
    expect(cutAtStop('xabcd', ['abcd', 'bc'])).toEqual({ text: 'xa', matched: 'bc' });
    // same end: the longer one, which starts earlier
    expect(cutAtStop('xabc', ['bc', 'abc'])).toEqual({ text: 'x', matched: 'abc' });
    expect(cutAtStop('nothing here', ['END'])).toEqual({ text: 'nothing here' });
  });
});

describe('StopSequenceWatch', () => {
  it('holds back only as many characters as the longest sequence needs', () => {
    const watch = new StopSequenceWatch(['###', 'END']);
    expect(watch.push('Hello #')).toBe('Hello');
    expect(watch.push('# world E')).toBe(' ## world');
    expect(watch.push('N')).toBe(' ');
    expect(watch.push('D and more')).toBe('');
    expect(watch.matched).toBe('END');
    expect(watch.push('ignored')).toBe('');
  });

  it('gives back what it held when the text ends without a match', () => {
    const watch = new StopSequenceWatch(['STOP']);
    expect(watch.push('almost ST')).toBe('almost');
    expect(watch.flush()).toBe(' ST');
    expect(watch.matched).toBeUndefined();
  });

  it('streamed in any pieces, the text and the match are those of the whole text', () => {
    const sequences = ['\n\nHuman:', 'END', 'abcd', 'bc', '</tool>'];
    const texts = [
      'Sure. Here it is </to',
      'Let me count: a, ab, abc, abcd.',
      'Done.\n\nHuman: next',
      'No stop sequence appears in this one, not even E N D.',
      'ENEND',
    ];
    for (const text of texts) {
      const whole = cutAtStop(text, sequences);
      for (let a = 0; a <= text.length; a++) {
        for (let b = a; b <= text.length; b++) {
          const watch = new StopSequenceWatch(sequences);
          let shown = watch.push(text.slice(0, a)) + watch.push(text.slice(a, b)) + watch.push(text.slice(b));
          if (watch.matched === undefined) shown += watch.flush();
          expect({ text: shown, matched: watch.matched }, `${JSON.stringify(text)} cut at ${a}, ${b}`).toEqual({ text: whole.text, matched: whole.matched });
        }
      }
    }
  });
});
