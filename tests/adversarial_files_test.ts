/**
 * Files the project writes beside a user's files never touch them: the lock `.FILE.lock`, the
 * temp files swept beside `--save FILE` and the chart files are never followed through a
 * symbolic link, and nothing the project did not create is removed or replaced. Each case: the
 * exit code, one line, and the user's file as it was.
 */
import assert from "node:assert/strict";
import { loadCheckpoint } from "../exercises/checkpoint.ts";
import { NinjagradError } from "../ops/kernels/errors.ts";
import { writeCharts } from "../viz/export.ts";
import { assertOneLine, lectureNames, runCommand, scratchDir } from "./helpers.ts";

const at = await scratchDir("ninjagrad-files-");
const DATA = at("names.txt");
await Deno.writeTextFile(DATA, (await lectureNames(100)).join("\n") + "\n");
const RUN = ["--data", DATA, "--hidden", "8", "--steps", "5", "--quiet"];
const linux = Deno.build.os === "linux";
const MINE = "a user's own file: keep me\n";

Deno.test("a .FILE.lock that is a symbolic link to a user's file: refused, the file unchanged", async () => {
  const mine = at("precious.txt"), save = at("a.ckpt");
  await Deno.writeTextFile(mine, MINE);
  await Deno.symlink(mine, at(".a.ckpt.lock"));
  const out = await runCommand("train", [...RUN, "--save", save]);
  assertOneLine(
    out,
    1,
    /cannot save to .*a\.ckpt: its lock file .*\.a\.ckpt\.lock is a symbolic link \(to .*precious\.txt\), not a lock a run made; it was left as it is: remove it yourself, or --save another file$/,
  );
  assert.equal(await Deno.readTextFile(mine), MINE);
  assert.ok(Deno.lstatSync(at(".a.ckpt.lock")).isSymlink, "the link is still there");
  assert.throws(() => Deno.lstatSync(save), Deno.errors.NotFound, "nothing was trained or saved");
});

Deno.test({
  name: "a .FILE.lock that is a FIFO: one line, no stack, the FIFO left as it is",
  ignore: !linux,
  fn: async () => {
    const fifo = at(".b.ckpt.lock");
    await new Deno.Command("mkfifo", { args: [fifo] }).output();
    const out = await runCommand("train", [...RUN, "--save", at("b.ckpt")]);
    assertOneLine(out, 1, /its lock file .*\.b\.ckpt\.lock is a FIFO \(named pipe\), not a lock/);
    assert.ok(Deno.lstatSync(fifo).isFifo);
  },
});

Deno.test("a .FILE.lock holding someone's text is not taken over; a dead run's lock is", async () => {
  await Deno.writeTextFile(at(".c.ckpt.lock"), MINE);
  const refused = await runCommand("train", [...RUN, "--save", at("c.ckpt")]);
  assertOneLine(
    refused,
    1,
    /its lock file .* is a file that holds "a user's own fil", not a lock a run made/,
  );
  assert.equal(await Deno.readTextFile(at(".c.ckpt.lock")), MINE);
  // What a run killed by -9 leaves: its process id. That lock is free, and taken.
  await Deno.writeTextFile(at(".d.ckpt.lock"), "4242\n");
  const ok = await runCommand("train", [...RUN, "--save", at("d.ckpt")]);
  assert.equal(ok.code, 0, ok.stderr.join("\n"));
  assert.equal((await loadCheckpoint(at("d.ckpt"))).step, 5);
  assert.throws(() => Deno.lstatSync(at(".d.ckpt.lock")), Deno.errors.NotFound, "removed at end");
});

Deno.test("the temp sweep removes only the project's own temp files, never a user's", async () => {
  const save = at("e.ckpt");
  const users = {
    ".e.ckpt.mine.tmp": MINE, // the case: a name the project never makes
    ".e.ckpt.0123456789abcdef.tmp": MINE, // the project's kind of name, someone else's content
  };
  for (const [name, text] of Object.entries(users)) await Deno.writeTextFile(at(name), text);
  await Deno.symlink(at("names.txt"), at(".e.ckpt.fedcba9876543210.tmp"));
  await Deno.writeTextFile(at(".e.ckpt.00000000deadbeef.tmp"), '{"format":"ninjagrad-checkpo');
  const out = await runCommand("train", [...RUN, "--save", save]);
  assert.equal(out.code, 0, out.stderr.join("\n"));
  assert.match(
    out.stderr.join("\n"),
    /^removed 1 temp file that a run killed while saving left beside .*e\.ckpt \(\.e\.ckpt\.00000000deadbeef\.tmp\)$/m,
  );
  for (const [name, text] of Object.entries(users)) {
    assert.equal(await Deno.readTextFile(at(name)), text, `${name} kept`);
  }
  assert.ok(Deno.lstatSync(at(".e.ckpt.fedcba9876543210.tmp")).isSymlink, "the link kept");
  assert.ok((await Deno.readTextFile(DATA)).startsWith("emma\n"), "its target untouched");
});

Deno.test("--charts DIR whose report.html is a symbolic link: refused before training", async () => {
  const dir = at("charts"), mine = at("page.html");
  await Deno.mkdir(dir);
  await Deno.writeTextFile(mine, MINE);
  await Deno.symlink(mine, `${dir}/report.html`);
  const out = await runCommand("train", [...RUN.filter((a) => a !== "--quiet"), "--charts", dir]);
  assertOneLine(
    out,
    1,
    /cannot write chart file .*charts\/report\.html: it is a symbolic link \(to .*page\.html\), which charts never write through or replace; remove it, or write the charts to another folder$/,
  );
  assert.equal(await Deno.readTextFile(mine), MINE);
});

Deno.test("writeCharts refuses a chart file that is a link before writing any file", async () => {
  const dir = at("charts2"), mine = at("figure.svg");
  await Deno.mkdir(dir);
  await Deno.writeTextFile(mine, MINE);
  await Deno.symlink(mine, `${dir}/b.svg`);
  const spec = { mark: "point", data: { values: [{ x: 1 }] }, encoding: {} };
  await assert.rejects(
    () => writeCharts(dir, [{ name: "a", spec }, { name: "b", spec }] as never),
    (e: unknown) =>
      e instanceof NinjagradError &&
      /b\.svg: it is a symbolic link \(to .*figure\.svg\)/.test(e.message),
  );
  assert.equal(await Deno.readTextFile(mine), MINE);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["b.svg"], "nothing written");
});
