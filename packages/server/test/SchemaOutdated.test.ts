import { expect, it } from "@effect/vitest"
import { freshTenant } from "@workcat/pipeline/testing"
import { ControlSql, tenantSchema } from "@workcat/tenancy"
import { Effect } from "effect"
import { call, serverLayer, token } from "./support.js"

const tenant = freshTenant("outdated")

it.layer(serverLayer([tenant]), { timeout: 120_000 })((it) => {
  it.effect("a tenant whose schema is behind this build is answered 503 naming `workcat migrate`, not 500", () =>
    Effect.gen(function* () {
      const analyst = yield* token(tenant, "analyst")
      const sql = yield* ControlSql
      const schema = tenantSchema(tenant)
      const [row] = yield* sql.unsafe<{ latest: number }>(
        `DELETE FROM ${schema}.schema_migrations WHERE migration_id = (SELECT max(migration_id) FROM ${schema}.schema_migrations) RETURNING migration_id AS latest`
      )
      const latest = row!.latest
      const answer = yield* call("GET", `/api/v1/tenants/${tenant}/metrics/productivity`, { token: analyst })
      expect({ status: answer.status, body: answer.body, retryAfter: answer.headers["retry-after"] }).toEqual({
        status: 503,
        body: { _tag: "Unavailable", message: `tenant ${tenant}'s schema is at migration ${latest - 1} of ${latest}: run \`workcat migrate --tenant ${tenant}\`` },
        retryAfter: "5"
      })
    }))
})
