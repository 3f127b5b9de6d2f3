import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Stream } from "effect"
import { type CsvOptions, csvValues, hrInputValues, makeCsvSplitter, textFormat } from "../src/ingest/Csv.js"
import type { InputValue } from "../src/ingest/Framing.js"

/** The values of `text` delivered in chunks of `size` characters. */
const split = (text: string, size: number, options?: CsvOptions): Array<InputValue> => {
  const splitter = makeCsvSplitter(options)
  const out: Array<InputValue> = []
  for (let i = 0; i < text.length; i += size) out.push(...splitter.push(text.slice(i, i + size)))
  out.push(...splitter.end())
  return out
}

/** The values of `text`, checked to be the same whatever the chunk size. */
const read = (text: string, options?: CsvOptions) => {
  const whole = split(text, text.length || 1, options)
  for (const size of [1, 2, 3, 7, 64]) expect(split(text, size, options)).toEqual(whole)
  return whole
}

/** The rows of `text` as objects, with the line each starts on. */
const rows = (text: string, options?: CsvOptions) =>
  read(text, options).map(([json, line, problem]) => (problem === undefined ? [JSON.parse(json), line] : [json, line, problem]))

describe("CSV rows", () => {
  it("turns each row into an object named by the header, at the line it starts on", () => {
    expect(rows("Employee ID,Name,Email\nE1,Ann Lee,ann.lee@example.com\nE2,Bo Chen,bo.chen@example.com\n")).toEqual([
      [{ "Employee ID": "E1", Name: "Ann Lee", Email: "ann.lee@example.com" }, 2],
      [{ "Employee ID": "E2", Name: "Bo Chen", Email: "bo.chen@example.com" }, 3]
    ])
  })

  it("keeps header order in the row text", () => {
    expect(read("b,a,1\nx,y,z\n")).toEqual([['{"b":"x","a":"y","1":"z"}', 2]])
  })

  it("keeps a delimiter inside a quoted field", () => {
    expect(rows('Name,Title\n"Lee, Ann","Engineer, Platform"\n')).toEqual([[{ Name: "Lee, Ann", Title: "Engineer, Platform" }, 2]])
  })

  it("keeps line breaks inside quoted fields as written, and counts their lines in the positions", () => {
    expect(rows('id,note\r\n1,"first\r\nsecond"\r\n2,"a\nb\rc"\r\n3,last\r\n')).toEqual([
      [{ id: "1", note: "first\r\nsecond" }, 2],
      [{ id: "2", note: "a\nb\rc" }, 4],
      [{ id: "3", note: "last" }, 7]
    ])
  })

  it('reads "" inside a quoted field as one quote', () => {
    expect(rows('title,nick\n"The ""Boss""","""Red"" Ann"\n"",x\n')).toEqual([
      [{ title: 'The "Boss"', nick: '"Red" Ann' }, 2],
      [{ title: "", nick: "x" }, 3]
    ])
  })

  it("keeps a quote inside an unquoted field as text", () => {
    expect(rows('name,height\nAnn,5\'10"\n')).toEqual([[{ name: "Ann", height: '5\'10"' }, 2]])
  })

  it("writes cells that JSON must escape (backslashes, control characters, emoji) so they read back as written", () => {
    const cells = ["C:\\temp\\x", "bell\u0007", "\ud83d\ude00 ok", "tab\tinside"]
    expect(rows(`a,b,c,d\n${cells.slice(0, 3).join(",")},"${cells[3]}"\n`)).toEqual([[{ a: cells[0], b: cells[1], c: cells[2], d: cells[3] }, 2]])
    expect(rows(`a\tb\n${cells[0]}\t${cells[2]}\n`)).toEqual([[{ a: cells[0], b: cells[2] }, 2]])
  })

  it("drops a byte order mark at the start", () => {
    expect(rows("\ufeffName,Email\nAnn,ann@example.com")).toEqual([[{ Name: "Ann", Email: "ann@example.com" }, 2]])
  })

  it("reads CRLF line ends", () => {
    expect(rows("a,b\r\n1,2\r\n3,4\r\n")).toEqual([
      [{ a: "1", b: "2" }, 2],
      [{ a: "3", b: "4" }, 3]
    ])
  })

  it("reads a lone CR as a line end (old Mac exports)", () => {
    expect(rows("a,b\r1,2\r3,4\r")).toEqual([
      [{ a: "1", b: "2" }, 2],
      [{ a: "3", b: "4" }, 3]
    ])
  })

  it("skips blank lines and reads a last line without a line end", () => {
    expect(rows("\n\na,b\n\n1,2\n   \r\n3,4")).toEqual([
      [{ a: "1", b: "2" }, 5],
      [{ a: "3", b: "4" }, 7]
    ])
  })

  it("trims unquoted cells and header names, and keeps the spaces inside quotes", () => {
    expect(rows('a , " b ",c\n  x , " y ",  \n')).toEqual([[{ a: "x", b: " y ", c: "" }, 2]])
  })

  it("reads an empty last cell after a trailing delimiter", () => {
    expect(rows("a,b,c\n1,,\n")).toEqual([[{ a: "1", b: "", c: "" }, 2]])
  })

  it("reads nothing from an empty input or a header alone", () => {
    expect(read("")).toEqual([])
    expect(read("\ufeff\n\n")).toEqual([])
    expect(read("a,b,c\n")).toEqual([])
  })
})

