import * as ClientConfig from "../ClientConfig.js"
import * as JobMeta from "../JobMeta.js"
import * as ServerConfig from "../ServerConfig.js"

/** Where each job file lives, relative to the job folder. */
export const filePath = {
  meta: JobMeta.FILE,
  server: (app: string) => `${app}/config/${ServerConfig.FILE}`,
  client: (app: string) => `${app}/config/${ClientConfig.FILE}`,
  custom: (app: string, path: string) => `${app}/custom/${path}`
} as const
