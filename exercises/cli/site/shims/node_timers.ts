/**
 * `node:timers` in the page: `fit`'s loop yields with setImmediate, which a browser lacks; a
 * zero-delay timeout does the same there.
 * @module
 */

/** Runs `f` once the current task is done. */
export function setImmediate(
  f: (...args: unknown[]) => void,
  ...args: unknown[]
): ReturnType<typeof setTimeout> {
  return setTimeout(f, 0, ...args);
}

/** Cancels a {@link setImmediate}. */
export function clearImmediate(id: ReturnType<typeof setTimeout> | undefined): void {
  clearTimeout(id);
}
