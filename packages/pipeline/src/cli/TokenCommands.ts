import { Args, Command, Options } from "@effect/cli"
import { ApiTokens, parseExpiry, Role, TenantRegistry } from "@workcat/tenancy"
import { Console, Effect, Option, Redacted } from "effect"
import { BaseLive } from "../app/Layers.js"
import { auditCli } from "./Admin.js"
import { InvalidInput, printJson } from "./Output.js"
import * as Opt from "./Options.js"

const create = Command.make(
  "create",
  {
    tenant: Opt.tenant,
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
      yield* Effect.flatMap(TenantRegistry, (r) => r.get(args.tenant)) // an unknown tenant: exit 3, nothing stored
      const tokens = yield* ApiTokens
      const created = yield* tokens.create(args.tenant, args.role, {
        expiresIn: Option.getOrUndefined(expiresIn),
        description: Option.getOrUndefined(args.description)
      })
      yield* auditCli(args.tenant, "token.create", { tokenId: created.id, role: args.role, expiresAt: created.expiresAt })
      yield* Console.log(Redacted.value(created.token))
      yield* Console.error(`token ${created.id} (${args.role}) for ${args.tenant}; it is shown only this once`)
    }).pipe(Effect.provide(BaseLive))
).pipe(Command.withDescription("Create an API token; prints it once on stdout"))

const list = Command.make("list", { tenant: Opt.tenant, json: Opt.json }, (args) =>
  Effect.flatMap(ApiTokens, (t) => t.list(args.tenant)).pipe(
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
).pipe(Command.withDescription("List a tenant's tokens (never their secrets)"))

const revoke = Command.make("revoke", { tenant: Opt.tenant, id: Args.text({ name: "TOKEN_ID" }) }, (args) =>
  Effect.gen(function* () {
    if (!(yield* Effect.flatMap(ApiTokens, (t) => t.revoke(args.tenant, args.id)))) {
      return yield* new InvalidInput({ message: `tenant ${args.tenant} has no token ${args.id}` })
    }
    yield* auditCli(args.tenant, "token.revoke", { tokenId: args.id })
    yield* Console.log(`token ${args.id} revoked`)
  }).pipe(Effect.provide(BaseLive))
).pipe(Command.withDescription("Revoke a token"))

export const tokensCommand = Command.make("tokens").pipe(
  Command.withDescription("Manage API tokens"),
  Command.withSubcommands([create, list, revoke])
)
