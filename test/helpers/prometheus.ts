import { getMetricsFromIterator, type PromData, type PromHistogramData, type PromMetrics } from 'prom2javascript'

/**
 * A scrape read by a Prometheus text-format parser that is not ours (prom2javascript): it refuses
 * lines it cannot parse and histograms whose +Inf bucket and count disagree.
 */
export async function parseMetrics (text: string): Promise<PromMetrics> {
  return getMetricsFromIterator(text.split('\n')[Symbol.iterator]())
}

const hasLabels = (series: { labels: Record<string, string> }, labels: Record<string, string>) =>
  Object.entries(labels).every(([name, value]) => series.labels[name] === value)

/** The value of the gauge or counter series with these labels, if the scrape has it. */
export function valueOf (metrics: PromMetrics, name: string, labels: Record<string, string> = {}): number | undefined {
  return (metrics[name]?.data as PromData[] | undefined)?.find((series) => hasLabels(series, labels))?.value
}

/** The histogram series with these labels, if the scrape has it. */
export function histogramOf (metrics: PromMetrics, name: string, labels: Record<string, string> = {}): PromHistogramData | undefined {
  if (metrics[name]?.type !== 'histogram') return undefined
  return (metrics[name].data as PromHistogramData[]).find((series) => hasLabels(series, labels))
}
