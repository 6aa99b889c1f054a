import { quote } from '../quote.js';

/**
 * Why `name` cannot become one segment of an upstream URL's path, or undefined when it can.
 * encodeURIComponent escapes every character that could end a segment, but leaves "." and ".."
 * alone, and URL parsing resolves those: ".." would move the request to another upstream path.
 */
export function pathSegmentProblem(name: string, what: string): string | undefined {
  if (name === '' || name === '.' || name === '..') {
    return `${quote(name)} cannot name ${what}: it would change the upstream URL's path`;
  }
  return undefined;
}
