#!/usr/bin/env node
// Runs the TypeScript CLI with tsx, resolved from this package, so `workcat` works from any directory.
import { register } from "tsx/esm/api"

register()
await import("../src/bin.ts")
