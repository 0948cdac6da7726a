/**
 * The repository stands alone: it carries its data and fixtures, reads nothing beside itself, and
 * a script in any folder imports the engine and the charts by path with a plain `deno run -A`.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { ROOT } from "./helpers.ts";

/** Every .ts file of the repository (node_modules left out), relative to the root. */
async function sourceFiles(dir = ROOT): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory && entry.name !== "node_modules" && !entry.name.startsWith(".")) {
      out.push(...await sourceFiles(path));
    } else if (entry.isFile && entry.name.endsWith(".ts")) out.push(relative(ROOT, path));
  }
  return out.sort();
}

/** The module specifiers a file imports or re-exports (static and dynamic). */
function specifiers(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s[^;]*?\sfrom\s+"([^"]+)"/gms,
    /^\s*import\s+"([^"]+)"/gm,
    /\bimport\(\s*"([^"]+)"\s*\)/g,
  ];
  for (const p of patterns) for (const m of text.matchAll(p)) found.push(m[1]);
  return found;
}

/** The package of an npm specifier and the specifier without a file path: `npm:vega@6.4.0`. */
function npmBase(spec: string): { pkg: string; base: string } {
  const m = spec.match(/^npm:((?:@[^/]+\/)?[^@/]+)(?:@[^/]+)?/)!;
  return { pkg: m[1], base: m[0] };
}

Deno.test("library code imports npm packages by full specifier, each package in one module, at deno.json's version", async () => {
  const imports: Record<string, string> = JSON.parse(
    await Deno.readTextFile(join(ROOT, "deno.json")),
  ).imports;
  const sites = new Map<string, Set<string>>();
  for (const file of await sourceFiles()) {
    if (file.startsWith("tests/")) continue;
    for (const spec of specifiers(await Deno.readTextFile(join(ROOT, file)))) {
      // Relative and node: imports work anywhere; "${...}" is an import a template writes.
      if (spec.startsWith(".") || spec.startsWith("node:") || spec.startsWith("${")) continue;
      assert.ok(
        spec.startsWith("npm:"),
        `${file} imports "${spec}": a bare specifier resolves only through this repository's ` +
          "deno.json, so a script elsewhere could not import it; write the full npm: specifier",
      );
      const { pkg, base } = npmBase(spec);
      assert.equal(
        base,
        imports[pkg],
        `${file} imports ${spec}; deno.json lists ${pkg} as ${imports[pkg]}`,
      );
      if (!sites.has(pkg)) sites.set(pkg, new Set());
      sites.get(pkg)!.add(file);
    }
  }
  for (const [pkg, files] of sites) {
    assert.equal(files.size, 1, `${pkg} is imported by ${[...files].join(", ")}: keep it in one`);
  }
  assert.ok(sites.has("rxjs") && sites.has("vega"), "the scan found the dependencies");
});

/** The folder beside the repository that a clone does not have, spelt so this file never names it. */
const BESIDE = new RegExp(`\\.\\./${"shared"}\\b`);

Deno.test("no file of the repository reads the shared folder beside it: a clone has nothing there", async () => {
  const offenders: string[] = [];
  for (const file of [...await sourceFiles(), ".ci/run", "deno.json"]) {
    if (BESIDE.test(await Deno.readTextFile(join(ROOT, file)))) offenders.push(file);
  }
  assert.deepEqual(offenders, []);
  assert.ok(BESIDE.test(`readFile("../../${"shared"}/data/names.txt")`), "the check sees a read");
});

Deno.test("the README's script runs from a folder outside the repository with plain deno run -A", async () => {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const script = readme.split("cat > neuron.ts <<'EOF'\n")[1]?.split("\nEOF\n")[0];
  assert.ok(script, "README.md's scripting section writes neuron.ts");
  const dir = await Deno.makeTempDir({ prefix: "ninjagrad-outside-" });
  try {
    assert.ok(!dir.startsWith(ROOT), "the folder lies outside the repository");
    await Deno.writeTextFile(
      join(dir, "neuron.ts"),
      script.replaceAll("/path/to/ninjagrad/", new URL("../", import.meta.url).href),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "-A", "neuron.ts"],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `the outside script failed:\n${stderr}`);
    // d/dx Σ tanh(x) = 1 − tanh²(x)
    const got: number[] = JSON.parse(new TextDecoder().decode(out.stdout).replace(/\s+/g, ""));
    [0.5, -1, 2].forEach((v, i) => {
      const want = 1 - Math.tanh(v) ** 2;
      assert.ok(Math.abs(got[i] - want) < 1e-12, `dx[${i}] ${got[i]} vs ${want}`);
    });
    const png = await Deno.readFile(join(dir, "charts", "flow.png"));
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], "a PNG file");
    assert.ok((await Deno.stat(join(dir, "charts", "report.html"))).size > 100_000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
