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
  if (/^https?:\/\//i.test(text)) return await loadUrl(text, opts.cacheDir ?? defaultCacheDir());
  const path = /^file:/i.test(text) ? fileURLToPath(text) : text;
  return parseNames(await readNamesFile(path), `names file ${path}`);
}

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
 * vocabulary: bytes that are not UTF-8 text, control characters, and `.` (the start/end token).
 */
function parseNames(bytes: Uint8Array, what: string): string[] {
  const text = decodeOrExplain(bytes, what);
  const names: string[] = [];
  text.split("\n").forEach((raw, i) => {
    const name = raw.trim(); // also drops the \r of CRLF files
    if (name === "") return;
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

async function readNamesFile(path: string): Promise<Uint8Array> {
  const what = `names file ${path}`;
  try {
    if ((await Deno.stat(path)).isDirectory) {
      throw new NinjagradError(`${what} is a directory: pass a text file with one name per line`);
    }
    return await Deno.readFile(path);
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

/** Download once, check, then cache atomically so a failed or bad download is never reused. */
async function loadUrl(url: string, cacheDir: string): Promise<string[]> {
  const base = url.replace(/[?#].*$/, "").split("/").pop()?.replace(/[^\w.-]/g, "") || "names";
  const cached = join(cacheDir, `${(await sha256Hex(url)).slice(0, 16)}-${base}`);
  const cachedBytes = await Deno.readFile(cached).catch(() => undefined);
  if (cachedBytes) {
    return parseNames(cachedBytes, `names downloaded from ${url} (cached at ${cached})`);
  }

  let response: Response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new NinjagradError(
      `could not download names from ${url} (${
        fetchReason(err)
      }): check the URL and the network, ` +
        "or download the file and pass its path",
    );
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new NinjagradError(
      `could not download names from ${url}: HTTP ${response.status} ${response.statusText}; ` +
        "check the URL, or download the file and pass its path",
    );
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  const names = parseNames(bytes, `names downloaded from ${url}`);
  try {
    await Deno.mkdir(cacheDir, { recursive: true });
    const tmp = await Deno.makeTempFile({ dir: cacheDir, prefix: ".download-" });
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, cached); // rename is atomic: readers see the whole file or none
  } catch (err) {
    throw new NinjagradError(
      `could not cache ${url} in ${cacheDir} (${oneLine(err)}): make that directory writable`,
    );
  }
  return names;
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
