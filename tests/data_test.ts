import assert from "node:assert/strict";
import { mulberry32 } from "../exercises/rng/mulberry32.ts";
import { join } from "node:path";
import {
  buildExamples,
  buildVocab,
  LECTURE_NAMES_SHA256,
  lectureNames,
  loadNames,
  sha256Hex,
  splitWords,
} from "../exercises/data.ts";
import { NinjagradError } from "../ops/kernels/errors.ts";

const NAMES = new URL("../exercises/data/names.txt", import.meta.url);
/** The lecture's figure, written out here so that a changed constant in the code is caught. */
const NAMES_SHA256 = "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d";
const identity = (_: string[]) => {};

/** Seeded Fisher–Yates (mulberry32), so the shuffled tests are deterministic. */
function seededShuffle(seed: number): (arr: string[]) => void {
  const rand = mulberry32(seed);
  return (arr) => {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [arr[i], arr[j]] = [arr[j], arr[i]];
    }
  };
}

/** Write `content` to a fresh temp file and return its path. */
async function tempNames(content: string | Uint8Array): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".txt" });
  if (typeof content === "string") await Deno.writeTextFile(path, content);
  else await Deno.writeFile(path, content);
  return path;
}

/** Assert that loading rejects with a one-line NinjagradError matching every pattern. */
async function rejectsWith(load: Promise<unknown>, ...patterns: RegExp[]): Promise<string> {
  let caught: unknown;
  await load.catch((err) => (caught = err));
  assert.ok(caught instanceof NinjagradError, `expected NinjagradError, got ${caught}`);
  assert.equal(caught.exitCode, 1);
  assert.ok(!caught.message.includes("\n"), `message must be one line: ${caught.message}`);
  for (const p of patterns) assert.match(caught.message, p);
  return caught.message;
}

// --- the lecture's names.txt ---

Deno.test("names.txt is the lecture's file: 32,033 words", async () => {
  assert.equal(await sha256Hex(await Deno.readFile(NAMES)), NAMES_SHA256);
  const words = await loadNames(NAMES);
  assert.equal(words.length, 32033);
  assert.deepEqual(words.slice(0, 3), ["emma", "olivia", "ava"]);
  assert.equal(words.at(-1), "zzyzx");
});

Deno.test("the vocabulary is '.' then a..z: 27 symbols", async () => {
  const { itos, stoi } = buildVocab(await loadNames(NAMES));
  assert.equal(itos.length, 27);
  assert.equal(itos.join(""), ".abcdefghijklmnopqrstuvwxyz");
  assert.equal(stoi.get("."), 0);
  assert.equal(stoi.get("a"), 1);
  assert.equal(stoi.get("z"), 26);
});

Deno.test("every name gives len+1 examples", async () => {
  const words = await loadNames(NAMES);
  const vocab = buildVocab(words);
  const { train, val, test } = splitWords(words, identity);
  assert.deepEqual([train.length, val.length, test.length], [25626, 3203, 3204]);
  assert.deepEqual([...train, ...val, ...test], words);
  const counts = [train, val, test].map((ws) => buildExamples(ws, vocab, 3).n);
  const expected = [train, val, test].map((ws) => ws.reduce((s, w) => s + w.length + 1, 0));
  assert.deepEqual(counts, expected);
  assert.equal(counts[0] + counts[1] + counts[2], 228146);
});

Deno.test("emma: the context starts at '...' and shifts left after each target", () => {
  const vocab = buildVocab(["emma"]);
  const { X, Y, n, blockSize } = buildExamples(["emma"], vocab, 3);
  assert.equal(n, 5);
  assert.equal(blockSize, 3);
  const rows = Array.from(
    { length: n },
    (_, i) =>
      [...X.subarray(i * 3, i * 3 + 3)].map((ix) => vocab.itos[ix]).join("") + " -> " +
      vocab.itos[Y[i]],
  );
  assert.deepEqual(rows, ["... -> e", "..e -> m", ".em -> m", "emm -> a", "mma -> ."]);
});

Deno.test("a longer context still starts all '.'", () => {
  const vocab = buildVocab(["ab"]);
  const { X, Y, n } = buildExamples(["ab"], vocab, 5);
  assert.equal(n, 3);
  assert.deepEqual([...X], [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 2]);
  assert.deepEqual([...Y], [1, 2, 0]);
});

