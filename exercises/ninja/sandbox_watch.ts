/**
 * A worker of the sandboxed child (`sandbox_child.ts`) during `ninja train`: it watches which of
 * the learner's rules runs (the child's thread writes it into shared memory, far cheaper than a
 * frame per rule call at thousands of calls a second) and tells the parent when that changes, so
 * the parent can stop a rule that never returns and name it. It runs beside the learner's code,
 * which an endless loop would block.
 * @module
 */

/** What the child hands the worker. */
export interface WatchStart {
  /** [the running rule's index + 1, or 0; the count of rule calls]. */
  shared: SharedArrayBuffer;
  /** The rules' names (`line.input`), by index. */
  names: string[];
  nonce: string;
}

/** How often the worker looks, in milliseconds. */
export const WATCH_MS = 50;

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<WatchStart>) => void) | null;
};
scope.onmessage = (e) => {
  const { shared, names, nonce } = e.data;
  const state = new Int32Array(shared);
  const encoder = new TextEncoder();
  let last = -1, lastCall = -1;
  setInterval(() => {
    const rule = Atomics.load(state, 0), call = Atomics.load(state, 1);
    if (rule === last && (rule === 0 || call === lastCall)) return;
    [last, lastCall] = [rule, call];
    const frame = { t: "rule", rule: rule === 0 ? null : names[rule - 1] };
    // One small write: a pipe takes it whole, between the child thread's frames.
    try {
      Deno.stdout.writeSync(encoder.encode(`\n${nonce} ${JSON.stringify(frame)}\n`));
    } catch {
      self.close();
    }
  }, WATCH_MS);
};
