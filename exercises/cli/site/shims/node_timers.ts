/**
 * `node:timers` in the page: `fit`'s loop yields with setImmediate between chunks of steps, which
 * a browser lacks. A message to itself runs the callback as soon as the current task is done; a
 * zero-delay timeout would wait at least 4 ms once nested, a tenth of a 50 ms chunk.
 * @module
 */
const waiting = new Map<number, () => void>();
let next = 0;
const channel = new MessageChannel();
channel.port1.onmessage = (e: MessageEvent<number>) => {
  const f = waiting.get(e.data);
  waiting.delete(e.data);
  f?.();
};

/** Runs `f` once the current task is done. */
export function setImmediate(f: (...args: unknown[]) => void, ...args: unknown[]): number {
  const id = ++next;
  waiting.set(id, () => f(...args));
  channel.port2.postMessage(id);
  return id;
}

/** Cancels a {@link setImmediate}. */
export function clearImmediate(id: number | undefined): void {
  if (id !== undefined) waiting.delete(id);
}
