import { Command, Options } from "@effect/cli"
import { formatParseError, HrMapping, Taxonomy } from "@workcat/core"
import {
  changedSettings,
  LlmMode,
  LlmRouting,
  OidcSettings,
  patchSettings,
  SettingsPatch,
  SignInRole,
  SmallGroupPolicy,
  TenantRegistry,
  TenantSecrets,
  type WarehouseSettings,
  WebSessions
} from "@workcat/tenancy"
import { Console, Effect, Either, Layer, Option, type ParseResult, Redacted, Schema } from "effect"
import { readFileSync } from "node:fs"
import { BaseLive, TenantCommandLive } from "../app/Layers.js"
import { Privacy } from "../privacy/Privacy.js"
import { auditCli } from "./Admin.js"
import { readHrMapping, readJsonFile } from "./Files.js"
import * as Opt from "./Options.js"
import { InvalidInput, printJson } from "./Output.js"

/**
 * A settings path as the option that sets it: `llm.monthlyBudgetUsd` → `--llm-monthly-budget-usd`;
 * the nightly's and the alerts' settings go without their group: `nightly.profileWindowDays` →
 * `--profile-window-days`, `alerts.minAccuracy` → `--min-accuracy`.
 */
const optionOf = (path: string) =>
  `--${path.replace(/^(nightly|alerts)\./, "").replace(".", "-").replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`

const optionNames = (reason: string) => reason.replace(/(^|; )([a-zA-Z.]+):/g, (_, sep: string, path: string) => `${sep}${optionOf(path)}:`)

/** `--name N` for a whole-number setting, described with its range and default. */
const setting = (name: string, description: string) => Opt.integer(name).pipe(Options.optional, Options.withDescription(description))

const readTaxonomy = (file: string) => readJsonFile(file, Taxonomy, "a taxonomy")

const taxonomyOption = Options.file("taxonomy", { exists: "yes" }).pipe(
  Options.optional,
  Options.withDescription("A taxonomy JSON file ({id, version, categories: [{id, name, description, department}]})")
)

const add = Command.make(
  "add",
  { tenant: Opt.tenantArg, displayName: Options.text("display-name").pipe(Options.optional), taxonomy: taxonomyOption },
  (args) =>
    Effect.gen(function* () {
      const taxonomy = Option.isSome(args.taxonomy) ? yield* readTaxonomy(args.taxonomy.value) : undefined
      yield* Effect.flatMap(TenantRegistry, (r) =>
        r.create(args.tenant, { displayName: Option.getOrUndefined(args.displayName), taxonomy })
      )
      yield* auditCli(args.tenant, "tenant.create")
      yield* Console.log(`tenant ${args.tenant} created, with its own database role, schema and pseudonymization key`)
    }).pipe(Effect.provide(BaseLive))
).pipe(Command.withDescription("Create a tenant: registry entry, database role and schema, random pseudonymization key"))

const summary = (r: { id: string; settings: { displayName: string; taxonomy: Taxonomy }; sealedKeys: ReadonlyArray<string>; createdAt: Date }) => ({
  id: r.id,
  displayName: r.settings.displayName,
  taxonomy: `${r.settings.taxonomy.id} v${r.settings.taxonomy.version} (${r.settings.taxonomy.categories.length} categories)`,
  keyVersions: r.sealedKeys.length,
  createdAt: r.createdAt.toISOString()
})

const list = Command.make("list", { json: Opt.json }, (args) =>
  Effect.flatMap(TenantRegistry, (r) => r.list()).pipe(
    Effect.flatMap((tenants) =>
      args.json
        ? printJson(tenants.map(summary))
        : Console.log(tenants.map((t) => `${t.id.padEnd(24)} ${t.settings.displayName}`).join("\n"))
    ),
    Effect.provide(BaseLive)
  )
).pipe(Command.withDescription("List tenants"))

const show = Command.make("show", { tenant: Opt.tenantArg }, (args) =>
  Effect.flatMap(TenantRegistry, (r) => r.get(args.tenant)).pipe(
    Effect.flatMap((t) => printJson({ ...summary(t), settings: { ...t.settings, taxonomy: undefined } })),
    Effect.provide(BaseLive)
  )
).pipe(Command.withDescription("Show a tenant's settings (never its keys)"))

