/**
 * `node:process` in the page: the progress bar's default stream and the training report's error
 * guard read `process.stderr`; a page has no terminal, so writes go nowhere.
 * @module
 */
const stderr = {
  isTTY: false,
  columns: 80,
  write: (_chunk: unknown) => true,
  on: (_event: string, _f: unknown) => stderr,
  listenerCount: (_event: string) => 1,
};

/** The part of `process` that the engine's lecture code reads. */
export default { stderr };
