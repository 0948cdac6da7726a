/**
 * The public API's documentation: `deno doc --lint mod.ts` must pass, so every exported symbol
 * and member keeps its JSDoc and public types reference only exported types.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

Deno.test("deno doc --lint mod.ts passes: the public API is documented", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--lint", "mod.ts"],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  const output = decoder.decode(stdout) + decoder.decode(stderr);
  assert.equal(code, 0, `deno doc --lint mod.ts failed:\n${output}`);
});
