/** `ninja init`: the learner's blank file written into a folder, never over an existing one. */
import { join } from "node:path";
import { NinjagradError } from "../../ops/kernels/errors.ts";
import { type ExerciseNumber, EXERCISES } from "./exercises.ts";
import { learnerTemplate } from "./template.ts";

/** Writes exercise `n`'s blank file into DIR (made if missing); refuses to overwrite one. */
export async function initLearnerFile(dir: string, n: ExerciseNumber = 1): Promise<string> {
  const path = join(dir, EXERCISES[n].file);
  let info: Deno.FileInfo | undefined;
  try {
    info = await Deno.stat(dir);
  } catch (e) {
    // Absent is fine (it is made); anything else (a link that loops, no permission) is said.
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new NinjagradError(`cannot init ${dir}: ${reason(e)}${loopHint(e)}`);
    }
  }
  if (info !== undefined && !info.isDirectory) {
    throw new NinjagradError(
      `cannot init ${dir}: it is a file, not a directory; name a new or existing directory ` +
        `(ninja init writes DIR/${EXERCISES[n].file} into it)`,
    );
  }
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (e) {
    throw new NinjagradError(`cannot init ${dir}: ${reason(e)}${loopHint(e)}`);
  }
  let file: Deno.FsFile;
  try {
    // createNew fails if the file exists, atomically: a learner's work is never overwritten.
    file = await Deno.open(path, { write: true, createNew: true });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) {
      throw new NinjagradError(
        `${path} already exists; nothing was written. Check it with deno task ninja check ${path}, ` +
          "or init another directory",
      );
    }
    throw new NinjagradError(`cannot write ${path}: ${reason(e)}${loopHint(e)}`);
  }
  try {
    const bytes = new TextEncoder().encode(learnerTemplate(n));
    for (let at = 0; at < bytes.length;) at += await file.write(bytes.subarray(at));
    await file.syncData();
    file.close();
  } catch (e) {
    // A full disk: the file this call created is removed, so that a retry can write it whole.
    file.close();
    await Deno.remove(path).catch(() => {});
    throw new NinjagradError(`cannot write ${path}: ${reason(e)}; nothing was left behind`);
  }
  return path;
}

/** An OS error in a few words ("No space left on device"). */
function reason(e: unknown): string {
  const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
  return msg.replace(/ \(os error \d+\)/, "").replace(/:? \w+ '[^']*'$/, "").replace(
    /: '[^']*'$/,
    "",
  );
}

/** For ELOOP: what it means. */
function loopHint(e: unknown): string {
  return /os error 40\b|symbolic links/i.test(e instanceof Error ? e.message : String(e))
    ? " (a symbolic link that points back to itself, or a loop of them): name a real directory"
    : "";
}
