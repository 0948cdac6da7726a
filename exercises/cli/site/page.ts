/// <reference lib="dom" />
/**
 * The workbench page: an editor per exercise (the file `ninja init` writes), kept in
 * localStorage; **Check** sends it to a Worker that runs `ninja check`'s judging, and shows the
 * verdict table, the report's text and the verdict graph. A Worker that stays in one rule past
 * the time limit is ended, and the page says which rule it was in.
 * @module
 */
import {
  bracketMatching,
  defaultHighlightStyle,
  defaultKeymap,
  drawSelection,
  EditorState,
  EditorView,
  forEachDiagnostic,
  highlightActiveLine,
  history,
  historyKeymap,
  indentWithTab,
  javascript,
  keymap,
  lineNumbers,
  type LintDiagnostic,
  lintGutter,
  setDiagnostics,
  syntaxHighlighting,
} from "./editor_deps.ts";
import type { Reply, Request } from "./protocol.ts";
import { forClone } from "./clone.ts";

declare const vegaEmbed: (el: HTMLElement, spec: unknown, opts: object) => Promise<unknown>;

const params = new URLSearchParams(location.search);
/** How long one rule may run before the Worker is ended (`?rulelimit=ms` shortens it in tests). */
const RULE_LIMIT_MS = Number(params.get("rulelimit")) || 5000;
/** How long a whole check may take (it builds the exercise's graph on the first one). */
const CHECK_LIMIT_MS = 60_000;
/** How long a training run may go without a word (it sends its charts twice a second). */
const STALL_MS = 10_000;
/** Steps of a training run in the page (`?steps=N`): 4,000 bring the loss under 2.4. */
const TRAIN_STEPS = Number(params.get("steps")) || 4000;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const templates: Record<string, string> = await (await fetch("./templates.json")).json();
let exercise = Number(localStorage.getItem("ninjagrad.exercise")) || 2;
const key = (n: number) => `ninjagrad.exercise${n}.ts`;
const sourceOf = (n: number) => localStorage.getItem(key(n)) ?? templates[n];

const view = new EditorView({ parent: $("editor") });
function load(n: number): void {
  exercise = n;
  localStorage.setItem("ninjagrad.exercise", String(n));
  view.setState(EditorState.create({
    doc: sourceOf(n),
    extensions: [
      lineNumbers(),
      history(),
      drawSelection(),
      highlightActiveLine(),
      bracketMatching(),
      syntaxHighlighting(defaultHighlightStyle),
      javascript({ typescript: true }),
      lintGutter(),
      keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
      EditorView.updateListener.of((u) => {
        if (u.docChanged) localStorage.setItem(key(exercise), u.state.doc.toString());
      }),
    ],
  }));
  for (const b of document.querySelectorAll<HTMLButtonElement>("#exercises button")) {
    b.setAttribute("aria-pressed", String(Number(b.dataset.n) === n));
  }
  $("file").textContent = `exercise${n}.ts`;
  $("train").hidden = n !== 4;
  clear();
}

function clear(): void {
  $("status").textContent = "";
  $("status").className = "";
  $("verdicts").replaceChildren();
  $("report").textContent = "";
  $("graph").replaceChildren();
  $("charts").replaceChildren();
  $("samples").textContent = "";
}

function status(text: string, kind: "ok" | "wrong" | "busy" | "fail"): void {
  $("status").textContent = text;
  $("status").className = kind;
}

/** Marks problems in the editor at their lines. */
function mark(problems: { line: number; column: number; message: string }[]): void {
  const doc = view.state.doc;
  const diagnostics: LintDiagnostic[] = problems.filter((p) => p.line >= 1 && p.line <= doc.lines)
    .map((p) => {
      const line = doc.line(p.line);
      const from = Math.min(line.from + Math.max(0, p.column - 1), line.to);
      return { from, to: line.to, severity: "error", message: p.message };
    });
  view.dispatch(setDiagnostics(view.state, diagnostics));
}

const GLYPH: Record<string, string> = { ok: "✓", wrong: "✗", "not written": "·" };

