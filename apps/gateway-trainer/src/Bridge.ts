/**
 * How FLARE starts the Python bridge on a gateway, and the files the bridge and the trainer ship as. The bridge runs
 * as a module (`python3 -m fedkit_bridge`) so the same command works where the model image puts it on `PYTHONPATH`
 * and where a job carries it in `custom/` (which FLARE puts on the trainer's `PYTHONPATH`). The bridge starts the
 * trainer bundle from its own folder.
 *
 * @since 0.1.0
 */
import type * as LocalRound from "./LocalRound.js"

/**
 * @since 0.1.0
 */
export const MODULE = "fedkit_bridge"
/**
 * @since 0.1.0
 */
export const BRIDGE_FILE = `${MODULE}.py`
/**
 * @since 0.1.0
 */
export const TRAINER_FILE = "fedkit_trainer.mjs"

/**
 * The argv (no shell: each value is one argument) that runs the bridge with a job's training settings.
 *
 * @since 0.1.0
 */
export const command = (settings: LocalRound.Settings): [string, ...Array<string>] => [
  "python3",
  "-u",
  "-m",
  MODULE,
  "--optimizer",
  settings.optimizer,
  "--learning-rate",
  String(settings.learningRate),
  "--local-epochs",
  String(settings.localEpochs),
  "--batch-size",
  String(settings.batchSize)
]
