/**
 * The page's Download: the learner's file made ready for `deno task ninja check` in a clone of
 * the repository (the page's templates import from a placeholder path).
 * @module
 */

/**
 * The file with its imports pointing into the clone at `clone` (a path), so that
 * `deno task ninja check` runs it there; unchanged when no clone is given.
 */
export function forClone(text: string, clone: string): string {
  const path = clone.trim().replace(/\/+$/, "");
  if (!path) return text;
  const base = new URL(`file://${encodeURI(path.startsWith("/") ? path : `/${path}`)}/`).href;
  return text.replace(
    /(["'])[^"'\n]*?\/(mod\.ts|exercises\/ninja\/api\.ts)\1/g,
    (_all, q, end) => `${q}${base}${end}${q}`,
  );
}
