import { Schema } from "effect"
import archetypesJson from "./data/archetypes.json" with { type: "json" }
import { AppKey } from "./AppCatalog.js"
import { CategoryId } from "./Taxonomy.js"

/** A place in a role's tool mix that one of several interchangeable apps fills (GitHub or GitLab). */
export class ArchetypeSlot extends Schema.Class<ArchetypeSlot>("ArchetypeSlot")({
  apps: Schema.NonEmptyArray(AppKey),
  weight: Schema.Number.pipe(Schema.between(0, 1))
}) {}

/** The typical app mix of one work category, with typical job titles. */
export class Archetype extends Schema.Class<Archetype>("Archetype")({
  category: CategoryId,
  titles: Schema.NonEmptyArray(Schema.String),
  slots: Schema.NonEmptyArray(ArchetypeSlot)
}) {}

/** Role archetypes plus the slots that everybody in a company uses (mail, chat, calendar). */
export class Archetypes extends Schema.Class<Archetypes>("Archetypes")({
  common: Schema.Array(ArchetypeSlot),
  archetypes: Schema.NonEmptyArray(Archetype)
}) {
  forCategory(category: string): Archetype | undefined {
    return this.archetypes.find((a) => a.category === category)
  }
}

/** The built-in archetypes (packages/core/src/data/archetypes.json). */
export const DefaultArchetypes = Schema.decodeUnknownSync(Archetypes)(archetypesJson)
