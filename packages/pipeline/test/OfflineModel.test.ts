import { describe, expect, it } from "@effect/vitest"
import { type CategoryId, DefaultArchetypes, DefaultTaxonomy, normalize, type UserId } from "@workcat/core"
import { makeNeighbourIndex } from "../src/categorizer/Neighbours.js"
import { archetypeSimilarity, categorize } from "../src/categorizer/OfflineModel.js"

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
})
