/**
 * `npm run bench:categorize -- [--employees 653] [--rpm 500] [--latency-ms 1500] [--lanes 32] [--accuracy-employees 2000] [--independent-employees 400] [--generators default,independent] [--seeds 1,2,3] [--skip-llm] [--skip-offline]`
 *
 * 1. The LLM path (`LlmFleet.ts`): a generated company's first night with the LLM categorizer
 *    (the real `openai` client) against the OpenAI-compatible test server (log-normal latency of
 *    median `--latency-ms`, its own limit of `--rpm` requests a minute), `--lanes` users at a time
 *    per worker: driven by three worker processes against the rate-limit bound; routed by
 *    difficulty; in batch mode. Each with its cost per categorized user at list prices.
 * 2. Accuracy: the offline categorizer, through the real nightly, on a company of each seed in
 *    `--seeds` from each generator in `--generators`: `default` (the repo's generator, built from
 *    the model's archetypes; `--accuracy-employees`, 90 days, with HR) and `independent` (its own
 *    roles and in-house apps, `synthetic/independent/`; `--independent-employees`, 90 days, SSO
 *    events only), against the generator's ground truth: overall and per role, on the first night
 *    (no categorized colleagues yet) and the second (everybody due again, the first night's
 *    results as the neighbours), side by side, with a supervised peer (the 9 most similar
 *    colleagues' true roles: what the app mixes tell apart given the answers). On the default generator's tenants also the anomaly
 *    trigger against its role switchers (who moved 10 to 21 days before the run date).
 * PostgreSQL: a fresh embedded cluster, or DATABASE_URL.
 */
import { Command, Options } from "@effect/cli"
import * as SqlClient from "@effect/sql/SqlClient"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { addDays, cosine, idfOf, profileVector } from "@workcat/core"
import {
  BaseLive,
  CliOutput,
  Evaluator,
  type EvalReport,
  EventWarehouse,
  OfflineCategorizerLive,
  PipelineLive,
  RunsLive,
  runNightly,
  type TruthRecord
} from "@workcat/pipeline"
import { CurrentTenant, defaultNightly, TenantId } from "@workcat/tenancy"
import { Chunk, Console, Effect, Layer, Stream } from "effect"
import { readFileSync } from "node:fs"
import { benchDatabase } from "./Database.js"
import { benchLlm } from "./LlmFleet.js"
import { END, generateFor, seedIndependent, seedTenant } from "./Seed.js"

/** A generator's ground truth, one person a line (both generators write what `Evaluator.fromFile` reads). */
const readTruth = (truthFile: string) =>
  readFileSync(truthFile, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as TruthRecord)

/**
 * The anomaly trigger's drift of every categorized user, split by whether the generator made them
 * switch roles (at least 5 days before the run date, so the recent window shows it).
 */
const anomalyScores = (truthFile: string) =>
  Effect.gen(function* () {
    const tenant = yield* CurrentTenant
    // Every drift the warehouse measures: no threshold (drifts are at least 0).
    const found = yield* Effect.flatMap(EventWarehouse, (w) => w.candidates({ ...defaultNightly, date: END, anomalyThreshold: -1 }))
    const scores = new Map(found.flatMap((c) => (c.drift === null ? [] : [[c.userId, c.drift] as const])))
    const truth = readTruth(truthFile)
    const switchers: Array<number> = []
    const others: Array<number> = []
    for (const t of truth) {
      const score = scores.get(tenant.pseudonyms.user(t.login))
      if (score === undefined) continue
      ;(t.drift !== null && t.drift.since <= addDays(END, -5) ? switchers : others).push(score)
    }
    return { switchers, others, threshold: tenant.settings.anomalyThreshold }
  })

/**
 * A peer the offline model (which has no labels) can only approach: each person's role voted by
 * their 9 most similar colleagues' true roles (leave-one-out, similarity-squared weights, the
 * model's profile vectors). How much the tenant's app mixes tell apart at all, with the answers.
 */
