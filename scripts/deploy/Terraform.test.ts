// Static checks of the Terraform in deploy/terraform: the per-tenant module and the example
// environment, parsed with @cdktf/hcl2json (HCL to its JSON form). Nothing here talks to Google
// Cloud or downloads a provider; `terraform fmt` runs only when a terraform binary is on PATH.
import { getReferencesInExpression, parse } from "@cdktf/hcl2json"
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { delimiter, join, relative } from "node:path"
import { describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..", "..")
const terraformDir = join(root, "deploy", "terraform")
const moduleDir = join(terraformDir, "modules", "tenant")
const envDir = join(terraformDir, "envs", "example")

type Body = Record<string, unknown>

interface Block {
  readonly type: string
  readonly name: string
  readonly body: Body
  readonly file: string
}

interface Config {
  readonly resources: ReadonlyArray<Block>
  readonly data: ReadonlyArray<Block>
  readonly variables: ReadonlyMap<string, Body>
  readonly locals: ReadonlyMap<string, unknown>
  readonly modules: ReadonlyMap<string, Body>
  readonly outputs: ReadonlyMap<string, Body>
  /** Every file's JSON form, by path relative to the repository. */
  readonly files: ReadonlyMap<string, Body>
}

const isBody = (v: unknown): v is Body => typeof v === "object" && v !== null && !Array.isArray(v)

/** `{ type: { name: [body] } }` (resources, data sources) as a list of blocks. */
const typedBlocks = (section: unknown, file: string): Array<Block> =>
  isBody(section)
    ? Object.entries(section).flatMap(([type, byName]) =>
        isBody(byName) ? Object.entries(byName).flatMap(([name, bodies]) => (Array.isArray(bodies) ? bodies.filter(isBody).map((body) => ({ type, name, body, file })) : [])) : []
      )
    : []

/** `{ name: [body] }` (variables, modules, outputs) into `into`. */
const namedBlocks = (section: unknown, into: Map<string, Body>) => {
  if (!isBody(section)) return
  for (const [name, bodies] of Object.entries(section)) if (Array.isArray(bodies) && isBody(bodies[0])) into.set(name, bodies[0])
}

const tfFiles = (dir: string): Array<string> =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".tf"))
    .sort()
    .map((f) => join(dir, f))

const loadConfig = async (dir: string): Promise<Config> => {
  const resources: Array<Block> = []
  const data: Array<Block> = []
  const variables = new Map<string, Body>()
  const locals = new Map<string, unknown>()
  const modules = new Map<string, Body>()
  const outputs = new Map<string, Body>()
  const files = new Map<string, Body>()
  for (const path of tfFiles(dir)) {
    const file = relative(root, path)
    const json = await parse(file, readFileSync(path, "utf8"))
    files.set(file, json)
    resources.push(...typedBlocks(json["resource"], file))
    data.push(...typedBlocks(json["data"], file))
    namedBlocks(json["variable"], variables)
    namedBlocks(json["module"], modules)
    namedBlocks(json["output"], outputs)
    for (const l of Array.isArray(json["locals"]) ? json["locals"] : []) if (isBody(l)) for (const [k, v] of Object.entries(l)) locals.set(k, v)
  }
  return { resources, data, variables, locals, modules, outputs, files }
}

/** The value of an attribute as the text of its expression (`${...}` for an expression). */
const text = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v))

/** The nested blocks `key` of a body (hcl2json writes a block as an array of objects). */
const blocks = (body: Body | undefined, key: string): Array<Body> => {
  const v = body?.[key]
  return Array.isArray(v) ? v.filter(isBody) : []
}

/** The references (`var.x`, `local.y`, `google_t.n`, `data.google_t.n.attr`, …) in an expression. */
const references = async (v: unknown): Promise<Array<string>> => {
  const all: Array<string> = []
  const visit = async (x: unknown): Promise<void> => {
    if (typeof x === "string") {
      if (x.includes("${")) all.push(...(await getReferencesInExpression("expr.tf", x)).map((r) => r.value))
    } else if (Array.isArray(x)) for (const y of x) await visit(y)
    else if (isBody(x)) for (const y of Object.values(x)) await visit(y)
  }
  await visit(v)
  return all
}

