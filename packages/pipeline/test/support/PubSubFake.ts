import * as grpc from "@grpc/grpc-js"
import * as protoLoader from "@grpc/proto-loader"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"

/**
 * An in-memory Pub/Sub server speaking the real gRPC protocol, built from the protos that
 * `@google-cloud/pubsub` ships, so the real client is exercised where the official emulator
 * (`gcloud`) is missing. It keeps topics, subscriptions, leases and redelivery as the service
 * does: a message is redelivered when its ack deadline passes or it is nacked (deadline 0), and a
 * StreamingPull stream gets no more than its flow control allows. Methods it lacks answer
 * UNIMPLEMENTED (grpc-js does that for every handler left out).
 */
export interface PubSubFake {
  /** `127.0.0.1:PORT`, for `PUBSUB_EMULATOR_HOST` or the client's `apiEndpoint`. */
  readonly host: string
  stop(): Promise<void>
}

const require = createRequire(import.meta.url)
const pubsubMain = require.resolve("@google-cloud/pubsub")
const protoDirs = [
  join(dirname(pubsubMain), "../protos"),
  join(dirname(createRequire(pubsubMain).resolve("google-gax")), "../protos")
]

interface Timestamp { readonly seconds: number; readonly nanos: number }
interface Message {
  readonly data: Buffer
  readonly attributes: Readonly<Record<string, string>>
  readonly messageId: string
  readonly publishTime: Timestamp
  readonly orderingKey: string
}
/** One message in one subscription; `attempts` counts its deliveries so far. */
interface Delivery { readonly message: Message; attempts: number }
interface Stream {
  readonly call: grpc.ServerDuplexStream<StreamingPullRequest, unknown>
  ackDeadlineSeconds: number
  readonly maxMessages: number
  readonly maxBytes: number
}
interface Lease { readonly delivery: Delivery; deadline: number; stream: Stream | undefined }
interface Subscription {
  readonly resource: { readonly name: string; readonly topic: string; readonly ackDeadlineSeconds: number }
  readonly deadLetter: { readonly topic: string; readonly maxDeliveryAttempts: number } | undefined
  readonly ready: Array<Delivery>
  readonly leases: Map<string, Lease>
  readonly streams: Array<Stream>
}

// proto-loader with `defaults: true` fills every field, so requests arrive complete.
interface StreamingPullRequest {
  readonly subscription: string
  readonly ackIds: ReadonlyArray<string>
  readonly modifyDeadlineSeconds: ReadonlyArray<number>
  readonly modifyDeadlineAckIds: ReadonlyArray<string>
  readonly streamAckDeadlineSeconds: number
  readonly maxOutstandingMessages: number
  readonly maxOutstandingBytes: number
}
interface SubscriptionRequest {
  readonly name: string
  readonly topic: string
  readonly ackDeadlineSeconds: number
  readonly deadLetterPolicy: { readonly deadLetterTopic: string; readonly maxDeliveryAttempts: number } | null
}
/** The fields the unary handlers read; each exists (defaulted) on the request types that use it. */
interface Req {
  readonly name: string
  readonly topic: string
  readonly subscription: string
  readonly messages: ReadonlyArray<{ readonly data: Buffer; readonly attributes: Record<string, string>; readonly orderingKey: string }>
  readonly ackIds: ReadonlyArray<string>
  readonly ackDeadlineSeconds: number
  readonly maxMessages: number
}

const fail = (code: grpc.status, details: string) => Object.assign(new Error(details), { code, details })
const topicName = /^projects\/[^/]+\/topics\/[A-Za-z][\w.~+%-]{2,254}$/
const subscriptionName = /^projects\/[^/]+\/subscriptions\/[A-Za-z][\w.~+%-]{2,254}$/

