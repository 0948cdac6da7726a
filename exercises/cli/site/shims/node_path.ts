/**
 * `node:path` in the page: only `join`, which the names' loader calls for its download cache,
 * a path the page never uses (its names are bundled).
 * @module
 */

/** Paths joined with "/". */
export function join(...parts: string[]): string {
  return parts.join("/").replace(/\/+/g, "/");
}