Deno.test("a shuffled split keeps every word and every example", async () => {
  const words = await loadNames(NAMES);
  const before = words.slice();
  const vocab = buildVocab(words);
  const { train, val, test } = splitWords(words, seededShuffle(42));
  assert.deepEqual(words, before, "the caller's array must not be shuffled");
  assert.deepEqual([train.length, val.length, test.length], [25626, 3203, 3204]);
  assert.notDeepEqual(train.slice(0, 10), words.slice(0, 10));
  assert.deepEqual([...train, ...val, ...test].sort(), before.slice().sort());
  const total = [train, val, test].reduce((s, ws) => s + buildExamples(ws, vocab, 3).n, 0);
  assert.equal(total, 228146);
});

Deno.test("buildExamples names a character missing from the vocabulary", () => {
  assert.throws(() => buildExamples(["abc"], buildVocab(["ab"]), 3), NinjagradError);
  assert.throws(() => buildExamples(["ab"], buildVocab(["ab"]), 0), /blockSize/);
});

// --- the default: the lecture's names, shipped in the repository ---

Deno.test("with no source, the names are the lecture's file, in its order", async () => {
  assert.equal(LECTURE_NAMES_SHA256, NAMES_SHA256);
  const words = await loadNames();
  assert.deepEqual(words, lectureNames());
  assert.deepEqual(words, await loadNames(NAMES), "the same names, read from the file by path");
  assert.equal(await sha256Hex(words.join("\n")), NAMES_SHA256, "no name changed or dropped");
});

// --- files ---

Deno.test("a file's lines are trimmed; blank lines, CRLF and a trailing newline are fine", async () => {
  const path = await tempNames("\uFEFFemma\r\n  olivia \n\n\tava\r\n");
  assert.deepEqual(await loadNames(path), ["emma", "olivia", "ava"]);
  assert.deepEqual(await loadNames(new URL(`file://${path}`)), ["emma", "olivia", "ava"]);
  await Deno.remove(path);
});

Deno.test("CR-only line endings (old Mac files) are lines too", async () => {
  const path = await tempNames("emma\rolivia\r\rava\r");
  assert.deepEqual(await loadNames(path), ["emma", "olivia", "ava"]);
  await Deno.remove(path);
});

Deno.test("an HTML page is refused as one, not read as a name", async () => {
  const path = await tempNames("\n  <!DOCTYPE html>\n<html><body>emma</body></html>\n");
  await rejectsWith(loadNames(path), /is an HTML page, not a names list/, /raw text file/);
  await Deno.remove(path);
});

Deno.test("a file over the size limit is refused before it is read", async () => {
  const path = await tempNames("emma\nolivia\nava\n");
  await rejectsWith(
    loadNames(path, { maxBytes: 10 }),
    /holds 16 bytes: more than the 10 bytes a names list may hold/,
  );
  assert.deepEqual(await loadNames(path, { maxBytes: 16 }), ["emma", "olivia", "ava"]);
  await Deno.remove(path);
});

Deno.test("a missing file is named, with what to do", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "nope.txt");
  await rejectsWith(loadNames(path), /nope\.txt not found/, /check the path/);
  await Deno.remove(dir);
});

Deno.test("a directory is not a names file", async () => {
  const dir = await Deno.makeTempDir();
  await rejectsWith(loadNames(dir), new RegExp(`${dir} is a directory`));
  await Deno.remove(dir);
});

Deno.test({
  name: "an unreadable file says permission denied",
  ignore: Deno.build.os === "windows" || Deno.uid() === 0, // root reads a chmod 000 file anyway
  fn: async () => {
    const path = await tempNames("emma\n");
    await Deno.chmod(path, 0o000);
    await rejectsWith(loadNames(path), /permission denied/, /make it readable/);
    await Deno.remove(path);
  },
});

