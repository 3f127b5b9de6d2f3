import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { Duration, Effect, Exit, Layer } from "effect"
import { Ingest } from "../src/ingest/Ingest.js"
import { ingestPubSub } from "../src/ingest/PubSubSource.js"
import { emulatorAvailable, type PubSubServer, pubsubClient, startPubSub } from "./support/PubSub.js"
import { freshTenant, testTenantLayer } from "./support/TestLayers.js"

const at = new Date(Date.now() - 2 * 86_400_000).toISOString()
const oktaEvent = (uuid: string, login: string, app: string) => ({
  uuid,
  published: at,
  eventType: "user.authentication.sso",
  actor: { id: "00u1", type: "User", alternateId: login, displayName: "Ana Silva" },
  client: { ipAddress: "198.51.100.23", geographicalContext: { country: "Portugal" } },
  outcome: { result: "SUCCESS" },
  target: [{ id: "0oa1", type: "AppInstance", alternateId: app, displayName: app }]
})

/** 40 single events (5 of them sent twice), a hook delivery of 3, a truncated message and an empty one. */
const messages = (): Array<string> => {
  const single = Array.from({ length: 40 }, (_, i) => JSON.stringify(oktaEvent(`ps-${i}`, `user${i % 7}@example.com`, i % 2 ? "Slack" : "GitHub")))
  const hook = {
    eventType: "com.okta.event_hook",
    eventTypeVersion: "1.0",
    cloudEventsVersion: "0.1",
    contentType: "application/json",
    eventId: "hook-1",
    eventTime: at,
    data: { events: [oktaEvent("hook-a", "ana@example.com", "Jira"), oktaEvent("hook-b", "ana@example.com", "Figma"), oktaEvent("ps-0", "user0@example.com", "GitHub")] }
  }
  return [...single, ...single.slice(0, 5), JSON.stringify(hook), '{"uuid":"cut","published":', " "]
}

let server: PubSubServer

/** A topic and subscription holding `data`. */
const subscriptionWith = (name: string, data: ReadonlyArray<string>) =>
  Effect.promise(async () => {
    const client = pubsubClient(server)
    const [topic] = await client.createTopic(`${name}-topic`)
    await topic.createSubscription(name, { ackDeadlineSeconds: 10 })
    for (const d of data) await topic.publishMessage({ data: Buffer.from(d) })
    await client.close()
  })

const consume = (subscription: string, idle = Duration.seconds(2)) =>
  ingestPubSub({ subscription, projectId: server.projectId, format: "auto", maxMessages: 10, idleTimeout: idle })

// The official emulator where gcloud is installed, and always the gRPC fake built from the client's protos.
describe.each(emulatorAvailable() ? (["emulator", "fake"] as const) : (["fake"] as const))("Pub/Sub intake (real client, %s)", (kind) => {
  beforeAll(async () => {
    server = await startPubSub({ prefer: kind })
    // The product code is configured as in production: the client reads these itself.
    process.env.PUBSUB_EMULATOR_HOST = server.host
    process.env.METADATA_SERVER_DETECTION = "none"
  }, 60_000)
  afterAll(() => server?.stop())

  it.live("ingests every message once: accepted, duplicates and dead letters add up, and everything is acknowledged", () =>
    Effect.gen(function* () {
      const name = `intake-${kind}-${Date.now()}`
      const data = messages()
      yield* subscriptionWith(name, data)
      const totals = yield* consume(name)
      // 40 unique + hook-a + hook-b; 5 resent singles and hook's ps-0 are duplicates; the cut and the empty message are refused.
      expect(totals).toMatchObject({ messages: data.length, accepted: 42, duplicates: 6, rejected: 2 })
      const sql = yield* SqlClient.SqlClient
      const [stored] = yield* sql<{ events: number; letters: number }>`
        SELECT (SELECT count(*)::int FROM sso_events) AS events, (SELECT count(*)::int FROM dead_letters) AS letters`
      expect(stored).toEqual({ events: 42, letters: 2 })
      const reasons = yield* sql<{ source: string; reason: string }>`SELECT source, reason FROM dead_letters ORDER BY reason`
      expect(reasons.map((r) => r.reason)).toEqual(["empty message", expect.stringMatching(/^invalid JSON/)])
      expect(reasons.every((r) => new RegExp(`^pubsub:${name}:\\w+$`).test(r.source))).toBe(true)
      // All acknowledged: a second consumer finds nothing.
      expect(yield* consume(name)).toMatchObject({ messages: 0, accepted: 0, duplicates: 0, rejected: 0 })
    }).pipe(Effect.provide(testTenantLayer(freshTenant()))), 60_000)

  it.live("acknowledges only after the write: a batch that fails to commit is redelivered, and nothing is lost", () =>
    Effect.gen(function* () {
      const name = `redeliver-${kind}-${Date.now()}`
      const data = messages().slice(0, 40)
      yield* subscriptionWith(name, data)
      const broken = Layer.succeed(Ingest, Ingest.make({ events: () => Effect.die(new Error("database unreachable")) }))
      const failed = yield* Effect.exit(consume(name).pipe(Effect.provide(broken)))
      expect(Exit.isFailure(failed)).toBe(true)
      // Messages the failed consumer held come back when their ack deadline (10 s) passes, at the latest.
      const totals = yield* consume(name, Duration.seconds(12))
      expect(totals).toMatchObject({ messages: 40, accepted: 40, rejected: 0 })
      const sql = yield* SqlClient.SqlClient
      expect(yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM sso_events`).toEqual([{ n: 40 }])
    }).pipe(Effect.provide(testTenantLayer(freshTenant()))), 60_000)
})
