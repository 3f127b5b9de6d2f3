import { type Column, quoteIdent } from "./Types.js"

/** A table as the jobs see it: its columns and partitioning (from its resource), stored in DuckDB as `"dataset"."table"`. */
export interface CatalogTable {
  readonly dataset: string
  readonly table: string
  readonly columns: ReadonlyArray<Column>
  /** The `timePartitioning.field`, and whether it is a DATE (else a TIMESTAMP). */
  readonly partition: { readonly column: string; readonly isDate: boolean } | undefined
  readonly requirePartitionFilter: boolean
}

/** What the jobs look up: the project's tables, by dataset and table id. */
export interface Catalog {
  readonly projectId: string
  readonly table: (dataset: string, table: string) => CatalogTable | undefined
}

export const duckName = (t: { readonly dataset: string; readonly table: string }) => `${quoteIdent(t.dataset)}.${quoteIdent(t.table)}`
