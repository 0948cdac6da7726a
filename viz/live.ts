/**
 * The live view: a page on 127.0.0.1 that draws a training run while it goes on. `openLive`
 * starts the server (in a worker: viz/live_worker.ts) and `follow` subscribes to the run's
 * Observable of trace events (viz/trace.ts), collecting it as `--charts` does; four times a second
 * what is new goes to every open page over Server-Sent Events: the loss windows and update:data
 * samples to append, the latest histograms and gradient-flow colours to put in place of the old
 * ones. The page (viz/live_page.ts) applies them to the same Vega-Lite specs the static charts
 * use, through Vega changesets on their named datasets, never by drawing a chart anew. A page
 * opened late gets the specs and the changes so far. Everything is served from here, vega's
 * browser builds included: the page asks nothing of the network.
 */
import type { Subscription } from "../graph/deps.ts";
import type { Observable } from "../graph/node.ts";
import { NinjagradError } from "../ops/kernels/errors.ts";
import { CAPTIONS } from "./chart_sets.ts";
import {
  activationsCaption,
  gradientsCaption,
  lossCaption,
  updateRatioCaption,
} from "./captions.ts";
import {
  gradientFlowGraphSpec,
  type GradientRange,
  gradientRange,
  GRAPH_DATA,
  graphNodeData,
} from "./charts/graph_flow.ts";
import { histogramsSpec } from "./charts/histograms.ts";
import { overlaySpec } from "./charts/distributions.ts";
import { paramStatsSpec } from "./charts/params.ts";
import { evalRows, LOSS_DATA, lossBucket, lossRows, lossSpec, lossWindow } from "./charts/loss.ts";
import {
  endLabels,
  lrChangeRows,
  noiseParams,
  RATIO_DATA,
  ratioPanels,
  type RatioRow,
  ratioRows,
  updateRatioSpec,
} from "./charts/training.ts";
import type { ReportFact } from "./report.ts";
import type { VegaLiteSpec } from "./spec.ts";
import { TraceCollector, type TraceEvent, type TrainingTrace } from "./trace.ts";
import type { LiveChart } from "./live_page.ts";
import type { FromWorker, ToWorker } from "./live_worker.ts";

export { LIVE_CHARTS, type LiveChart } from "./live_page.ts";

/** What the server sends a page. */
export type LiveMessage =
  | { type: "spec"; chart: LiveChart; spec: VegaLiteSpec; caption: string }
  | { type: "data"; chart: LiveChart; dataset: string; insert?: object[]; replace?: object[] }
  | { type: "status"; text: string }
  /** A chart's caption, computed from the run once it has ended. */
  | { type: "caption"; chart: LiveChart; text: string }
  | { type: "end"; text: string }
  /** What one flush sends: the page applies a chart's changes together, then draws it once. */
  | { type: "batch"; messages: LiveMessage[] };

/** Options of `openLive` and `serveLive`. */
export interface LiveOptions {
  /** The port on 127.0.0.1 (default 0: a free one, which `url` then names). */
  port?: number;
  /** The page's heading. */
  title?: string;
  /** Lines for the page's header: data, steps, learning rates. */
  facts?: readonly ReportFact[];
  /** Sample the update:data ratio every this many steps (default 100). */
  every?: number;
  /** Send updates this often, in ms (default 250). */
  flushMs?: number;
}

/** A running live view. */
export interface LiveView {
  /** The page's address: `http://127.0.0.1:PORT/`. */
  readonly url: string;
  /** The port on 127.0.0.1 the server listens on (the free one it took when given 0). */
  readonly port: number;
  /** Resolves once the run has ended (completed, failed or stopped) and the pages were told. */
  readonly finished: Promise<void>;
  /** Subscribes to the run's events (pass the stream its other subscribers share): once. */
  follow(events$: Observable<TraceEvent>): void;
  /** Stops following the run, ends every page's stream and stops the server. */
  close(): Promise<void>;
}

/**
 * Starts the live view's server (see the module comment); `follow` then draws a run. Open it
 * before the run starts: its address is known (and printed) before the first step.
 */
