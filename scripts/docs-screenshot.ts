/**
 * `npm run docs:screenshot -- URL [OUT]`: the dashboard as a browser shows it, to a PNG (default
 * docs/dashboard.png), through Debian's chromium (or CHROMIUM). URL: the demo's sign-in link
 * (`npm run demo` prints it): the page's button signs the browser in once and opens the dashboard.
 */
import { chromium } from "playwright-core"

const [url, out = "docs/dashboard.png"] = process.argv.slice(2)
if (url === undefined) {
  console.error("usage: npm run docs:screenshot -- SIGN_IN_URL [OUT.png]")
  process.exit(2)
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
})
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  await page.goto(url)
  await page.click("#redeem")
  await page.waitForSelector("body[data-ready=dashboard]", { timeout: 30_000 })
  const ready = await page.evaluate(() => performance.getEntriesByName("dashboard-ready")[0]?.startTime)
  await page.screenshot({ path: out, fullPage: true })
  console.log(`${out}: the dashboard, ready ${ready === undefined ? "?" : Math.round(ready)} ms after navigation`)
} finally {
  await browser.close()
}
