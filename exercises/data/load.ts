import { join } from "node:path";
import { fileURLToPath } from "node:url";
// A text import is part of the module graph: it needs no --allow-read, and it works as well when
// this module is imported by URL from another folder or machine.
import lectureNamesText from "./names.txt" with { type: "text" };
import { NinjagradError } from "../../ops/kernels/errors.ts";

/** Options for {@link loadNames}. */
export interface LoadNamesOptions {
  /** Where downloaded URLs are kept; default `$XDG_CACHE_HOME/ninjagrad` or `~/.cache/ninjagrad`. */
  cacheDir?: string;
  /**
   * Milliseconds a server may take to connect and send its headers (default 30 s, or
   * NINJAGRAD_HTTP_TIMEOUT_MS).
   */
  timeoutMs?: number;
  /** Longest pause in a download's body, in milliseconds (default 30 s, or NINJAGRAD_HTTP_IDLE_MS). */
  idleMs?: number;
  /**
   * Longest a whole download may take, in milliseconds (default 10 minutes, or
   * NINJAGRAD_HTTP_DEADLINE_MS): a server that sends a byte now and then never pauses long enough
   * for `idleMs`, and would otherwise never end.
   */
  deadlineMs?: number;
  /**
   * The largest names list read, from a file or a download, in bytes (default 256 MiB, or
   * NINJAGRAD_MAX_NAMES_BYTES): a list of two million names is about 15 MB.
   */
  maxBytes?: number;
}

/** The limits in force: the options, else the environment, else the defaults. */
function limits(opts: LoadNamesOptions) {
  return {
    timeoutMs: opts.timeoutMs ?? envNumber("NINJAGRAD_HTTP_TIMEOUT_MS") ?? 30_000,
    idleMs: opts.idleMs ?? envNumber("NINJAGRAD_HTTP_IDLE_MS") ?? 30_000,
    deadlineMs: opts.deadlineMs ?? envNumber("NINJAGRAD_HTTP_DEADLINE_MS") ?? 600_000,
    maxBytes: opts.maxBytes ?? envNumber("NINJAGRAD_MAX_NAMES_BYTES") ?? 256 * 2 ** 20,
  };
}

function envNumber(name: string): number | undefined {
  let text: string | undefined;
  try {
    text = Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env: the defaults
  }
  if (text === undefined || text.trim() === "") return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !(n > 0)) {
    throw new NinjagradError(`${name} must be a whole number above 0, got "${text}"`);
  }
  return n;
}

