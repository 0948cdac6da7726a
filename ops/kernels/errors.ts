/**
 * Errors a person can act on. Every message is one line that says what was wrong and what to do.
 * The CLIs print `message` only (never a stack) and exit with `exitCode`.
 */
export class NinjagradError extends Error {
  /** Process exit code the CLIs use: 1 for errors in data, files or rules. */
  readonly exitCode: number = 1;
  /** An error whose `message` is the one line the user sees. */
  constructor(message: string) {
    super(message);
    this.name = "NinjagradError";
  }
}

/** A command-line mistake (unknown flag, bad value): exit code 2. */
export class UsageError extends NinjagradError {
  /** Exit code 2, the usual one for a command-line mistake. */
  override readonly exitCode = 2;
  /** A usage error whose `message` is the one line the user sees. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
