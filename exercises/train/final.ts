/**
 * The lecture's ending for a run that was stopped: BatchNorm statistics re-estimated over the
 * whole training set, then the split losses, computed in slices that let the event loop in
 * (a second Ctrl-C is heard while they run). The same bits as a run that ends by itself.
 */
import { bnStatisticsAsync, type BnStats, EvalNet } from "./eval.ts";
import type { TrainData } from "./data.ts";
import type { TrainedModel } from "./trained.ts";

/** Full BatchNorm statistics and the split losses measured with them. */
export interface FinalStatistics {
  bn: BnStats;
  train: number;
  val: number;
}

/** See the module comment. */
export async function finalStatistics(
  model: TrainedModel,
  data: TrainData,
): Promise<FinalStatistics> {
  const bn = await bnStatisticsAsync(model.weights, model.sizes, data.train);
  const net = new EvalNet(model.weights, model.sizes, bn);
  return { bn, train: await net.lossAsync(data.train), val: await net.lossAsync(data.val) };
}
