/**
 * Whole-job checks, run before anything is written, reporting every issue at once with its file and JSON path:
 *
 * - the rules FLARE's `JobMetaValidator` applies at submission (deploy_map forms, `@ALL` alone, `server` deployed,
 *   one app per site, app folders and config files present, `min_clients`, `mandatory_clients`, `resource_spec`
 *   and `launcher_spec` for 2.9);
 * - the rules FLARE applies when the job starts (unique ids, one executor per task, one filter chain per task and
 *   direction, one `ClientAPIExecutor` per client app, workflows are controllers, executors are executors, filters
 *   are filters), which FLARE only reports after deployment;
 * - what FLARE does not check at all: every catalog component's args against its constructor, every reference
 *   (`persistor_id`, `aggregator_id`, …, including FLARE's implicit defaults) names an enabled component of the
 *   right kind, every app is deployed, every component exists in the target release.
 *
 * A few rules are stricter than FLARE; the README lists them.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { checkConfig } from "./internal/checkConfig.js"
import { checkApps, checkMeta } from "./internal/checkMeta.js"
import type { Issues } from "./internal/issues.js"
import { lowerClient } from "./internal/lower28.js"
import { filePath } from "./internal/paths.js"
import * as Issue from "./Issue.js"
import type { FlareJob } from "./Job.js"

/**
 * The job is not valid: every issue found, each with file, JSON path and message.
 *
 * @since 0.1.0
 */
export class JobCheckError extends Schema.TaggedError<JobCheckError>()("JobCheckError", {
  issues: Schema.NonEmptyArray(Issue.Issue)
}) {
  override get message(): string {
    return `FLARE job is not valid (${this.issues.length} issue${this.issues.length === 1 ? "" : "s"}): ${
      Issue.formatAll(this.issues)
    }`
  }
}

// The job as written for its target, and every issue found in it.
const inspect = (job: FlareJob): { readonly prepared: FlareJob; readonly issues: Issues } => {
  const issues: Issues = []
  const apps: Record<string, FlareJob["apps"][string]> = {}
  for (const [name, app] of Object.entries(job.apps)) {
    if (job.target === "2.8" && app.client !== undefined) {
      const lowered = lowerClient(app.client, filePath.client(name))
      issues.push(...lowered.issues)
      apps[name] = { ...app, client: lowered.config }
    } else {
      apps[name] = app
    }
  }
  const prepared: FlareJob = { ...job, apps }
  checkMeta(prepared, issues)
  checkApps(prepared, issues)
  for (const name of Object.keys(prepared.apps).sort()) {
    const app = prepared.apps[name]
    if (app?.server !== undefined) checkConfig(filePath.server(name), prepared, app.server, issues)
    if (app?.client !== undefined) checkConfig(filePath.client(name), prepared, app.client, issues)
  }
  return { prepared, issues }
}

/**
 * Checks the job and returns it as it will be written for its target: for `"2.8"`, each client
 * `ClientAPIExecutor` is rewritten into FLARE 2.8's components. Fails with every issue found.
 *
 * @since 0.1.0
 */
export const prepare = (job: FlareJob): Either.Either<FlareJob, JobCheckError> => {
  const { issues, prepared } = inspect(job)
  const [first, ...rest] = issues
  return first === undefined ? Either.right(prepared) : Either.left(new JobCheckError({ issues: [first, ...rest] }))
}

/**
 * Every issue in the job, empty when it is valid.
 *
 * @since 0.1.0
 */
export const check = (job: FlareJob): ReadonlyArray<Issue.Issue> => inspect(job).issues