function showReport(reply: Extract<Reply, { t: "report" }>): void {
  const { data } = reply;
  const rows = data.nodes.map((v) => {
    const tr = document.createElement("tr");
    tr.className = v.status.replace(" ", "-");
    for (const text of [GLYPH[v.status], v.name, v.status, v.detail]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    return tr;
  });
  $("verdicts").replaceChildren(...rows);
  $("report").textContent = reply.text;
  const lines = data.nodes.filter((v) => v.location).map((v) => ({
    line: v.location!.line,
    column: v.location!.column,
    message: `${v.name}: ${v.detail}`,
  }));
  mark(lines);
  const wrong = data.counts.wrong, missing = data.counts["not written"];
  status(
    wrong ? `✗ ${wrong} wrong` : missing ? `${missing} not written yet` : "✓ every gradient agrees",
    wrong ? "wrong" : missing ? "busy" : "ok",
  );
  vegaEmbed($("graph"), reply.graph, { actions: false, renderer: "svg" }).catch((e) => {
    $("graph").textContent = `the verdict graph could not be drawn: ${e}`;
  });
}

let worker: Worker | undefined;
/** The steps at which a run's charts were drawn while it went on (for tests). */
const drawnAt: number[] = [];
function freshWorker(): Worker {
  return new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
}

/** Draws the training charts, each in its place (made on first use), replacing the last. */
function drawCharts(charts: { name: string; spec: unknown }[]): void {
  for (const { name, spec } of charts) {
    let el = document.getElementById(`chart-${name}`);
    if (!el) {
      el = document.createElement("div");
      el.id = `chart-${name}`;
      el.className = "chart";
      $("charts").append(el);
    }
    const place = el;
    // Canvas: thousands of loss points redrawn twice a second cost SVG far more CPU, which the
    // Worker's training shares on a small machine.
    vegaEmbed(place, spec, { actions: false, renderer: "canvas" }).catch((e) => {
      place.textContent = `the chart could not be drawn: ${e}`;
    });
  }
}

/**
 * Sends `request` to the Worker and shows what comes back. The Worker is ended when a rule runs
 * past the limit (the page names it), when a check runs past its own, or when a training run
 * sends nothing for as long.
 */
function run(request: Request): void {
  clear();
  mark([]);
  worker ??= freshWorker();
  const w = worker;
  const started = performance.now();
  let rule: string | null = null, ruleStarted = 0, heard = started, training = false;
  // Training's rules, watched through shared memory: the one running, and since when unchanged.
  let names: string[] = [], seen = "", seenSince = 0;
  const state = request.t === "train" && request.shared
    ? new Int32Array(request.shared)
    : undefined;
  const buttons = document.querySelectorAll<HTMLButtonElement>(".run");
  buttons.forEach((b) => b.disabled = true);
  status(request.t === "check" ? "checking…" : "checking, then training…", "busy");
  const done = () => {
    clearInterval(timer);
    w.onmessage = null;
    w.onerror = null;
    buttons.forEach((b) => b.disabled = false);
  };
  const stop = (text: string) => {
    w.terminate();
    worker = undefined;
    done();
    status(text, "fail");
  };
  const timer = setInterval(() => {
    const now = performance.now();
    if (state && names.length) {
      const index = Atomics.load(state, 0), now_ = `${index} ${Atomics.load(state, 1)}`;
      if (index === 0 || now_ !== seen) [seen, seenSince] = [now_, now];
      else if (now - seenSince > RULE_LIMIT_MS) {
        return stop(
          `✗ stopped: your rule for ${names[index - 1]} ran for more than ` +
            `${RULE_LIMIT_MS / 1000} s while training (an endless loop?); fix it and train again`,
        );
      }
    }
    if (rule !== null && now - ruleStarted > RULE_LIMIT_MS) {
      stop(
        `✗ stopped: your rule for ${rule} ran for more than ${RULE_LIMIT_MS / 1000} s ` +
          "(an endless loop?); fix it and check again",
      );
    } else if (training && now - heard > STALL_MS) {
      stop(`✗ stopped: a training step ran for more than ${STALL_MS / 1000} s`);
    } else if (!training && now - started > CHECK_LIMIT_MS) {
      stop(`✗ stopped: the check ran for more than ${CHECK_LIMIT_MS / 1000} s`);
    }
  }, 100);
  w.onmessage = (e: MessageEvent<Reply>) => {
    const reply = e.data;
    heard = performance.now();
    if (reply.t === "watch") {
      names = reply.names;
      return;
    }
    if (reply.t === "rule") {
      rule = reply.rule;
      ruleStarted = heard;
      return;
    }
    if (reply.t === "report") {
      showReport(reply);
      const ok = reply.data.counts.ok === reply.data.nodes.length;
      if (request.t === "check" || !ok) return done();
      training = true;
      status("✓ every gradient agrees: training…", "busy");
      return;
    }
    if (reply.t === "progress") {
      drawnAt.push(reply.step);
      status(
        `training: step ${reply.step.toLocaleString("en")} of ` +
          `${reply.totalSteps.toLocaleString("en")}, loss ${reply.loss.toFixed(4)}`,
        "busy",
      );
      drawCharts(reply.charts);
      return;
    }
    done();
    if (reply.t === "trained") {
      drawCharts(reply.charts);
      status(
        `✓ trained ${reply.step.toLocaleString("en")} steps with your rules: val ` +
          `${reply.val.toFixed(4)}, train ${reply.train.toFixed(4)}, ` +
          `${reply.msPerStep.toFixed(2)} ms a step`,
        "ok",
      );
      $("samples").textContent = `names sampled from your net: ${reply.samples.join(", ")}`;
      return;
    }
    if (reply.t !== "fail") return;
    status(`✗ ${reply.message}`, "fail");
    mark(reply.diagnostics);
  };
  w.onerror = (e) => {
    e.preventDefault();
    stop(`✗ the page's Worker failed: ${e.message}`);
  };
  w.postMessage(request);
}

function check(): void {
  run({ t: "check", exercise, source: view.state.doc.toString() });
}

function train(): void {
  // Shared memory only where the page is cross-origin isolated (deno task serve's headers).
  const shared = globalThis.crossOriginIsolated ? new SharedArrayBuffer(8) : undefined;
  run({ t: "train", source: view.state.doc.toString(), steps: TRAIN_STEPS, shared });
}

function download(): void {
  localStorage.setItem("ninjagrad.clone", $<HTMLInputElement>("clone").value);
  const text = forClone(view.state.doc.toString(), $<HTMLInputElement>("clone").value);
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
  a.download = `exercise${exercise}.ts`;
  a.click();
  URL.revokeObjectURL(a.href);
}

function reset(): void {
  if (!confirm(`Put exercise ${exercise}'s template back? Your rules for it will be lost.`)) return;
  localStorage.removeItem(key(exercise));
  load(exercise);
}

for (const b of document.querySelectorAll<HTMLButtonElement>("#exercises button")) {
  b.onclick = () => load(Number(b.dataset.n));
}
$("check").onclick = check;
$("train").onclick = train;
$("download").onclick = download;
$<HTMLInputElement>("clone").value = localStorage.getItem("ninjagrad.clone") ?? "";
$("reset").onclick = reset;
load(exercise);
/**
 * Times `deno task bench`'s exercise-4 step in a Worker of its own: each repeat's wall-clock ms
 * per step (from the console: `await site.bench()`).
 */
function bench(steps = 500, repeats = 5, warmup = 3000): Promise<number[]> {
  const w = freshWorker();
  return new Promise((resolve, reject) => {
    w.onmessage = (e: MessageEvent<Reply>) => {
      w.terminate();
      if (e.data.t === "bench") resolve(e.data.wallMsPerStep);
      else reject(new Error(e.data.t === "fail" ? e.data.message : e.data.t));
    };
    w.postMessage({ t: "bench", steps, repeats, warmup } satisfies Request);
  });
}

/** The lines the editor marks as wrong now, and their messages. */
function marked(): { line: number; message: string }[] {
  const out: { line: number; message: string }[] = [];
  forEachDiagnostic(view.state, (d, from) => {
    out.push({ line: view.state.doc.lineAt(from).number, message: d.message });
  });
  return out;
}

/** For tests and the console: the editor's view, what it marks, and Check. */
(globalThis as unknown as { site: object }).site = { view, check, train, marked, bench, drawnAt };
