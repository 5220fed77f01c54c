import { fileURLToPath } from "node:url"

/** Fixture runtime modules: the reference FedAvg runtime, one missing `template`, one whose template throws. */
export const fixture = (name: "good" | "missing-export" | "throwing-template"): string =>
  fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))

export const GOOD_MODULE = fileURLToPath(new URL("../fixtures/good/secure_runtime_service.js", import.meta.url))

export const DATASET2GW = {
  "dataset-a_gateway-1_org-1": "gateway-1",
  "dataset-b_gateway-2_org-2": "gateway-2"
} as const

export const VALID = { optimizer_name: "adam", learning_rate: 0.05, num_federation_rounds: 2 } as const

export const SAMPLES = [
  { optimizer_name: "adam" },
  { optimizer_name: "sgd", learning_rate: 0.5, num_federation_rounds: 3, run_name: "a run" }
] as const
