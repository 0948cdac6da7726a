/**
 * Weak edges, each met with one line: a flag given twice is refused (never the last one taken
 * silently), every command answers --help, Tensor and Graph arguments of the wrong kind are
 * NinjagradErrors that name the argument (never a bare RangeError or TypeError), and the live
 * server answers only requests addressed to 127.0.0.1, localhost or [::1] on its port (DNS
 * rebinding) and streams to a bounded number of pages, refusing the rest with 503.
 */
import assert from "node:assert/strict";
import { Graph, Tensor } from "../mod.ts";
import { NinjagradError } from "../ops/kernels/errors.ts";
import { openLive } from "../viz/live.ts";
import { MAX_LIVE_CLIENTS } from "../viz/live_worker.ts";
import { runCommand } from "./helpers.ts";

const DUPLICATES: [string, string[], RegExp][] = [
  [
    "train",
    ["--steps", "10", "--steps", "20"],
    /^error: train: --steps is given twice \(--steps 10, then --steps 20\); give it once$/,
  ],
  [
    "train",
    ["--quiet", "--json", "--quiet"],
    /^error: train: --quiet is given twice \(--quiet, then --quiet\); give it once$/,
  ],
  ["train", ["--lr=0.1", "--lr", "0.2"], /--lr is given twice \(--lr 0\.1, then --lr 0\.2\)/],
  [
    "sample",
    ["--checkpoint", "a", "-n", "3", "--count", "4"],
    /sample: --count is given twice \(--count 3, then --count 4\)/,
  ],
  ["ninja", ["check", "x.ts", "--seed", "1", "--seed", "2"], /ninja check: --seed is given twice/],
  ["chart", ["exercise", "1", "--out", "a", "--out", "b"], /chart: --out is given twice/],
  [
    "exercise",
    ["1", "--dtype", "float32", "--dtype", "float64"],
    /exercise 1: --dtype is given twice/,
  ],
];

for (const [cli, args, says] of DUPLICATES) {
  Deno.test(`${cli} ${args.join(" ")} → exit 2, one line: the flag is given twice`, async () => {
    const out = await runCommand(cli, args);
    assert.equal(out.code, 2, out.stderr.join("\n"));
    assert.equal(out.stderr.length, 1, out.stderr.join("\n"));
    assert.match(out.stderr[0], says);
  });
}

const HELP: [string, string[], RegExp][] = [
  ["chart", ["--help"], /^deno task chart exercise N \[--out DIR\]/],
  ["chart", ["exercise", "1", "-h"], /^deno task chart exercise N/],
  ["bench", ["--help"], /^deno task bench \[flags\]:.*\n {2}--json/],
  ["exercise", ["--help"], /^deno task exercise N \[--data PATH\]/],
  ["exercise", ["2", "--help"], /^deno task exercise 2 \[flags\]; its flags: --data VALUE/],
  ["parity", ["--help"], /^deno task parity \[flags\]; its flags: /],
  ["golden", ["--help"], /^deno task golden \[flags\]; its flags: --dump VALUE, --json/],
  ["wasm", ["--help"], /^deno task wasm \[--check\]: /],
  ["train", ["--help"], /^deno task train \[flags\]/],
  ["sample", ["--help"], /^deno task sample --checkpoint FILE/],
  ["ninja", ["--help"], /deno task ninja/],
  ["ninja", ["check", "--help"], /check/],
];

for (const [cli, args, says] of HELP) {
  Deno.test(`${cli} ${args.join(" ")} → exit 0 with its usage on stdout`, async () => {
    const out = await runCommand(cli, args);
    assert.equal(out.code, 0, out.stderr.join("\n"));
    assert.deepEqual(out.stderr, []);
    assert.match(out.stdout, says);
  });
}

Deno.test("wasm with an unknown flag is a usage error, not a rebuild", async () => {
  const out = await runCommand("wasm", ["--chekc"]);
  assert.equal(out.code, 2);
  assert.match(
    out.stderr.join("\n"),
    /^error: wasm: unknown flag --chekc; did you mean --check\?$/,
  );
});

/** Asserts `fn` throws a one-line NinjagradError matching `says`. */
function throwsOneLine(fn: () => unknown, says: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof NinjagradError, `not a NinjagradError: ${e}`);
    assert.ok(!e.message.includes("\n"), e.message);
    assert.match(e.message, says);
    return true;
  });
}

