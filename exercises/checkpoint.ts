/**
 * Checkpoints of a trained exercise-4 model: one JSON file with a format tag and a version, the
 * run's config and step, the vocabulary, every parameter, the BatchNorm statistics and the
 * minibatch generator's state. Float arrays are stored as `{ dtype, shape, base64 }`: the
 * base64 of their little-endian IEEE bytes, so values come back bit for bit (a plain JSON array
 * would be three times larger). Files are written atomically and synchronously: a temp file in
 * the same directory, flushed, then a rename, so a crash never leaves half a checkpoint under
 * the real name, and no event (a signal's handler) runs in the middle of a write. A temp file
 * that a kill -9 left behind is named `.NAME.<16 hex>.tmp` (`staleTempFiles` finds them, and only
 * them).
 * The random streams' state (`rng`) is the run's RngPlan state, and `data` identifies the names
 * it trained on, so that `train --resume` continues the very run: same step, same parameters
 * (SGD keeps no other state; the step fixes the learning rate), same minibatches to come.
 */
import { createHash } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { NinjagradError } from "../ops/kernels/errors.ts";
import { formatShape, sameShape, type Shape, sizeOf } from "../ops/kernels/tensor.ts";
import { type Ex4Sizes, type Ex4Weights, PARAM_NAMES, paramShapes } from "./model/ex4.ts";
import { checkConfig, type TrainConfig } from "./train/config.ts";
import type { DataFingerprint } from "./train/data.ts";
import type { BnStats } from "./train/eval.ts";
import { createRngPlan, type RngPlanState } from "./rng/recipe.ts";
import type { TrainedModel } from "./train/trained.ts";

/** The `format` tag every checkpoint carries. */
export const CHECKPOINT_FORMAT = "ninjagrad-checkpoint";
/** The version this code writes and reads (2: with the `sha256` of its content). */
export const CHECKPOINT_VERSION = 2;

/** What a checkpoint holds. */
export interface Checkpoint {
  /** The run's settings; `seed` is the default seed of sampling. */
  config: TrainConfig;
  /** Steps done. */
  step: number;
  /** The trained model, BatchNorm statistics included. */
  model: TrainedModel;
  /** The random streams' state (init and minibatches) after `step` steps. */
  rngState: RngPlanState;
  /** The split losses measured at the end (absent in a periodic checkpoint). */
  losses?: { train: number; val: number };
  /** The names it was trained on: a resumed run checks it has the same. */
  data: DataFingerprint;
}

/**
 * The largest checkpoint read: past it the JSON text would not fit in one string (V8 holds at
 * most 2^29 characters), and no model this engine trains comes near it.
 */
export const MAX_CHECKPOINT_BYTES = 2 ** 29 - 2 ** 16;

/** A float array on disk. */
interface StoredArray {
  dtype: "float32" | "float64";
  shape: number[];
  base64: string;
}

function store(data: Float32Array | Float64Array, shape: Shape): StoredArray {
  const width = data instanceof Float32Array ? 4 : 8;
  const bytes = new Uint8Array(data.length * width);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) {
    if (width === 4) view.setFloat32(i * 4, data[i], true);
    else view.setFloat64(i * 8, data[i], true);
  }
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return { dtype: width === 4 ? "float32" : "float64", shape: [...shape], base64: btoa(binary) };
}

/** The checkpoint as JSON text. */
export function encodeCheckpoint(c: Checkpoint): string {
  const { model } = c;
  const shapes = paramShapes(model.sizes);
  const params: Record<string, StoredArray> = {};
  for (const name of PARAM_NAMES) params[name] = store(model.weights[name], shapes[name]);
  const hidden = [model.sizes.hidden];
  // A debugging switch, not part of the run: a resumed run asks for it again if it wants it.
  const { detectAnomaly: _, ...config } = c.config;
  const body = JSON.stringify({
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    step: c.step,
    config,
    vocab: model.vocab,
    params,
    bn: { mean: store(model.bn.mean, hidden), var: store(model.bn.var, hidden) },
    rng: c.rngState,
    ...(c.losses ? { losses: c.losses } : {}),
    data: c.data,
  });
  // The checksum of everything before it, last: a resumed run refuses a file changed since.
  return `${body.slice(0, -1)},"sha256":"${sha256Of(body)}"}`;
}

