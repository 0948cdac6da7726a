/**
 * Where `train --save FILE` writes, made safe before the first step: the directory exists and
 * takes a file of a checkpoint's size (a probe is written, flushed and removed, so a read-only
 * filesystem, a full disk or a file-size limit shows now, not after the run); FILE is absent, a
 * regular file holding a checkpoint, or empty (never a device, FIFO, symbolic link or someone's
 * other file, which a save would replace); and a lock beside it (`.FILE.lock`, an advisory lock
 * the system drops when the process dies, even by kill -9) keeps a second run from writing the
 * same checkpoint. Temp files a killed run left beside FILE are removed and reported.
 */
import { basename, dirname, join } from "node:path";
import { NinjagradError } from "../../ops/kernels/errors.ts";
import {
  type Checkpoint,
  CHECKPOINT_FORMAT,
  createTempBeside,
  kindOf,
  osReason,
  saveCheckpointSync,
  staleTempFiles,
} from "../checkpoint.ts";
import { formatBytes } from "./limits.ts";

/** A checked, locked place to save checkpoints; `close` releases it. */
export class SaveTarget {
  /** The checkpoint's path. */
  readonly path: string;
  /** The step of the last checkpoint written by this run, if any. */
  lastStep: number | undefined;
  /**
   * How many training examples the last checkpoint's BatchNorm statistics were estimated on;
   * undefined when they are the full ones.
   */
  lastEstimatedOn: number | undefined;
  #lock: Deno.FsFile | undefined;
  readonly #lockPath: string;
  readonly #release = () => this.close();

