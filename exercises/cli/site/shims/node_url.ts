/**
 * `node:url` in the page: the engine names files by `file:` URL (stack frames, a learner's
 * file), and the page has no file system, so a URL's path is all there is.
 * @module
 */

/** The path of a URL (any scheme: the page's own modules are served over http). */
export function fileURLToPath(url: string | URL): string {
  return decodeURIComponent(new URL(url).pathname);
}

/** A path as a `file:` URL. */
export function pathToFileURL(path: string): URL {
  return new URL(`file://${path.startsWith("/") ? "" : "/"}${path}`);
}