function sha256Of(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * Writes a checkpoint atomically: a temp file in the same directory, flushed to the disk, then
 * renamed over `path`. A write that fails (disk full, file too large) removes its temp file and
 * leaves whatever `path` held before untouched.
 */
export function saveCheckpoint(path: string, c: Checkpoint): Promise<void> {
  try {
    saveCheckpointSync(path, c);
    return Promise.resolve();
  } catch (e) {
    return Promise.reject(e);
  }
}

/** {@link saveCheckpoint}, synchronously: nothing else runs until the file is in place. */
export function saveCheckpointSync(path: string, c: Checkpoint): void {
  writeAtomicSync(path, new TextEncoder().encode(encodeCheckpoint(c)), "checkpoint");
}

/**
 * Writes `bytes` to `path` through a temp file beside it (`.NAME.<random>.tmp`), flushed to the
 * disk before the rename; on failure the temp file is removed and `path` is left as it was.
 * `what` names the file in the error (`cannot write checkpoint PATH: why`).
 */
export function writeAtomicSync(path: string, bytes: Uint8Array, what: string): void {
  const dir = dirname(path);
  let tmp: string | undefined;
  try {
    const made = createTempBeside(path);
    tmp = made.tmp;
    {
      using file = made.file;
      for (let at = 0; at < bytes.length;) at += file.writeSync(bytes.subarray(at));
      // On the disk before the rename, so that a power cut cannot leave an empty file renamed in.
      file.syncDataSync();
    }
    // Temp files are created private (0600); a checkpoint is an ordinary file. (No-op on Windows.)
    if (Deno.build.os !== "windows") Deno.chmodSync(tmp, 0o644);
    Deno.renameSync(tmp, path);
  } catch (e) {
    if (tmp !== undefined) {
      try {
        Deno.removeSync(tmp);
      } catch { /* already gone */ }
    }
    const why = e instanceof Deno.errors.NotFound ? `directory ${dir} does not exist` : osReason(e);
    throw new NinjagradError(`cannot write ${what} ${path}: ${why}`);
  }
}

/** An OS error in a few words: "No space left on device", "Permission denied". */
export function osReason(e: unknown): string {
  const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
  // Deno's words: "Permission denied (os error 13): open '/sys/x'": the reason alone.
  return msg.replace(/ \(os error \d+\)/, "").replace(/:? \w+ '[^']*'$/, "").replace(
    /: '[^']*'$/,
    "",
  );
}

/**
 * A new temp file beside `path`, named as the project names its own (`.NAME.<16 hex>.tmp`) and
 * created new, so that it never follows a symbolic link nor opens a file someone else made.
 */
export function createTempBeside(path: string): { tmp: string; file: Deno.FsFile } {
  const dir = dirname(path);
  for (let tries = 0;; tries++) {
    const hex = Array.from(crypto.getRandomValues(new Uint8Array(8)))
      .map((b) => b.toString(16).padStart(2, "0")).join("");
    const tmp = join(dir, `.${basename(path)}.${hex}.tmp`);
    try {
      return { tmp, file: Deno.openSync(tmp, { write: true, createNew: true, mode: 0o600 }) };
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists) || tries >= 8) throw e;
    }
  }
}

/** The start of every checkpoint's text. */
const CHECKPOINT_HEAD = `{"format":"${CHECKPOINT_FORMAT}"`;

/**
 * Temp files beside `path` that a write killed before its rename left: only the project's own,
 * told by their name (`.NAME.<hex>.tmp`, as `createTempBeside` makes them) and by what they hold
 * (a checkpoint's start, the zeros of a save's probe, or nothing yet). A file of that name that
 * holds anything else, a symbolic link or a FIFO is someone else's, and never listed.
 */
