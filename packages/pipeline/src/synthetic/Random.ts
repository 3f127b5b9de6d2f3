/** A small, fast, seedable PRNG (sfc32) with the draws the generator needs. Same seed, same tenant. */
export interface Random {
  /** Uniform in [0, 1). */
  readonly next: () => number
  readonly int: (maxExclusive: number) => number
  readonly chance: (p: number) => boolean
  readonly pick: <A>(items: ReadonlyArray<A>) => A
  readonly between: (min: number, max: number) => number
  /** exp(N(0, sigma)): a multiplicative spread around 1. */
  readonly lognormal: (sigma: number) => number
  readonly poisson: (lambda: number) => number
  /** `length` characters of [0-9A-Za-z]. */
  readonly token: (length: number) => string
  /** An RFC 4122 version-4-shaped UUID. */
  readonly uuid: () => string
}

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

const hashSeed = (seed: string): [number, number, number, number] => {
  let h1 = 1779033703
  let h2 = 3144134277
  let h3 = 1013904242
  let h4 = 2773480762
  for (let i = 0; i < seed.length; i++) {
    const k = seed.charCodeAt(i)
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067)
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233)
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213)
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179)
  }
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0]
}

export const makeRandom = (seed: string): Random => {
  let [a, b, c, d] = hashSeed(seed)
  const next = () => {
    a |= 0
    b |= 0
    c |= 0
    d |= 0
    const t = (((a + b) | 0) + d) | 0
    d = (d + 1) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) | 0
    return (t >>> 0) / 4294967296
  }
  const int = (n: number) => Math.floor(next() * n)
  const normal = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next())
  const poisson = (lambda: number) => {
    if (lambda <= 0) return 0
    if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * normal()))
    const limit = Math.exp(-lambda)
    let k = 0
    let p = next()
    while (p > limit) {
      k++
      p *= next()
    }
    return k
  }
  const token = (length: number) => {
    let s = ""
    for (let i = 0; i < length; i++) s += ALPHABET[int(ALPHABET.length)]
    return s
  }
  const hex = (n: number) => {
    let s = ""
    for (let i = 0; i < n; i++) s += int(16).toString(16)
    return s
  }
  return {
    next,
    int,
    chance: (p) => next() < p,
    pick: (items) => items[int(items.length)]!,
    between: (min, max) => min + next() * (max - min),
    lognormal: (sigma) => Math.exp(sigma * normal()),
    poisson,
    token,
    uuid: () => `${hex(8)}-${hex(4)}-4${hex(3)}-${"89ab"[int(4)]}${hex(3)}-${hex(12)}`
  }
}
