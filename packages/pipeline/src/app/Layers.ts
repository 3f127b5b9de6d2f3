import { NodeContext } from "@effect/platform-node"
import { addDays, Categorizer } from "@workcat/core"
import { ApiTokens, AuditLog, type ControlSql, ControlSqlLive, CurrentTenant, MasterKeyLive, Tenant, type TenantId, TenantRegistry } from "@workcat/tenancy"
import { Config, Effect, Layer } from "effect"
import { OfflineCategorizerLive } from "../categorizer/OfflineCategorizer.js"
import { DatabaseLive } from "../db/Database.js"
import { migratePipelineControl, TenantMigrationsLive } from "../db/Migrations.js"
import { Evaluator } from "../eval/Evaluate.js"
import { DeadLetters } from "../ingest/DeadLetters.js"
import { HrIngest } from "../ingest/HrIngest.js"
import { InputsChanged } from "../ingest/InputsChanged.js"
import { Ingest } from "../ingest/Ingest.js"
import { DeadLetterReplay } from "../ingest/Replay.js"
import { RunLedger } from "../durable/RunLedger.js"
import { CategoryStore } from "../materialize/CategoryStore.js"
import { Metrics } from "../materialize/Metrics.js"
import { NightResults } from "../materialize/NightResults.js"
import { CostLedgerRetentionLive } from "../categorizer/llm/CostLedger.js"
import { Alerts } from "../operations/Alerts.js"
import { Validations } from "../validate/Validations.js"
import { LlmBatchStore } from "../categorizer/llm/BatchStore.js"
import { LlmMeterLive } from "../categorizer/llm/Meter.js"
import { Checkpoints } from "../durable/Checkpoints.js"
import { Employees } from "../warehouse/Employees.js"
import { EventStore } from "../warehouse/postgres/EventStore.js"
import { Privacy } from "../privacy/Privacy.js"
import { NightQueries } from "../warehouse/postgres/Night.js"
import { WindowSums } from "../warehouse/postgres/WindowSums.js"
import { PostgresWarehouseLive, PostgresWindowSourceLive } from "../warehouse/postgres/PostgresWarehouse.js"
import { BigQueryWarehouseLive, BigQueryWindowSourceLive } from "../warehouse/bigquery/BigQueryWarehouse.js"
import { TenantWarehouse, TenantWarehouseLive } from "../warehouse/TenantWarehouse.js"
import { nightlyKeysAffected } from "../nightly/Window.js"

/** The control plane's pool, migrated. */
export const ControlLive = Layer.effectDiscard(migratePipelineControl).pipe(Layer.provideMerge(ControlSqlLive))

/**
 * What every process needs once: the database (embedded unless `DATABASE_URL` is set), the
 * master key, the control plane (migrated), the tenant registry (which migrates the tenants it
 * creates), this build's tenant migrations, tokens, the audit log and tracing.
 */
export const BaseLive = Layer.mergeAll(
  RunLedger.Default,
  TenantRegistry.Default,
  ApiTokens.Default,
  AuditLog.Default,
  Layer.unwrapEffect(Effect.promise(() => import("./Tracing.js")).pipe(Effect.map((m) => m.TracingLive)))
).pipe(
  Layer.provideMerge(Layer.mergeAll(ControlLive, MasterKeyLive, TenantMigrationsLive)),
  Layer.provideMerge(DatabaseLive),
  Layer.provideMerge(NodeContext.layer)
)

/**
 * One tenant's identity, key and schema-bound `SqlClient`. The schema is checked, never migrated
 * here: a schema behind this build fails with `TenantSchemaOutdated` (`workcat migrate` fixes it).
 */
export const TenantLive = (id: TenantId) => TenantWarehouseLive.pipe(Layer.provideMerge(Tenant.layer(id)))

/**
 * The categorizer the nightly run uses: `WORKCAT_CATEGORIZER=offline` (the default: no key, no
 * network) or `openai` (the LLM agent, configured by `OPENAI_API_KEY` and the `WORKCAT_LLM_*` variables).
 */
