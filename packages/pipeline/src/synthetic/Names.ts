/** Material for plausible people, places and devices. Everything here is fictional. */
export const FIRST_NAMES = [
  "Ada", "Alex", "Amara", "Ana", "Ben", "Bianca", "Carlos", "Chen", "Chloe", "Daniel", "Diego", "Elena", "Emma", "Farah",
  "Felix", "Grace", "Hana", "Hugo", "Ibrahim", "Iris", "Jamal", "Jana", "Jonas", "Julia", "Kai", "Kenji", "Lara", "Leo",
  "Lina", "Lucas", "Maya", "Mateo", "Mei", "Mila", "Nadia", "Noah", "Olga", "Omar", "Priya", "Rafael", "Rosa", "Sam",
  "Sara", "Sofia", "Tariq", "Theo", "Uma", "Victor", "Wei", "Yara", "Yusuf", "Zoe"
]
export const LAST_NAMES = [
  "Abara", "Becker", "Castro", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ivanova", "Jensen", "Kato", "Kowalski",
  "Larsen", "Lopez", "Mendes", "Müller", "Nakamura", "Novak", "Okafor", "Olsen", "Patel", "Quinn", "Rossi", "Santos",
  "Schmidt", "Silva", "Singh", "Tanaka", "Usman", "Varga", "Wagner", "Weber", "Xu", "Yamamoto", "Zhang", "Zimmermann"
]
export const PLACES = [
  { city: "Berlin", state: "Land Berlin", country: "Germany", ip: "203.0.113." },
  { city: "Munich", state: "Bavaria", country: "Germany", ip: "198.51.100." },
  { city: "London", state: "England", country: "United Kingdom", ip: "192.0.2." },
  { city: "New York", state: "New York", country: "United States", ip: "100.64.12." },
  { city: "San Francisco", state: "California", country: "United States", ip: "100.64.34." },
  { city: "Lisbon", state: "Lisbon", country: "Portugal", ip: "100.64.56." },
  { city: "Warsaw", state: "Masovian", country: "Poland", ip: "100.64.78." }
]
export const USER_AGENTS = [
  { raw: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36", os: "Mac OS X", browser: "CHROME" },
  { raw: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0", os: "Windows 10", browser: "EDGE" },
  { raw: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101 Firefox/127.0", os: "Mac OS X", browser: "FIREFOX" },
  { raw: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36", os: "Linux", browser: "CHROME" }
]
/** Teams per department. */
export const TEAMS: Readonly<Record<string, ReadonlyArray<string>>> = {
  Engineering: ["Web", "Mobile", "Core API", "Payments", "Platform", "Infrastructure"],
  Data: ["Data Platform", "Analytics"],
  Security: ["Security"],
  Design: ["Product Design", "Research"],
  Product: ["Product"],
  Sales: ["Enterprise", "Mid-Market", "Sales Development"],
  "Customer Success": ["Onboarding", "Accounts"],
  Support: ["Tier 1", "Tier 2"],
  Marketing: ["Demand Generation", "Content", "Product Marketing"],
  Finance: ["Accounting", "FP&A"],
  People: ["People Operations", "Talent"],
  Legal: ["Legal"],
  IT: ["IT"],
  Operations: ["Revenue Operations", "Procurement"],
  Executive: ["Leadership"]
}
