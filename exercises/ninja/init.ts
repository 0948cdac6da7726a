/** `ninja init`: the learner's blank file written into a folder, never over an existing one. */
import { join } from "node:path";
import { NinjagradError } from "../../ops/kernels/errors.ts";
import { type ExerciseNumber, EXERCISES } from "./exercises.ts";
import { learnerTemplate } from "./template.ts";

/** Writes exercise `n`'s blank file into DIR (made if missing); refuses to overwrite one. */
export async function initLearnerFile(dir: string, n: ExerciseNumber = 1): Promise<string> {
  const path = join(dir, EXERCISES[n].file);
  const info = await Deno.stat(dir).catch(() => undefined);
  if (info !== undefined && !info.isDirectory) {
    throw new NinjagradError(
      `cannot init ${dir}: it is a file, not a directory; name a new or existing directory ` +
        `(ninja init writes DIR/${EXERCISES[n].file} into it)`,
    );
  }
  try {
    await Deno.mkdir(dir, { recursive: true });
    // createNew fails if the file exists, atomically: a learner's work is never overwritten.
    await Deno.writeTextFile(path, learnerTemplate(n), { createNew: true });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) {
      throw new NinjagradError(
        `${path} already exists; nothing was written. Check it with deno task ninja check ${path}, ` +
          "or init another directory",
      );
    }
    throw new NinjagradError(`cannot write ${path}: ${(e as Error).message.split("\n")[0]}`);
  }
  return path;
}
