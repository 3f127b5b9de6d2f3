/**
 * The tenant dashboard: one page that signs in (an API token for an HTTP-only session cookie) and
 * shows the tenant's numbers as the API answers them. Every chart has its table; everything is
 * reachable by keyboard. Bundled with Chart.js into dist/web/dashboard.js by scripts/bundle.mjs.
 */
import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  DoughnutController,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip
} from "chart.js"

Chart.register(ArcElement, BarController, BarElement, CategoryScale, DoughnutController, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip)

interface Session {
  /** Null: an operator (every tenant's aggregates). */
  readonly tenant: string | null
  readonly role: string
  readonly csrf: string
  readonly expiresAt: string
}

interface Group {
  readonly group: string
  readonly label: string
  readonly employees: number
  readonly authWasteHours: number
  readonly contextSwitchWasteHours: number
  readonly wasteCostUsd: number
  readonly avgAuthStep: number
  readonly distinctAppsPerDay: number
}

interface Snapshot {
  readonly asOf: string | null
  readonly windowDays: number
  readonly department: string | null
  readonly groups: ReadonlyArray<Group>
  readonly minGroupSize: number
  readonly suppressedGroups: number
  readonly totalEmployees: number
  readonly loadedCostPerHour: number
}

interface Trend {
  readonly points: ReadonlyArray<{ readonly asOf: string; readonly windowDays: number; readonly groups: ReadonlyArray<Group> }>
}

interface Recommendation {
  readonly kind: string
  readonly subject: string
  readonly text: string
  readonly hoursPerYear: number
  readonly costUsdPerYear: number
}

interface LatestRun {
  readonly run: null | {
    readonly key: string
    readonly state: string
    readonly startedAt: string | null
    readonly finishedAt: string | null
    readonly durationSeconds: number | null
    readonly costUsd: number
  }
}

/** The nightly run's service level: READY within 4 hours. */
const SLA_SECONDS = 4 * 3600
/** Okabe–Ito: distinguishable with every common colour-vision deficiency. */
const COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message)
  }
}

let session: Session | undefined

const api = async <A>(path: string, init: RequestInit = {}): Promise<A> => {
  const headers = new Headers(init.headers)
  headers.set("accept", "application/json")
  if (init.method !== undefined && init.method !== "GET" && session !== undefined) headers.set("x-csrf-token", session.csrf)
  if (init.body !== undefined) headers.set("content-type", "application/json")
  const response = await fetch(path, { ...init, headers, credentials: "same-origin" })
  if (response.status === 204) return undefined as A
  const body = await response.json().catch(() => ({}))
  if (!response.ok) throw new HttpError(response.status, typeof body.message === "string" ? body.message : `HTTP ${response.status}`)
  return body as A
}

/** An element with attributes and children; text is always text (never HTML). */
const el = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Readonly<Record<string, string>> = {},
  ...children: ReadonlyArray<Node | string>
): HTMLElementTagNameMap[K] => {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value)
  node.append(...children)
  return node
}

const usd = (n: number) => {
  const abs = Math.abs(n)
  if (abs >= 1e6) return `$${(n / 1e6).toFixed(1)}M`
  if (abs >= 1e4) return `$${Math.round(n / 1e3)}K`
  return `$${Math.round(n).toLocaleString("en-US")}`
}
const hours = (n: number) => `${n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1)} h`
const percent = (n: number) => `${Math.round(n * 100)}%`
const perYear = (snapshot: Pick<Snapshot, "windowDays">) => 365 / Math.max(1, snapshot.windowDays)

/** A cell showing `text`, holding the API's exact number in `data-value` (the browser tests compare them). */
const numberCell = (value: number, text: string) => el("td", { "data-value": String(value), class: "number" }, text)

/** A table of rows: a caption, column headings, and cells. */
const table = (caption: string, headings: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<HTMLTableCellElement | string>>) =>
  el(
    "table",
    {},
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, ...headings.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, ...rows.map((cells) => el("tr", {}, ...cells.map((c) => (typeof c === "string" ? el("td", {}, c) : c)))))
  )

const charts: Array<Chart> = []
/** Charts are drawn once their canvas is in the page (Chart.js sizes them from their box). */
const pending: Array<() => void> = []
const drawCharts = () => {
  for (const draw of pending.splice(0)) draw()
}

