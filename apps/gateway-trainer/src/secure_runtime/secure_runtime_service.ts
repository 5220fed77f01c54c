/**
 * The Secure Runtime module of the reference model (the platform contract's `secure_runtime_service`): `parse`,
 * `validate` and `template` for payloads like `{"optimizer_name": "adam", "learning_rate": 0.01,
 * "num_federation_rounds": 10}`. Every field is exact and bounded; `template` fills the FLARE 2.9 configs in
 * `templates/` (FedAvg + NPModelPersistor, and the ClientAPIExecutor that runs the bridge) from the payload and
 * `dataset2gw`, never by splicing text.
 *
 * The job it renders holds configs only: the bridge and the trainer come with the model image (on the trainer's
 * `PYTHONPATH`, hence `python3 -m fedkit_bridge`), or in the job's `custom/` folder for a simulation
 * (see `FlareJob.forSimulation`).
 *
 * @since 0.1.0
 */
import { Edit, Executors, Job, Persistors, Workflows } from "@fedkit/flare-config"
import { Dataset2Gw, defineRuntime, TemplateFolder } from "@fedkit/runtime-core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Bridge from "../Bridge.js"
import * as LocalRound from "../LocalRound.js"
import * as ModelVector from "../ModelVector.js"
import * as Optimizer from "../Optimizer.js"

/**
 * More rounds than this is not a job for a 31-parameter model.
 *
 * @since 0.1.0
 */
export const MAX_FEDERATION_ROUNDS = 100

const bounded = (max: number, description: string) =>
  Schema.Int.pipe(Schema.between(1, max)).annotations({ description: `${description}: an integer from 1 to ${max}` })

/**
 * @since 0.1.0
 */
export const Payload = Schema.Struct({
  optimizer_name: Optimizer.OptimizerName,
  learning_rate: Schema.optionalWith(
    Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThanOrEqualTo(LocalRound.limits.learningRate)).annotations({
      description: `the learning rate: a number greater than 0 and at most ${LocalRound.limits.learningRate}`
    }),
    { default: () => 0.01 }
  ),
  num_federation_rounds: Schema.optionalWith(bounded(MAX_FEDERATION_ROUNDS, "training rounds"), { default: () => 10 }),
  local_epochs: Schema.optionalWith(bounded(LocalRound.limits.localEpochs, "local epochs per round"), {
    default: () => 2
  }),
  batch_size: Schema.optionalWith(bounded(LocalRound.limits.batchSize, "the minibatch size"), { default: () => 32 })
}).annotations({ identifier: "Payload" })
/**
 * @since 0.1.0
 */
export type Payload = typeof Payload.Type

/**
 * The trainer's settings a payload asks for.
 *
 * @since 0.1.0
 */
export const settingsOf = (payload: Payload): LocalRound.Settings => ({
  optimizer: payload.optimizer_name,
  learningRate: payload.learning_rate,
  localEpochs: payload.local_epochs,
  batchSize: payload.batch_size
})

const runtime = defineRuntime({
  payload: Payload,
  templates: TemplateFolder.standard(),
  templateFolder: new URL("./templates/", import.meta.url),
  template: (payload, { dataset2gw, minClients, templates }) =>
    Effect.gen(function*() {
      const server = yield* Edit.updateArgs(templates.server, { path: Workflows.FedAvg.path }, {
        num_clients: minClients,
        // Round 0 computes the standardization statistics; the training rounds follow.
        num_rounds: payload.num_federation_rounds + 1
      }).pipe(
        Effect.flatMap(Edit.updateArgs({ path: Persistors.NPModelPersistor.path }, {
          model: Array.from(ModelVector.initial())
        }))
      )
      const client = yield* Edit.updateArgs(templates.client, { path: Executors.ClientAPIExecutor.path }, {
        command: Bridge.command(settingsOf(payload))
      })
      return yield* Job.make({
        meta: { ...templates.meta, deploy_map: Dataset2Gw.deployMapShared(dataset2gw), min_clients: minClients },
        apps: { app: { server, client } }
      })
    })
})

/** @since 0.1.0 */
export default runtime

/**
 * @since 0.1.0
 */
export const { parse, template } = runtime
/**
 * @since 0.1.0
 */
export const validate = (payload: Payload): void => runtime.validate(payload)