export async function openLive(options: LiveOptions = {}): Promise<LiveView> {
  const worker = new Worker(new URL("./live_worker.ts", import.meta.url).href, {
    type: "module",
  });
  const post = (m: ToWorker) => worker.postMessage(m);
  const replies: ((m: FromWorker) => void)[] = [];
  worker.onmessage = (e: MessageEvent<FromWorker>) => replies.shift()?.(e.data);
  const reply = () => new Promise<FromWorker>((resolve) => replies.push(resolve));
  const port = options.port ?? 0;
  post({
    type: "open",
    port,
    title: options.title ?? "ninjagrad: live",
    facts: options.facts ?? [],
  });
  const listening = await reply();
  if (listening.type !== "listening") {
    worker.terminate();
    throw new NinjagradError(
      `cannot serve the live view on 127.0.0.1:${port}: ${
        listening.type === "error" ? listening.message : listening.type
      }; choose another --port (or leave it out for a free one)`,
    );
  }

  const state = new LiveState(options.every ?? 100);
  const send = (messages: LiveMessage[]) => {
    if (messages.length) post({ type: "batch", messages });
  };
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let timer: ReturnType<typeof setInterval> | undefined;
  let subscription: Subscription | undefined;
  const end = (text: string) => {
    if (state.ended) return;
    state.ended = true;
    clearInterval(timer);
    send([...state.flush(), ...state.captions(), { type: "end", text }]);
    finish();
  };
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${listening.port}/`,
    port: listening.port,
    finished,
    follow(events$) {
      if (subscription) throw new NinjagradError("a live view follows one run");
      timer = setInterval(() => send(state.flush()), options.flushMs ?? 250);
      subscription = events$.subscribe({
        next: (e) => state.next(e),
        error: (err) => end(`the run failed: ${err instanceof Error ? err.message : err}`),
        complete: () => end(state.finalText()),
      });
    },
    close() {
      closing ??= (async () => {
        subscription?.unsubscribe();
        end(`stopped after ${state.stepsDone().toLocaleString("en")} steps`);
        const closed = reply();
        post({ type: "close" });
        await closed;
        worker.terminate();
      })();
      return closing;
    },
  };
}

/** `openLive`, then `follow(events$)` at once. */
export async function serveLive(
  events$: Observable<TraceEvent>,
  options: LiveOptions = {},
): Promise<LiveView> {
  const view = await openLive(options);
  view.follow(events$);
  return view;
}

/**
 * A spec's named datasets and its layout: the spec as JSON with their rows left out, which says
 * whether new rows can go into the chart already drawn (the same layout) or it needs a new spec.
 */
export function namedDatasets(
  spec: VegaLiteSpec,
): { layout: string; datasets: Map<string, object[]> } {
  const datasets = new Map<string, object[]>();
  const layout = JSON.stringify(spec, (key, value) => {
    if (key === "data" && value && typeof value.name === "string" && Array.isArray(value.values)) {
      datasets.set(value.name, value.values);
      return { name: value.name };
    }
    return value;
  });
  return { layout, datasets };
}

/** What the server knows of the run, and what it has told the pages so far. */
class LiveState {
  ended = false;
  private readonly collector: TraceCollector;
  private totalSteps = 0;
  /** Step events seen (runs count steps from 0 or from 1: counting them is the same either way). */
  private steps = 0;
  private lastEval: (TraceEvent & { type: "eval" | "done" }) | undefined;
  private sentBuckets = 0;
  private sentSamples = 0;
  private sentEvals = 0;
  private sentLr = 0;
  private range: GradientRange | undefined;
  private noise: Set<string> | undefined;
  private ratioRows = new Map<string, RatioRow[]>();
  private snapshot: TrainingTrace["snapshot"];
  private histograms: TrainingTrace["histograms"];
  /** Per chart redrawn from pictures: its spec with the named datasets' rows left out. */
  private readonly layouts = new Map<LiveChart, string>();
  /** The charts whose spec has gone out. */
  private readonly sent = new Set<LiveChart>();

  constructor(every: number) {
    // Histograms and snapshots on request only (each flush asks for the next step's).
    this.collector = new TraceCollector({ every, histogramsEvery: Number.MAX_SAFE_INTEGER });
  }

  next(e: TraceEvent): void {
    this.collector.next(e);
    if (e.type === "step") {
      this.totalSteps = e.totalSteps;
      this.steps++;
    } else this.lastEval = e;
  }

  /** The captions computed from the run (as report.html's), for the charts on the page. */
  captions(): LiveMessage[] {
    const t = this.collector.trace();
    const h = t.histograms;
    const texts: [LiveChart, string | undefined][] = [
      ["loss", t.steps ? lossCaption(t) : undefined],
      ["update_ratio", this.noise ? updateRatioCaption(t, [...this.noise]) : undefined],
      ["activations", h ? activationsCaption(h.activations) : undefined],
      ["gradients", h ? gradientsCaption(h.gradients) : undefined],
    ];
    return texts.flatMap(([chart, text]) =>
      text !== undefined && this.sent.has(chart) ? [{ type: "caption" as const, chart, text }] : []
    );
  }

  stepsDone(): number {
    return this.steps;
  }

  finalText(): string {
    const e = this.lastEval;
    const losses = e ? `: train ${e.train.toFixed(4)}, val ${e.val.toFixed(4)}` : "";
    const how = e?.interrupted ? "stopped" : "finished";
    return `${how} after ${this.stepsDone().toLocaleString("en")} steps${losses}`;
  }

  private status(): LiveMessage {
    const step = this.stepsDone();
    const pct = this.totalSteps ? ` (${((100 * step) / this.totalSteps).toFixed(0)}%)` : "";
    return {
      type: "status",
      text: `step ${step.toLocaleString("en")} of ${this.totalSteps.toLocaleString("en")}${pct}`,
    };
  }

  /** The specs of some charts, data up to `t` inlined. */
  private specs(t: TrainingTrace, charts: readonly LiveChart[]): LiveMessage[] {
    const out: LiveMessage[] = [];
    const spec = (chart: LiveChart, s: () => VegaLiteSpec, caption: string) => {
      if (charts.includes(chart)) out.push({ type: "spec", chart, spec: s(), caption });
    };
    if (t.snapshot && this.range) {
      const range = this.range, snap = t.snapshot;
      spec(
        "graph",
        () => gradientFlowGraphSpec(snap, { range, title: "gradient flow, latest step" }),
        CAPTIONS.gradient_flow_graph,
      );
    }
    spec(
      "loss",
      () => lossSpec(t, { planned: this.totalSteps, fixedTicks: false, live: true }),
      CAPTIONS.loss,
    );
    if (this.noise) {
      const noise = [...this.noise];
      spec(
        "update_ratio",
        () => updateRatioSpec(t, { noise, live: true, planned: this.totalSteps }),
        CAPTIONS.update_ratio,
      );
    }
    return out;
  }

  /** The charts drawn from the latest picture (histograms, overlays, per-parameter dots). */
  private pictureSpecs(t: TrainingTrace, h: NonNullable<TrainingTrace["histograms"]>) {
    const planned = { firstStep: t.firstStep, steps: this.totalSteps };
    const over = t.distributions ?? [];
    const specs: [LiveChart, VegaLiteSpec, string][] = [
      [
        "params",
        paramStatsSpec(t.lastParams, {
          title: "gradient per parameter (latest sample)",
          lr: t.lrChanges.at(-1)?.lr,
        }),
        CAPTIONS.gradient_per_parameter,
      ],
      [
        "activations",
        histogramsSpec(h.activations, "activations, latest step", { over, planned }),
        CAPTIONS.activation_histograms,
      ],
      [
        "gradients",
        histogramsSpec(h.gradients, "gradients of the activations, latest step", {
          over,
          planned,
          logCount: true,
        }),
        CAPTIONS.gradient_histograms,
      ],
      [
        "activation_overlay",
        overlaySpec(h.activations, "every layer's activations, latest step", { live: true }),
        CAPTIONS.activation_overlay,
      ],
      [
        "gradient_overlay",
        overlaySpec(h.gradients, "every layer's gradient, latest step", { live: true }),
        CAPTIONS.gradient_overlay,
      ],
    ];
    return specs.filter(([chart]) => chart !== "params" || t.lastParams.length > 0);
  }

  /** Each picture chart's new spec, or its named datasets' rows to replace. */
  private pictureCharts(
    t: TrainingTrace,
    h: NonNullable<TrainingTrace["histograms"]>,
    data: (chart: LiveChart, dataset: string, rows: object[], replace?: boolean) => void,
  ): LiveMessage[] {
    const out: LiveMessage[] = [];
    for (const [chart, spec, caption] of this.pictureSpecs(t, h)) {
      const { layout, datasets } = namedDatasets(spec);
      if (this.sent.has(chart) && this.layouts.get(chart) === layout) {
        for (const [name, rows] of datasets) data(chart, name, rows, true);
      } else {
        out.push({ type: "spec", chart, spec, caption });
        this.sent.add(chart);
        this.layouts.set(chart, layout);
      }
    }
    return out;
  }

  /** What is new since the last flush, as messages; asks for the next step's pictures. */
  flush(): LiveMessage[] {
    this.collector.requestPicture();
    const t = this.collector.trace();
    if (t.steps === 0) return [];
    if (t.snapshot && !this.range) this.range = gradientRange(t.snapshot);
    if (!this.noise && t.samples.length && t.snapshot) this.noise = new Set(noiseParams(t));
    const out: LiveMessage[] = [this.status()];
    // The last samples' update is measured at the next step: they are sent once it is.
    const pending = t.samples.findIndex((s, k) => k >= this.sentSamples && isNaN(s.updateStd));
    const measured = pending < 0 ? t.samples.length : pending;
    const data = (chart: LiveChart, dataset: string, rows: object[], replace = false) => {
      if (this.sent.has(chart)) {
        out.push({
          type: "data",
          chart,
          dataset,
          ...(replace ? { replace: rows } : { insert: rows }),
        });
      }
    };
    // A chart's first spec carries everything so far; from then on only what is new.
    const fresh: LiveChart[] = [];
    const due = (chart: LiveChart, ready: boolean) => {
      if (ready && !this.sent.has(chart)) fresh.push(chart);
    };
    due("loss", true);
    due("update_ratio", this.noise !== undefined);
    due("graph", t.snapshot !== undefined && this.range !== undefined);
    const h = t.histograms;

    const b = lossBucket(this.totalSteps), tau = lossWindow(this.totalSteps);
    const rows = lossRows(t.loss, t.steps, t.firstStep, b, tau, this.sentBuckets);
    if (rows.raw.length) data("loss", LOSS_DATA.raw, rows.raw);
    if (rows.smooth.length) data("loss", LOSS_DATA.line, rows.smooth);
    if (t.evals.length !== this.sentEvals) data("loss", LOSS_DATA.evals, evalRows(t.evals), true);
    if (t.lrChanges.length !== this.sentLr) {
      data("loss", LOSS_DATA.lr, lrChangeRows(t.lrChanges), true);
      data("update_ratio", RATIO_DATA.lr, lrChangeRows(t.lrChanges), true);
    }
    if (this.noise && this.sent.has("update_ratio") && !fresh.includes("update_ratio")) {
      const rows = ratioRows(t.samples.slice(this.sentSamples, measured));
      for (const p of ratioPanels(t.shapes, this.noise)) {
        const mine = rows.filter((r) => p.group.includes(r.param));
        if (!mine.length) continue;
        data("update_ratio", p.data, mine);
        const all = [...(this.ratioRows.get(p.data) ?? []), ...mine];
        this.ratioRows.set(p.data, all);
        data("update_ratio", `${p.data}_labels`, endLabels(all, p.group, p.height), true);
      }
    }
    if (t.snapshot && t.snapshot !== this.snapshot && !fresh.includes("graph")) {
      const rows = graphNodeData(t.snapshot, this.range!);
      for (const k of Object.keys(GRAPH_DATA) as (keyof typeof GRAPH_DATA)[]) {
        data("graph", GRAPH_DATA[k], rows[k], true);
      }
    }
    // The charts redrawn from each new picture: their rows replaced, or a new spec when their
    // layout changed (a layer more, another axis domain).
    if (h && h !== this.histograms) out.push(...this.pictureCharts(t, h, data));
    out.push(...this.specs(t, fresh));
    for (const c of fresh) this.sent.add(c);
    if (fresh.includes("update_ratio")) {
      for (const p of ratioPanels(t.shapes, this.noise!)) {
        this.ratioRows.set(
          p.data,
          ratioRows(t.samples.slice(0, measured)).filter((r) => p.group.includes(r.param)),
        );
      }
    }
    this.sentBuckets = Math.floor(t.steps / b);
    this.sentEvals = t.evals.length;
    this.sentLr = t.lrChanges.length;
    this.sentSamples = measured;
    this.snapshot = t.snapshot;
    this.histograms = h;
    return out;
  }
}
