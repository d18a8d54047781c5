#!/usr/bin/env node
// The `slipway` command (package.json `bin`); the commands are in cli/.
import { main } from './cli/main.js'

process.exitCode = await main(process.argv.slice(2))
