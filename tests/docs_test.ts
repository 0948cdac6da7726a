/**
 * The public APIs' documentation: `deno doc --lint` must pass on both entry points, the engine's
 * (mod.ts) and the charts' (viz/mod.ts), so that every exported symbol and member keeps its JSDoc
 * and public types reference only exported types.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Runs `deno doc --lint` on an entry point; fails with the linter's output. */
async function assertDocLintPasses(entry: string): Promise<void> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--lint", entry],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  const output = decoder.decode(stdout) + decoder.decode(stderr);
  assert.equal(code, 0, `deno doc --lint ${entry} failed:\n${output}`);
}

Deno.test("deno doc --lint mod.ts passes: the public API is documented", async () => {
  await assertDocLintPasses("mod.ts");
});

Deno.test("deno doc --lint viz/mod.ts passes: the charts' API is documented", async () => {
  await assertDocLintPasses("viz/mod.ts");
});
