import { Schema } from "effect"
import rules from "./data/title-categories.json" with { type: "json" }
import { CategoryId } from "./Taxonomy.js"

/**
 * How HR titles map to categories, for the weekly check (`workcat run validate`): a rule matches
 * a title that contains its `contains` text (both lowercased, the title padded with a space on
 * each side, so `"hr "` matches "HR Generalist" but not "Chrome"); the first matching rule wins,
 * and a title no rule matches is not judged.
 */
export const TitleRule = Schema.Struct({
  contains: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)),
  category: CategoryId
})
export const TitleMapping = Schema.Array(TitleRule).pipe(Schema.maxItems(1000))
export type TitleMapping = typeof TitleMapping.Type

/** The built-in rules, for the default taxonomy (`src/data/title-categories.json`). */
export const DefaultTitleMapping: TitleMapping = Schema.decodeUnknownSync(TitleMapping)(rules)

/** The category a title maps to, or undefined (not judged). */
export const categoryOfTitle = (mapping: TitleMapping, title: string | null): CategoryId | undefined => {
  if (title === null) return undefined
  const padded = ` ${title.toLowerCase().trim()} `
  return mapping.find((r) => padded.includes(r.contains.toLowerCase()))?.category
}