const supervisedPeer = (truthFile: string) =>
  Effect.gen(function* () {
    const tenant = yield* CurrentTenant
    const truth = new Map(readTruth(truthFile).map((t) => [tenant.pseudonyms.user(t.login) as string, t.category] as const))
    const users = Chunk.toArray(yield* Stream.runCollect(yield* Effect.map(EventWarehouse, (w) => w.appActivity({ ...defaultNightly, date: END }))))
    const appUsers = new Map<string, number>()
    for (const u of users) for (const a of u.apps) appUsers.set(a.app, (appUsers.get(a.app) ?? 0) + 1)
    const idf = idfOf(users.length, appUsers)
    const people = users.flatMap((u) => {
      const role = truth.get(u.userId)
      return role === undefined ? [] : [{ role, vector: profileVector(u, idf) }]
    })
    const right = people.filter((p, i) => {
      const nearest = people.flatMap((q, j) => (i === j ? [] : [{ role: q.role, similarity: cosine(p.vector, q.vector) }]))
      const votes = new Map<string, number>()
      for (const n of nearest.sort((a, b) => b.similarity - a.similarity).slice(0, 9)) votes.set(n.role, (votes.get(n.role) ?? 0) + n.similarity ** 2)
      return [...votes].sort((a, b) => b[1] - a[1])[0]?.[0] === p.role
    }).length
    return { correct: right, total: people.length }
  })

/** The first night, then the next one with everybody due again (the first night's results are then the neighbours). */
const twoNights = (tenant: TenantId, truth: string) =>
  Effect.gen(function* () {
    const started = Date.now()
    const first = yield* runNightly(tenant, END)
    if (first.run.state !== "READY") return yield* Effect.dieMessage(`the offline run ended ${first.run.state}`)
    const seconds = (Date.now() - started) / 1000
    const evaluator = yield* Evaluator
    const one = yield* evaluator.fromFile(truth)
    const sql = yield* SqlClient.SqlClient
    yield* sql`UPDATE work_categories SET categorized_at = ${END}::date - interval '70 days'`
    const second = yield* runNightly(tenant, addDays(END, 1))
    if (second.run.state !== "READY") return yield* Effect.dieMessage(`the second offline run ended ${second.run.state}`)
    return { one, two: yield* evaluator.fromFile(truth), seconds }
  })

/** Correct and total per role and overall, summed over the seeds of a generator. */
type Tally = Map<string, { correct: number; total: number }>
const tally = (into: Tally, report: EvalReport) => {
  for (const [role, a] of [...Object.entries(report.perCategory), ["overall", report.overall] as const]) {
    const t = into.get(role) ?? { correct: 0, total: 0 }
    into.set(role, { correct: t.correct + a.correct, total: t.total + a.total })
  }
}