/** Hex SHA-256 of a string (UTF-8) or of raw bytes: cache keys and dataset fingerprints. */
export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  // Copying raw bytes gives subtle.digest the ArrayBuffer-backed view it asks for.
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : new Uint8Array(data);
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The names, one per entry, from a file path, a `file:` URL or an http(s) URL; with no source,
 * the lecture's names ({@link lectureNames}). Lines are trimmed and empty lines dropped; a file's
 * names are otherwise kept as written (the lecture's file is already lowercase a–z). An http(s)
 * URL is downloaded once, checked, and kept in the cache directory; later loads read the cache.
 * Throws {@link NinjagradError} with a one-line message naming the file or URL.
 */
export async function loadNames(
  source?: string | URL,
  opts: LoadNamesOptions = {},
): Promise<string[]> {
  if (source === undefined) return lectureNames();
  const text = String(source);
  if (/^https?:\/\//i.test(text)) {
    return await loadUrl(text, opts.cacheDir ?? defaultCacheDir(), limits(opts));
  }
  const path = /^file:/i.test(text) ? fileURLToPath(text) : text;
  return parseNames(await readNamesFile(path, limits(opts).maxBytes), `names file ${path}`);
}

/**
 * A URL as it may be shown and stored: without a user and password (`user:pass@`), and with the
 * value of every query parameter that names a secret (token, key, signature, password…) replaced
 * by `REDACTED`, so that a checkpoint, a chart's header or a message never holds a credential.
 * Anything that is not an http(s) URL is returned as it is.
 */
export function redactUrl(source: string): string {
  if (!/^https?:\/\//i.test(source)) return source;
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    return source.replace(/\/\/[^/@]*@/, "//");
  }
  url.username = "";
  url.password = "";
  for (const key of [...url.searchParams.keys()]) {
    if (SECRET.test(key)) url.searchParams.set(key, "REDACTED");
  }
  return url.href;
}

/** Query parameters that carry credentials (access_token, api_key, X-Amz-Signature, sig…). */
const SECRET = /token|key|secret|sig|pass|auth|credential|session|code/i;

/** The lecture's names.txt (makemore's file): its SHA-256, as the lecture states it. */
export const LECTURE_NAMES_SHA256 =
  "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d";

/** What the lecture's names are called in messages and in a run's first line. */
export const LECTURE_NAMES_SOURCE = "the lecture's names.txt";

/**
 * The lecture's dataset, shipped inside the repository (`exercises/data/names.txt`, from the
 * makemore repository, MIT licence; see `exercises/data/README.md`): 32,033 lowercase names in
 * the file's order. The default of every command.
 */
export function lectureNames(): string[] {
  return lectureNamesText.split("\n").filter((w) => w !== "");
}

/**
 * Split decoded lines into names, checking what would otherwise surface later as a confusing
 * vocabulary: bytes that are not UTF-8 text, a web page, control characters, and `.` (the
 * start/end token). Lines may end in LF, CRLF or CR alone (old Mac files).
 */
function parseNames(bytes: Uint8Array, what: string, contentType?: string): string[] {
  const text = decodeOrExplain(bytes, what);
  const start = text.trimStart().slice(0, 100).toLowerCase();
  if (/^<(?:!doctype|html|head|body|\?xml|!--)/.test(start) || /\bhtml\b/.test(contentType ?? "")) {
    throw new NinjagradError(
      `${what} is an HTML page${
        contentType ? ` (Content-Type ${contentType.split(";")[0]})` : ""
      }, not a names list: point to the raw text file (on GitHub, the Raw button's address)`,
    );
  }
  const names: string[] = [];
  // Checked line by line only when the whole text has something to report (2 M names: 3× faster).
  const suspect = text.includes(".") || /[^\P{Cc}\r\n]/u.test(text);
  const lines = text.includes("\r") ? text.split(/\r\n|\r|\n/) : text.split("\n");
  lines.forEach((raw, i) => {
    const name = raw.trim();
    if (name === "") return;
    if (!suspect) return void names.push(name);
    const control = name.match(/\p{Cc}/u);
    if (control) {
      const code = control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
      throw new NinjagradError(
        `${what} line ${i + 1} contains control character U+${code}: ` +
          "it must be plain text, one name per line",
      );
    }
    if (name.includes(".")) {
      throw new NinjagradError(
        `${what} line ${i + 1}: ${JSON.stringify(name)} contains ".", which is the start/end ` +
          "token; remove the dot or that line",
      );
    }
    names.push(name);
  });
  if (names.length === 0) {
    throw new NinjagradError(`${what} has no names: put one name per line`);
  }
  return names;
}

function decodeOrExplain(bytes: Uint8Array, what: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    // 0x0A never occurs inside a multi-byte UTF-8 sequence, so lines can be checked one by one.
    let start = 0;
    for (let line = 1;; line++) {
      const end = bytes.indexOf(0x0a, start);
      const slice = bytes.subarray(start, end < 0 ? bytes.length : end);
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(slice);
      } catch {
        throw new NinjagradError(
          `${what} line ${line} is not valid UTF-8 text: save it as UTF-8, one name per line`,
        );
      }
      if (end < 0) throw new NinjagradError(`${what} is not valid UTF-8 text`);
      start = end + 1;
    }
  }
}

