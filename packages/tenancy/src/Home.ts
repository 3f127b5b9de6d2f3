import { Config } from "effect"

/** Where embedded state lives: the embedded PostgreSQL cluster and the tenants file. */
export const WorkcatHome = Config.string("WORKCAT_HOME").pipe(Config.withDefault(".workcat"))