/** A chart and, behind it, its table: the chart is a picture of the table (described for screen readers by it). */
const figure = (id: string, title: string, config: ChartConfiguration, data: HTMLTableElement) => {
  const canvas = el("canvas", { role: "img", "aria-label": `${title}: the table below has the numbers` })
  const details = el("details", { id: `${id}-table` }, el("summary", {}, `${title}: table`), data)
  const node = el("figure", { id }, el("div", { class: "chart" }, canvas), details)
  pending.push(() => charts.push(new Chart(canvas, { ...config, options: { animation: false, maintainAspectRatio: false, ...config.options } })))
  return node
}

const section = (id: string, title: string, ...children: ReadonlyArray<Node | string>) =>
  el("section", { id, "aria-labelledby": `${id}-title` }, el("h2", { id: `${id}-title`, tabindex: "-1" }, title), ...children)

const withheld = (s: Snapshot) =>
  s.suppressedGroups === 0
    ? ""
    : `${s.suppressedGroups} group${s.suppressedGroups === 1 ? "" : "s"} of fewer than ${s.minGroupSize} people withheld for privacy.`

const main = () => document.getElementById("main")!
const status = (text: string, role: "status" | "alert" = "status") => el("p", { id: "status", role }, text)

const clear = () => {
  for (const chart of charts.splice(0)) chart.destroy()
  main().replaceChildren()
}

const showSignIn = (message?: string) => {
  clear()
  document.getElementById("who")!.replaceChildren()
  const input = el("input", { id: "token", name: "token", type: "password", autocomplete: "off", required: "", spellcheck: "false" })
  const form = el(
    "form",
    { id: "sign-in" },
    el("h2", {}, "Sign in"),
    el("p", {}, "Paste an API token (analyst, admin, hr_admin or operator). It is exchanged for a session cookie and never stored by this page."),
    el("label", { for: "token" }, "API token"),
    input,
    el("button", { type: "submit" }, "Sign in"),
    message === undefined ? "" : el("p", { role: "alert", class: "error" }, message)
  )
  form.addEventListener("submit", (event) => {
    event.preventDefault()
    api<Session>("/api/v1/session", { method: "POST", body: JSON.stringify({ token: input.value }) })
      .then((s) => {
        input.value = ""
        return showDashboard(s)
      })
      .catch((e: unknown) => showSignIn(e instanceof Error ? e.message : String(e)))
  })
  // Sign-in with the organization's own identity provider: a navigation (not a form post), so the
  // page's form-action policy does not stand between the server and the provider it redirects to.
  const tenantInput = el("input", { id: "oidc-tenant", name: "tenant", autocomplete: "organization", required: "", spellcheck: "false" })
  const company = el(
    "form",
    { id: "sign-in-oidc" },
    el("h2", {}, "Sign in with your organization"),
    el("label", { for: "oidc-tenant" }, "Tenant id"),
    tenantInput,
    el("button", { type: "submit" }, "Continue to your identity provider")
  )
  company.addEventListener("submit", (event) => {
    event.preventDefault()
    window.location.assign(`/signin/oidc?tenant=${encodeURIComponent(tenantInput.value.trim())}`)
  })
  main().append(company, form)
  tenantInput.focus()
  document.body.dataset.ready = "sign-in"
}

const signOut = () =>
  api("/api/v1/session/sign-out", { method: "POST" })
    .catch(() => undefined)
    .then(() => {
      session = undefined
      showSignIn()
    })

const headline = (categories: Snapshot, departments: Snapshot) => {
  const scale = perYear(categories)
  const ranked = [...categories.groups].filter((g) => g.group !== "uncategorized").sort((a, b) => b.employees - a.employees)
  const total = departments.groups.reduce((n, g) => n + g.wasteCostUsd, 0) * scale
  const totalHours = departments.groups.reduce((n, g) => n + g.authWasteHours + g.contextSwitchWasteHours, 0) * scale
  const sentence = (g: Group) => `${g.label} (${percent(g.employees / Math.max(1, categories.totalEmployees))}): ${usd(g.wasteCostUsd * scale)}/year opportunity in tool friction`
  const [top, ...rest] = ranked
  return section(
    "headline",
    top === undefined ? "No categories yet" : sentence(top),
    el("ul", { class: "runners-up" }, ...rest.slice(0, 3).map((g) => el("li", {}, sentence(g)))),
    el(
      "p",
      { class: "total" },
      `Across the company: ${usd(total)} a year (${hours(totalHours)}) lost to extra sign-in steps and app switching, at ${usd(categories.loadedCostPerHour)} an hour; measured over the ${categories.windowDays} days to ${categories.asOf ?? "—"}.`
    )
  )
}