const bench = Command.make(
  "bench-categorize",
  {
    employees: Options.integer("employees").pipe(Options.withDefault(653)),
    rpm: Options.integer("rpm").pipe(Options.withDefault(500)),
    latencyMs: Options.integer("latency-ms").pipe(Options.withDefault(1500)),
    lanes: Options.integer("lanes").pipe(Options.withDefault(32)),
    accuracyEmployees: Options.integer("accuracy-employees").pipe(Options.withDefault(2000)),
    independentEmployees: Options.integer("independent-employees").pipe(Options.withDefault(400)),
    generators: Options.text("generators").pipe(
      Options.withDefault("default,independent"),
      Options.withDescription("Generators of the accuracy part, comma-separated: default, independent")
    ),
    skipLlm: Options.boolean("skip-llm").pipe(Options.withDescription("Only the offline part")),
    skipOffline: Options.boolean("skip-offline").pipe(Options.withDescription("Only the LLM part")),
    seeds: Options.text("seeds").pipe(Options.withDefault("1,2,3"), Options.withDescription("Companies (generator seeds) of the accuracy part, comma-separated"))
  },
  (args) =>
    Effect.gen(function* () {
      const { config, url } = yield* benchDatabase
      const base = BaseLive.pipe(Layer.provide(config))

      // 1. The LLM path: three workers against the rate-limit bound, routing, batch mode.
      if (!args.skipLlm) yield* benchLlm({ ...args, url, config })

      // 2. Offline accuracy (first and second night) on companies of several seeds from each generator, and the anomaly trigger.
      if (args.skipOffline) return
      const offlineLayer = (tenant: TenantId) =>
        PipelineLive(tenant).pipe(Layer.provideMerge(RunsLive), Layer.provideMerge(OfflineCategorizerLive), Layer.provideMerge(base))
      const percent = (n: number, of: number) => `${((100 * n) / Math.max(1, of)).toFixed(1)}%`
      const generators = args.generators.split(",").map((g) => g.trim())
      const tallies = new Map<string, { one: Tally; two: Tally; peer: { correct: number; total: number } }>()
      for (const generator of generators) {
        if (generator !== "default" && generator !== "independent") return yield* Effect.dieMessage(`unknown generator ${generator} (default, independent)`)
        const tallied = { one: new Map(), two: new Map(), peer: { correct: 0, total: 0 } }
        tallies.set(generator, tallied)
        for (const seed of args.seeds.split(",")) {
          const independent = generator === "independent"
          const offline = TenantId.make(independent ? `bench_independent_${seed}` : `bench_offline_${seed}`)
          const employees = independent ? args.independentEmployees : args.accuracyEmployees
          yield* Console.log(`\ngenerating and ingesting ${employees} employees x 90 days (${generator} generator, seed ${seed}) for the offline categorizer …`)
          const truth = independent
            ? (yield* seedIndependent(offline, employees, seed).pipe(Effect.provide(base))).truth
            : yield* Effect.gen(function* () {
                const files = yield* generateFor(offline, employees, seed)
                yield* seedTenant(offline, {}, files)
                return files.truth
              }).pipe(Effect.provide(base))
          const { one, two, seconds } = yield* twoNights(offline, truth).pipe(Effect.provide(offlineLayer(offline)))
          const peer = yield* supervisedPeer(truth).pipe(Effect.provide(offlineLayer(offline)))
          tally(tallied.one, one)
          tally(tallied.two, two)
          tallied.peer = { correct: tallied.peer.correct + peer.correct, total: tallied.peer.total + peer.total }
          const lines = [
            `offline accuracy            ${percent(one.overall.correct, one.overall.total)} of ${one.overall.total} employees on the first night (${seconds.toFixed(1)} s), ${percent(two.overall.correct, two.overall.total)} on the second`,
            `supervised peer             ${percent(peer.correct, peer.total)} (each person's 9 most similar colleagues' true roles)`,
            `most frequent confusions    ${one.confusions.slice(0, 4).map((c) => `${c.truth} -> ${c.predicted} ${c.count}`).join(", ")}`
          ]
          if (!independent) {
            const anomaly = yield* anomalyScores(truth).pipe(Effect.provide(offlineLayer(offline)))
            const above = (xs: ReadonlyArray<number>) => xs.filter((x) => x > anomaly.threshold).length
            lines.push(
              `anomaly trigger at ${anomaly.threshold}      selects ${above(anomaly.switchers)} of ${anomaly.switchers.length} role switchers (${percent(above(anomaly.switchers), anomaly.switchers.length)}) and ${above(anomaly.others)} of ${anomaly.others.length} others (${percent(above(anomaly.others), anomaly.others.length)})`
            )
          }
          yield* Console.log(lines.join("\n"))
        }
      }
      // Per role, summed over the seeds: first night / second night, one column per generator.
      const roles = [...new Set([...tallies.values()].flatMap((t) => [...t.one.keys()]))].filter((r) => r !== "overall").sort()
      const cell = (t: { one: Tally; two: Tally } | undefined, role: string) => {
        const one = t?.one.get(role)
        const two = t?.two.get(role)
        return one === undefined || two === undefined ? "-" : `${percent(one.correct, one.total)} / ${percent(two.correct, two.total)} of ${one.total}`
      }
      yield* Console.log(
        [
          `\naccuracy per role over seeds ${args.seeds}: first night / second night`,
          ["role".padEnd(24), ...generators.map((g) => g.padEnd(28))].join(""),
          ...["overall", ...roles].map((role) => [role.padEnd(24), ...generators.map((g) => cell(tallies.get(g), role).padEnd(28))].join("")),
          ["supervised peer".padEnd(24), ...generators.map((g) => percent(tallies.get(g)!.peer.correct, tallies.get(g)!.peer.total).padEnd(28))].join("")
        ].join("\n")
      )
    }).pipe(Effect.scoped)
)

Command.run(bench, { name: "bench-categorize", version: "0.1.0" })(process.argv).pipe(
  CliOutput.exitOnFailure,
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ teardown: CliOutput.teardown })
)
