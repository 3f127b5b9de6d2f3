/**
 * The independent generator's roles, written without looking at the model's archetypes: what
 * people of each job sign in to, as the Okta app display names a tenant would have (catalog apps
 * under their product names, in-house apps under their internal names). `$name` is a slot the
 * company fills once with one of its `STACKS` (a GitHub shop or a GitLab shop), so one tenant is
 * consistent and two tenants differ.
 *
 * `p` is the share of the role's people who use the app at all, `rate` how intensely (roughly the
 * sign-ins of an active day of a typical user of it). Roles overlap on purpose: backend engineers
 * deploy and look at dashboards, data engineers open the BI tool, product managers read code
 * reviews and tickets, support uses the admin console customer success also uses.
 */
export interface RoleApp {
  readonly app: string
  readonly p: number
  readonly rate: number
}

export interface Role {
  readonly title: string
  /** The default taxonomy's category id the role belongs to. */
  readonly category: string
  /** Relative headcount. */
  readonly share: number
  readonly apps: ReadonlyArray<RoleApp>
}

/** The company's choices among interchangeable products. */
export const STACKS: Readonly<Record<string, ReadonlyArray<string>>> = {
  $chat: ["Slack", "Microsoft Teams"],
  $mail: ["Gmail", "Microsoft Outlook"],
  $docs: ["Google Drive", "SharePoint", "Box"],
  $git: ["GitHub", "GitLab", "Bitbucket"],
  $tracker: ["Jira", "Linear", "Asana"],
  $ci: ["CircleCI", "Buildkite", "Jenkins"],
  $cloud: ["AWS Management Console", "Google Cloud Console", "Azure Portal"],
  $warehouse: ["Snowflake", "BigQuery", "Databricks"],
  $bi: ["Looker", "Tableau", "Power BI", "Metabase"],
  $notebook: ["Mode", "Hex"],
  $product_analytics: ["Amplitude", "Mixpanel", "Pendo"],
  $crm: ["Salesforce", "HubSpot"],
  $sequencer: ["Outreach", "Salesloft", "Apollo.io"],
  $cs: ["Gainsight", "Vitally", "ChurnZero", "Totango"],
  $helpdesk: ["Zendesk", "Intercom", "Freshdesk", "Help Scout"],
  $phone: ["Aircall", "Talkdesk"],
  $mkt: ["Marketo", "Mailchimp", "HubSpot"],
  $cms: ["WordPress", "Webflow"],
  $erp: ["NetSuite", "QuickBooks Online", "Xero"],
  $card: ["Brex", "Ramp", "SAP Concur"],
  $fpa: ["Workday Adaptive Planning", "Anaplan", "Pigment"],
  $hris: ["Workday", "BambooHR", "HiBob", "Rippling"],
  $payroll: ["Gusto", "ADP Workforce Now", "Deel"],
  $ats: ["Greenhouse", "Lever", "Ashby"],
  $clm: ["Ironclad", "DocuSign CLM", "LinkSquares"],
  $mdm: ["Jamf Pro", "Kandji", "Microsoft Intune"],
  $itsm: ["Jira Service Management", "ServiceNow", "Freshservice"],
  $idp_admin: ["Okta Admin Console", "Google Admin", "Microsoft 365 Admin Center"],
  $hosting: ["Vercel", "Netlify"],
  $edr: ["CrowdStrike Falcon", "SentinelOne"],
  $compliance: ["Vanta", "Drata"],
  $research: ["Maze", "UserTesting"],
  $sales_content: ["Highspot", "Seismic"],
  $social: ["Hootsuite", "Sprout Social"],
  $seo: ["Semrush", "Ahrefs"],
  $esign: ["DocuSign", "PandaDoc"],
  $observability: ["Datadog", "New Relic", "Grafana Cloud"],
  $paging: ["PagerDuty", "Opsgenie"]
}

/** Everybody's: mail, chat, documents, the wiki, the yearly trainings and the odd IT ticket. */
export const COMPANY_APPS: ReadonlyArray<RoleApp> = [
  { app: "$mail", p: 0.97, rate: 4 },
  { app: "$chat", p: 0.97, rate: 5 },
  { app: "$docs", p: 0.9, rate: 2 },
  { app: "Zoom", p: 0.85, rate: 1.5 },
  { app: "internal-wiki", p: 0.85, rate: 1.2 },
  { app: "people-portal", p: 0.6, rate: 0.15 },
  { app: "1Password", p: 0.55, rate: 0.8 },
  { app: "Lattice", p: 0.5, rate: 0.08 },
  { app: "KnowBe4", p: 0.45, rate: 0.04 },
  { app: "Expensify", p: 0.35, rate: 0.1 },
  { app: "Navan", p: 0.2, rate: 0.08 },
  { app: "$itsm", p: 0.35, rate: 0.06 },
  { app: "Glean", p: 0.3, rate: 0.6 },
  { app: "ChatGPT Enterprise", p: 0.4, rate: 1 },
  { app: "Miro", p: 0.25, rate: 0.2 }
]

