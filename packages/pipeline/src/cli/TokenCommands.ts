import { Args, Command, Options } from "@effect/cli"
import { ApiTokens, FLEET, parseExpiry, Role, type TenantId, TenantRegistry } from "@workcat/tenancy"
import { Console, Effect, Option, Redacted } from "effect"
import { BaseLive } from "../app/Layers.js"
import { auditCli } from "./Admin.js"
import { InvalidInput, printJson } from "./Output.js"
import * as Opt from "./Options.js"

/** `--tenant T`, or `--operator` for the operators' tokens (bound to no tenant). */
const owner = {
  tenant: Opt.tenant.pipe(Options.optional),
  operator: Options.boolean("operator").pipe(Options.withDescription("The operators' tokens (role operator: every tenant's aggregates, no tenant's data)"))
}

/** The tenant the command is about, `null` for the operators, or why neither. */
const ownerOf = (args: { readonly tenant: Option.Option<TenantId>; readonly operator: boolean }) =>
  Option.isSome(args.tenant) === args.operator
    ? Effect.fail(new InvalidInput({ message: "give --tenant T, or --operator for the operators' tokens" }))
    : Effect.succeed(Option.getOrNull(args.tenant))

const create = Command.make(
  "create",
  {
    tenant: Opt.tenant.pipe(Options.optional),
    role: Opt.choice("role", Role.literals),
    expires: Options.text("expires").pipe(Options.optional, Options.withDescription("Lifetime: 30d, 12h or 90m (default: no expiry)")),
    description: Options.text("description").pipe(Options.optional)
  },
  (args) =>
    Effect.gen(function* () {
      const expiresIn = Option.isSome(args.expires) ? parseExpiry(args.expires.value) : Option.none()
      if (Option.isSome(args.expires) && Option.isNone(expiresIn)) {
        return yield* new InvalidInput({ message: `--expires ${args.expires.value}: expected a number followed by d, h or m` })
      }
      const operator = args.role === "operator"
      if (operator === Option.isSome(args.tenant)) {
        return yield* new InvalidInput({ message: operator ? "an operator's token belongs to no tenant: leave out --tenant" : `--role ${args.role} needs --tenant` })
      }
      const tenant = Option.getOrNull(args.tenant)
      if (tenant !== null) yield* Effect.flatMap(TenantRegistry, (r) => r.get(tenant)) // an unknown tenant: exit 3, nothing stored
      const tokens = yield* ApiTokens
      const created = yield* tokens.create(tenant, args.role, {
        expiresIn: Option.getOrUndefined(expiresIn),
        description: Option.getOrUndefined(args.description)
      })
      yield* auditCli(tenant ?? FLEET, "token.create", { tokenId: created.id, role: args.role, expiresAt: created.expiresAt })
      yield* Console.log(Redacted.value(created.token))
      yield* Console.error(`token ${created.id} (${args.role}) for ${tenant ?? "the operators"}; it is shown only this once`)
    }).pipe(Effect.provide(BaseLive))
).pipe(Command.withDescription("Create an API token; prints it once on stdout"))

const list = Command.make("list", { ...owner, json: Opt.json }, (args) =>
  Effect.flatMap(ownerOf(args), (tenant) => Effect.flatMap(ApiTokens, (t) => t.list(tenant))).pipe(
    Effect.flatMap((tokens) =>
      args.json
        ? printJson(tokens)
        : Console.log(
            tokens
              .map((t) =>
                [t.id, t.role.padEnd(8), t.revokedAt ? "revoked" : t.expiresAt && t.expiresAt < new Date() ? "expired" : "active ", t.expiresAt ? `expires ${t.expiresAt.toISOString()}` : "", t.description ?? ""].join("  ")
              )
              .join("\n")
          )
    ),
    Effect.provide(BaseLive)
  )
).pipe(Command.withDescription("List a tenant's tokens, or the operators' (never their secrets)"))

const revoke = Command.make("revoke", { ...owner, id: Args.text({ name: "TOKEN_ID" }) }, (args) =>
  Effect.gen(function* () {
    const tenant = yield* ownerOf(args)
    if (!(yield* Effect.flatMap(ApiTokens, (t) => t.revoke(tenant, args.id)))) {
      return yield* new InvalidInput({ message: `${tenant === null ? "the operators have" : `tenant ${tenant} has`} no token ${args.id}` })
    }
    yield* auditCli(tenant ?? FLEET, "token.revoke", { tokenId: args.id })
    yield* Console.log(`token ${args.id} revoked`)
  }).pipe(Effect.provide(BaseLive))
).pipe(Command.withDescription("Revoke a token"))

export const tokensCommand = Command.make("tokens").pipe(
  Command.withDescription("Manage API tokens"),
  Command.withSubcommands([create, list, revoke])
)
