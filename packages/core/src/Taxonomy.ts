import { Schema } from "effect"

/** Identifier of one value of a tenant's work taxonomy, e.g. `backend_engineering`. */
export const CategoryId = Schema.String.pipe(
  Schema.pattern(/^[a-z][a-z0-9_]{1,47}$/),
  Schema.brand("CategoryId")
)
export type CategoryId = typeof CategoryId.Type

/** One value of a work taxonomy, with the department it usually belongs to. */
export class Category extends Schema.Class<Category>("Category")({
  id: CategoryId,
  name: Schema.NonEmptyString.pipe(Schema.maxLength(200)),
  description: Schema.String.pipe(Schema.maxLength(2000)),
  department: Schema.NonEmptyString.pipe(Schema.maxLength(200))
}) {}

/** A tenant's work taxonomy: the categories a user can be assigned to. */
export class Taxonomy extends Schema.Class<Taxonomy>("Taxonomy")({
  id: Schema.NonEmptyString.pipe(Schema.maxLength(200)),
  version: Schema.Int,
  // Every category is offered to the categorizer on each call: a few dozen is typical.
  categories: Schema.NonEmptyArray(Category).pipe(Schema.maxItems(200))
}) {
  get ids(): ReadonlyArray<CategoryId> {
    return this.categories.map((c) => c.id)
  }
  find(id: string): Category | undefined {
    return this.categories.find((c) => c.id === id)
  }
}

const category = (id: string, name: string, department: string, description: string) =>
  Category.make({ id: CategoryId.make(id), name, department, description })

/** The built-in taxonomy used when a tenant does not define its own. */
export const DefaultTaxonomy = Taxonomy.make({
  id: "default",
  version: 1,
  categories: [
    category("frontend_engineering", "Frontend Engineering", "Engineering", "Builds web and mobile user interfaces."),
    category("backend_engineering", "Backend Engineering", "Engineering", "Builds services, APIs and data stores."),
    category("data_engineering", "Data Engineering", "Data", "Builds pipelines, warehouses and data platforms."),
    category("data_analytics", "Data Analytics", "Data", "Analyses data and builds reports and dashboards."),
    category("devops_engineering", "DevOps & SRE", "Engineering", "Runs infrastructure, CI/CD, observability and on-call."),
    category("security_engineering", "Security", "Security", "Protects systems: detection, vulnerability and compliance work."),
    category("design", "Design", "Design", "Product, UX and visual design and research."),
    category("product_management", "Product Management", "Product", "Decides what to build: discovery, roadmaps, analytics."),
    category("sales", "Sales", "Sales", "Prospecting, pipeline and closing deals."),
    category("customer_success", "Customer Success", "Customer Success", "Onboards, retains and expands existing customers."),
    category("customer_support", "Customer Support", "Support", "Answers customer tickets, chats and calls."),
    category("marketing", "Marketing", "Marketing", "Campaigns, content, web, events and demand generation."),
    category("finance", "Finance", "Finance", "Accounting, payables, planning and treasury."),
    category("people_hr", "People & HR", "People", "HR operations, payroll, benefits and performance."),
    category("recruiting", "Recruiting", "People", "Sourcing, interviewing and hiring."),
    category("legal", "Legal", "Legal", "Contracts, privacy, corporate and compliance matters."),
    category("it_operations", "IT", "IT", "Devices, identity, SaaS administration and the help desk."),
    category("business_operations", "Business Operations", "Operations", "RevOps, procurement, process and tooling."),
    category("executive", "Executive", "Executive", "Leads the company or a function."),
    category("quality_assurance", "Quality Assurance", "Engineering", "Tests software: test plans, automation and releases.")
  ]
})