export function staleTempFiles(path: string): string[] {
  const dir = dirname(path), prefix = `.${basename(path)}.`;
  const found: string[] = [];
  try {
    for (const e of Deno.readDirSync(dir)) {
      if (!e.name.startsWith(prefix)) continue;
      const middle = e.name.slice(prefix.length);
      if (!e.isFile || !/^[0-9a-f]{6,16}\.tmp$/.test(middle)) continue;
      const file = join(dir, e.name);
      if (holdsOurTemp(file)) found.push(file);
    }
  } catch { /* an unreadable directory holds none we can see */ }
  return found;
}

/** Whether a regular file (never a link) holds what a checkpoint's temp file or probe holds. */
function holdsOurTemp(file: string): boolean {
  try {
    if (!Deno.lstatSync(file).isFile) return false;
    using f = Deno.openSync(file, { read: true });
    const bytes = new Uint8Array(CHECKPOINT_HEAD.length);
    let n = 0;
    for (let got; n < bytes.length && (got = f.readSync(bytes.subarray(n))); n += got);
    const head = bytes.subarray(0, n);
    if (head.every((b) => b === 0)) return true; // a probe's zeros, or nothing yet
    const text = new TextDecoder().decode(head);
    return CHECKPOINT_HEAD.startsWith(text);
  } catch {
    return false;
  }
}

/** Reads and validates a checkpoint; every problem is a one-line `NinjagradError`. */
export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  let bytes: Uint8Array;
  try {
    // Looked at before it is read: a FIFO would block, a device (/dev/zero) never end.
    const info = await Deno.stat(path);
    if (!info.isFile && !info.isDirectory) {
      throw new NinjagradError(
        `checkpoint ${path} is ${kindOf(info)}, not a file: pass the file train --save wrote`,
      );
    }
    if (info.size > MAX_CHECKPOINT_BYTES) {
      throw new NinjagradError(
        `checkpoint ${path} holds ${info.size.toLocaleString("en")} bytes, more than a ` +
          `checkpoint can (${MAX_CHECKPOINT_BYTES.toLocaleString("en")}): it is not one`,
      );
    }
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof NinjagradError) throw e;
    if (e instanceof Deno.errors.NotFound) {
      throw new NinjagradError(
        `checkpoint ${path} not found: check the path, or train with --save ${path}`,
      );
    }
    if (e instanceof Deno.errors.IsADirectory) {
      throw new NinjagradError(
        `checkpoint ${path} is a directory: pass the file train --save wrote`,
      );
    }
    throw new NinjagradError(
      `cannot read checkpoint ${path}: ${e instanceof Error ? e.message.split("\n")[0] : e}`,
    );
  }
  const what = `checkpoint ${path}`;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    text = "\0";
  }
  // JSON text never holds a NUL byte: this is some other file, or a corrupted one.
  if (text.includes("\0")) {
    throw new NinjagradError(
      `${what} holds binary data, not the JSON text that train --save writes: pass a checkpoint`,
    );
  }
  return decodeCheckpoint(text, what);
}