async function readNamesFile(path: string, maxBytes: number): Promise<Uint8Array> {
  const what = `names file ${path}`;
  try {
    // Looked at before it is opened: a FIFO would block, a device (/dev/zero) never end.
    const info = await Deno.stat(path);
    if (info.isDirectory) {
      throw new NinjagradError(`${what} is a directory: pass a text file with one name per line`);
    }
    if (!info.isFile) {
      throw new NinjagradError(
        `${what} is ${specialKind(info)}, not a file: save the names to a text file and pass that`,
      );
    }
    if (info.size > maxBytes) {
      throw tooLarge(what, `holds ${info.size.toLocaleString("en")} bytes`, maxBytes);
    }
    using file = await Deno.open(path, { read: true });
    return await readCapped(
      file.readable,
      maxBytes,
      () =>
        tooLarge(what, `grew past ${maxBytes.toLocaleString("en")} bytes as it was read`, maxBytes),
    );
  } catch (err) {
    if (err instanceof NinjagradError) throw err;
    if (err instanceof Deno.errors.NotFound) {
      throw new NinjagradError(
        `${what} not found: check the path, or leave --data out to use the lecture's names`,
      );
    }
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new NinjagradError(`${what} cannot be read (permission denied): make it readable`);
    }
    if (err instanceof Deno.errors.NotCapable) {
      throw new NinjagradError(`${what} cannot be read: run deno with --allow-read (or -A)`);
    }
    throw new NinjagradError(`${what} cannot be read: ${oneLine(err)}`);
  }
}

/**
 * Download once, check, then cache atomically, so that a failed or bad download (cut short,
 * too large, a web page, not names) is never reused; a cached file that no longer reads as
 * names is downloaded again.
 */
async function loadUrl(
  url: string,
  cacheDir: string,
  lim: ReturnType<typeof limits>,
): Promise<string[]> {
  const base = url.replace(/[?#].*$/, "").split("/").pop()?.replace(/[^\w.-]/g, "") || "names";
  const cached = join(cacheDir, `${(await sha256Hex(url)).slice(0, 16)}-${base}`);
  const cachedBytes = await Deno.readFile(cached).catch(() => undefined);
  if (cachedBytes) {
    try {
      return parseNames(
        cachedBytes,
        `names downloaded from ${redactUrl(url)} (cached at ${cached})`,
      );
    } catch (err) {
      if (!(err instanceof NinjagradError)) throw err;
      await Deno.remove(cached).catch(() => {});
    }
  }
  let tmp: string | undefined;
  try {
    try {
      await Deno.mkdir(cacheDir, { recursive: true });
      tmp = await Deno.makeTempFile({ dir: cacheDir, prefix: ".download-" });
    } catch (err) {
      throw new NinjagradError(
        `could not cache ${redactUrl(url)} in ${cacheDir} (${
          oneLine(err)
        }): make that directory writable`,
      );
    }
    // Written to the disk as it comes, never held: memory stays flat whatever the body does.
    const { contentType } = await download(url, lim, tmp);
    const names = parseNames(
      await Deno.readFile(tmp),
      `names downloaded from ${redactUrl(url)}`,
      contentType,
    );
    await Deno.rename(tmp, cached); // rename is atomic: readers see the whole file or none
    tmp = undefined;
    return names;
  } catch (err) {
    if (err instanceof NinjagradError) throw err;
    throw new NinjagradError(
      `could not cache ${redactUrl(url)} in ${cacheDir} (${
        oneLine(err)
      }): make that directory writable`,
    );
  } finally {
    if (tmp !== undefined) await Deno.remove(tmp).catch(() => {});
  }
}

/**
 * Streams the body of `url` into the file `into`, within the limits: the server must answer
 * within `timeoutMs`, never pause longer than `idleMs` in the body, send at most `maxBytes` (as
 * decompressed: what is counted is what would be kept) and be done within `deadlineMs`.
 */
async function download(
  url: string,
  { timeoutMs, idleMs, maxBytes, deadlineMs }: ReturnType<typeof limits>,
  into: string,
): Promise<{ contentType?: string }> {
  const what = `could not download names from ${redactUrl(url)}`;
  const abort = new AbortController();
  let why: string | undefined;
  const stop = (reason: string) => {
    why ??= reason;
    abort.abort();
  };
  const deadline = setTimeout(
    () => stop(`it took longer than the ${seconds(deadlineMs)} a download may take`),
    deadlineMs,
  );
  let timer = setTimeout(() => stop(`no answer within ${seconds(timeoutMs)}`), timeoutMs);
  let response: Response;
  try {
    response = await fetch(url, { signal: abort.signal });
  } catch (err) {
    clearTimeout(timer);
    clearTimeout(deadline);
    throw new NinjagradError(
      `${what} (${why ?? fetchReason(err)}): check the URL and the network, or download the file ` +
        "and pass its path",
    );
  }
  clearTimeout(timer);
  if (!response.ok) {
    clearTimeout(deadline);
    await response.body?.cancel();
    throw new NinjagradError(
      `${what}: HTTP ${response.status} ${response.statusText}; ` +
        "check the URL, or download the file and pass its path",
    );
  }
  const contentType = response.headers.get("content-type") ?? undefined;
  const declared = Number(response.headers.get("content-length") ?? NaN);
  if (declared > maxBytes && !response.headers.has("content-encoding")) {
    clearTimeout(deadline);
    await response.body?.cancel();
    throw tooLarge(redactUrl(url), `announces ${declared.toLocaleString("en")} bytes`, maxBytes);
  }
  let got = 0;
  const reader = (response.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() }))
    .getReader();
  /** The body stopped coming: a stall, the deadline, or a broken connection. */
  const stopped = (err: unknown) =>
    new NinjagradError(
      `${what}: the download stopped after ${got.toLocaleString("en")} bytes (${
        why ?? `the connection broke: ${fetchReason(err)}`
      }); nothing was cached: try again, or download the file and pass its path`,
    );
  try {
    // A write that fails (a full disk) is not the server's fault: loadUrl names the cache.
    using file = await Deno.open(into, { write: true, truncate: true });
    for (;;) {
      clearTimeout(timer);
      timer = setTimeout(() => stop(`it stalled for ${seconds(idleMs)}`), idleMs);
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        throw stopped(err);
      }
      if (chunk.done) break;
      got += chunk.value.length;
      if (got > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge(
          `the download of ${redactUrl(url)}`,
          `ran past ${maxBytes.toLocaleString("en")} bytes`,
          maxBytes,
        );
      }
      const bytes = chunk.value;
      for (let at = 0; at < bytes.length;) at += await file.write(bytes.subarray(at));
    }
    return { contentType };
  } finally {
    clearTimeout(timer);
    clearTimeout(deadline);
    reader.releaseLock();
  }
}

