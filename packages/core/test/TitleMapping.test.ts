import { describe, expect, it } from "vitest"
import { DefaultArchetypes } from "../src/Archetypes.js"
import { categoryOfTitle, DefaultTitleMapping } from "../src/TitleMapping.js"

describe("HR titles mapped to categories", () => {
  it("maps every archetype's typical title to the archetype's category", () => {
    for (const archetype of DefaultArchetypes.archetypes) {
      for (const title of archetype.titles) expect([title, categoryOfTitle(DefaultTitleMapping, title)]).toEqual([title, archetype.category])
    }
  })

  it("matches words, not pieces of them, where a rule is padded with spaces", () => {
    expect(categoryOfTitle(DefaultTitleMapping, "Audit Manager")).toBeUndefined()
    expect(categoryOfTitle(DefaultTitleMapping, "IT Manager")).toBe("it_operations")
    expect(categoryOfTitle(DefaultTitleMapping, "hr generalist")).toBe("people_hr")
    expect(categoryOfTitle(DefaultTitleMapping, "Chrome Evangelist")).toBeUndefined()
  })

  it("judges no title it has no rule for, nor a missing one", () => {
    expect(categoryOfTitle(DefaultTitleMapping, "Wizard")).toBeUndefined()
    expect(categoryOfTitle(DefaultTitleMapping, null)).toBeUndefined()
  })
})
