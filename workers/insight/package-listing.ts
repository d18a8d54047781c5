import { performance } from 'node:perf_hooks'
import type Docker from 'dockerode'
import { formatBytes } from '../../src/domain/format.js'
import type { ImagePackage } from '../../src/domain/sbom/image-package.js'
import { ECOSYSTEMS, type Packages } from '../../src/domain/schemas/build.js'
import { SCAN_LIMIT_BYTES } from './image-insight.js'
import { scanImagePackages } from './packages.js'

export interface PackageListing {
  packages: ImagePackage[]
  summary: Packages
}

/**
 * The packages of a built image, read from its layers (`docker save`), with the reason logged when
 * they are not: an image above the scan limit is not read, and a scan that fails ends no build.
 */
export async function listPackages (input: { docker: Docker; imageId: string; sizeBytes: number; log: (text: string) => void }): Promise<PackageListing | null> {
  if (input.sizeBytes > SCAN_LIMIT_BYTES) {
    input.log(`The image's packages are not listed (no SBOM): it is ${formatBytes(input.sizeBytes)}, above the ${formatBytes(SCAN_LIMIT_BYTES)} its layers are read up to`)
    return null
  }
  const started = performance.now()
  try {
    const { packages } = await scanImagePackages(await input.docker.getImage(input.imageId).get())
    const summary = summarize(packages)
    const counts = ECOSYSTEMS.filter((ecosystem) => summary.byEcosystem[ecosystem] > 0).map((ecosystem) => `${ecosystem} ${summary.byEcosystem[ecosystem]}`)
    input.log(`Listed ${summary.count} packages of the image${counts.length > 0 ? ` (${counts.join(', ')})` : ''} in ${Math.round(performance.now() - started)} ms, for its SBOM`)
    return { packages, summary }
  } catch (error) {
    input.log(`The image's packages could not be listed (no SBOM): ${(error as Error).message}`)
    return null
  }
}

function summarize (packages: ImagePackage[]): Packages {
  const byEcosystem = Object.fromEntries(ECOSYSTEMS.map((ecosystem) => [ecosystem, 0])) as Packages['byEcosystem']
  for (const found of packages) byEcosystem[found.ecosystem]++
  return { count: packages.length, byEcosystem }
}