describe("CSV delimiters", () => {
  it("detects semicolons (European exports, where commas are decimal marks)", () => {
    expect(rows("Name;Title;Salary\nAnn;Engineer, Platform;1.234,50\n")).toEqual([[{ Name: "Ann", Title: "Engineer, Platform", Salary: "1.234,50" }, 2]])
  })

  it("detects tabs, and keeps spaces inside tab-separated cells", () => {
    expect(rows("Name\tTeam\nAnn Lee\tGrowth, web\n")).toEqual([[{ Name: "Ann Lee", Team: "Growth, web" }, 2]])
  })

  it("detects pipes", () => {
    expect(rows("a|b\n1|2,3\n")).toEqual([[{ a: "1", b: "2,3" }, 2]])
  })

  it("counts only delimiters outside quotes in the header", () => {
    expect(rows('"Last, First";"Title, Level";Team\nLee, Ann;Eng, 3;Web\n')).toEqual([[{ "Last, First": "Lee, Ann", "Title, Level": "Eng, 3", Team: "Web" }, 2]])
  })

  it("detects the delimiter past a quote inside an unquoted header name", () => {
    expect(rows('Name;Height (5\'10");Team\nAnn;170;Web\n')).toEqual([[{ Name: "Ann", 'Height (5\'10")': "170", Team: "Web" }, 2]])
  })

  it("uses a delimiter given in the options", () => {
    expect(rows("a;b,c\n1;2,3\n", { delimiter: "," })).toEqual([[{ "a;b": "1;2", c: "3" }, 2]])
  })
})