const app = (name: string, p: number, rate: number): RoleApp => ({ app: name, p, rate })

export const ROLES: ReadonlyArray<Role> = [
  { title: "Backend Engineer", category: "backend_engineering", share: 10, apps: [
    app("$git", 0.95, 6), app("$tracker", 0.9, 3), app("acme-deploy", 0.8, 2), app("$observability", 0.6, 1.5),
    app("$cloud", 0.5, 1), app("Sentry", 0.6, 1.5), app("$paging", 0.35, 0.4), app("Postman", 0.5, 1.5),
    app("Docker Hub", 0.3, 0.5), app("service-catalog", 0.5, 1), app("feature-flags", 0.3, 0.6), app("$warehouse", 0.1, 0.4),
    app("HashiCorp Vault", 0.2, 0.4), app("$ci", 0.6, 1.5), app("npm", 0.1, 0.3)
  ] },
  { title: "Payments Engineer", category: "backend_engineering", share: 3, apps: [
    app("$git", 0.95, 5), app("$tracker", 0.9, 2.5), app("acme-deploy", 0.7, 1.5), app("Stripe Dashboard", 0.8, 2),
    app("billing-admin", 0.6, 1.5), app("$observability", 0.5, 1), app("Sentry", 0.5, 1), app("Postman", 0.6, 1.5),
    app("$ci", 0.5, 1), app("service-catalog", 0.4, 0.8), app("Avalara", 0.15, 0.3)
  ] },
  { title: "Frontend Engineer", category: "frontend_engineering", share: 8, apps: [
    app("$git", 0.95, 5), app("$tracker", 0.9, 3), app("Figma", 0.8, 2), app("$hosting", 0.5, 1.5), app("Chromatic", 0.3, 0.8),
    app("BrowserStack", 0.4, 1), app("Sentry", 0.5, 1), app("npm", 0.4, 0.8), app("acme-deploy", 0.4, 0.8),
    app("design-system", 0.6, 1.5), app("LaunchDarkly", 0.3, 0.6), app("Contentful", 0.2, 0.5), app("storybook", 0.4, 1),
    app("$ci", 0.4, 0.8)
  ] },
  { title: "Mobile Engineer", category: "frontend_engineering", share: 3, apps: [
    app("$git", 0.95, 5), app("$tracker", 0.9, 3), app("App Store Connect", 0.8, 1.5), app("Firebase", 0.7, 1.5),
    app("Figma", 0.6, 1), app("Sentry", 0.5, 1), app("BrowserStack", 0.3, 0.6), app("mobile-release", 0.6, 1.2),
    app("design-system", 0.3, 0.6)
  ] },
  { title: "Site Reliability Engineer", category: "devops_engineering", share: 5, apps: [
    app("$git", 0.9, 3), app("acme-deploy", 0.9, 4), app("Terraform Cloud", 0.7, 2), app("$cloud", 0.95, 4),
    app("$observability", 0.85, 4), app("$paging", 0.9, 2), app("$ci", 0.7, 2), app("Argo CD", 0.5, 2),
    app("HashiCorp Vault", 0.5, 1), app("Cloudflare", 0.4, 0.8), app("Statuspage", 0.3, 0.4), app("infra-console", 0.6, 2),
    app("Sentry", 0.3, 0.5), app("$tracker", 0.7, 1.5), app("Tailscale", 0.4, 0.6), app("Docker Hub", 0.3, 0.5)
  ] },
  { title: "Data Engineer", category: "data_engineering", share: 5, apps: [
    app("$git", 0.85, 3), app("$warehouse", 0.95, 4), app("dbt Cloud", 0.6, 2), app("Astronomer (Airflow)", 0.6, 2),
    app("Fivetran", 0.5, 1), app("pipeline-console", 0.7, 2.5), app("data-catalog", 0.6, 1.5), app("$bi", 0.55, 1.5),
    app("Monte Carlo", 0.3, 0.6), app("$cloud", 0.5, 1), app("$observability", 0.3, 0.5), app("acme-deploy", 0.3, 0.5),
    app("$tracker", 0.7, 1.5), app("$notebook", 0.2, 0.6), app("Segment", 0.2, 0.4), app("Hightouch", 0.2, 0.4)
  ] },
  { title: "Data Analyst", category: "data_analytics", share: 5, apps: [
    app("$bi", 0.95, 4), app("$warehouse", 0.7, 2.5), app("$notebook", 0.5, 1.5), app("metrics-portal", 0.7, 2),
    app("data-catalog", 0.5, 1), app("$product_analytics", 0.4, 1), app("Airtable", 0.2, 0.5), app("dbt Cloud", 0.2, 0.5),
    app("$crm", 0.2, 0.5), app("$tracker", 0.4, 0.8), app("Google Analytics", 0.2, 0.5), app("$git", 0.2, 0.4)
  ] },
  { title: "Security Engineer", category: "security_engineering", share: 2, apps: [
    app("$edr", 0.7, 2), app("Wiz", 0.5, 1.5), app("Splunk", 0.6, 2), app("$compliance", 0.6, 1), app("Tenable", 0.4, 0.8),
    app("$idp_admin", 0.3, 0.5), app("$cloud", 0.6, 1.5), app("$git", 0.5, 1), app("HashiCorp Vault", 0.4, 0.6),
    app("sec-findings", 0.6, 1.5), app("$paging", 0.3, 0.4), app("$tracker", 0.6, 1), app("KnowBe4", 0.6, 0.5)
  ] },
  { title: "QA Engineer", category: "quality_assurance", share: 3, apps: [
    app("TestRail", 0.7, 3), app("BrowserStack", 0.6, 2), app("Cypress Cloud", 0.5, 1.5), app("$git", 0.7, 2),
    app("$tracker", 0.95, 4), app("acme-deploy", 0.5, 1), app("test-env", 0.6, 2), app("Postman", 0.4, 1),
    app("Sentry", 0.3, 0.5), app("Chromatic", 0.2, 0.4)
  ] },
  { title: "Product Designer", category: "design", share: 4, apps: [
    app("Figma", 0.95, 5), app("Miro", 0.6, 1.5), app("Adobe Creative Cloud", 0.5, 1.5), app("$research", 0.4, 0.8),
    app("Dovetail", 0.3, 0.6), app("Loom", 0.4, 0.6), app("$tracker", 0.6, 1), app("design-system", 0.5, 1),
    app("Zeplin", 0.2, 0.5), app("Framer", 0.2, 0.5), app("Canva", 0.3, 0.5), app("Notion", 0.2, 0.5)
  ] },
  { title: "Product Manager", category: "product_management", share: 5, apps: [
    app("$tracker", 0.95, 4), app("Figma", 0.6, 1), app("$product_analytics", 0.6, 1.5), app("roadmap-hub", 0.6, 1.5),
    app("Miro", 0.5, 1), app("$git", 0.35, 0.5), app("Sentry", 0.15, 0.3), app("metrics-portal", 0.5, 1), app("$bi", 0.4, 0.7),
    app("Productboard", 0.3, 0.8), app("Loom", 0.4, 0.5), app("Dovetail", 0.2, 0.4), app("$crm", 0.15, 0.3),
    app("Notion", 0.3, 0.6), app("acme-deploy", 0.15, 0.3)
  ] },
  { title: "Account Executive", category: "sales", share: 8, apps: [
    app("$crm", 0.95, 6), app("Gong", 0.7, 2), app("LinkedIn Sales Navigator", 0.6, 1.5), app("$esign", 0.6, 1),
    app("$sequencer", 0.5, 1.5), app("Clari", 0.4, 1), app("$sales_content", 0.3, 0.8), app("Calendly", 0.5, 0.8),
    app("deal-desk", 0.5, 1), app("ZoomInfo", 0.3, 0.8), app("Vidyard", 0.2, 0.4)
  ] },
  { title: "Sales Development Rep", category: "sales", share: 4, apps: [
    app("$sequencer", 0.95, 6), app("$crm", 0.9, 4), app("ZoomInfo", 0.8, 3), app("LinkedIn Sales Navigator", 0.8, 3),
    app("Gong", 0.4, 0.8), app("$phone", 0.5, 2), app("Vidyard", 0.3, 0.6), app("Calendly", 0.6, 1)
  ] },
  { title: "Customer Success Manager", category: "customer_success", share: 5, apps: [
    app("$cs", 0.85, 3), app("$crm", 0.8, 3), app("$helpdesk", 0.5, 1), app("Gong", 0.4, 0.8), app("acme-admin", 0.6, 1.5),
    app("Calendly", 0.4, 0.6), app("$esign", 0.2, 0.3), app("metrics-portal", 0.3, 0.6), app("Loom", 0.3, 0.5)
  ] },
  { title: "Support Agent", category: "customer_support", share: 7, apps: [
    app("$helpdesk", 0.95, 8), app("acme-admin", 0.85, 4), app("$phone", 0.5, 2), app("Guru", 0.5, 1.5),
    app("Statuspage", 0.4, 0.5), app("$tracker", 0.6, 1), app("Front", 0.2, 1), app("$crm", 0.3, 0.5), app("Loom", 0.2, 0.3),
    app("billing-admin", 0.3, 0.8)
  ] },
  { title: "Marketing Manager", category: "marketing", share: 5, apps: [
    app("$mkt", 0.8, 3), app("Google Analytics", 0.6, 1.5), app("Google Ads", 0.4, 1), app("LinkedIn Campaign Manager", 0.4, 1),
    app("$cms", 0.5, 1.5), app("Canva", 0.5, 1), app("$seo", 0.4, 1), app("$social", 0.3, 1), app("6sense", 0.2, 0.5),
    app("Cvent", 0.2, 0.5), app("Figma", 0.3, 0.5), app("$crm", 0.4, 1), app("Asana", 0.5, 1), app("brand-assets", 0.4, 0.8)
  ] },
  { title: "Accountant", category: "finance", share: 3, apps: [
    app("$erp", 0.9, 4), app("BILL", 0.5, 1.5), app("Coupa", 0.3, 0.8), app("$card", 0.6, 1), app("$fpa", 0.4, 1),
    app("Carta", 0.2, 0.3), app("Avalara", 0.2, 0.4), app("BlackLine", 0.3, 1), app("billing-admin", 0.5, 1.5),
    app("Stripe Dashboard", 0.4, 0.8), app("$bi", 0.3, 0.5), app("$crm", 0.2, 0.4), app("Zuora", 0.2, 0.6)
  ] },
  { title: "People Partner", category: "people_hr", share: 2, apps: [
    app("$hris", 0.95, 4), app("Lattice", 0.7, 2), app("Culture Amp", 0.4, 0.8), app("$payroll", 0.5, 1), app("$esign", 0.4, 0.6),
    app("people-portal", 0.9, 2), app("$ats", 0.3, 0.5)
  ] },
  { title: "Recruiter", category: "recruiting", share: 2, apps: [
    app("$ats", 0.95, 6), app("LinkedIn Recruiter", 0.85, 3), app("Gem", 0.5, 1.5), app("GoodTime", 0.4, 1), app("Checkr", 0.3, 0.5),
    app("CodeSignal", 0.3, 0.5), app("$hris", 0.3, 0.4), app("Calendly", 0.5, 1), app("$esign", 0.3, 0.4)
  ] },
  { title: "Counsel", category: "legal", share: 1, apps: [
    app("$clm", 0.8, 3), app("DocuSign", 0.7, 1.5), app("Westlaw", 0.5, 1), app("OneTrust", 0.4, 0.6), app("Diligent Boards", 0.2, 0.3),
    app("Carta", 0.2, 0.3), app("$crm", 0.3, 0.5), app("contracts-vault", 0.5, 1.5)
  ] },
  { title: "IT Specialist", category: "it_operations", share: 2, apps: [
    app("$idp_admin", 0.8, 3), app("$mdm", 0.8, 3), app("$itsm", 0.9, 4), app("Zscaler", 0.4, 1), app("$edr", 0.3, 0.5),
    app("asset-tracker", 0.6, 2), app("KnowBe4", 0.3, 0.3), app("Tailscale", 0.3, 0.5)
  ] },
  { title: "Revenue Operations Analyst", category: "business_operations", share: 2, apps: [
    app("Salesforce", 0.6, 2), app("Zapier", 0.5, 1.5), app("Airtable", 0.5, 1), app("Zip", 0.4, 0.8), app("Retool", 0.3, 0.8),
    app("$bi", 0.5, 1.5), app("Smartsheet", 0.4, 1), app("deal-desk", 0.4, 1), app("Clari", 0.3, 0.6), app("metrics-portal", 0.4, 1),
    app("NetSuite", 0.2, 0.4), app("Workato", 0.2, 0.6)
  ] },
  { title: "Executive", category: "executive", share: 1.5, apps: [
    app("Diligent Boards", 0.6, 0.5), app("metrics-portal", 0.8, 1.5), app("$crm", 0.6, 1), app("Carta", 0.4, 0.3),
    app("$bi", 0.5, 0.7), app("$hris", 0.3, 0.3), app("Gong", 0.3, 0.5), app("Clari", 0.3, 0.5), app("$tracker", 0.3, 0.3),
    app("$git", 0.1, 0.2), app("roadmap-hub", 0.4, 0.5), app("$esign", 0.5, 0.5)
  ] }
]