Deno.test("Tensor arguments of the wrong kind: one line naming the argument", () => {
  throwsOneLine(
    () => Tensor.zeros([1e5, 1e5]),
    /^Tensor\.zeros: shape \(100000, 100000\) holds 10,000,000,000 elements, more than a tensor may \(2,147,483,647, the kernels' 32-bit offsets\)$/,
  );
  throwsOneLine(
    () => Tensor.zeros([-1, 3]),
    /^Tensor\.zeros: shape \[-1, 3\] has -1 at axis 0; each size must be a whole number ≥ 0$/,
  );
  throwsOneLine(() => Tensor.zeros([2, 0.5]), /shape \[2, 0\.5\] has 0\.5 at axis 1/);
  throwsOneLine(() => Tensor.zeros([2, NaN]), /has NaN at axis 1/);
  throwsOneLine(
    () => Tensor.zeros([2], "float16" as never),
    /^Tensor\.zeros: dtype "float16" is not one of float32, float64, int32$/,
  );
  throwsOneLine(
    () => Tensor.from(["a"] as never),
    /^Tensor\.from: values\[0\] is "a" \(a string\), not a number: pass numbers, or nested arrays of numbers$/,
  );
  throwsOneLine(() => Tensor.from([[1, 2], [3, {}]] as never), /values\[1\]\[1\] is an object/);
  throwsOneLine(() => Tensor.full([-2], 1), /^Tensor\.zeros: shape \[-2\] has -2 at axis 0/);
  assert.deepEqual(Tensor.zeros([2, 0]).shape, [2, 0], "an empty axis is a shape");
});

Deno.test("graph.set(label, node): one line saying to pass node.value", () => {
  const graph = new Graph();
  const x = graph.input("x", Tensor.from([1, 2]));
  throwsOneLine(
    () => graph.set("x", x as never),
    /^set\(x, value\): value is a Node, not a Tensor: pass the node's value \(node\.value\)$/,
  );
  throwsOneLine(
    () => graph.set("x", [1, 2] as never),
    /^set\(x, value\): value is .*, not a Tensor: pass a Tensor$/,
  );
  graph.set("x", Tensor.from([3, 4])); // the right kind still works
  assert.deepEqual(Array.from(x.value.data), [3, 4]);
});

/** Sends a raw GET with this Host header (fetch would write its own) and reads the status line. */
async function rawGet(port: number, path: string, host: string | undefined) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const head = `GET ${path} HTTP/1.1\r\n${host === undefined ? "" : `Host: ${host}\r\n`}\r\n`;
  await conn.write(new TextEncoder().encode(head));
  const buf = new Uint8Array(4096);
  let text = "";
  while (!text.includes("\r\n\r\n")) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  return { status: Number(text.split(" ")[1]), text, conn };
}

Deno.test({
  name: "the live server answers only its own host names, and streams to a bounded number of pages",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const view = await openLive({ flushMs: 50 });
    const port = view.port;
    const open: Deno.Conn[] = [];
    try {
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
        const r = await rawGet(port, "/", host);
        r.conn.close();
        assert.equal(r.status, 200, `${host}: ${r.text}`);
      }
      for (
        const host of [`evil.example:${port}`, `127.0.0.1:${port + 1}`, "127.0.0.1", undefined]
      ) {
        const r = await rawGet(port, "/events", host);
        r.conn.close();
        // 421 from the server; a request with no Host at all may be refused by HTTP itself (400).
        assert.ok(
          r.status === 421 || (host === undefined && r.status === 400),
          `${host}: ${r.text}`,
        );
      }
      for (let i = 0; i < MAX_LIVE_CLIENTS; i++) {
        const r = await rawGet(port, "/events", `127.0.0.1:${port}`);
        open.push(r.conn);
        assert.equal(r.status, 200, `page ${i + 1}: ${r.text}`);
      }
      const over = await rawGet(port, "/events", `127.0.0.1:${port}`);
      over.conn.close();
      assert.equal(over.status, 503, over.text);
      assert.match(over.text, /at most 32 pages follow a run at once/);
    } finally {
      for (const c of open) c.close();
      await view.close();
    }
  },
});