/** Parses and validates checkpoint text; `what` names it in errors. */
export function decodeCheckpoint(text: string, what = "checkpoint"): Checkpoint {
  if (text.trim() === "") {
    throw new NinjagradError(
      `${what} is empty: not a checkpoint (a write that never finished?); train again with --save`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new NinjagradError(
      `${what} is not valid JSON (truncated or corrupt?): ${jsonProblem(text, e)}`,
    );
  }
  const fail = (msg: string): never => {
    throw new NinjagradError(`${what}: ${msg}`);
  };
  if (!isRecord(raw) || raw.format !== CHECKPOINT_FORMAT) {
    fail(`not a ninjagrad checkpoint (no "format": "${CHECKPOINT_FORMAT}")`);
  }
  const top = raw as Record<string, unknown>;
  if (top.version === 1) {
    fail(
      "version 1 was written before checkpoints carried a checksum of their content, so it " +
        "cannot be checked for changes: train again with --save",
    );
  }
  if (top.version !== CHECKPOINT_VERSION) {
    fail(
      `version ${JSON.stringify(top.version)} is not supported; this ninjagrad reads version ` +
        `${CHECKPOINT_VERSION}: train again with --save`,
    );
  }
  const field = (name: string): unknown => {
    let v: unknown = top;
    for (const part of name.split(".")) {
      v = isRecord(v) ? v[part] : undefined;
      if (v === undefined) fail(`missing field "${name}"`);
    }
    return v;
  };
  const step = field("step");
  const config = field("config") as TrainConfig;
  if (!isRecord(config)) fail(`"config" must be an object of settings`);
  try {
    checkConfig(config);
  } catch (e) {
    fail(`"config": ${(e as Error).message}`);
  }
  if (!Number.isSafeInteger(step) || (step as number) < 0 || (step as number) > config.steps) {
    fail(
      `"step" must be a whole number from 0 to the run's ${config.steps} steps, got ` +
        `${JSON.stringify(step)}`,
    );
  }
  const vocab = field("vocab");
  if (
    !Array.isArray(vocab) || vocab.length < 2 || vocab[0] !== "." ||
    !vocab.every((s) => typeof s === "string" && s.length > 0)
  ) {
    fail(`"vocab" must be a list of symbols starting with "."`);
  }
  if (new Set(vocab as string[]).size !== (vocab as string[]).length) {
    fail(`"vocab" lists a symbol twice`);
  }
  const sizes: Ex4Sizes = {
    vocab: (vocab as string[]).length,
    embd: config.embd,
    block: config.block,
    hidden: config.hidden,
  };
  const shapes = paramShapes(sizes);
  const weights = {} as Ex4Weights;
  for (const name of PARAM_NAMES) {
    const what = `params.${name}`;
    weights[name] = load(field(what), what, shapes[name], fail, config.dtype);
  }
  const bn: BnStats = {
    mean: toF64(load(field("bn.mean"), "bn.mean", [sizes.hidden], fail)),
    var: toF64(load(field("bn.var"), "bn.var", [sizes.hidden], fail)),
  };
  const negative = bn.var.findIndex((v) => v < 0);
  if (negative >= 0) {
    fail(`bn.var holds ${bn.var[negative]} at index ${negative}; a variance is never negative`);
  }
  const rngState = field("rng") as RngPlanState;
  try {
    // Restoring into a fresh plan of the run's kind checks every stream's state.
    createRngPlan(config.rng, { seed: config.seed }).setState(rngState);
  } catch (e) {
    fail(`"rng": ${(e as Error).message}`);
  }
  const losses = top.losses as Checkpoint["losses"];
  if (
    losses !== undefined &&
    !(isRecord(losses) && Number.isFinite(losses.train) && Number.isFinite(losses.val))
  ) {
    fail(`"losses" must be { train, val }, two finite numbers`);
  }
  const data = top.data;
  if (data === undefined) {
    fail(
      `"data" is missing: a checkpoint says which names it was trained on ({ path?, names, ` +
        "sha256 }); train again with --save",
    );
  }
  if (
    !(isRecord(data) && Number.isSafeInteger(data.names) && (data.names as number) > 0 &&
      typeof data.sha256 === "string" && /^[0-9a-f]{64}$/.test(data.sha256) &&
      (data.path === undefined || (typeof data.path === "string" && data.path !== "")))
  ) {
    fail(`"data" must be { path?, names, sha256 } (the names file it was trained on)`);
  }
  // Last, so that a broken field is named first: the content must be what train --save wrote.
  const { sha256, ...content } = top;
  if (typeof sha256 !== "string" || !/^[0-9a-f]{64}$/.test(sha256)) {
    fail(`"sha256" (the checksum of its content) is missing or not 64 hex digits`);
  }
  if (sha256Of(JSON.stringify(content)) !== sha256) {
    fail(
      "its content does not match its checksum: a weight, the step or a setting was changed " +
        "after train --save wrote it, so a resumed run would not be the run it says; use an " +
        "unedited checkpoint, or train again with --save",
    );
  }
  return {
    config,
    step: step as number,
    model: { sizes, dtype: config.dtype, weights, bn, vocab: vocab as string[] },
    rngState,
    ...(losses ? { losses } : {}),
    data: data as unknown as DataFingerprint,
  };
}

/** What a file that is not a regular one is, in words. */
export function kindOf(info: Deno.FileInfo): string {
  if (info.isFifo) return "a FIFO (named pipe)";
  if (info.isCharDevice) return "a character device";
  if (info.isBlockDevice) return "a block device";
  if (info.isSocket) return "a socket";
  if (info.isSymlink) return "a symbolic link";
  if (info.isDirectory) return "a directory";
  return "a special file";
}

/**
 * What is wrong with text JSON.parse refused, in one line: cut short, or where it breaks. (V8's
 * own message quotes the text itself, newlines and all.)
 */
function jsonProblem(text: string, e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const at = msg.match(/at position (\d+)/);
  const end = text.trimEnd().length;
  if (/end of JSON input/.test(msg) || (at && Number(at[1]) >= end)) {
    return `it stops after ${text.length.toLocaleString("en")} characters, in the middle of ` +
      "its JSON: it was cut short; use another checkpoint or train again with --save";
  }
  const start = text.trimStart();
  if (!start.startsWith("{")) {
    return `it starts with ${JSON.stringify(start.slice(0, 12))}, not "{": ` +
      "pass the file train --save wrote";
  }
  const where = msg.match(/\(line (\d+) column (\d+)\)/);
  // V8 words it "… in JSON at position N (line L column C)", "… after JSON at position N (…)",
  // or quotes the text itself after a comma: keep the words, then say where once.
  const why = msg.split("\n")[0].replace(/,\s*".*$/, "").replace(
    /\s*(?:in JSON )?at position.*$/,
    "",
  );
  return `${why}${where ? ` at line ${where[1]} column ${where[2]}` : ""}; ` +
    "use another checkpoint or train again with --save";
}

function load(
  value: unknown,
  name: string,
  want: Shape,
  fail: (msg: string) => never,
  wantDtype?: "float32" | "float64",
): Float32Array | Float64Array {
  if (!isRecord(value)) return fail(`"${name}" must be { dtype, shape, base64 }`);
  const { dtype, shape, base64 } = value;
  if (dtype !== "float32" && dtype !== "float64") {
    return fail(`"${name}.dtype" must be float32 or float64, got ${JSON.stringify(dtype)}`);
  }
  if (wantDtype !== undefined && dtype !== wantDtype) {
    return fail(`${name} is ${dtype} but the config says the model is ${wantDtype}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    return fail(`"${name}.shape" must be a list of whole numbers`);
  }
  if (!sameShape(shape, want)) {
    return fail(
      `${name} has shape ${formatShape(shape)} but the config and vocabulary need ${
        formatShape(want)
      }: its arrays do not match its declared sizes`,
    );
  }
  if (typeof base64 !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4) {
    return fail(`"${name}.base64" is not base64 text (truncated or corrupt?)`);
  }
  const binary = atob(base64);
  const width = dtype === "float32" ? 4 : 8;
  const n = sizeOf(want);
  if (binary.length % width !== 0) {
    return fail(`${name} holds ${binary.length} bytes, not a whole number of ${dtype} values`);
  }
  if (binary.length !== n * width) {
    return fail(
      `${name} holds ${binary.length / width} values but its shape ${formatShape(want)} needs ${n}`,
    );
  }
  const view = new DataView(Uint8Array.from(binary, (ch) => ch.charCodeAt(0)).buffer);
  const out = width === 4 ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = width === 4 ? view.getFloat32(i * 4, true) : view.getFloat64(i * 8, true);
    if (!Number.isFinite(out[i])) {
      return fail(`${name} holds ${out[i]} at index ${i}; a saved model holds finite numbers only`);
    }
  }
  return out;
}

function toF64(a: Float32Array | Float64Array): Float64Array {
  return a instanceof Float64Array ? a : Float64Array.from(a);
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}