/**
 * The warehouse the options ask for: `--warehouse` chooses the kind; the `--bq-*` options fill or
 * change a BigQuery warehouse (the stored one, or the one `--warehouse bigquery` starts).
 */
const warehousePatch = (
  args: {
    readonly tenant: string
    readonly warehouse: Option.Option<"postgres" | "bigquery" | "default">
    readonly bqProject: Option.Option<string>
    readonly bqDataset: Option.Option<string>
    readonly bqLocation: Option.Option<string>
    readonly bqKmsKey: Option.Option<string>
    readonly bqMaxBytesBilled: Option.Option<number>
    readonly bqPostgresDays: Option.Option<number>
    readonly bqMaxErasureBytesBilled: Option.Option<number>
  },
  stored: WarehouseSettings | null
): Either.Either<unknown, string> => {
  const o = Option.getOrUndefined
  const bq = { project: o(args.bqProject), dataset: o(args.bqDataset), location: o(args.bqLocation), kmsKeyName: o(args.bqKmsKey), maxBytesBilled: o(args.bqMaxBytesBilled), postgresDays: o(args.bqPostgresDays), maxErasureBytesBilled: o(args.bqMaxErasureBytesBilled) }
  const anyBq = Object.values(bq).some((v) => v !== undefined)
  const kind = o(args.warehouse) ?? (anyBq ? "bigquery" : undefined)
  if (kind === undefined) return Either.right(undefined)
  if (kind !== "bigquery") {
    if (anyBq) return Either.left(`the --bq-* options need --warehouse bigquery, not ${kind}`)
    return Either.right(kind === "postgres" ? { kind } : null)
  }
  const base = stored?.kind === "bigquery" ? stored : { kind, dataset: `workcat_${args.tenant}` }
  const merged = { ...base, ...Object.fromEntries(Object.entries(bq).filter(([, v]) => v !== undefined)) } as Record<string, unknown>
  if (merged.project === undefined || merged.location === undefined) return Either.left("--warehouse bigquery needs --bq-project and --bq-location")
  return Either.right(merged)
}