/** The locals whose value depends on var.tenant, directly or through other locals. */
const tenantLocals = async (config: Config): Promise<Set<string>> => {
  const refsOf = new Map<string, Array<string>>()
  for (const [name, value] of config.locals) refsOf.set(name, await references(value))
  const derived = new Set<string>()
  for (let changed = true; changed; ) {
    changed = false
    for (const [name, refs] of refsOf) {
      if (derived.has(name)) continue
      if (refs.some((r) => r === "var.tenant" || (r.startsWith("local.") && derived.has(r.slice("local.".length))))) {
        derived.add(name)
        changed = true
      }
    }
  }
  return derived
}

/** Every string in a parsed file (attribute values, list items, map values). */
const strings = (v: unknown): Array<string> =>
  typeof v === "string" ? [v] : Array.isArray(v) ? v.flatMap(strings) : isBody(v) ? Object.values(v).flatMap(strings) : []

const declared = (config: Config, type: string, name: string) => config.resources.some((r) => r.type === type && r.name === name)

const mod = await loadConfig(moduleDir)
const env = await loadConfig(envDir)

/** Resource types of the module whose google provider schema has a `labels` argument. */
const LABELLED = new Set([
  "google_bigquery_dataset",
  "google_kms_crypto_key",
  "google_pubsub_topic",
  "google_pubsub_subscription",
  "google_secret_manager_secret",
  "google_cloud_run_v2_service",
  "google_cloud_run_v2_worker_pool",
  "google_cloud_run_v2_job"
])
/** Resource types of the module without labels in the google provider. */
const UNLABELLED = new Set([
  "google_kms_key_ring",
  "google_service_account",
  "google_cloud_scheduler_job",
  "google_project_iam_member",
  "google_bigquery_dataset_iam_member",
  "google_kms_crypto_key_iam_member",
  "google_pubsub_topic_iam_member",
  "google_pubsub_subscription_iam_member",
  "google_secret_manager_secret_iam_member",
  "google_cloud_run_v2_job_iam_member"
])
/** The attribute that names a resource of each type (IAM grants have none). */
const NAME_ATTRIBUTE: Record<string, string> = {
  google_bigquery_dataset: "dataset_id",
  google_kms_key_ring: "name",
  google_kms_crypto_key: "name",
  google_pubsub_topic: "name",
  google_pubsub_subscription: "name",
  google_secret_manager_secret: "secret_id",
  google_service_account: "account_id",
  google_cloud_run_v2_service: "name",
  google_cloud_run_v2_worker_pool: "name",
  google_cloud_run_v2_job: "name",
  google_cloud_scheduler_job: "name"
}
/** For each IAM grant type: the attribute naming the resource granted on, and that resource's type (null: the project). */
const IAM_TARGET: Record<string, readonly [string, string | null]> = {
  google_project_iam_member: ["project", null],
  google_project_iam_binding: ["project", null],
  google_bigquery_dataset_iam_member: ["dataset_id", "google_bigquery_dataset"],
  google_bigquery_dataset_iam_binding: ["dataset_id", "google_bigquery_dataset"],
  google_kms_crypto_key_iam_member: ["crypto_key_id", "google_kms_crypto_key"],
  google_kms_crypto_key_iam_binding: ["crypto_key_id", "google_kms_crypto_key"],
  google_pubsub_topic_iam_member: ["topic", "google_pubsub_topic"],
  google_pubsub_topic_iam_binding: ["topic", "google_pubsub_topic"],
  google_pubsub_subscription_iam_member: ["subscription", "google_pubsub_subscription"],
  google_pubsub_subscription_iam_binding: ["subscription", "google_pubsub_subscription"],
  google_secret_manager_secret_iam_member: ["secret_id", "google_secret_manager_secret"],
  google_secret_manager_secret_iam_binding: ["secret_id", "google_secret_manager_secret"],
  google_cloud_run_v2_job_iam_member: ["name", "google_cloud_run_v2_job"],
  google_cloud_run_v2_job_iam_binding: ["name", "google_cloud_run_v2_job"],
  google_cloud_run_v2_service_iam_member: ["name", "google_cloud_run_v2_service"],
  google_cloud_run_v2_service_iam_binding: ["name", "google_cloud_run_v2_service"]
}
const isIam = (type: string) => /_iam_(member|binding|policy|audit_config)$/.test(type)

