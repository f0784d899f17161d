/** Resident set size now, and the most this process has had resident since it started (MiB). */
export const rssMiB = (): number => Math.round((process.memoryUsage().rss / 2 ** 20) * 10) / 10;
// resourceUsage().maxRSS is in KiB: the kernel's high-water mark, so no sampling can miss a peak.
export const peakRssMiB = (): number => Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