const set = Command.make(
  "set",
  {
    tenant: Opt.tenantArg,
    displayName: Options.text("display-name").pipe(Options.optional),
    retentionDays: Opt.integer("retention-days").pipe(Options.optional),
    minGroupSize: Opt.integer("min-group-size").pipe(Options.optional),
    smallGroupPolicy: Opt.choice("small-group-policy", SmallGroupPolicy.literals).pipe(Options.optional),
    loadedCostPerHour: Opt.number("loaded-cost-per-hour").pipe(Options.optional),
    maxConcurrentRuns: Opt.integer("max-concurrent-runs").pipe(Options.optional),
    anomalyThreshold: Opt.number("anomaly-threshold").pipe(Options.optional),
    deadLetterRetentionDays: Opt.integer("dead-letter-retention-days").pipe(
      Options.optional,
      Options.withDescription("Days refused records are kept, sealed, as dead letters (1-365, default 14)")
    ),
    hrMapping: Options.file("hr-mapping", { exists: "yes" }).pipe(
      Options.optional,
      Options.withDescription("An HR mapping JSON file: how the tenant's HR exports are read (see the README)")
    ),
    clearHrMapping: Options.boolean("clear-hr-mapping").pipe(Options.withDescription("Read HR exports with the generic preset again")),
    llmMonthlyBudgetUsd: Opt.number("llm-monthly-budget-usd").pipe(Options.optional),
    llmBudgetWarnAt: Opt.number("llm-budget-warn-at").pipe(Options.optional),
    llmConcurrency: Opt.integer("llm-concurrency").pipe(Options.optional),
    llmRouting: Opt.choice("llm-routing", LlmRouting.literals).pipe(Options.optional),
    llmRouteMinConfidence: Opt.number("llm-route-min-confidence").pipe(Options.optional),
    llmRouteMinMargin: Opt.number("llm-route-min-margin").pipe(Options.optional),
    llmMode: Opt.choice("llm-mode", LlmMode.literals).pipe(Options.optional),
    ledgerRetentionDays: setting("ledger-retention-days", "Days finished runs' checkpoints and history are kept (7-3650, default 90)"),
    profileWindowDays: setting("profile-window-days", "Days of activity a user is categorized from (7-365, default 90)"),
    recentWindowDays: setting(
      "recent-window-days",
      "Recent days whose app mix the anomaly trigger compares with the rest of the profile window (3-60, shorter than the profile window, default 14)"
    ),
    newHireDays: setting("new-hire-days", "Hires within this many days are recategorized every night (0-60, 0: never, default 7)"),
    periodicDays: setting("periodic-days", "Everyone is recategorized once per this many days, a slice a night (7-365, default 60)"),
    neighbours: setting("neighbours", "Similar categorized colleagues the categorizer is shown per user (1-100, default 20)"),
    anomalyMinAccesses: setting("anomaly-min-accesses", "Recent accesses below which drift is not measured (1-10000, default 30)"),
    anomalyMinDays: setting("anomaly-min-days", "Recent active days below which drift is not measured (1-60, default 3)"),
    metricsWindowDays: setting("metrics-window-days", "Days the productivity metrics cover, whole weeks (7-364, at most the profile window, default 28)"),
    taxonomy: taxonomyOption,
    warehouse: Opt.choice("warehouse", ["postgres", "bigquery", "default"] as const).pipe(
      Options.optional,
      Options.withDescription("Where the tenant's events live: postgres, bigquery (with the --bq-* options), or default (WORKCAT_WAREHOUSE)")
    ),
    bqProject: Options.text("bq-project").pipe(Options.optional, Options.withDescription("BigQuery: the Google Cloud project")),
    bqDataset: Options.text("bq-dataset").pipe(Options.optional, Options.withDescription("BigQuery: the tenant's dataset (default workcat_TENANT)")),
    bqLocation: Options.text("bq-location").pipe(Options.optional, Options.withDescription("BigQuery: the dataset's location (EU, US, europe-west3, …)")),
    bqKmsKey: Options.text("bq-kms-key").pipe(Options.optional, Options.withDescription("BigQuery: the CMEK key name of the dataset's tables")),
    bqMaxBytesBilled: Opt.integer("bq-max-bytes-billed").pipe(Options.optional, Options.withDescription("BigQuery: bytes one query may bill at most (default 1 TiB)")),
    bqMaxErasureBytesBilled: Opt.integer("bq-max-erasure-bytes-billed").pipe(
      Options.optional,
      Options.withDescription("BigQuery: bytes a night's forgets or a key rotation may bill per statement; they rewrite every partition they touch (default 100 TiB)")
    ),
    bqPostgresDays: Opt.integer("bq-postgres-days").pipe(
      Options.optional,
      Options.withDescription("BigQuery: days of raw events PostgreSQL keeps once exported, covered by the intake's duplicate check (1-90, default 7)")
    )
  },
  (args) =>
    Effect.gen(function* () {
      const o = Option.getOrUndefined
      if (args.clearHrMapping && Option.isSome(args.hrMapping)) {
        return yield* new InvalidInput({ message: "give --hr-mapping FILE or --clear-hr-mapping, not both" })
      }
      const hrMapping = Option.isSome(args.hrMapping) ? yield* readHrMapping(args.hrMapping.value) : args.clearHrMapping ? null : undefined
      const registry = yield* TenantRegistry
      const stored = (yield* registry.get(args.tenant)).settings
      const warehouse = warehousePatch(args, stored.warehouse)
      if (Either.isLeft(warehouse)) return yield* new InvalidInput({ message: warehouse.left })
      const decoded = Schema.decodeUnknownEither(SettingsPatch, { errors: "all" })({
        warehouse: warehouse.right,
        displayName: o(args.displayName),
        retentionDays: o(args.retentionDays),
        minGroupSize: o(args.minGroupSize),
        smallGroupPolicy: o(args.smallGroupPolicy),
        loadedCostPerHour: o(args.loadedCostPerHour),
        maxConcurrentRuns: o(args.maxConcurrentRuns),
        anomalyThreshold: o(args.anomalyThreshold),
        deadLetterRetentionDays: o(args.deadLetterRetentionDays),
        hrMapping: hrMapping === undefined || hrMapping === null ? hrMapping : Schema.encodeSync(HrMapping)(hrMapping),
        taxonomy: Option.isSome(args.taxonomy) ? Schema.encodeSync(Taxonomy)(yield* readTaxonomy(args.taxonomy.value)) : undefined,
        llm: {
          monthlyBudgetUsd: o(args.llmMonthlyBudgetUsd),
          budgetWarnAt: o(args.llmBudgetWarnAt),
          concurrency: o(args.llmConcurrency),
          routing: o(args.llmRouting),
          routeMinConfidence: o(args.llmRouteMinConfidence),
          routeMinMargin: o(args.llmRouteMinMargin),
          mode: o(args.llmMode)
        },
        ledgerRetentionDays: o(args.ledgerRetentionDays),
        nightly: {
          profileWindowDays: o(args.profileWindowDays),
          recentWindowDays: o(args.recentWindowDays),
          newHireDays: o(args.newHireDays),
          periodicDays: o(args.periodicDays),
          neighbours: o(args.neighbours),
          anomalyMinAccesses: o(args.anomalyMinAccesses),
          anomalyMinDays: o(args.anomalyMinDays),
          metricsWindowDays: o(args.metricsWindowDays)
        }
      })
      const invalid = (error: ParseResult.ParseError) => new InvalidInput({ message: `invalid settings: ${optionNames(formatParseError(error))}` })
      if (Either.isLeft(decoded)) return yield* invalid(decoded.left)
      const patch = decoded.right
      // A rule between a given option and a stored setting (a recent window no shorter than the stored profile window).
      const patched = patchSettings(stored, patch)
      if (Either.isLeft(patched)) return yield* invalid(patched.left)
      const settings = yield* registry.update(args.tenant, patch)
      yield* auditCli(args.tenant, "tenant.settings.update", { changed: changedSettings(patch) })
      yield* printJson({ ...settings, taxonomy: `${settings.taxonomy.id} v${settings.taxonomy.version}` })
    }).pipe(Effect.provide(BaseLive))
).pipe(Command.withDescription("Change a tenant's settings"))