  private constructor(path: string, lock: Deno.FsFile, lockPath: string) {
    this.path = path;
    this.#lock = lock;
    this.#lockPath = lockPath;
    globalThis.addEventListener("unload", this.#release);
  }

  /**
   * Checks and locks `path` (see the module comment). `typed` is the path as the user typed it,
   * `bytes` about how large a checkpoint will be; `say` reports temp files removed.
   */
  static open(path: string, typed: string, bytes: number, say: (line: string) => void): SaveTarget {
    const fail = (why: string): never => {
      throw new NinjagradError(`cannot save to ${path}: ${why}`);
    };
    if (/[/\\]$/.test(typed)) {
      fail(`"${typed}" ends with a slash, so it names a directory; name a file in it`);
    }
    const dir = dirname(path);
    let info: Deno.FileInfo | undefined;
    try {
      info = Deno.statSync(dir);
    } catch (e) {
      fail(e instanceof Deno.errors.NotFound ? `directory ${dir} does not exist` : osReason(e));
    }
    if (!info!.isDirectory) fail(`${dir} is not a directory`);
    checkExisting(path, fail);
    const lockPath = join(dir, `.${basename(path)}.lock`);
    const target = new SaveTarget(path, lock(lockPath, fail), lockPath);
    try {
      const stale = staleTempFiles(path);
      for (const file of stale) Deno.removeSync(file);
      if (stale.length > 0) {
        say(
          `removed ${stale.length} temp file${stale.length > 1 ? "s" : ""} that a run killed ` +
            `while saving left beside ${path} (${stale.map((f) => basename(f)).join(", ")})`,
        );
      }
      probe(path, bytes);
    } catch (e) {
      target.close();
      if (e instanceof NinjagradError) throw e;
      fail(osReason(e));
    }
    return target;
  }

  /**
   * Writes a checkpoint (synchronously, atomically); the lock must still be held. `estimatedOn`:
   * its BatchNorm statistics were estimated on that many training examples.
   */
  write(c: Checkpoint, estimatedOn?: number): void {
    if (this.#lock === undefined) throw new Error(`${this.path}: the save target is closed`);
    saveCheckpointSync(this.path, c);
    this.lastStep = c.step;
    this.lastEstimatedOn = estimatedOn;
  }

  /** Releases the lock and removes the lock file. */
  close(): void {
    const lock = this.#lock;
    if (lock === undefined) return;
    this.#lock = undefined;
    globalThis.removeEventListener("unload", this.#release);
    // Removed before it is unlocked: a run waiting on this file then finds it gone and retries.
    try {
      // Only our own lock file: never a file someone put in its place meanwhile.
      const now = Deno.lstatSync(this.#lockPath);
      if (now.isFile && now.ino === lock.statSync().ino) Deno.removeSync(this.#lockPath);
    } catch { /* gone already */ }
    lock.close();
  }
}

/** Refuses what a save would wrongly replace: see the module comment. */
function checkExisting(path: string, fail: (why: string) => never): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    return fail(osReason(e));
  }
  if (info.isSymlink) {
    let to = "a missing file";
    try {
      to = Deno.realPathSync(path);
    } catch { /* dangling */ }
    fail(
      `it is a symbolic link (to ${to}); a save would replace the link with a file: ` +
        "pass the file's own path",
    );
  }
  if (info.isDirectory) fail("it is a directory; name a file in it");
  if (!info.isFile) {
    fail(`it is ${kindOf(info)}; a save would replace it with a file: pass a file's path`);
  }
  if (info.size === 0) return;
  let head = "";
  try {
    using file = Deno.openSync(path, { read: true });
    const bytes = new Uint8Array(64);
    const n = file.readSync(bytes) ?? 0;
    head = new TextDecoder().decode(bytes.subarray(0, n));
  } catch (e) {
    fail(`it cannot be read (${osReason(e)}), so it cannot be told from someone's other file`);
  }
  if (!head.replace(/\s/g, "").startsWith(`{"format":"${CHECKPOINT_FORMAT}"`)) {
    fail(
      `it holds something other than a ninjagrad checkpoint (it starts with ` +
        `${JSON.stringify(head.slice(0, 16))}) and a save would replace it: pick another name`,
    );
  }
}

/**
 * Takes the lock file's advisory lock, or says which run holds it. The lock file is the project's
 * own: created new (never through a symbolic link), or one a run left that holds a process id and
 * nothing else; anything else there (a link, a FIFO, someone's file) is refused, untouched.
 */
function lock(lockPath: string, fail: (why: string) => never): Deno.FsFile {
  for (let tries = 0; tries < 5; tries++) {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(lockPath, { read: true, write: true, createNew: true });
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) {
        return fail(`cannot create files in ${dirname(lockPath)} (${osReason(e)})`);
      }
      const found = existingLock(lockPath, fail);
      if (found === undefined) continue; // removed meanwhile: create it again
      file = found;
    }
    if (!file.tryLockSync(true)) {
      const holder = readPid(file);
      file.close();
      return fail(
        `another run${holder ? ` (process ${holder})` : ""} is saving to it; wait for it to ` +
          "end, or --save another file",
      );
    }
    // The file may have been removed (its run ended) between our open and our lock.
    let same = false;
    try {
      const now = Deno.lstatSync(lockPath);
      same = now.isFile && now.ino === file.statSync().ino;
    } catch { /* removed */ }
    if (same) {
      file.truncateSync(0);
      file.writeSync(new TextEncoder().encode(`${Deno.pid}\n`));
      return file;
    }
    file.close();
  }
  return fail(`its lock file ${lockPath} keeps changing; is another run starting?`);
}

/**
 * Opens a lock file that is already there, if it is one a run made (a regular file holding a
 * process id, or empty); undefined if it has gone meanwhile.
 */
function existingLock(lockPath: string, fail: (why: string) => never): Deno.FsFile | undefined {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(lockPath);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    return fail(`its lock file ${lockPath} cannot be examined (${osReason(e)})`);
  }
  const notOurs = (what: string): never =>
    fail(
      `its lock file ${lockPath} is ${what}, not a lock a run made; it was left as it is: ` +
        "remove it yourself, or --save another file",
    );
  if (info.isSymlink) {
    let to = "a missing file";
    try {
      to = Deno.realPathSync(lockPath);
    } catch { /* dangling */ }
    notOurs(`a symbolic link (to ${to})`);
  }
  if (!info.isFile) notOurs(kindOf(info));
  if (info.size > 32) notOurs(`a file of ${info.size.toLocaleString("en")} bytes`);
  let file: Deno.FsFile;
  try {
    // Not created: a file only. Read and write, since a lock needs a writable descriptor.
    file = Deno.openSync(lockPath, { read: true, write: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    return fail(`cannot open its lock file ${lockPath} (${osReason(e)})`);
  }
  // The very file looked at: no link swapped in between the look and the open.
  if (file.statSync().ino !== info.ino) {
    file.close();
    return notOurs("a file that changed while it was opened");
  }
  const bytes = new Uint8Array(33);
  const n = file.readSync(bytes) ?? 0;
  const text = new TextDecoder().decode(bytes.subarray(0, n));
  if (!/^(\d+\n?)?$/.test(text)) {
    file.close();
    notOurs(`a file that holds ${JSON.stringify(text.slice(0, 16))}`);
  }
  file.seekSync(0, Deno.SeekMode.Start);
  return file;
}

function readPid(file: Deno.FsFile): string | undefined {
  try {
    const bytes = new Uint8Array(32);
    const n = file.readSync(bytes) ?? 0;
    const text = new TextDecoder().decode(bytes.subarray(0, n)).trim();
    return /^\d+$/.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes, flushes and removes a file of `bytes` zeros beside `path`: the directory takes a
 * checkpoint now (permissions, read-only filesystem, room on the disk, file-size limit).
 */
function probe(path: string, bytes: number): void {
  const limit = fileSizeLimit();
  if (limit !== undefined && limit < bytes) {
    throw new NinjagradError(
      `cannot save to ${path}: this shell's file-size limit (ulimit -f) is ` +
        `${formatBytes(limit)}, less than a checkpoint of about ${formatBytes(bytes)}; raise it ` +
        "(ulimit -f unlimited) or train without --save (nothing was trained)",
    );
  }
  let tmp: string | undefined;
  try {
    // Named as a checkpoint's temp file, so that a kill in between leaves one a run removes.
    const made = createTempBeside(path);
    tmp = made.tmp;
    using file = made.file;
    const zeros = new Uint8Array(Math.min(bytes, 1 << 20));
    for (let at = 0; at < bytes;) {
      at += file.writeSync(zeros.subarray(0, Math.min(zeros.length, bytes - at)));
    }
    file.syncDataSync();
  } catch (e) {
    throw new NinjagradError(
      `cannot save to ${path}: ${osReason(e)} (a checkpoint of about ${formatBytes(bytes)} was ` +
        "tried before training, so nothing was trained)",
    );
  } finally {
    if (tmp !== undefined) {
      try {
        Deno.removeSync(tmp);
      } catch { /* never made */ }
    }
  }
}

/** About how many bytes a checkpoint of `params` values of `width` bytes takes (base64, JSON). */
export function checkpointBytes(params: number, hidden: number, width: number): number {
  return Math.ceil(((params * width + 2 * hidden * 8) * 4) / 3) + 64 * 1024;
}

/**
 * The process's file-size limit (RLIMIT_FSIZE, `ulimit -f`) in bytes, read from /proc on Linux;
 * undefined when there is none or it cannot be read. (A write past it raises SIGXFSZ, which would
 * kill the process mid-save without a word: `runMain` catches the signal, so the write fails
 * with "File too large" instead; this check says so before any training.)
 */
export function fileSizeLimit(): number | undefined {
  if (Deno.build.os !== "linux") return undefined;
  try {
    const line = Deno.readTextFileSync("/proc/self/limits").split("\n")
      .find((l) => l.startsWith("Max file size"));
    const soft = line?.slice("Max file size".length).trim().split(/\s+/)[0];
    return soft === undefined || !/^\d+$/.test(soft) ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}
