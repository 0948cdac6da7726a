/**
 * cli-progress in the page: the package reads `node:readline` when it loads, which a browser
 * has not; the page draws its own progress, so `fit`'s terminal bar is never shown there.
 * @module
 */
class SingleBar {
  start(): void {}
  update(): void {}
  stop(): void {}
}

/** The part of cli-progress that ops/progress.ts reads. */
export default { SingleBar };