const rotateKey = Command.make("rotate-key", { tenant: Opt.tenantArg }, (args) =>
  Effect.gen(function* () {
    const result = yield* Effect.flatMap(Privacy, (p) => p.rotateKey())
    yield* auditCli(args.tenant, "tenant.key.rotate", result)
    yield* Console.log(`tenant ${args.tenant}: key version ${result.keyVersion}, ${result.rekeyed.warehouse} pseudonyms re-keyed in the event warehouse, ${result.rekeyed.other} in the other tables`)
  }).pipe(Effect.provide(TenantCommandLive(args.tenant)))
).pipe(Command.withDescription("Rotate the pseudonymization key and re-key every stored pseudonym"))

const remove = Command.make(
  "remove",
  { tenant: Opt.tenantArg, yes: Options.boolean("yes").pipe(Options.withDescription("Confirm: all of the tenant's data is deleted")) },
  (args) =>
    Effect.gen(function* () {
      if (!args.yes) return yield* new InvalidInput({ message: `removing ${args.tenant} deletes all its data; add --yes to confirm` })
      yield* Effect.flatMap(TenantRegistry, (r) => r.remove(args.tenant))
      yield* auditCli(args.tenant, "tenant.remove")
      yield* Console.log(`tenant ${args.tenant} removed: schema, role, tokens, runs and registry entry (the audit log stays)`)
    }).pipe(Effect.provide(BaseLive))
).pipe(Command.withDescription("Delete a tenant and all its data"))

/** A secret's text from a file, trimmed; refused when empty. */
const readSecretFile = (file: string, option: string) =>
  Effect.gen(function* () {
    const text = (yield* Effect.try({ try: () => readFileSync(file, "utf8"), catch: (e) => new InvalidInput({ message: `${option}: ${String(e)}` }) })).trim()
    if (text === "") return yield* new InvalidInput({ message: `${option} is empty` })
    return Redacted.make(text)
  })

/** `GROUP=ROLE` → one entry of the mapping. */
const parseRole = (text: string) => {
  const at = text.lastIndexOf("=")
  const role = text.slice(at + 1)
  return at <= 0 || !Schema.is(SignInRole)(role) ? undefined : { group: text.slice(0, at), role }
}