describe("CSV problems", () => {
  it("refuses an input whose header has an empty column, once, with no rows", () => {
    expect(read("Name,,Email\nAnn,x,ann@example.com\n")).toEqual([['{"_fields":["Name","","Email"]}', 1, "column 2 of the header is empty"]])
  })

  it("refuses an input whose header names a column twice (after trimming)", () => {
    expect(read("\nEmail,Name, Email \nann@example.com,Ann,x\n")).toEqual([
      ['{"_fields":["Email","Name","Email"]}', 2, 'columns 1 and 3 of the header have the same name']
    ])
  })

  it("keeps a row with too many or too few fields as a problem, with its cells, and reads on", () => {
    expect(read("a,b,c\n1,2,3,4,5\n1,2\n7,8,9\n")).toEqual([
      ['{"_fields":["1","2","3","4","5"]}', 2, "row has 5 fields, the header has 3"],
      ['{"_fields":["1","2"]}', 3, "row has 2 fields, the header has 3"],
      ['{"a":"7","b":"8","c":"9"}', 4]
    ])
  })

  it("reports a quote never closed, with the line it opened on and the text it swallowed", () => {
    expect(read('a,b\n1,2\n3,"never\n4,5\n')).toEqual([
      ['{"a":"1","b":"2"}', 2],
      ['{"_fields":["3","never\\n4,5\\n"]}', 3, "quoted field opened on line 3 is never closed"]
    ])
  })

  it("reports a quote never closed in the header", () => {
    expect(read('a,"b\n1,2\n')).toEqual([['{"_fields":["a","b\\n1,2\\n"]}', 1, "quoted field opened on line 1 is never closed"]])
  })

  it("keeps a row with text after a closing quote as a problem, and reads on", () => {
    expect(read('a,b\n"x"y,2\n"z" ,3\n')).toEqual([
      ['{"_fields":["xy","2"]}', 2, "field 1 has text after its closing quote"],
      ['{"a":"z","b":"3"}', 3]
    ])
  })

  it("does not hold a row longer than the limit: a sample of it is reported with the problem", () => {
    const values = read(`a,b\n1,2\n"${"x".repeat(500)}",${"y".repeat(500)}\n3,4\n`, { maxChars: 100 })
    expect(values.map(([text, line, problem]) => [text.length, line, problem])).toEqual([
      [17, 2, undefined],
      [100, 3, "row longer than 100 characters"],
      [17, 4, undefined]
    ])
    expect(values[1]![0]).toBe(`"${"x".repeat(99)}`)
  })

  it("refuses an input whose header is longer than the limit", () => {
    expect(read(`${"h,".repeat(100)}z\n1\n`, { maxChars: 100 }).map(([, line, problem]) => [line, problem])).toEqual([
      [1, "the header is longer than 100 characters"]
    ])
  })

  it("reads the same values wherever the chunks break", () => {
    const text = '\ufeffName;"Team; Site";Note\r\n\r\n"Lee; Ann";"Web ""A""";"two\r\nlines"\r\nBo;5\'1";C:\\y\rCy; z ;"q"\nDi; a\\b ;ok\n"open;1;2'
    const whole = split(text, text.length)
    expect(whole).toEqual([
      ['{"Name":"Lee; Ann","Team; Site":"Web \\"A\\"","Note":"two\\r\\nlines"}', 3],
      ['{"Name":"Bo","Team; Site":"5\'1\\"","Note":"C:\\\\y"}', 5],
      ['{"Name":"Cy","Team; Site":"z","Note":"q"}', 6],
      ['{"Name":"Di","Team; Site":"a\\\\b","Note":"ok"}', 7],
      ['{"_fields":["open;1;2"]}', 8, "quoted field opened on line 8 is never closed"]
    ])
    for (let at = 0; at <= text.length; at++) {
      const splitter = makeCsvSplitter()
      expect([...splitter.push(text.slice(0, at)), ...splitter.push(text.slice(at)), ...splitter.end()]).toEqual(whole)
    }
  })
})

describe("HR exports in CSV", () => {
  it("reads a Workday-style report exported as CSV", () => {
    const csv = [
      "Employee_ID,Worker,Email_-_Work,Business_Title,Supervisory_Organization,Cost_Center,Hire_Date,Active_Status,Manager_-_Email",
      '21000,Grace Hollis,grace.hollis@example.com,"Director, Data Platform",Data Platform,CC-410 Data,2016-03-01-08:00,1,',
      "21001,Idris Vale,idris.vale@example.com,Data Analyst,Data Platform,CC-410 Data,2021-01-04-08:00,0,grace.hollis@example.com"
    ].join("\r\n")
    expect(rows(csv)).toEqual([
      [
        {
          Employee_ID: "21000",
          Worker: "Grace Hollis",
          "Email_-_Work": "grace.hollis@example.com",
          Business_Title: "Director, Data Platform",
          Supervisory_Organization: "Data Platform",
          Cost_Center: "CC-410 Data",
          Hire_Date: "2016-03-01-08:00",
          Active_Status: "1",
          "Manager_-_Email": ""
        },
        2
      ],
      [expect.objectContaining({ Employee_ID: "21001", "Manager_-_Email": "grace.hollis@example.com" }), 3]
    ])
  })

  it("reads a BambooHR-style report, every field quoted", () => {
    const csv =
      '"Employee #","First Name","Last Name","Work Email","Job Title","Department","Division","Supervisor EID","Hire Date","Status"\n' +
      '"1042","Tomas","Rey","tomas.rey@example.com","Senior Backend Engineer","Engineering","R&D","1001","2021-03-15","Active"\n' +
      '"1077","Pia","Novak","pia.novak@example.com","Account Executive","Sales","Go-to-market","","03/02/2020","Inactive"\n'
    const values = rows(csv)
    expect(values).toHaveLength(2)
    expect(values[0]).toEqual([
      {
        "Employee #": "1042",
        "First Name": "Tomas",
        "Last Name": "Rey",
        "Work Email": "tomas.rey@example.com",
        "Job Title": "Senior Backend Engineer",
        Department: "Engineering",
        Division: "R&D",
        "Supervisor EID": "1001",
        "Hire Date": "2021-03-15",
        Status: "Active"
      },
      2
    ])
    expect(values[1]).toEqual([expect.objectContaining({ "Supervisor EID": "", Status: "Inactive" }), 3])
  })
})

