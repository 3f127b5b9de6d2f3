import * as Migrator from "@effect/sql/Migrator"
import { migrateControl, TenantMigrations } from "@workcat/tenancy"
import control0001 from "./migrations/control/0001_runs.js"
import control0002 from "./migrations/control/0002_run_liveness.js"
import control0003 from "./migrations/control/0003_fast_start.js"
import control0004 from "./migrations/control/0004_ledger_sweeps.js"
import control0005 from "./migrations/control/0005_operations.js"
import control0006 from "./migrations/control/0006_alerts.js"
import control0007 from "./migrations/control/0007_llm_buckets.js"
import tenant0001 from "./migrations/tenant/0001_ingest.js"
import tenant0002 from "./migrations/tenant/0002_results.js"
import tenant0003 from "./migrations/tenant/0003_checkpoints.js"
import tenant0004 from "./migrations/tenant/0004_llm.js"
import tenant0005 from "./migrations/tenant/0005_partitions.js"
import tenant0006 from "./migrations/tenant/0006_sealed_dead_letters.js"
import tenant0007 from "./migrations/tenant/0007_ledger_retention.js"
import tenant0008 from "./migrations/tenant/0008_window_sums.js"
import tenant0009 from "./migrations/tenant/0009_bigquery.js"
import tenant0010 from "./migrations/tenant/0010_users_seen.js"
import tenant0011 from "./migrations/tenant/0011_bq_erasures.js"
import tenant0012 from "./migrations/tenant/0012_llm_budget.js"
import tenant0013 from "./migrations/tenant/0013_llm_responses.js"
import tenant0014 from "./migrations/tenant/0014_routes.js"
import tenant0015 from "./migrations/tenant/0015_llm_batches.js"

/**
 * The tables of one tenant, in the tenant's schema. Tenancy runs them as the tenant's role (which
 * owns them): when it creates the tenant, and when `workcat migrate` runs after an upgrade.
 */
export const tenantMigrations = Migrator.fromRecord({
  "0001_ingest": tenant0001,
  "0002_results": tenant0002,
  "0003_checkpoints": tenant0003,
  "0004_llm": tenant0004,
  "0005_partitions": tenant0005,
  "0006_sealed_dead_letters": tenant0006,
  "0007_ledger_retention": tenant0007,
  "0008_window_sums": tenant0008,
  "0009_bigquery": tenant0009,
  "0010_users_seen": tenant0010,
  "0011_bq_erasures": tenant0011,
  "0012_llm_budget": tenant0012,
  "0013_llm_responses": tenant0013,
  "0014_routes": tenant0014,
  "0015_llm_batches": tenant0015
})

/** This build's tenant migrations, for tenancy to apply and check against. */
export const TenantMigrationsLive = TenantMigrations.layer(tenantMigrations)

/** The pipeline's control-plane tables (run ledger). */
export const migratePipelineControl = migrateControl(
  Migrator.fromRecord({
    "0001_runs": control0001,
    "0002_run_liveness": control0002,
    "0003_fast_start": control0003,
    "0004_ledger_sweeps": control0004,
    "0005_operations": control0005,
    "0006_alerts": control0006,
    "0007_llm_buckets": control0007
  }),
  "pipeline"
)