Deno.test("without --allow-read the message says which flag to add; the default still loads", async () => {
  const path = await tempNames("emma\n");
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(
    script,
    `import { loadNames } from ${
      JSON.stringify(new URL("../exercises/data.ts", import.meta.url).href)
    };
    await loadNames(${JSON.stringify(path)}).catch((e) => console.log(e.name + ": " + e.message));
    console.log("default:", (await loadNames()).length);`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      script,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(script);
  await Deno.remove(path);
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.match(text, /NinjagradError: names file .* cannot be read: run deno with --allow-read/);
  assert.match(text, /default: 32033/, "the lecture's names load with no read permission");
});

Deno.test("an empty file (or only blank lines) has no names", async () => {
  for (const content of ["", "\n  \n\r\n"]) {
    const path = await tempNames(content);
    await rejectsWith(loadNames(path), /has no names/, /one name per line/);
    await Deno.remove(path);
  }
});

Deno.test("a name with '.' is refused: it is the start/end token", async () => {
  const path = await tempNames("emma\n\nj.r.\nava\n");
  await rejectsWith(loadNames(path), /line 3/, /"j\.r\."/, /start\/end token/);
  await Deno.remove(path);
  assert.throws(() => buildVocab(["a.b"]), /start\/end token/);
});

Deno.test("bytes that are not UTF-8 text name their line", async () => {
  const bytes = new Uint8Array([...new TextEncoder().encode("emma\nolivia\nav"), 0xff, 0x61]);
  const path = await tempNames(bytes);
  await rejectsWith(loadNames(path), /line 3 is not valid UTF-8/);
  await Deno.remove(path);
});

Deno.test("control characters name their line", async () => {
  const path = await tempNames("emma\nol\u0000ivia\n");
  await rejectsWith(loadNames(path), /line 2 contains control character U\+0000/);
  await Deno.remove(path);
});

// --- URLs ---

/** Serve `routes` on 127.0.0.1 at a free port for the duration of `body`. */
async function withServer(
  routes: Record<string, string>,
  body: (base: string, hits: Map<string, number>) => Promise<void>,
): Promise<void> {
  const hits = new Map<string, number>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    return path in routes
      ? new Response(routes[path])
      : new Response("not here", { status: 404, statusText: "Not Found" });
  });
  try {
    await body(`http://127.0.0.1:${server.addr.port}`, hits);
  } finally {
    await server.shutdown();
  }
}

Deno.test("a URL is downloaded once, then read from the cache", async () => {
  const cacheDir = await Deno.makeTempDir();
  let url = "";
  await withServer({ "/names.txt": "emma\nolivia\nava\n" }, async (base, hits) => {
    url = `${base}/names.txt`;
    assert.deepEqual(await loadNames(url, { cacheDir }), ["emma", "olivia", "ava"]);
    assert.deepEqual(await loadNames(url, { cacheDir }), ["emma", "olivia", "ava"]);
    assert.equal(hits.get("/names.txt"), 1, "the second load must come from the cache");
  });
  // The server is gone: only the cache can answer now.
  assert.deepEqual(await loadNames(url, { cacheDir }), ["emma", "olivia", "ava"]);
  const files = [...Deno.readDirSync(cacheDir)].map((e) => e.name);
  assert.deepEqual(files, [`${(await sha256Hex(url)).slice(0, 16)}-names.txt`], "no temp files");
  await Deno.remove(cacheDir, { recursive: true });
});

Deno.test("a URL that answers 404 says so, and nothing is cached", async () => {
  const cacheDir = await Deno.makeTempDir();
  await withServer({}, async (base) => {
    await rejectsWith(
      loadNames(`${base}/missing.txt`, { cacheDir }),
      /could not download names from http:\/\/127\.0\.0\.1:\d+\/missing\.txt/,
      /HTTP 404/,
      /check the URL/,
    );
  });
  assert.equal([...Deno.readDirSync(cacheDir)].length, 0);
  await Deno.remove(cacheDir, { recursive: true });
});

Deno.test("a bad download is refused and not cached", async () => {
  const cacheDir = await Deno.makeTempDir();
  await withServer({ "/bad.txt": "emma\nj.r.\n" }, async (base) => {
    await rejectsWith(loadNames(`${base}/bad.txt`, { cacheDir }), /line 2/, /start\/end token/);
  });
  assert.equal([...Deno.readDirSync(cacheDir)].length, 0);
  await Deno.remove(cacheDir, { recursive: true });
});

Deno.test("a server that is not there gives a network error naming the URL", async () => {
  const cacheDir = await Deno.makeTempDir();
  let url = "";
  await withServer({}, (base) => {
    url = `${base}/names.txt`;
    return Promise.resolve();
  });
  await rejectsWith(loadNames(url, { cacheDir }), /could not download names from http/, /network/);
  await Deno.remove(cacheDir, { recursive: true });
});
