import { type Message, type PubSub, type Subscription, v1 } from "@google-cloud/pubsub"
import { createConnection } from "node:net"
import { setTimeout as sleep } from "node:timers/promises"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { emulatorAvailable, pubsubClient, type PubSubServer, startPubSub } from "./support/PubSub.js"

const MESSAGES = 50
const NACKED = 7

const waitUntil = async (what: string, done: () => boolean, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`)
    await sleep(20)
  }
}

const refuses = (host: string) =>
  new Promise<boolean>((resolve) => {
    const [hostname, port] = host.split(":")
    const socket = createConnection({ host: hostname!, port: Number(port) })
    socket.once("connect", () => {
      socket.destroy()
      resolve(false)
    })
    socket.once("error", () => resolve(true))
  })

/** Publishes MESSAGES numbered messages to a fresh topic with one subscription; their ids in order. */
const backlog = async (pubsub: PubSub, name: string) => {
  const [topic] = await pubsub.createTopic(name)
  await topic.createSubscription(`${name}-worker`)
  const ids = await Promise.all(
    Array.from({ length: MESSAGES }, (_, n) => topic.publishMessage({ data: Buffer.from(`event ${n}`), attributes: { n: String(n) } }))
  )
  return ids
}

/** Receives on `subscription`, holding each message 20 ms, then acking it (or nacking, as `nack` says). */
const consume = (subscription: Subscription, nack: (n: number, seen: number) => boolean) => {
  const state = { deliveries: new Map<number, Array<Message>>(), errors: new Array<unknown>(), outstanding: 0, mostOutstanding: 0 }
  subscription.on("error", (error) => state.errors.push(error))
  subscription.on("message", (message: Message) => {
    const n = Number(message.attributes.n)
    const seen = [...(state.deliveries.get(n) ?? []), message]
    state.deliveries.set(n, seen)
    state.outstanding += 1
    state.mostOutstanding = Math.max(state.mostOutstanding, state.outstanding)
    setTimeout(() => {
      state.outstanding -= 1
      if (nack(n, seen.length)) message.nack()
      else message.ack()
    }, 20)
  })
  return state
}

const total = (deliveries: Map<number, Array<Message>>) => [...deliveries.values()].reduce((sum, seen) => sum + seen.length, 0)

/**
 * The harness product code's Pub/Sub tests stand on: the real client, through the official
 * emulator and through the fallback fake, must see the same at-least-once behaviour.
 */
const kinds = emulatorAvailable() ? (["emulator", "fake"] as const) : (["fake"] as const)
// Never silently: without gcloud the emulator's half shows as skipped, saying why.
if (!emulatorAvailable()) {
  describe("Pub/Sub test server: emulator", () => {
    it.skip("the official emulator is not available here (no `gcloud` on PATH, or WORKCAT_PUBSUB=fake): only the fake ran", () => {})
  })
}

describe.each(kinds)("Pub/Sub test server: %s", (kind) => {
  let server: PubSubServer
  let pubsub: PubSub
  let startMs = 0

  beforeAll(async () => {
    const started = Date.now()
    server = await startPubSub({ prefer: kind })
    startMs = Date.now() - started
    pubsub = pubsubClient(server)
  }, 60_000)
  afterAll(async () => {
    await pubsub?.close()
    await server?.stop()
  })

  it("is the server asked for", () => {
    expect(server.kind).toBe(process.env.WORKCAT_PUBSUB === "fake" ? "fake" : kind)
    expect(server.host).toMatch(/^127\.0\.0\.1:\d+$/)
  })

  it("rejects topic names shorter than 3 characters and defaults the ack deadline to 10 s", async () => {
    await expect(pubsub.createTopic("ab")).rejects.toThrow(/INVALID_ARGUMENT/)
    const [topic] = await pubsub.createTopic("abc")
    const [subscription] = await topic.createSubscription("abc-worker")
    const [metadata] = await subscription.getMetadata()
    expect(metadata.ackDeadlineSeconds).toBe(10)
    await expect(pubsub.topic("missing-topic").publishMessage({ data: Buffer.from("x") })).rejects.toThrow(/NOT_FOUND/)
  })

  it("delivers every message under flow control, redelivers a nacked one, then stays quiet", async () => {
    const started = Date.now()
    const ids = await backlog(pubsub, "events-intake")
    expect(new Set(ids).size).toBe(MESSAGES)
    // allowExcessMessages: false, or the client hands whole batches (up to 5 streams' worth) to the handler.
    const subscription = pubsub.subscription("events-intake-worker", { flowControl: { maxMessages: 10, allowExcessMessages: false } })
    const counts = consume(subscription, (n, seen) => n === NACKED && seen === 1)
    const { deliveries, errors } = counts
    await waitUntil("every message is received and the nacked one again", () => deliveries.size === MESSAGES && (deliveries.get(NACKED)?.length ?? 0) >= 2)
    await waitUntil("the last message is settled", () => counts.outstanding === 0)
    const settled = total(deliveries)
    await sleep(1_200)
    expect(total(deliveries), "deliveries after everything was acked").toBe(settled)
    await subscription.close()

    expect(errors).toEqual([])
    for (let n = 0; n < MESSAGES; n++) {
      const seen = deliveries.get(n) ?? []
      expect(seen.length, `deliveries of message ${n}`).toBe(n === NACKED ? 2 : 1)
      expect(seen[0]!.data.toString()).toBe(`event ${n}`)
      expect(seen[0]!.id).toBe(ids[n])
      expect(seen[0]!.publishTime.getTime()).toBeGreaterThan(started - 1_000)
    }
    const [first, again] = deliveries.get(NACKED)!
    expect(again!.id).toBe(first!.id)
    expect(again!.ackId).not.toBe(first!.ackId)
    // The service reports delivery attempts only under a dead-letter policy; this subscription has none.
    expect([first!.deliveryAttempt, again!.deliveryAttempt]).toEqual([0, 0])
    expect(counts.mostOutstanding).toBeGreaterThan(1)
    expect(counts.mostOutstanding).toBeLessThanOrEqual(10)
  })

  it("counts delivery attempts under a dead-letter policy and dead-letters after the last one", async () => {
    const [dead] = await pubsub.createTopic("payments-dead")
    const [deadLetters] = await dead.createSubscription("payments-dead-reader")
    const [topic] = await pubsub.createTopic("payments")
    await topic.createSubscription("payments-worker", {
      deadLetterPolicy: { deadLetterTopic: dead.name, maxDeliveryAttempts: 5 }
    })
    await topic.publishMessage({ data: Buffer.from("poison"), attributes: { n: "0" } })
    const subscription = pubsub.subscription("payments-worker")
    const worker = consume(subscription, () => true)
    const reader = consume(deadLetters, () => false)
    await waitUntil("the message is dead-lettered", () => reader.deliveries.size === 1)
    await Promise.all([subscription.close(), deadLetters.close()])
    expect([...worker.errors, ...reader.errors]).toEqual([])
    expect(worker.deliveries.get(0)!.map((m) => m.deliveryAttempt)).toEqual([1, 2, 3, 4, 5])
    expect(reader.deliveries.get(0)!.map((m) => m.data.toString())).toEqual(["poison"])
  })

  it("leases pulled messages: acked ones are gone, one whose deadline passes comes back", async () => {
    const [topic] = await pubsub.createTopic("pulled")
    const [{ name: subscription }] = await topic.createSubscription("pulled-worker")
    await Promise.all(["a", "b", "c"].map((data) => topic.publishMessage({ data: Buffer.from(data) })))
    // The low-level client, as the high-level one builds it (ClientConfig types its port loosely).
    const client = new v1.SubscriberClient((await pubsub.getClientConfig()) as ConstructorParameters<typeof v1.SubscriberClient>[0])
    const pulled: Array<{ ackId: string; data: string; id: string }> = []
    const pullUntil = async (count: number) => {
      const deadline = Date.now() + 20_000
      while (pulled.length < count && Date.now() < deadline) {
        const [response] = await client.pull({ subscription, maxMessages: 10 })
        for (const { ackId, message } of response.receivedMessages ?? []) {
          pulled.push({ ackId: ackId!, data: Buffer.from(message!.data!).toString(), id: message!.messageId! })
        }
      }
      expect(pulled.length).toBe(count)
    }
    try {
      await pullUntil(3)
      expect(pulled.map((m) => m.data).sort()).toEqual(["a", "b", "c"])
      const [kept, ...done] = pulled
      await client.acknowledge({ subscription, ackIds: done.map((m) => m.ackId) })
      await client.modifyAckDeadline({ subscription, ackIds: [kept!.ackId], ackDeadlineSeconds: 1 })
      await pullUntil(4)
      expect(pulled[3]!.id).toBe(kept!.id)
      await client.acknowledge({ subscription, ackIds: [pulled[3]!.ackId] })
    } finally {
      await client.close()
    }
  })

  if (kind === "fake") {
    // The service holds a stream to its max_outstanding_messages; the emulator (0.8.20) does not.
    it("holds each stream to its max_outstanding_messages", async () => {
      await backlog(pubsub, "flow-controlled")
      const subscription = pubsub.subscription("flow-controlled-worker", { flowControl: { maxMessages: 10 }, streamingOptions: { maxStreams: 1 } })
      const counts = consume(subscription, () => false)
      await waitUntil("every message is received", () => counts.deliveries.size === MESSAGES)
      await subscription.close()
      expect(counts.mostOutstanding).toBe(10)
    })
  }

  it("stop() ends the server: its port refuses", async () => {
    await pubsub.close()
    const stopping = Date.now()
    await server.stop()
    process.stderr.write(`[pubsub] ${server.kind}: started in ${startMs} ms, stopped in ${Date.now() - stopping} ms\n`)
    expect(await refuses(server.host)).toBe(true)
  })
})