const signIn = Command.make(
  "sign-in",
  {
    tenant: Opt.tenantArg,
    issuer: Options.text("issuer").pipe(Options.optional, Options.withDescription("The OpenID provider's issuer URL (https; http on loopback only)")),
    clientId: Options.text("client-id").pipe(Options.optional, Options.withDescription("workcat's client id at the provider")),
    clientSecretFile: Options.file("client-secret-file", { exists: "yes" }).pipe(
      Options.optional,
      Options.withDescription("A file holding the client secret (kept sealed with the master key, never shown)")
    ),
    scopes: Options.text("scope").pipe(Options.repeated, Options.withDescription("A scope to ask for besides openid (repeatable; Okta's groups claim needs `groups`)")),
    groupsClaim: Options.text("groups-claim").pipe(Options.optional, Options.withDescription("The claim listing the person's groups (default groups)")),
    roles: Options.text("role").pipe(Options.repeated, Options.withDescription("GROUP=ROLE (admin, analyst, hr_admin); repeatable, the first group the person is in wins")),
    defaultRole: Opt.choice("default-role", SignInRole.literals).pipe(Options.optional, Options.withDescription("The role of a person in no mapped group (default: no entry)")),
    off: Options.boolean("off").pipe(Options.withDescription("Turn sign-in with the identity provider off (API tokens only) and delete the secret"))
  },
  (args) =>
    Effect.gen(function* () {
      const registry = yield* TenantRegistry
      const secrets = yield* TenantSecrets
      const sessions = yield* WebSessions
      if (args.off) {
        yield* registry.update(args.tenant, { oidc: null })
        yield* secrets.remove(args.tenant, "oidc.clientSecret")
        const ended = yield* sessions.endProviderSessions(args.tenant)
        yield* auditCli(args.tenant, "tenant.signIn.off", { sessionsEnded: ended })
        return yield* Console.log(`tenant ${args.tenant}: the dashboard signs in with API tokens only (${ended} sessions from the identity provider ended)`)
      }
      const roles = args.roles.map((text) => ({ text, parsed: parseRole(text) }))
      const bad = roles.find((r) => r.parsed === undefined)
      if (bad !== undefined) return yield* new InvalidInput({ message: `--role ${bad.text}: give GROUP=ROLE, ROLE one of ${SignInRole.literals.join(", ")}` })
      if (Option.isNone(args.issuer) || Option.isNone(args.clientId)) return yield* new InvalidInput({ message: "give --issuer and --client-id (or --off)" })
      const stored = yield* secrets.get(args.tenant, "oidc.clientSecret")
      if (Option.isNone(args.clientSecretFile) && Option.isNone(stored)) return yield* new InvalidInput({ message: "give --client-secret-file: the tenant has no client secret yet" })
      const decoded = Schema.decodeUnknownEither(OidcSettings, { errors: "all" })({
        issuer: args.issuer.value,
        clientId: args.clientId.value,
        scopes: args.scopes,
        groupsClaim: Option.getOrUndefined(args.groupsClaim),
        roles: roles.map((r) => r.parsed),
        defaultRole: Option.getOrNull(args.defaultRole)
      })
      if (Either.isLeft(decoded)) return yield* new InvalidInput({ message: `invalid sign-in settings: ${formatParseError(decoded.left)}` })
      if (Option.isSome(args.clientSecretFile)) {
        yield* secrets.put(args.tenant, "oidc.clientSecret", yield* readSecretFile(args.clientSecretFile.value, "--client-secret-file"))
      }
      const settings = yield* registry.update(args.tenant, { oidc: decoded.right })
      // The roles people signed in with may no longer be theirs: they sign in again.
      const ended = yield* sessions.endProviderSessions(args.tenant)
      yield* auditCli(args.tenant, "tenant.signIn.update", { issuer: decoded.right.issuer, roles: decoded.right.roles.length, sessionsEnded: ended })
      yield* printJson({ oidc: settings.oidc, clientSecret: "(sealed)" })
    }).pipe(Effect.provide(Layer.mergeAll(TenantSecrets.Default, WebSessions.Default).pipe(Layer.provideMerge(BaseLive))))
).pipe(Command.withDescription("Sign-in to the dashboard with the tenant's OpenID Connect provider, its groups mapped to roles"))

