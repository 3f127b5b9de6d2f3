import { EmbeddedPostgres } from "@workcat/pipeline"
import { Config, ConfigProvider, Effect, Layer, Option, Redacted } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** The benchmarks' fixed master key (every process of a benchmark must have the same). */
export const BENCH_MASTER_KEY = Buffer.alloc(32, 7).toString("base64")

/**
 * The benchmarks' PostgreSQL: `DATABASE_URL`, or a fresh embedded cluster stopped with the scope;
 * and a configuration pointing workcat at it (with a fixed master key), over the environment's.
 */
export const benchDatabase = Effect.gen(function* () {
  const configured = yield* Config.option(Config.redacted("DATABASE_URL"))
  const url = Option.isSome(configured)
    ? Redacted.value(configured.value)
    : (yield* EmbeddedPostgres.start({ dataDir: join(mkdtempSync(join(tmpdir(), "workcat-bench-")), "pg") })).url
  const config = Layer.setConfigProvider(
    ConfigProvider.fromMap(new Map([["DATABASE_URL", url], ["WORKCAT_MASTER_KEY", BENCH_MASTER_KEY]])).pipe(
      ConfigProvider.orElse(() => ConfigProvider.fromEnv())
    )
  )
  return { url, config, label: Option.isSome(configured) ? "DATABASE_URL" : "embedded (fresh)" }
})