describe("HR input: CSV or JSON", () => {
  it("tells CSV from JSON by the first character that is not white space", () => {
    expect(textFormat("\ufeff \n Name,Email")).toBe("csv")
    expect(textFormat('\n  {"Report_Entry": [')).toBe("json")
    expect(textFormat("[")).toBe("json")
    expect(textFormat(" \r\n")).toBeUndefined()
  })

  it.effect("streams the rows of a CSV stream", () =>
    Effect.gen(function* () {
      const values = yield* Stream.runCollect(csvValues(Stream.make("Name,Em", 'ail\n"Lee, ', 'Ann",ann@example.com\r', "\nBo,bo@example.com")))
      expect(Chunk.toReadonlyArray(values)).toEqual([
        ['{"Name":"Lee, Ann","Email":"ann@example.com"}', 2],
        ['{"Name":"Bo","Email":"bo@example.com"}', 3]
      ])
    }))

  it.effect("reads a CSV export as rows, even when the first chunk is blank", () =>
    Effect.gen(function* () {
      const values = yield* Stream.runCollect(hrInputValues(Stream.make("\ufeff", "\r\n", "Work Email;Team\r\nann@example.com;Web\r\n")))
      expect(Chunk.toReadonlyArray(values)).toEqual([['{"Work Email":"ann@example.com","Team":"Web"}', 3]])
    }))

  it.effect("reads a one-line Workday report as its records", () =>
    Effect.gen(function* () {
      const report = JSON.stringify({ Report_Entry: [{ Employee_ID: "1" }, { Employee_ID: "2" }] })
      const values = yield* Stream.runCollect(hrInputValues(Stream.make(report.slice(0, 9), report.slice(9))))
      expect(Chunk.toReadonlyArray(values)).toEqual([
        ['{"Employee_ID":"1"}', 1],
        ['{"Employee_ID":"2"}', 1]
      ])
    }))

  it.effect("reads a pretty-printed BambooHR report as its employees, without its title and fields", () =>
    Effect.gen(function* () {
      const report = { title: "Directory", fields: [{ id: "workEmail" }], employees: [{ workEmail: "a@example.com" }, { workEmail: "b@example.com" }] }
      const values = yield* Stream.runCollect(hrInputValues(Stream.make(JSON.stringify(report, null, 2))))
      expect(Chunk.toReadonlyArray(values).map(([text]) => JSON.parse(text))).toEqual(report.employees)
    }))

  it.effect("reads HR NDJSON line by line", () =>
    Effect.gen(function* () {
      const values = yield* Stream.runCollect(hrInputValues(Stream.make('{"login":"a"}\n{"login":\n{"login":"c"}\n')))
      expect(Chunk.toReadonlyArray(values)).toEqual([
        ['{"login":"a"}', 1],
        ['{"login":', 2],
        ['{"login":"c"}', 3]
      ])
    }))
})