/** Starts the fake on a free loopback port. */
export const startPubSubFake = async (): Promise<PubSubFake> => {
  const definition = protoLoader.loadSync("google/pubsub/v1/pubsub.proto", {
    includeDirs: protoDirs,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true
  })
  type Service = { readonly service: grpc.ServiceDefinition }
  const { v1 } = (grpc.loadPackageDefinition(definition) as unknown as { google: { pubsub: { v1: { Publisher: Service; Subscriber: Service } } } }).google.pubsub

  const topics = new Map<string, { readonly name: string }>()
  const subscriptions = new Map<string, Subscription>()
  let ids = 0

  const subscription = (name: string) => {
    const sub = subscriptions.get(name)
    if (sub === undefined) throw fail(grpc.status.NOT_FOUND, `Subscription does not exist (resource=${name})`)
    return sub
  }
  const received = (sub: Subscription, ackDeadlineSeconds: number, stream: Stream | undefined) => {
    const delivery = sub.ready.shift()!
    delivery.attempts += 1
    const ackId = `${sub.resource.name}#${++ids}`
    sub.leases.set(ackId, { delivery, deadline: Date.now() + ackDeadlineSeconds * 1000, stream })
    // As the service documents: the attempt count is reported only under a dead-letter policy.
    return { ackId, message: delivery.message, deliveryAttempt: sub.deadLetter ? delivery.attempts : 0 }
  }
  /** A lease that ends unacked: dead-lettered after too many attempts, else redelivered first. */
  const release = (sub: Subscription, ackId: string) => {
    const lease = sub.leases.get(ackId)
    if (lease === undefined) return
    sub.leases.delete(ackId)
    if (sub.deadLetter && lease.delivery.attempts >= sub.deadLetter.maxDeliveryAttempts) {
      enqueue(sub.deadLetter.topic, [lease.delivery.message])
    } else {
      sub.ready.unshift(lease.delivery)
    }
  }
  /** Hands ready messages to the subscription's streams, as far as each one's flow control allows. */
  const pump = (sub: Subscription) => {
    for (const stream of sub.streams) {
      let count = 0
      let bytes = 0
      for (const lease of sub.leases.values()) {
        if (lease.stream !== stream) continue
        count += 1
        bytes += lease.delivery.message.data.length
      }
      const batch = []
      while (sub.ready.length > 0) {
        const size = sub.ready[0]!.message.data.length
        if (stream.maxMessages > 0 && count >= stream.maxMessages) break
        if (stream.maxBytes > 0 && count > 0 && bytes + size > stream.maxBytes) break
        batch.push(received(sub, stream.ackDeadlineSeconds, stream))
        count += 1
        bytes += size
      }
      if (batch.length > 0) stream.call.write({ receivedMessages: batch })
    }
  }
  const enqueue = (topic: string, messages: ReadonlyArray<Message>) => {
    for (const sub of subscriptions.values()) {
      if (sub.resource.topic !== topic) continue
      for (const message of messages) sub.ready.push({ message, attempts: 0 })
      pump(sub)
    }
  }
  const acknowledge = (sub: Subscription, ackIds: ReadonlyArray<string>) => {
    for (const ackId of ackIds) sub.leases.delete(ackId)
    pump(sub)
  }
  const modifyAckDeadline = (sub: Subscription, ackIds: ReadonlyArray<string>, seconds: (i: number) => number) => {
    ackIds.forEach((ackId, i) => {
      const lease = sub.leases.get(ackId)
      if (lease === undefined) return
      if (seconds(i) === 0) release(sub, ackId)
      else lease.deadline = Date.now() + seconds(i) * 1000
    })
    pump(sub)
  }
  const expire = setInterval(() => {
    const now = Date.now()
    for (const sub of subscriptions.values()) {
      for (const [ackId, lease] of sub.leases) if (lease.deadline <= now) release(sub, ackId)
      pump(sub)
    }
  }, 100)
  expire.unref()

  const unary = (handler: (request: Req) => object | undefined): grpc.handleUnaryCall<Req, object> => (call, callback) => {
    try {
      callback(null, handler(call.request) ?? {})
    } catch (error) {
      callback(error as grpc.ServiceError)
    }
  }
  const publisher = {
    CreateTopic: unary(({ name }) => {
      if (!topicName.test(name)) throw fail(grpc.status.INVALID_ARGUMENT, `Invalid [topics] name: (name=${name})`)
      if (topics.has(name)) throw fail(grpc.status.ALREADY_EXISTS, "Topic already exists")
      topics.set(name, { name })
      return { name }
    }),
    GetTopic: unary(({ topic }) => {
      const found = topics.get(topic)
      if (found === undefined) throw fail(grpc.status.NOT_FOUND, `Topic not found (resource=${topic})`)
      return found
    }),
    DeleteTopic: unary(({ topic }) => {
      if (!topics.delete(topic)) throw fail(grpc.status.NOT_FOUND, `Topic not found (resource=${topic})`)
      return undefined
    }),
    Publish: unary(({ topic, messages }) => {
      if (!topics.has(topic)) throw fail(grpc.status.NOT_FOUND, `Topic not found (resource=${topic})`)
      const now = Date.now()
      const stored = messages.map((m) => ({
        data: m.data,
        attributes: m.attributes,
        orderingKey: m.orderingKey,
        messageId: String(++ids),
        publishTime: { seconds: Math.floor(now / 1000), nanos: (now % 1000) * 1e6 }
      }))
      enqueue(topic, stored)
      return { messageIds: stored.map((m) => m.messageId) }
    })
  }
  const subscriber = {
    CreateSubscription: unary((request) => {
      const { name, topic, ackDeadlineSeconds, deadLetterPolicy } = request as unknown as SubscriptionRequest
      if (!subscriptionName.test(name)) throw fail(grpc.status.INVALID_ARGUMENT, `Invalid [subscriptions] name: (name=${name})`)
      if (subscriptions.has(name)) throw fail(grpc.status.ALREADY_EXISTS, "Subscription already exists")
      if (!topics.has(topic)) throw fail(grpc.status.NOT_FOUND, `Topic not found (resource=${topic})`)
      const resource = { ...request, ackDeadlineSeconds: ackDeadlineSeconds || 10 }
      const deadLetter = deadLetterPolicy?.deadLetterTopic
        ? { topic: deadLetterPolicy.deadLetterTopic, maxDeliveryAttempts: deadLetterPolicy.maxDeliveryAttempts || 5 }
        : undefined
      subscriptions.set(name, { resource, deadLetter, ready: [], leases: new Map(), streams: [] })
      return resource
    }),
    GetSubscription: unary(({ subscription: name }) => subscription(name).resource),
    DeleteSubscription: unary(({ subscription: name }) => {
      const sub = subscription(name)
      subscriptions.delete(name)
      for (const stream of sub.streams) stream.call.emit("error", fail(grpc.status.NOT_FOUND, "Subscription deleted"))
      return undefined
    }),
    Acknowledge: unary(({ subscription: name, ackIds }) => void acknowledge(subscription(name), ackIds)),
    ModifyAckDeadline: unary(({ subscription: name, ackIds, ackDeadlineSeconds }) =>
      void modifyAckDeadline(subscription(name), ackIds, () => ackDeadlineSeconds)
    ),
    Pull: unary(({ subscription: name, maxMessages }) => {
      const sub = subscription(name)
      const receivedMessages = []
      while (sub.ready.length > 0 && receivedMessages.length < maxMessages) {
        receivedMessages.push(received(sub, sub.resource.ackDeadlineSeconds, undefined))
      }
      return { receivedMessages }
    }),
    StreamingPull: (call: grpc.ServerDuplexStream<StreamingPullRequest, unknown>) => {
      let state: { readonly sub: Subscription; readonly stream: Stream } | undefined
      const detach = () => {
        if (state === undefined) return
        const { sub, stream } = state
        sub.streams.splice(sub.streams.indexOf(stream), 1)
        // The leases stay until their deadlines, as the service keeps them after a stream closes.
        for (const lease of sub.leases.values()) if (lease.stream === stream) lease.stream = undefined
        state = undefined
      }
      call.on("data", (request: StreamingPullRequest) => {
        try {
          if (state === undefined) {
            const sub = subscription(request.subscription)
            if (request.streamAckDeadlineSeconds < 10 || request.streamAckDeadlineSeconds > 600) {
              throw fail(grpc.status.INVALID_ARGUMENT, "stream_ack_deadline_seconds must be between 10 and 600")
            }
            const stream = {
              call,
              ackDeadlineSeconds: request.streamAckDeadlineSeconds,
              maxMessages: request.maxOutstandingMessages,
              maxBytes: request.maxOutstandingBytes
            }
            sub.streams.push(stream)
            state = { sub, stream }
          } else if (request.streamAckDeadlineSeconds > 0) {
            state.stream.ackDeadlineSeconds = request.streamAckDeadlineSeconds
          }
          const { sub } = state
          const seconds = request.modifyDeadlineSeconds
          if (seconds.length !== request.modifyDeadlineAckIds.length) {
            throw fail(grpc.status.INVALID_ARGUMENT, "modify_deadline_seconds and modify_deadline_ack_ids differ in length")
          }
          modifyAckDeadline(sub, request.modifyDeadlineAckIds, (i) => seconds[i]!)
          acknowledge(sub, request.ackIds)
        } catch (error) {
          detach()
          call.emit("error", error)
        }
      })
      call.on("end", () => {
        detach()
        call.end()
      })
      call.on("cancelled", detach)
      call.on("error", detach)
    }
  }

  const server = new grpc.Server()
  server.addService(v1.Publisher.service, publisher as unknown as grpc.UntypedServiceImplementation)
  server.addService(v1.Subscriber.service, subscriber as unknown as grpc.UntypedServiceImplementation)
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port)))
  )
  return {
    host: `127.0.0.1:${port}`,
    stop: async () => {
      clearInterval(expire)
      server.forceShutdown()
    }
  }
}
