import { describe, expect, it } from 'vitest';
import { gifHeader, jpegHeader, pngHeader, webpHeader } from './__fixtures__/image-headers.js';
import { UNKNOWN_IMAGE_TOKENS, imageSize, imageTokens, imageUrlTokens } from './image-tokens.js';

describe('imageSize', () => {
  it.each([
    ['png', pngHeader(640, 480)],
    ['gif', gifHeader(640, 480)],
    ['jpeg', jpegHeader(640, 480)],
    ['webp lossy', webpHeader('VP8 ', 640, 480)],
    ['webp lossless', webpHeader('VP8L', 640, 480)],
    ['webp extended', webpHeader('VP8X', 640, 480)],
  ])('reads the size of a %s', (_kind, bytes) => {
    expect(imageSize(bytes.toString('base64'))).toEqual({ width: 640, height: 480 });
  });

  it('is undefined for data that is not a known image', () => {
    expect(imageSize(Buffer.from('not an image at all').toString('base64'))).toBeUndefined();
  });
});

describe('imageTokens (OpenAI high-detail tiles: 85 + 170 per 512px tile)', () => {
  it.each([
    [512, 512, 255],
    [100, 100, 255],
    [1024, 1024, 765],
    [4096, 2048, 1105],
    [800, 600, 765],
  ])('%i×%i → %i', (w, h, tokens) => {
    expect(imageTokens(w, h)).toBe(tokens);
  });

  it('a data: URL is measured; a plain URL or an unknown format counts as 1024×1024', () => {
    expect(imageUrlTokens(`data:image/png;base64,${pngHeader(512, 512).toString('base64')}`)).toBe(255);
    expect(imageUrlTokens('https://example.com/cat.jpg')).toBe(UNKNOWN_IMAGE_TOKENS);
    expect(imageUrlTokens('data:image/png;base64,AAAA')).toBe(UNKNOWN_IMAGE_TOKENS);
    expect(UNKNOWN_IMAGE_TOKENS).toBe(765);
  });
});
