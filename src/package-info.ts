import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

// The same code runs from src/ (tests) and from dist/src/ (npm start), so the package root is
// found by looking up for package.json rather than by a fixed number of "..".
function findPackageRoot (from: string): string {
  let dir = from
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir)
    if (parent === dir) throw new Error(`No package.json above ${from}`)
    dir = parent
  }
  return dir
}

export const packageRoot = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)))
export const packageVersion = (JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version
