// `npm run build`'s second step: the `workcat` binary's code as one file,
// packages/server/dist/workcat.mjs, bundled by esbuild from the compiled JavaScript (tsc -b's
// dist/), so a command starts without resolving and reading the ~2,000 modules it imports
// (`workcat --help`: 0.8 s unbundled). Left out, and loaded from node_modules when used:
// google-gax and gRPC, which read their .proto files next to their own code at run time, the
// loaders of native add-ons (msgpackr's), which look for them next to their own code too, and
// whatever is imported by a name computed at run time (the embedded PostgreSQL binaries).
// Only whitespace and syntax are minified, so stack traces (WORKCAT_DEBUG=1) still name
// functions (as esbuild names them: a name two modules share gets a suffix in one).
import { build } from "esbuild"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))

await build({
  absWorkingDir: root,
  entryPoints: ["packages/server/dist/src/bin.js"],
  outfile: "packages/server/dist/workcat.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  minifyWhitespace: true,
  minifySyntax: true,
  external: ["google-gax", "@grpc/grpc-js", "@grpc/proto-loader", "pg-native", "msgpackr-extract", "node-gyp-build-optional-packages"],
  // The bundled CommonJS packages call require(): the bundle's own, resolved from its place.
  banner: { js: "import { createRequire as __workcatRequire } from 'node:module'; const require = __workcatRequire(import.meta.url);" },
  logLevel: "warning"
})

// The dashboard's page script with Chart.js, for the browser (served at /assets/, no CDN), and its
// style sheet: packages/server/dist/web, which the server reads at start (src/dashboard/Page.ts).
await build({
  absWorkingDir: root,
  entryPoints: ["packages/server/web/dashboard.ts", "packages/server/web/dashboard.css"],
  outdir: "packages/server/dist/web",
  bundle: true,
  platform: "browser",
  format: "esm",
  target: "es2022",
  minify: true,
  logLevel: "warning"
})
