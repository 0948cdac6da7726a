/**
 * The training charts' captions, computed from the run's own numbers: what the loss did, how big
 * the gap between the splits is (and whether that is overfitting at all), which parameters step
 * inside the 1e-3 band, how saturated the tanh layers are. A caption never claims what the data
 * does not show.
 */
import { fmt } from "./spec.ts";
import type { Histogram } from "./stats.ts";
import type { TrainingTrace } from "./trace.ts";
import type { ParamStat } from "./charts/params.ts";

/** A gap between val and train loss below this share of the train loss is no sign of anything. */
const SMALL_GAP = 0.01;
/** Above this share the val loss is clearly worse: the model fits its training data better. */
const LARGE_GAP = 0.05;

/** The loss chart's caption: start, end, the lr drops, and the gap between the splits. */
export function lossCaption(trace: TrainingTrace): string {
  if (trace.steps === 0) return "No steps were run.";
  const first = trace.loss[0];
  // The geometric mean of the last 1 % of steps (at least one) stands for the end.
  const n = Math.max(1, Math.floor(trace.steps / 100));
  let s = 0;
  for (let i = trace.steps - n; i < trace.steps; i++) s += Math.log10(trace.loss[i]);
  const end = 10 ** (s / n);
  const parts = [
    `The minibatch loss went from ${first.toFixed(3)} at the first step to about ` +
    `${end.toFixed(3)} over the last ${n.toLocaleString("en")} step${n > 1 ? "s" : ""}` +
    (end < first ? "" : " (it did not fall: try another learning rate)") + ".",
  ];
  const drops = trace.lrChanges.slice(1);
  if (drops.length) {
    parts.push(
      `The learning rate changed at step ${
        drops.map((d) => d.step.toLocaleString("en")).join(", ")
      }, where the line steps down if the larger rate was bouncing around the minimum.`,
    );
  }
  const last = trace.evals.at(-1);
  if (last) {
    const gap = last.val - last.train, share = gap / last.train;
    const pct = `${(100 * Math.abs(share)).toFixed(1)}%`;
    parts.push(
      `At the end val ${last.val.toFixed(4)} vs train ${last.train.toFixed(4)}: ` +
        (share < -SMALL_GAP
          ? `val is ${pct} lower than train (an easier val split, or noise in the estimate).`
          : Math.abs(share) <= SMALL_GAP
          ? `a gap of ${Math.abs(gap).toFixed(4)} (${pct}), too small to call overfitting.`
          : share <= LARGE_GAP
          ? `val is ${pct} higher, a small gap: the net fits its training data a little better.`
          : `val is ${pct} higher: the net fits its training data clearly better than new ` +
            "data — overfitting; more data, a smaller net or regularisation narrows it."),
    );
  }
  return parts.join(" ");
}

/** The update:data chart's caption: which parameters end inside, below or above the band. */
export function updateRatioCaption(trace: TrainingTrace, noise: readonly string[]): string {
  const last = new Map<string, number>();
  for (const s of trace.samples) {
    if (s.updateRatio !== null && !noise.includes(s.name)) last.set(s.name, s.updateRatio);
  }
  if (last.size === 0) return "No update was measured.";
  const inBand: string[] = [], below: string[] = [], above: string[] = [];
  for (const [name, r] of last) (r < -3.5 ? below : r > -2.5 ? above : inBand).push(name);
  const list = (xs: string[]) => xs.join(", ");
  return "Each line is the change the optimizer made to a parameter against the parameter's " +
    "own spread. At the last measured step " +
    [
      inBand.length ? `${list(inBand)} ${inBand.length > 1 ? "are" : "is"} in the band` : "",
      below.length
        ? `${list(below)} ${below.length > 1 ? "are" : "is"} below it (learning slowly)`
        : "",
      above.length
        ? `${list(above)} ${above.length > 1 ? "are" : "is"} above it (large steps)`
        : "",
    ].filter((x) => x).join("; ") + ".";
}

/** The activation histograms' caption: saturation of each tanh layer. */
export function activationsCaption(layers: readonly Histogram[]): string {
  const tanh = layers.filter((h) => h.saturation !== undefined);
  if (!tanh.length) return "How each layer's values spread.";
  const sat = tanh.map((h) => `${h.name} ${(100 * h.saturation!).toFixed(1)}%`).join(", ");
  const worst = Math.max(...tanh.map((h) => h.saturation!));
  return `Saturated (|h| > 0.97) at this step: ${sat}. ` +
    (worst > 0.05
      ? "Saturated units pass almost no gradient back (tanh' = 1 − h² ≈ 0): a smaller " +
        "initial scale of the layer before brings them back."
      : "Few units sit at ±1, so gradient passes back through the tanh layers.");
}

/** The gradient histograms' caption: how far apart the layers' gradient spreads are. */
export function gradientsCaption(layers: readonly Histogram[]): string {
  const spread = layers.filter((h) => h.stats.std > 0);
  if (spread.length < 2) return "How each layer's gradient spreads.";
  const lo = spread.reduce((a, b) => (b.stats.std < a.stats.std ? b : a));
  const hi = spread.reduce((a, b) => (b.stats.std > a.stats.std ? b : a));
  const decades = Math.log10(hi.stats.std / lo.stats.std);
  return `The gradient's std runs from ${fmt(lo.stats.std)} (d${lo.name}) to ` +
    `${fmt(hi.stats.std)} (d${hi.name}), ${decades.toFixed(1)} decades apart` +
    (decades > 2
      ? ": layers that far apart learn at very different speeds."
      : ": no layer's gradient vanishes or explodes against the others.") +
    " The count axis is logarithmic, so that a tail of few elements shows.";
}

/** The per-parameter chart's caption: which parameter gets the least and the most gradient. */
export function paramsCaption(params: readonly ParamStat[]): string {
  const real = params.filter((p) => p.grad && p.grad.meanAbs > 0 && !p.roundingNoise);
  if (real.length < 2) return CAPTION_PARAMS;
  const by = [...real].sort((a, b) => a.grad!.meanAbs - b.grad!.meanAbs);
  const [lo, hi] = [by[0], by.at(-1)!];
  const noise = params.filter((p) => p.roundingNoise).map((p) => p.name);
  return `${CAPTION_PARAMS} Least gradient reaches ${lo.name} (mean |grad| ${
    fmt(lo.grad!.meanAbs)
  }), most ${hi.name} (${fmt(hi.grad!.meanAbs)})` +
    (noise.length ? `; ${noise.join(", ")}: rounding noise of a true zero.` : ".");
}

const CAPTION_PARAMS = "One row per parameter: far left on an axis means it barely learns; on " +
  "update:data, the shaded band around 1e-3 is a healthy step.";
