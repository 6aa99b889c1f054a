/**
 * A precomputed reply with holes: the text is split once on marker strings, and each request
 * renders it by concatenation alone. Keeps the default replies cheap at benchmark rates.
 */
export type RenderTemplate = (values: readonly string[]) => string;

/** `markers[i]` in `text` is replaced by `values[i]` when rendering; every occurrence of a marker is a hole. */
export function compileTemplate(text: string, markers: readonly string[]): RenderTemplate {
  const parts: string[] = [];
  const slots: number[] = [];
  let from = 0;
  for (;;) {
    let at = -1;
    let which = -1;
    for (let m = 0; m < markers.length; m++) {
      const i = text.indexOf(markers[m], from);
      if (i >= 0 && (at < 0 || i < at)) {
        at = i;
        which = m;
      }
    }
    if (at < 0) break;
    parts.push(text.slice(from, at));
    slots.push(which);
    from = at + markers[which].length;
  }
  parts.push(text.slice(from));
  return (values) => {
    let out = parts[0];
    for (let i = 0; i < slots.length; i++) out += values[slots[i]] + parts[i + 1];
    return out;
  };
}