/** The principals of a grant: `member`, or a binding's `members`. */
const members = (body: Body): Array<string> => (typeof body["member"] === "string" ? [body["member"]] : Array.isArray(body["members"]) ? body["members"].map(text) : [text(body["member"])])

/**
 * Whose a principal is, or null when it is neither the tenant's own service account nor a Google
 * service agent: `sa:NAME` for a google_service_account of the module, `agent:...` for an agent.
 */
const principal = (config: Config, member: string): string | null => {
  const sa = /^serviceAccount:\$\{google_service_account\.([a-z0-9_]+)\.email\}$/.exec(member)
  if (sa) return declared(config, "google_service_account", sa[1]!) ? `sa:${sa[1]}` : null
  const bq = /^serviceAccount:\$\{data\.google_bigquery_default_service_account\.([a-z0-9_]+)\.email\}$/.exec(member)
  if (bq) return config.data.some((d) => d.type === "google_bigquery_default_service_account" && d.name === bq[1]) ? "agent:bigquery" : null
  const agent = /^serviceAccount:service-\$\{data\.google_project\.([a-z0-9_]+)\.number\}@gcp-sa-([a-z0-9-]+)\.iam\.gserviceaccount\.com$/.exec(member)
  if (agent) {
    const project = config.data.find((d) => d.type === "google_project" && d.name === agent[1])
    return project !== undefined && project.body["project_id"] === "${var.project_id}" ? `agent:${agent[2]}` : null
  }
  return null
}

/** The resource (`type.name`) of the module a grant is on, or `project`; null for anything else. */
const grantTarget = async (config: Config, grant: Block): Promise<string | null> => {
  const target = IAM_TARGET[grant.type]
  if (target === undefined) return null
  const [attribute, type] = target
  const value = grant.body[attribute]
  if (type === null) return value === "${var.project_id}" ? "project" : null
  const refs = await references(value)
  if (typeof value !== "string" || !/^\$\{[^}]*\}$/.test(value) || refs.length === 0) return null
  const resource = refs.find((r) => r.startsWith(`${type}.`))
  if (resource === undefined) return null
  const name = resource.split(".")[1]!
  return declared(config, type, name) ? `${type}.${name}` : null
}

/** A number expression of literals and `*` only, with `var.NAME` replaced by `value`. */
const evaluateProduct = (expression: string, name: string, value: number): number => {
  const inner = /^\$\{(.*)\}$/s.exec(expression)?.[1] ?? expression
  const substituted = inner.split(`var.${name}`).join(String(value)).replace(/[()]/g, " ")
  if (!/^[\d\s*]+$/.test(substituted)) throw new Error(`not a product of numbers and var.${name}: ${expression}`)
  return substituted
    .split("*")
    .map((f) => Number(f.trim()))
    .reduce((a, b) => a * b, 1)
}

/** The variable table of a README: name → whether its default column says "required". */
const readmeVariables = (file: string): Map<string, boolean> => {
  const section = /^## Variables\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(readFileSync(file, "utf8"))?.[1] ?? ""
  const rows = new Map<string, boolean>()
  for (const line of section.split("\n")) {
    const cells = line.split("|").map((c) => c.trim())
    const name = /^`([a-z0-9_]+)`$/.exec(cells[1] ?? "")?.[1]
    if (name !== undefined) rows.set(name, /required/i.test(cells[3] ?? ""))
  }
  return rows
}

/** References (`var.`, `local.`, `data.`, `module.`, `google_…`) that name nothing declared in the configuration. */
const unresolved = async (config: Config): Promise<Array<string>> => {
  const bodies: Array<readonly [string, unknown]> = [
    ...config.resources.map((r) => [`${r.type}.${r.name}`, r.body] as const),
    ...config.data.map((d) => [`data.${d.type}.${d.name}`, d.body] as const),
    ...[...config.locals].map(([k, v]) => [`local.${k}`, v] as const),
    ...[...config.outputs].map(([k, v]) => [`output.${k}`, v] as const),
    ...[...config.modules].map(([k, v]) => [`module.${k}`, v] as const),
    ...[...config.variables].map(([k, v]) => [`var.${k}`, v] as const)
  ]
  const missing: Array<string> = []
  for (const [where, body] of bodies) {
    for (const ref of await references(body)) {
      const [root, a = "", b = ""] = ref.split(".")
      const ok =
        root === "var" ? config.variables.has(a)
        : root === "local" ? config.locals.has(a)
        : root === "data" ? config.data.some((d) => d.type === a && d.name === b)
        : root === "module" ? config.modules.has(a)
        : root!.startsWith("google_") ? declared(config, root!, a)
        : true // each., count., self., path., dynamic block iterators
      if (!ok) missing.push(`${where}: ${ref}`)
    }
  }
  return missing
}