const categoryDistribution = (s: Snapshot) => {
  const groups = [...s.groups].sort((a, b) => b.employees - a.employees)
  const scale = perYear(s)
  return section(
    "categories",
    "What kind of work people do",
    figure(
      "categories-chart",
      "Employees by category",
      {
        type: "doughnut",
        data: { labels: groups.map((g) => g.label), datasets: [{ data: groups.map((g) => g.employees), backgroundColor: groups.map((_, i) => COLOURS[i % COLOURS.length]!) }] },
        options: { plugins: { legend: { position: "right" } } }
      },
      table(
        "Employees by category",
        ["Category", "Employees", "Share of staff", "Friction a year"],
        groups.map((g) => [
          el("th", { scope: "row" }, g.label),
          numberCell(g.employees, String(g.employees)),
          numberCell(g.employees / Math.max(1, s.totalEmployees), percent(g.employees / Math.max(1, s.totalEmployees))),
          numberCell(g.wasteCostUsd * scale, usd(g.wasteCostUsd * scale))
        ])
      )
    ),
    el("p", { class: "note" }, withheld(s))
  )
}

const frictionBars = (id: string, title: string, groups: ReadonlyArray<Group>, scale: number) =>
  figure(
    `${id}-chart`,
    title,
    {
      type: "bar",
      data: {
        labels: groups.map((g) => g.label),
        datasets: [
          { label: "Extra sign-in steps (h a year)", data: groups.map((g) => g.authWasteHours * scale), backgroundColor: COLOURS[0]! },
          { label: "App switching (h a year)", data: groups.map((g) => g.contextSwitchWasteHours * scale), backgroundColor: COLOURS[1]! }
        ]
      },
      options: { indexAxis: "y", scales: { x: { stacked: true }, y: { stacked: true } } }
    },
    table(
      title,
      ["Group", "Employees", "Sign-in steps (window)", "App switching (window)", "Friction a year"],
      groups.map((g) => [
        el("th", { scope: "row" }, g.label),
        numberCell(g.employees, String(g.employees)),
        numberCell(g.authWasteHours, hours(g.authWasteHours)),
        numberCell(g.contextSwitchWasteHours, hours(g.contextSwitchWasteHours)),
        numberCell(g.wasteCostUsd * scale, usd(g.wasteCostUsd * scale))
      ])
    )
  )

const drillDown = async (department: string, into: HTMLElement) => {
  const s = await api<Snapshot>(`/api/v1/tenants/${encodeURIComponent(session!.tenant!)}/metrics/productivity?department=${encodeURIComponent(department)}`)
  const groups = [...s.groups].sort((a, b) => b.wasteCostUsd - a.wasteCostUsd)
  const heading = el("h3", { id: "drill-title", tabindex: "-1" }, `${department}: its categories`)
  into.replaceChildren(
    heading,
    groups.length === 0 ? el("p", {}, "No category of this department is large enough to show.") : frictionBars("drill", `Friction in ${department} by category`, groups, perYear(s)),
    el("p", { class: "note", id: "drill-withheld" }, withheld(s))
  )
  drawCharts()
  heading.focus()
}

const departmentFriction = (s: Snapshot) => {
  const groups = [...s.groups].sort((a, b) => b.wasteCostUsd - a.wasteCostUsd)
  const drill = el("div", { id: "drill", "aria-live": "polite" })
  const buttons = el(
    "ul",
    { class: "drill-buttons", "aria-label": "Drill down into a department" },
    ...groups.map((g) => {
      const button = el("button", { type: "button", "data-department": g.group }, `${g.label}: categories`)
      button.addEventListener("click", () => void drillDown(g.group, drill).catch((e: unknown) => drill.replaceChildren(status(String(e), "alert"))))
      return el("li", {}, button)
    })
  )
  return section("departments", "Friction by department", frictionBars("departments", "Friction by department", groups, perYear(s)), el("p", { class: "note" }, withheld(s)), buttons, drill)
}

const costlyApps = (s: Snapshot) => {
  const groups = [...s.groups].sort((a, b) => b.wasteCostUsd - a.wasteCostUsd).slice(0, 10)
  return section("apps", "The apps that cost most", frictionBars("apps", "Friction by app (top 10)", groups, perYear(s)), el("p", { class: "note" }, withheld(s)))
}

