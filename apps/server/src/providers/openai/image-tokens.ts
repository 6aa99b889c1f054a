/**
 * Input tokens of an image, estimated the way OpenAI documents for high detail: the image is fitted
 * into 2048×2048, its shortest side scaled down to 768, then cut in 512-pixel tiles; each tile costs
 * 170 tokens plus 85 for the image. The size is read from the header of a base64 PNG, GIF, WebP or
 * JPEG; when it is unknown (URLs, other formats) the image counts as 1024×1024: 765 tokens.
 */
export const UNKNOWN_IMAGE_TOKENS = 765;

export function imageTokens(width: number, height: number): number {
  if (!(width > 0 && height > 0)) return UNKNOWN_IMAGE_TOKENS;
  let w = width;
  let h = height;
  const fit = Math.min(1, 2048 / Math.max(w, h));
  w *= fit;
  h *= fit;
  const shrink = Math.min(1, 768 / Math.min(w, h));
  w *= shrink;
  h *= shrink;
  return 85 + 170 * Math.ceil(w / 512) * Math.ceil(h / 512);
}

/** Tokens for an image_url part: a data: URL is measured, anything else is UNKNOWN_IMAGE_TOKENS. */
export function imageUrlTokens(url: string): number {
  const match = /^data:[^;,]*;base64,/.exec(url);
  if (!match) return UNKNOWN_IMAGE_TOKENS;
  const size = imageSize(url.slice(match[0].length));
  return size ? imageTokens(size.width, size.height) : UNKNOWN_IMAGE_TOKENS;
}

/** Enough of the file to find a JPEG frame header behind its EXIF block (≤ 64 KiB) in most photos. */
const HEAD_BASE64_CHARS = 96 * 1024;

/** Width and height from the first bytes of base64 image data, or undefined. */
export function imageSize(base64: string): { width: number; height: number } | undefined {
  const head = Buffer.from(base64.slice(0, HEAD_BASE64_CHARS - (HEAD_BASE64_CHARS % 4)), 'base64');
  return pngSize(head) ?? gifSize(head) ?? webpSize(head) ?? jpegSize(head);
}

function pngSize(b: Buffer) {
  if (b.length < 24 || b.readUInt32BE(0) !== 0x89504e47 || b.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

function gifSize(b: Buffer) {
  if (b.length < 10 || b.toString('latin1', 0, 3) !== 'GIF') return undefined;
  return { width: b.readUInt16LE(6), height: b.readUInt16LE(8) };
}

function webpSize(b: Buffer) {
  if (b.length < 30 || b.toString('latin1', 0, 4) !== 'RIFF' || b.toString('latin1', 8, 12) !== 'WEBP') return undefined;
  const chunk = b.toString('latin1', 12, 16);
  if (chunk === 'VP8 ') return { width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff };
  if (chunk === 'VP8L') {
    const bits = b.readUInt32LE(21);
    return { width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8X') return { width: b.readUIntLE(24, 3) + 1, height: b.readUIntLE(27, 3) + 1 };
  return undefined;
}

function jpegSize(b: Buffer) {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return undefined;
  let at = 2;
  while (at + 9 < b.length) {
    if (b[at] !== 0xff) return undefined;
    const marker = b[at + 1]!;
    if (marker === 0xff) {
      at++;
      continue;
    }
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) return { width: b.readUInt16BE(at + 7), height: b.readUInt16BE(at + 5) };
    at += 2 + b.readUInt16BE(at + 2);
  }
  return undefined;
}