/** The terraform binary on PATH, if any. */
const terraformBinary = ((): string | null => {
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    if (dir === "") continue
    const candidate = join(dir, "terraform")
    try {
      if (statSync(candidate).isFile()) return candidate
    } catch {
      // not in this directory
    }
  }
  return null
})()
if (terraformBinary === null) console.warn("Terraform.test.ts: no terraform binary on PATH: `terraform fmt -check` is skipped")

describe("Terraform: the per-tenant module and the example environment", () => {
  it("parses both configurations, and the module declares what a tenant's stack needs", () => {
    expect(mod.files.size).toBeGreaterThanOrEqual(4)
    expect(env.files.size).toBeGreaterThanOrEqual(3)
    const types = new Set(mod.resources.map((r) => r.type))
    for (const t of ["google_bigquery_dataset", "google_kms_key_ring", "google_kms_crypto_key", "google_pubsub_topic", "google_pubsub_subscription", "google_cloud_run_v2_service", "google_cloud_run_v2_job", "google_cloud_scheduler_job", "google_secret_manager_secret", "google_service_account"]) {
      expect(types, t).toContain(t)
    }
    expect([...mod.outputs.keys()]).toEqual(expect.arrayContaining(["dataset_id", "topic", "subscription", "service_url", "job_name", "service_account_email"]))
  })

  it("labels every resource that takes labels with app and tenant, and names every resource after the tenant", async () => {
    const labels = text(mod.locals.get("labels"))
    // merge(var.labels, { app = "workcat", tenant = var.tenant }): the fixed labels come last.
    const last = /\{([^{}]*)\}\s*\)\s*\}$/.exec(labels)?.[1] ?? ""
    expect(last, `local.labels = ${labels}`).toMatch(/\bapp\s*=\s*"workcat"/)
    expect(last, `local.labels = ${labels}`).toMatch(/\btenant\s*=\s*var\.tenant\b/)
    const derived = await tenantLocals(mod)
    expect(derived).toContain("labels")

    const unlabelled: Array<string> = []
    const unnamed: Array<string> = []
    for (const r of mod.resources) {
      const id = `${r.type}.${r.name} (${r.file})`
      expect(LABELLED.has(r.type) || UNLABELLED.has(r.type), `${id}: add its type to LABELLED or UNLABELLED`).toBe(true)
      if (LABELLED.has(r.type)) {
        const value = r.body["labels"]
        const ok = value === "${local.labels}" || (isBody(value) && value["app"] === "workcat" && value["tenant"] === "${var.tenant}")
        if (!ok) unlabelled.push(`${id}: labels = ${text(value)}`)
      }
      if (isIam(r.type)) continue
      const attribute = NAME_ATTRIBUTE[r.type]
      expect(attribute, `${id}: add its name attribute to NAME_ATTRIBUTE`).toBeDefined()
      const refs = await references(r.body[attribute!])
      if (!refs.some((ref) => ref === "var.tenant" || (ref.startsWith("local.") && derived.has(ref.slice("local.".length))))) {
        unnamed.push(`${id}: ${attribute} = ${text(r.body[attribute!])}`)
      }
    }
    expect(unlabelled).toEqual([])
    expect(unnamed).toEqual([])
  })

  it("grants only the tenant's own principals on the tenant's own resources, and only roles/bigquery.jobUser on the project", async () => {
    const wrong: Array<string> = []
    const projectRoles = new Set<string>()
    for (const grant of mod.resources.filter((r) => isIam(r.type))) {
      const id = `${grant.type}.${grant.name}`
      const target = await grantTarget(mod, grant)
      if (target === null) wrong.push(`${id}: on ${text(grant.body[IAM_TARGET[grant.type]?.[0] ?? "?"])}, not a resource of the module`)
      if (target === "project") projectRoles.add(text(grant.body["role"]))
      for (const m of members(grant.body)) if (principal(mod, m) === null) wrong.push(`${id}: to ${m}, neither the tenant's service account nor a Google service agent`)
    }
    expect(wrong).toEqual([])
    expect([...projectRoles]).toEqual(["roles/bigquery.jobUser"])

    // The example environment grants nothing itself, and gives each module instance its own tenant.
    expect(env.resources.filter((r) => isIam(r.type)).map((r) => `${r.type}.${r.name}`)).toEqual([])
    expect(env.modules.size).toBeGreaterThan(0)
    for (const [name, body] of env.modules) {
      expect(body["source"], name).toBe("../../modules/tenant")
      expect(body["for_each"], name).toBeDefined()
      expect(body["tenant"], name).toBe("${each.key}")
    }
  })

  it("gives the runtime and scheduler service accounts exactly their least-privilege grants", async () => {
    const grantsOf = new Map<string, Array<string>>()
    for (const grant of mod.resources.filter((r) => isIam(r.type))) {
      const target = (await grantTarget(mod, grant)) ?? "?"
      for (const m of members(grant.body)) {
        const who = principal(mod, m) ?? m
        grantsOf.set(who, [...(grantsOf.get(who) ?? []), `${text(grant.body["role"])} on ${target.split(".")[0]}`])
      }
    }
    expect(grantsOf.get("sa:runtime")?.sort()).toEqual(
      [
        "roles/bigquery.dataEditor on google_bigquery_dataset",
        "roles/bigquery.jobUser on project",
        "roles/pubsub.subscriber on google_pubsub_subscription",
        "roles/pubsub.viewer on google_pubsub_subscription",
        "roles/secretmanager.secretAccessor on google_secret_manager_secret",
        "roles/secretmanager.secretAccessor on google_secret_manager_secret",
        "roles/secretmanager.secretAccessor on google_secret_manager_secret"
      ].sort()
    )
    expect(grantsOf.get("sa:scheduler")).toEqual(["roles/run.invoker on google_cloud_run_v2_job"])
    // One runtime identity for every workload of the tenant.
    for (const r of mod.resources.filter((r) => r.type.startsWith("google_cloud_run_v2_") && !isIam(r.type))) {
      const template = blocks(r.body, "template")[0]
      const sa = r.type === "google_cloud_run_v2_job" ? blocks(template, "template")[0]?.["service_account"] : template?.["service_account"]
      expect(sa, `${r.type}.${r.name}`).toBe("${google_service_account.runtime.email}")
    }
  })

  it("grants no primitive role (owner, editor, viewer) and no Admin role anywhere, and names every role literally", async () => {
    const found: Array<string> = []
    for (const config of [mod, env]) {
      for (const [file, json] of config.files) {
        for (const s of strings(json)) {
          if (/roles\/(owner|editor|viewer)(?![\w.])/.test(s) || /roles\/[\w.]*admin/i.test(s)) found.push(`${file}: ${s}`)
        }
      }
      for (const grant of config.resources.filter((r) => isIam(r.type))) {
        const role = grant.body["role"]
        if (typeof role !== "string" || !/^roles\/[a-zA-Z.]+$/.test(role)) found.push(`${grant.type}.${grant.name}: role ${text(role)} is not a literal predefined role`)
      }
    }
    expect(found).toEqual([])
  })

  it("gives every variable a description and a type; the required ones are as documented, and each README lists every variable", () => {
    const cases = [
      { config: mod, readme: join(moduleDir, "README.md"), required: ["image", "project_id", "region", "tenant"] },
      { config: env, readme: join(envDir, "README.md"), required: ["image", "project_id", "region"] }
    ]
    for (const { config, readme, required } of cases) {
      for (const [name, body] of config.variables) {
        expect(typeof body["description"] === "string" && body["description"].trim().length > 0, `${name}: description`).toBe(true)
        expect(typeof body["type"] === "string" && body["type"].length > 0, `${name}: type`).toBe(true)
      }
      const withoutDefault = [...config.variables].filter(([, body]) => !("default" in body)).map(([name]) => name)
      expect(withoutDefault.sort(), readme).toEqual(required)
      expect(existsSync(readme), readme).toBe(true)
      const documented = readmeVariables(readme)
      expect([...documented.keys()].sort(), `${relative(root, readme)}: its ## Variables table`).toEqual([...config.variables.keys()].sort())
      expect([...documented].filter(([, req]) => req).map(([name]) => name).sort(), `${relative(root, readme)}: variables marked required`).toEqual(required)
    }
  })

  it("validates the tenant variable with workcat's own tenant id rule (packages/tenancy/src/TenantId.ts)", () => {
    const source = readFileSync(join(root, "packages", "tenancy", "src", "TenantId.ts"), "utf8")
    const workcat = /Schema\.pattern\(\/(.+?)\/[a-z]*,/.exec(source)?.[1]
    expect(workcat, "the pattern in TenantId.ts").toBeDefined()
    const condition = text(blocks(mod.variables.get("tenant"), "validation")[0]?.["condition"])
    const terraform = /regex\("((?:[^"\\]|\\.)*)",\s*var\.tenant\)/.exec(condition)?.[1]
    expect(terraform, condition).toBe(workcat)
  })

  it("runs the nightly job at 02:00 UTC through the Cloud Run Admin API, as the scheduler account that may run that job only", () => {
    const schedulers = mod.resources.filter((r) => r.type === "google_cloud_scheduler_job")
    expect(schedulers).toHaveLength(1)
    const scheduler = schedulers[0]!.body
    expect(scheduler["schedule"]).toBe("0 2 * * *")
    expect(scheduler["time_zone"]).toBe("Etc/UTC")
    const target = blocks(scheduler, "http_target")[0]
    expect(target?.["http_method"]).toBe("POST")
    const uri = /^https:\/\/run\.googleapis\.com\/v2\/projects\/\$\{var\.project_id\}\/locations\/\$\{var\.region\}\/jobs\/\$\{google_cloud_run_v2_job\.([a-z0-9_]+)\.name\}:run$/.exec(text(target?.["uri"]))
    expect(uri, text(target?.["uri"])).not.toBeNull()
    const jobName = uri![1]!
    const job = mod.resources.find((r) => r.type === "google_cloud_run_v2_job" && r.name === jobName)
    expect(job, `google_cloud_run_v2_job.${jobName}`).toBeDefined()
    expect(job!.body["location"]).toBe("${var.region}")

    // The job runs the README's nightly command for this tenant.
    const container = blocks(blocks(blocks(job!.body, "template")[0], "template")[0], "containers")[0]
    expect(container?.["args"]).toEqual(["run", "nightly", "--tenant", "${var.tenant}"])
    expect(readFileSync(join(root, "README.md"), "utf8").includes("| `run nightly (--tenant T "), "README.md's CLI table: run nightly (--tenant T ...").toBe(true)

    const caller = blocks(target, "oauth_token")[0]?.["service_account_email"]
    const sa = /^\$\{google_service_account\.([a-z0-9_]+)\.email\}$/.exec(text(caller))?.[1]
    expect(sa, text(caller)).toBeDefined()
    const invokers = mod.resources.filter(
      (r) => r.type === "google_cloud_run_v2_job_iam_member" && r.body["role"] === "roles/run.invoker" && r.body["member"] === `serviceAccount:\${google_service_account.${sa}.email}`
    )
    expect(invokers.map((r) => r.body["name"])).toEqual([`\${google_cloud_run_v2_job.${jobName}.name}`])
  })

  it("encrypts the BigQuery dataset with the tenant's KMS key and expires its partitions after the retention days", () => {
    const datasets = mod.resources.filter((r) => r.type === "google_bigquery_dataset")
    expect(datasets).toHaveLength(1)
    const dataset = datasets[0]!.body
    const kms = text(blocks(dataset, "default_encryption_configuration")[0]?.["kms_key_name"])
    const key = /^\$\{google_kms_crypto_key\.([a-z0-9_]+)\.id\}$/.exec(kms)?.[1]
    expect(key, `kms_key_name = ${kms}`).toBeDefined()
    const cryptoKey = mod.resources.find((r) => r.type === "google_kms_crypto_key" && r.name === key)
    expect(cryptoKey).toBeDefined()
    expect(text(cryptoKey!.body["key_ring"])).toMatch(/^\$\{google_kms_key_ring\.[a-z0-9_]+\.id\}$/)
    // BigQuery's service agent may use that key (CMEK needs it), and nobody else is granted on it.
    const onKey = mod.resources.filter((r) => r.type === "google_kms_crypto_key_iam_member" && r.body["crypto_key_id"] === `\${google_kms_crypto_key.${key}.id}`)
    expect(onKey.map((r) => [r.body["role"], principal(mod, text(r.body["member"]))])).toEqual([["roles/cloudkms.cryptoKeyEncrypterDecrypter", "agent:bigquery"]])

    const expiration = text(dataset["default_partition_expiration_ms"])
    const retention = mod.variables.get("retention_days")
    expect(retention?.["default"]).toBe(730)
    expect(evaluateProduct(expiration, "retention_days", 730)).toBe(730 * 24 * 60 * 60 * 1000)
    expect(evaluateProduct(expiration, "retention_days", 1)).toBe(86_400_000)
  })

  it("runs serve (its worker on the tenant's runs only), the Pub/Sub consumer and the nightly with DATABASE_URL and WORKCAT_MASTER_KEY from the tenant's secrets", () => {
    const workloads = new Map<string, Body | undefined>()
    for (const r of mod.resources) {
      if (r.type === "google_cloud_run_v2_service" || r.type === "google_cloud_run_v2_worker_pool") workloads.set(`${r.type}.${r.name}`, blocks(blocks(r.body, "template")[0], "containers")[0])
      if (r.type === "google_cloud_run_v2_job") workloads.set(`${r.type}.${r.name}`, blocks(blocks(blocks(r.body, "template")[0], "template")[0], "containers")[0])
    }
    expect(workloads.size).toBe(3)
    const args = [...workloads.values()].map((c) => c?.["args"])
    expect(args).toContainEqual(["serve", "--worker-tenant", "${var.tenant}"])
    const ingest = args.find((a) => Array.isArray(a) && a[0] === "ingest")
    expect(ingest).toEqual(expect.arrayContaining(["--tenant", "${var.tenant}", "--from", "pubsub", "--subscription", "${google_pubsub_subscription.intake.id}"]))
    for (const [id, container] of workloads) {
      const secretOf = (name: string) => blocks(blocks(blocks(container, "env").find((e) => e["name"] === name), "value_source")[0], "secret_key_ref")[0]?.["secret"]
      expect(secretOf("DATABASE_URL"), id).toBe("${google_secret_manager_secret.database_url.secret_id}")
      expect(secretOf("WORKCAT_MASTER_KEY"), id).toBe("${google_secret_manager_secret.master_key.secret_id}")
    }
    // No secret value is ever written in Terraform.
    expect(mod.resources.filter((r) => r.type === "google_secret_manager_secret_version")).toEqual([])
  })

  it("resolves every reference, and the example passes the module only its variables, every required one included", async () => {
    expect(await unresolved(mod)).toEqual([])
    expect(await unresolved(env)).toEqual([])
    const metaArguments = new Set(["source", "version", "for_each", "count", "depends_on", "providers"])
    const required = [...mod.variables].filter(([, body]) => !("default" in body)).map(([name]) => name)
    for (const [name, body] of env.modules) {
      const given = Object.keys(body).filter((k) => !metaArguments.has(k))
      expect(given.filter((k) => !mod.variables.has(k)), `module.${name}: arguments the module does not declare`).toEqual([])
      expect(required.filter((k) => !given.includes(k)), `module.${name}: required variables not given`).toEqual([])
    }
  })

  it.skipIf(terraformBinary === null)(`terraform fmt -check -recursive deploy/terraform${terraformBinary === null ? " (skipped: no terraform binary on PATH)" : ""}`, () => {
    // Without TF_CLI_CONFIG_FILE: a configured file that is missing only adds a warning.
    const environment = { ...process.env }
    delete environment["TF_CLI_CONFIG_FILE"]
    const result = spawnSync(terraformBinary!, ["fmt", "-check", "-recursive", "-diff", relative(root, terraformDir)], { cwd: root, env: environment, encoding: "utf8" })
    expect(result.error).toBeUndefined()
    expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({ status: 0, stdout: "", stderr: "" })
  })
})