const recommendations = (items: ReadonlyArray<Recommendation>) =>
  section(
    "recommendations",
    "Recommendations",
    items.length === 0
      ? el("p", {}, "Nothing stands out: no app asks for many sign-in steps and no department switches between many apps.")
      : el("ol", {}, ...items.map((r) => el("li", { "data-value": String(r.costUsdPerYear) }, r.text)))
  )

const trend = (t: Trend) => {
  const points = t.points.map((p) => ({
    asOf: p.asOf,
    cost: p.groups.reduce((n, g) => n + g.wasteCostUsd, 0) * (365 / Math.max(1, p.windowDays)),
    employees: p.groups.reduce((n, g) => n + g.employees, 0)
  }))
  return section(
    "trend",
    "Friction night by night",
    points.length === 0
      ? el("p", {}, "No nightly snapshots yet.")
      : figure(
          "trend-chart",
          "Friction a year, as measured each night",
          {
            type: "line",
            data: { labels: points.map((p) => p.asOf), datasets: [{ label: "Friction a year (USD)", data: points.map((p) => p.cost), borderColor: COLOURS[0]!, backgroundColor: COLOURS[0]! }] }
          },
          table(
            "Friction a year, as measured each night",
            ["Night", "Employees shown", "Friction a year"],
            points.map((p) => [el("th", { scope: "row" }, p.asOf), numberCell(p.employees, String(p.employees)), numberCell(p.cost, usd(p.cost))])
          )
        )
  )
}

const latestRun = ({ run }: LatestRun) => {
  if (run === null) return section("run", "The last nightly run", el("p", {}, "No nightly run yet."))
  const duration = run.durationSeconds
  const late = duration !== null && duration > SLA_SECONDS && run.state !== "READY"
  return section(
    "run",
    "The last nightly run",
    el(
      "dl",
      {},
      el("dt", {}, "Night"),
      el("dd", {}, run.key),
      el("dt", {}, "State"),
      el("dd", { id: "run-state", class: late ? "late" : "" }, run.state),
      el("dt", {}, "Duration"),
      el("dd", { "data-value": String(duration ?? "") }, duration === null ? "not started" : `${Math.round(duration)} s (service level: ${SLA_SECONDS / 3600} h)`),
      el("dt", {}, "Cost"),
      el("dd", { "data-value": String(run.costUsd) }, `$${run.costUsd.toFixed(2)}`)
    )
  )
}

interface TenantOverview {
  readonly tenant: string
  readonly displayName: string
  readonly run: null | { readonly key: string; readonly state: string; readonly durationSeconds: number; readonly sla: string; readonly costUsd: number }
  readonly spend: { readonly monthUsd: number; readonly budgetUsd: number; readonly budgetUsed: number }
  readonly intake: { readonly accepted: number; readonly lagSeconds: number | null }
  readonly deadLetters: { readonly total: number; readonly rate: number; readonly byReason: ReadonlyArray<{ readonly reason: string; readonly count: number }> }
  readonly accuracy: null | { readonly accuracy: number | null; readonly judged: number; readonly validatedAt: string }
}

const duration = (seconds: number) =>
  seconds >= 3600 ? `${(seconds / 3600).toFixed(1)} h` : seconds >= 60 ? `${Math.round(seconds / 60)} min` : `${Math.round(seconds)} s`

/** The operators' view: one row per tenant, aggregates only. */
const fleet = (view: { readonly slaHours: number; readonly tenants: ReadonlyArray<TenantOverview> }) =>
  section(
    "fleet",
    "Every tenant",
    el("p", {}, `Nightly runs must be READY within ${view.slaHours} h of being queued. Dead letters and intake: the last 24 hours.`),
    table(
      "Every tenant",
      ["Tenant", "Last night", "State", "Duration", "SLA", "LLM spend this month", "Intake (24 h)", "Intake lag", "Dead letters (24 h)", "Top reason", "Accuracy"],
      view.tenants.map((t) => [
        el("th", { scope: "row" }, `${t.displayName} (${t.tenant})`),
        t.run?.key ?? "no run yet",
        t.run?.state ?? "—",
        t.run === null ? "—" : numberCell(t.run.durationSeconds, duration(t.run.durationSeconds)),
        el("td", { class: t.run?.sla === "missed" ? "late" : "" }, t.run?.sla ?? "—"),
        numberCell(t.spend.monthUsd, `$${t.spend.monthUsd.toFixed(2)} of $${t.spend.budgetUsd.toFixed(0)} (${percent(t.spend.budgetUsed)})`),
        numberCell(t.intake.accepted, t.intake.accepted.toLocaleString("en-US")),
        t.intake.lagSeconds === null ? "—" : numberCell(t.intake.lagSeconds, duration(t.intake.lagSeconds)),
        numberCell(t.deadLetters.total, `${t.deadLetters.total.toLocaleString("en-US")} (${(t.deadLetters.rate * 100).toFixed(2)}% of SSO records)`),
        t.deadLetters.byReason[0]?.reason ?? "—",
        t.accuracy === null || t.accuracy.accuracy === null ? "not validated" : numberCell(t.accuracy.accuracy, `${percent(t.accuracy.accuracy)} of ${t.accuracy.judged}`)
      ])
    )
  )

