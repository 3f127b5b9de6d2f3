import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Stream } from "effect"
import { NodeFileSystem } from "@effect/platform-node"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileValues, type FramingOptions, type InputValue, jsonValues, makeSplitter } from "../src/ingest/Framing.js"

/** The values of `text` delivered in chunks of `size` characters (every split point gets exercised). */
const split = (text: string, size: number, maxChars?: number, options?: FramingOptions): Array<InputValue> => {
  const splitter = makeSplitter(maxChars, options)
  const out: Array<InputValue> = []
  for (let i = 0; i < text.length; i += size) out.push(...splitter.push(text.slice(i, i + size)))
  out.push(...splitter.end())
  return out
}

const bothWays = (text: string, maxChars?: number, options?: FramingOptions) => {
  const whole = split(text, text.length || 1, maxChars, options)
  for (const size of [1, 2, 3, 7, 64]) expect(split(text, size, maxChars, options)).toEqual(whole)
  return whole
}

describe("input framing", () => {
  it("reads NDJSON one line at a time, with line numbers, skipping blank lines and CRLF endings", () => {
    const text = '{"a":1}\r\n\n{"b":"x\\ny"}\n  \n[{"c":1},{"c":2}]\n{"d":1}'
    expect(bothWays(text)).toEqual([
      ['{"a":1}', 1],
      ['{"b":"x\\ny"}', 3],
      ['[{"c":1},{"c":2}]', 5],
      ['{"d":1}', 6]
    ])
  })

  it("keeps a truncated NDJSON line to itself: the next line is still read", () => {
    expect(bothWays('{"a":1}\n{"b":{"c":\n{"d":1}\n')).toEqual([
      ['{"a":1}', 1],
      ['{"b":{"c":', 2],
      ['{"d":1}', 3]
    ])
  })

  it("reads NDJSON whose lines are JSON arrays (pages) line by line: a truncated page is one value", () => {
    expect(bothWays('[{"a":1},{"a":2}]\n[{"x":"oops\n[{"b":2}]\n')).toEqual([
      ['[{"a":1},{"a":2}]', 1],
      ['[{"x":"oops', 2],
      ['[{"b":2}]', 3]
    ])
  })

  it("ignores a byte order mark", () => {
    expect(bothWays('\ufeff{"a":1}\n{"b":2}')).toEqual([
      ['{"a":1}', 1],
      ['{"b":2}', 2]
    ])
  })

  it("splits a pretty-printed JSON array into its elements, wherever the lines and chunks break", () => {
    const events = [{ uuid: "1", t: ["x", "]"] }, { uuid: "2", s: 'a "quoted" } brace' }, { uuid: "3" }]
    const values = bothWays(JSON.stringify(events, null, 2))
    expect(values.map(([text]) => JSON.parse(text))).toEqual(events)
    expect(values.map(([, line]) => line)).toEqual([2, 9, 13])
  })

  it("reads a pretty-printed object (a hook delivery, a Graph page) as one value", () => {
    const page = { "@odata.context": "x", value: [{ id: "a" }, { id: "b" }] }
    expect(bothWays(`${JSON.stringify(page, null, 2)}\n`)).toEqual([[JSON.stringify(page, null, 2), 1]])
  })

  it("reports junk inside a JSON array as its own value", () => {
    expect(bothWays('[{"a":1},\n 42, nonsense,\n {"b":2}]').map(([text]) => text)).toEqual(['{"a":1}', "42", "nonsense", '{"b":2}'])
  })

  it("does not hold a value longer than the limit: a sample of it is reported with the problem", () => {
    const long = `{"a":"${"x".repeat(5000)}"}`
    const values = bothWays(`{"a":1}\n${long}\n{"b":2}\n`, 1000)
    expect(values.map(([text, line, problem]) => [text.length, line, problem])).toEqual([
      [7, 1, undefined],
      [1000, 2, "longer than 1000 characters"],
      [7, 3, undefined]
    ])
  })

  it.effect("reads a file with bytes that are not UTF-8: they become U+FFFD, the lines around them are intact", () =>
    Effect.gen(function* () {
      const file = join(mkdtempSync(join(tmpdir(), "workcat-framing-")), "latin1.ndjson")
      writeFileSync(file, Buffer.concat([Buffer.from('{"a":"caf'), Buffer.from([0xe9, 0xff]), Buffer.from('"}\n{"b":2}\n')]))
      const values = Chunk.toReadonlyArray(yield* Stream.runCollect(fileValues(file)))
      expect(values.map(([text]) => JSON.parse(text))).toEqual([{ a: "caf\ufffd\ufffd" }, { b: 2 }])
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.effect("streams: values of a chunked stream, the last one without a newline", () =>
    Effect.gen(function* () {
      const values = yield* Stream.runCollect(jsonValues(Stream.make('{"a":', '1}\n{"b"', ":2}")))
      expect(Chunk.toReadonlyArray(values)).toEqual([
        ['{"a":1}', 1],
        ['{"b":2}', 2]
      ])
    }))
})

describe("wrapper objects (streamArrayKeys)", () => {
  const hr: FramingOptions = { streamArrayKeys: new Set(["Report_Entry", "employees"]) }
  const entries = [
    { Employee_ID: "21000", Worker: "Grace Hollis", Business_Title: "Director, Data Platform" },
    { Employee_ID: "21001", Worker: 'Idris "Id" Vale', Teams: ["a", "]"] },
    { Employee_ID: "21002", Worker: "Mo Ortiz" }
  ]

  it("streams the records of a pretty-printed Workday report one by one, at the lines they start on", () => {
    const values = bothWays(JSON.stringify({ Report_Entry: entries }, null, 2), undefined, hr)
    expect(values.map(([text]) => JSON.parse(text))).toEqual(entries)
    expect(values.map(([, line]) => line)).toEqual([3, 8, 16])
  })

  it("streams the records of a report on one line, however long the line", () => {
    const values = bothWays(JSON.stringify({ Report_Entry: entries }), 100, hr)
    expect(values.map(([text, line, problem]) => [JSON.parse(text), line, problem])).toEqual(entries.map((e) => [e, 1, undefined]))
  })

  it("drops a BambooHR report's title and fields, before or after its employees", () => {
    const employees = [{ workEmail: "ann@example.com" }, { workEmail: "bo@example.com" }]
    const before = { title: "Directory", fields: [{ id: "workEmail", name: "Work Email" }], employees }
    const after = { employees, fields: [{ id: "x}" }], title: "Directory" }
    for (const report of [before, after]) {
      expect(bothWays(JSON.stringify(report), undefined, hr).map(([text]) => JSON.parse(text))).toEqual(employees)
      expect(bothWays(JSON.stringify(report, null, 2), undefined, hr).map(([text]) => JSON.parse(text))).toEqual(employees)
    }
  })

  it("reads what follows a wrapper as values of their own", () => {
    expect(bothWays('{"Report_Entry":[{"a":1}, 42, {"b":2}], "x": {"y": "}"}}\n{"c":3}\n', undefined, hr)).toEqual([
      ['{"a":1}', 1],
      ["42", 1],
      ['{"b":2}', 1],
      ['{"c":3}', 2]
    ])
  })

  it("keeps a wrapper whole without the option (SSO intake)", () => {
    const report = JSON.stringify({ Report_Entry: entries })
    expect(bothWays(report)).toEqual([[report, 1]])
  })

  it("keeps an object whole when the key holds no array, or is not its own", () => {
    const text = '{"employees": 3, "x": 1}\n{"team": {"employees": [1, 2]}}\n'
    expect(bothWays(text, undefined, hr)).toEqual([
      ['{"employees": 3, "x": 1}', 1],
      ['{"team": {"employees": [1, 2]}}', 2]
    ])
  })

  it("still reads HR NDJSON line by line: a truncated line is one value", () => {
    expect(bothWays('{"login":"a"}\n{"login":"b","employees":\n{"login":"c"}\n', undefined, hr)).toEqual([
      ['{"login":"a"}', 1],
      ['{"login":"b","employees":', 2],
      ['{"login":"c"}', 3]
    ])
  })
})