/** Reads a stream to its end, or throws `tooBig()` past `maxBytes` (the stream is cancelled). */
async function readCapped(
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
  tooBig: () => Error,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = stream.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooBig();
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return bytes;
}

/** A names list over the size limit; `size` says what was seen of it. */
function tooLarge(what: string, size: string, maxBytes: number): NinjagradError {
  return new NinjagradError(
    `${what} ${size}: more than the ${maxBytes.toLocaleString("en")} bytes a names list may ` +
      "hold (NINJAGRAD_MAX_NAMES_BYTES raises the limit); nothing was kept",
  );
}

function seconds(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** What a file that is neither regular nor a directory is, in words. */
function specialKind(info: Deno.FileInfo): string {
  if (info.isFifo) return "a FIFO (named pipe)";
  if (info.isCharDevice) return "a character device";
  if (info.isBlockDevice) return "a block device";
  if (info.isSocket) return "a socket";
  return "a special file";
}

function defaultCacheDir(): string {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  if (xdg) return join(xdg, "ninjagrad");
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE");
  if (home) return join(home, ".cache", "ninjagrad");
  throw new NinjagradError("no cache directory for downloads: set XDG_CACHE_HOME or HOME");
}

/** fetch's own message is only "fetch failed"; the cause says why (DNS, refused, TLS...). */
function fetchReason(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return oneLine(cause).replace(/^error sending request for url \([^)]*\): /, "");
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s+/g, " ").trim();
}
