import { describe, expect, it } from "@effect/vitest"
import { type CategoryId, DefaultArchetypes, DefaultTaxonomy, normalize, type UserId } from "@workcat/core"
import { makeNeighbourIndex } from "../src/categorizer/Neighbours.js"
import { archetypeSimilarity, categorize, defaultModelOptions, learnRoleCentroids } from "../src/categorizer/OfflineModel.js"

const vector = (weights: Record<string, number>) => normalize(new Map(Object.entries(weights)))
const backend = DefaultArchetypes.forCategory("backend_engineering")!
const ids = DefaultTaxonomy.ids

describe("the offline model", () => {
  it("matches a slot by whichever interchangeable app the company uses", () => {
    const github = archetypeSimilarity(vector({ github: 1, jira: 1, datadog: 1 }), backend).score
    const gitlab = archetypeSimilarity(vector({ gitlab: 1, linear: 1, new_relic: 1 }), backend).score
    expect(gitlab).toBeCloseTo(github)
    expect(github).toBeGreaterThan(archetypeSimilarity(vector({ salesforce: 1, gong: 1, outreach: 1 }), backend).score)
  })

  it("categorizes typical profiles and names the evidence", () => {
    const sales = categorize(vector({ salesforce: 3, outreach: 2, gong: 2, linkedin_sales_navigator: 1, slack: 1 }), DefaultArchetypes, ids, [])
    expect(sales.category).toBe("sales")
    expect(sales.evidenceApps).toContain("salesforce")
    expect(sales.confidence).toBeGreaterThan(0.5)
    const designer = categorize(vector({ figma: 3, miro: 1, maze: 1, adobe_creative_cloud: 1 }), DefaultArchetypes, ids, [])
    expect(designer.category).toBe("design")
  })

  it("lets close colleagues outvote the archetypes for tools the catalog does not know", () => {
    const internal = vector({ acme_console: 3, slack: 1 })
    const colleagues = Array.from({ length: 9 }, (_, i) => ({
      userId: `u_${String(i).padStart(32, "0")}` as UserId,
      category: "customer_support" as CategoryId,
      vector: vector({ acme_console: 3, slack: 1, zendesk: 0.5 })
    }))
    const neighbours = makeNeighbourIndex(colleagues).nearest(internal, 20)
    expect(neighbours).toHaveLength(9)
    expect(neighbours[0]!.similarity).toBeGreaterThan(0.9)
    expect(categorize(internal, DefaultArchetypes, ids, neighbours).category).toBe("customer_support")
  })

  it("only proposes categories of the taxonomy it is given", () => {
    const allowed = ["sales", "marketing"] as Array<CategoryId>
    expect(allowed).toContain(categorize(vector({ github: 3, datadog: 2 }), DefaultArchetypes, allowed, []).category)
  })

  it("excludes the user from their own neighbours", () => {
    const me = "u_00000000000000000000000000000001" as UserId
    const index = makeNeighbourIndex([{ userId: me, category: "sales" as CategoryId, vector: vector({ salesforce: 1 }) }])
    expect(index.nearest(vector({ salesforce: 1 }), 5, me)).toEqual([])
  })

  describe("with what the tenant's own users say about its apps", () => {
    type Colleague = { readonly category: CategoryId | null; readonly apps: Record<string, number> }
    const learn = (colleagues: ReadonlyArray<Colleague>) =>
      learnRoleCentroids((visit) => colleagues.forEach((c) => visit(c.category, vector(c.apps))), DefaultArchetypes)
    const many = (n: number, colleague: Colleague): Array<Colleague> => Array.from({ length: n }, () => colleague)
    const company = { slack: 1, gmail: 1, zoom: 0.5 }

    it("reads an in-house app as the role of the uncategorized colleagues who use it, on a first night", () => {
      const centroids = learn([
        ...many(12, { category: null, apps: { ...company, zendesk: 3, intercom: 1, acme_console: 2 } }),
        ...many(12, { category: null, apps: { ...company, github: 3, jira: 2, datadog: 1 } }),
        ...many(12, { category: null, apps: { ...company, salesforce: 3, gong: 2, outreach: 1 } })
      ])
      const insider = vector({ ...company, acme_console: 3 })
      expect(categorize(insider, DefaultArchetypes, ids, [], defaultModelOptions, centroids).category).toBe("customer_support")
      expect(categorize(insider, DefaultArchetypes, ids, []).category).not.toBe("customer_support")
    })

    it("separates two roles sharing their main tools by the tools only one of them uses here", () => {
      const shared = { ...company, github: 3, jira: 2 }
      const centroids = learn([
        ...many(15, { category: "backend_engineering" as CategoryId, apps: { ...shared, service_catalog: 2, postman: 1 } }),
        ...many(15, { category: "frontend_engineering" as CategoryId, apps: { ...shared, design_system: 2, figma: 0.5 } })
      ])
      const backendish = vector({ ...shared, service_catalog: 1 })
      const frontendish = vector({ ...shared, design_system: 1 })
      expect(categorize(backendish, DefaultArchetypes, ids, [], defaultModelOptions, centroids).category).toBe("backend_engineering")
      expect(categorize(frontendish, DefaultArchetypes, ids, [], defaultModelOptions, centroids).category).toBe("frontend_engineering")
    })

    it("still sees a role nobody in the tenant has yet, by its archetype", () => {
      const centroids = learn([
        ...many(10, { category: "sales" as CategoryId, apps: { ...company, salesforce: 3 } }),
        ...many(30, { category: "finance" as CategoryId, apps: { ...company, netsuite: 3 } })
      ])
      const marketing = DefaultArchetypes.forCategory("marketing" as CategoryId)!
      const marketer = vector({ ...company, ...Object.fromEntries(marketing.slots.map((slot) => [slot.apps[0]!, 3 * slot.weight])) })
      expect(centroids.has("marketing" as CategoryId)).toBe(false)
      expect(categorize(marketer, DefaultArchetypes, ids, [], defaultModelOptions, centroids).category).toBe("marketing")
    })

    it("still only proposes categories of the taxonomy it is given", () => {
      const centroids = learn(many(10, { category: "backend_engineering" as CategoryId, apps: { ...company, github: 3 } }))
      const allowed = ["sales", "marketing"] as Array<CategoryId>
      expect(allowed).toContain(categorize(vector({ github: 3 }), DefaultArchetypes, allowed, [], defaultModelOptions, centroids).category)
    })
  })
})