const alerts = Command.make(
  "alerts",
  {
    tenant: Opt.tenantArg,
    slackWebhookFile: Options.file("slack-webhook-file", { exists: "yes" }).pipe(
      Options.optional,
      Options.withDescription("A file holding a Slack incoming-webhook URL (or any that takes Slack's JSON); kept sealed, never shown")
    ),
    pagerDutyKeyFile: Options.file("pagerduty-routing-key-file", { exists: "yes" }).pipe(
      Options.optional,
      Options.withDescription("A file holding a PagerDuty Events v2 routing key; kept sealed, never shown")
    ),
    clearSlack: Options.boolean("clear-slack").pipe(Options.withDescription("Stop sending alerts to Slack")),
    clearPagerDuty: Options.boolean("clear-pagerduty").pipe(Options.withDescription("Stop sending alerts to PagerDuty")),
    minAccuracy: Opt.number("min-accuracy").pipe(Options.optional, Options.withDescription("Alert when a validate sample's accuracy is below this (0-1, default 0.75)")),
    deadLetterSpike: Opt.number("dead-letter-spike").pipe(
      Options.optional,
      Options.withDescription("Alert when more than this share of a day's SSO records is refused, 100 at least (0-1, default 0.05)")
    )
  },
  (args) =>
    Effect.gen(function* () {
      const secrets = yield* TenantSecrets
      const registry = yield* TenantRegistry
      yield* registry.get(args.tenant)
      if (Option.isSome(args.slackWebhookFile)) {
        const url = yield* readSecretFile(args.slackWebhookFile.value, "--slack-webhook-file")
        if (!/^https:\/\/|^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(Redacted.value(url))) {
          return yield* new InvalidInput({ message: "--slack-webhook-file: the URL must be https (plain http on loopback only)" })
        }
        yield* secrets.put(args.tenant, "alerts.slack", url)
      }
      if (Option.isSome(args.pagerDutyKeyFile)) yield* secrets.put(args.tenant, "alerts.pagerduty", yield* readSecretFile(args.pagerDutyKeyFile.value, "--pagerduty-routing-key-file"))
      if (args.clearSlack) yield* secrets.remove(args.tenant, "alerts.slack")
      if (args.clearPagerDuty) yield* secrets.remove(args.tenant, "alerts.pagerduty")
      const decoded = Schema.decodeUnknownEither(SettingsPatch, { errors: "all" })({
        alerts: { minAccuracy: Option.getOrUndefined(args.minAccuracy), deadLetterSpike: Option.getOrUndefined(args.deadLetterSpike) }
      })
      if (Either.isLeft(decoded)) return yield* new InvalidInput({ message: `invalid settings: ${optionNames(formatParseError(decoded.left))}` })
      const settings = yield* registry.update(args.tenant, decoded.right)
      const targets = [
        ...(Option.isSome(yield* secrets.get(args.tenant, "alerts.slack")) ? ["slack"] : []),
        ...(Option.isSome(yield* secrets.get(args.tenant, "alerts.pagerduty")) ? ["pagerduty"] : [])
      ]
      yield* auditCli(args.tenant, "tenant.alerts.update", { targets, ...settings.alerts })
      yield* printJson({ targets, ...settings.alerts })
    }).pipe(Effect.provide(TenantSecrets.Default.pipe(Layer.provideMerge(BaseLive))))
).pipe(Command.withDescription("Where a tenant's alerts go (Slack-compatible webhook, PagerDuty) and when they fire"))

export const tenantsCommand = Command.make("tenants").pipe(
  Command.withDescription("Manage tenants"),
  Command.withSubcommands([add, list, show, set, signIn, alerts, rotateKey, remove])
)

export const forgetCommand = Command.make(
  "forget",
  { tenant: Opt.tenant, login: Options.text("login").pipe(Options.withDescription("The person's SSO login (e-mail)")) },
  (args) =>
    Effect.gen(function* () {
      const result = yield* Effect.flatMap(Privacy, (p) => p.forget(args.login))
      yield* auditCli(args.tenant, "privacy.forget", result)
      yield* printJson(result)
    }).pipe(Effect.provide(TenantCommandLive(args.tenant)))
).pipe(Command.withDescription("Right to forget: delete everything stored about one person (the login itself is never stored)"))