/** Loads a view's numbers and shows them; a session that ended goes back to sign-in, any other failure is said. */
const showView = async (ready: "dashboard" | "fleet", load: () => Promise<ReadonlyArray<Node>>) => {
  try {
    const nodes = await load()
    clear()
    main().append(...nodes)
    drawCharts()
    await new Promise((resolve) => requestAnimationFrame(resolve))
    performance.mark("dashboard-ready")
    document.body.dataset.ready = ready
  } catch (e) {
    if (e instanceof HttpError && e.status === 401) return showSignIn("Your session has ended: sign in again.")
    clear()
    main().append(status(e instanceof Error ? e.message : String(e), "alert"))
    document.body.dataset.ready = "error"
  }
}

const showDashboard = async (s: Session) => {
  session = s
  clear()
  const signOutButton = el("button", { type: "button", id: "sign-out" }, "Sign out")
  signOutButton.addEventListener("click", () => void signOut())
  document.getElementById("who")!.replaceChildren(el("span", {}, `${s.tenant ?? "all tenants"} · ${s.role}`), signOutButton)
  main().append(status("Loading the numbers…"))
  if (s.tenant === null) {
    return showView("fleet", async () => [fleet(await api<{ slaHours: number; tenants: ReadonlyArray<TenantOverview> }>("/api/v1/operator/tenants"))])
  }
  const base = `/api/v1/tenants/${encodeURIComponent(s.tenant)}`
  return showView("dashboard", async () => {
    const [categories, departments, apps, recs, nights, run] = await Promise.all([
      api<Snapshot>(`${base}/metrics/productivity?groupBy=category`),
      api<Snapshot>(`${base}/metrics/productivity?groupBy=department`),
      api<Snapshot>(`${base}/metrics/productivity?groupBy=app`),
      api<{ items: ReadonlyArray<Recommendation> }>(`${base}/metrics/recommendations`),
      api<Trend>(`${base}/metrics/trend?groupBy=department&days=90`),
      api<LatestRun>(`${base}/runs/latest`)
    ])
    return [
      headline(categories, departments),
      categoryDistribution(categories),
      departmentFriction(departments),
      costlyApps(apps),
      recommendations(recs.items),
      trend(nights),
      latestRun(run)
    ]
  })
}

/**
 * A one-time sign-in link (`/signin?code=…`): redeemed when the person asks, not when the page
 * loads (a mail or chat service previewing the link must not spend it); the code then leaves the
 * address bar.
 */
const showLink = () => {
  const code = new URLSearchParams(window.location.search).get("code") ?? ""
  const button = el("button", { type: "button", id: "redeem" }, "Continue to the dashboard")
  button.addEventListener("click", () =>
    api<Session>("/api/v1/session/link", { method: "POST", body: JSON.stringify({ code }) })
      .then((s) => {
        window.history.replaceState(null, "", "/")
        return showDashboard(s)
      })
      .catch((e: unknown) => {
        window.history.replaceState(null, "", "/")
        showSignIn(e instanceof Error ? e.message : String(e))
      })
  )
  clear()
  main().append(section("link", "Sign in with a link", el("p", {}, "This link signs you in once."), button))
  button.focus()
  document.body.dataset.ready = "link"
}

/** The server puts the browser's session in the page when its cookie holds one. */
const given = document.querySelector<HTMLMetaElement>("meta[name=workcat-session]")?.content
if (given !== undefined) void showDashboard(JSON.parse(given) as Session)
else if (document.querySelector<HTMLMetaElement>("meta[name=workcat-view]")?.content === "link") showLink()
else showSignIn()