export const CategorizerLive: Layer.Layer<Categorizer, Error, ControlSql> = Layer.unwrapEffect(
  Config.literal("offline", "openai")("WORKCAT_CATEGORIZER").pipe(
    Config.withDefault("offline"),
    // The openai client loads only when used: it is a good part of the CLI's start-up otherwise.
    Effect.flatMap((kind) =>
      kind === "openai"
        ? Effect.promise(() => import("../categorizer/llm/LlmCategorizer.js")).pipe(
            // With its batch side (`BatchMode`), which the nightly looks for.
            Effect.map((m): Layer.Layer<Categorizer, Error, ControlSql> => m.LlmCategorizerLive)
          )
        : Effect.succeed(OfflineCategorizerLive)
    ),
    Effect.mapError((e) => new Error(`WORKCAT_CATEGORIZER: ${e}`))
  )
)

/**
 * Builds a layer with a memo map of its own. Layers memoize by identity, and `CategoryStore.Default`
 * is one value: built twice in one memo map (two tenants in one server), the second tenant would
 * get the first tenant's instance, bound to the first tenant's schema.
 */
export const isolated = <A, E, R>(layer: Layer.Layer<A, E, R>): Layer.Layer<A, E, R> =>
  Layer.scopedContext(
    Effect.gen(function* () {
      const memoMap = yield* Layer.makeMemoMap
      return yield* Layer.buildWithMemoMap(layer, memoMap, yield* Effect.scope)
    })
  )

/**
 * New inputs make the nightly runs whose windows they fall in STALE (a READY one), or end STALE
 * instead of READY (one that may hold checkpoints taken from the old inputs).
 */
const InputsChangedLive = Layer.effect(
  InputsChanged,
  Effect.gen(function* () {
    const ledger = yield* RunLedger
    const tenant = yield* CurrentTenant
    return {
      events: (firstDay, lastDay) =>
        Effect.asVoid(ledger.markStale(tenant.id, "nightly", nightlyKeysAffected(firstDay, lastDay, tenant.settings.nightly.profileWindowDays), `new events from ${firstDay} to ${lastDay}`)),
      // A run of date D reads HR as of D: every run from the effective day on.
      hr: (from) => Effect.asVoid(ledger.markStale(tenant.id, "nightly", { after: addDays(from, -1), upTo: "9999-12-31" }, `HR changes effective from ${from}`))
    }
  })
)

/** The tenant's event warehouse: PostgreSQL, in the tenant's schema, or that and BigQuery (see `TenantWarehouse`). */
const byWarehouse = <A, E, R, E2, R2>(postgres: Layer.Layer<A, E, R>, bigquery: Layer.Layer<A, E2, R2>) =>
  Layer.unwrapEffect(Effect.map(TenantWarehouse, (w): Layer.Layer<A, E | E2, R | R2> => (w.kind === "bigquery" ? bigquery : postgres)))
const WarehouseLive = byWarehouse(PostgresWarehouseLive, BigQueryWarehouseLive).pipe(
  Layer.provideMerge(Layer.mergeAll(NightQueries.Default, WindowSums.Default)),
  Layer.provideMerge(byWarehouse(PostgresWindowSourceLive, BigQueryWindowSourceLive)),
  Layer.provideMerge(EventStore.Default)
)

/**
 * Every service of the pipeline for one tenant, over `BaseLive` and a process-wide `Categorizer`
 * (its client and limits are shared by all tenants); never shared with another tenant.
 */
export const PipelineLive = (id: TenantId) =>
  isolated(
    Layer.mergeAll(
      Ingest.Default,
      HrIngest.Default,
      DeadLetters.Default,
      DeadLetterReplay.Default,
      CategoryStore.Default,
      Metrics.Default,
      NightResults.Default,
      Evaluator.Default,
      Privacy.Default,
      Employees.Default,
      Checkpoints.Default,
      LlmMeterLive,
      LlmBatchStore.Default,
      CostLedgerRetentionLive,
      Alerts.Default,
      Validations.Default
    ).pipe(Layer.provideMerge(WarehouseLive), Layer.provideMerge(InputsChangedLive), Layer.provideMerge(TenantLive(id)))
  )

/** What a pipeline's body may use: one tenant's services, and the process's categorizer. */
export type PipelineServices = Layer.Layer.Success<ReturnType<typeof PipelineLive>> | Categorizer

/** A tenant's services with everything under them: what a one-shot CLI command provides. */
export const TenantCommandLive = (id: TenantId) =>
  PipelineLive(id).pipe(Layer.provideMerge(BaseLive))
