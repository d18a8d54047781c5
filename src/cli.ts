#!/usr/bin/env node
// The `slipway` command (package.json `bin`): the commands are in cli/, and talk to the API over
// HTTP; only `token --redis`, the operator's way to make the first token, is handed storage here.
import { main } from './cli/main.js'
import { openOperatorTokens } from './services/operator-tokens.js'

process.exitCode = await main(process.argv.slice(2), { openOperatorTokens })
