import type { ScenarioResult } from '../scenarios/types.ts'

const COLORS = ['#555555', '#d9822b', '#2b6cd9', '#1f9d55', '#b83280']
const W = 760
const H = 440
const M = { left: 84, right: 190, top: 48, bottom: 55 }

/**
 * p99 latency against delivered messages per second, one line per target, both axes logarithmic:
 * every step of the fan-out ladders (the failing last step included, where the knee shows).
 */
export function latencyChart (s: ScenarioResult): string {
  const series = s.targets.filter((t) => t.steps.length > 0).map((t) => ({
    label: t.label,
    points: t.steps.map((st) => ({ x: Math.max(1, st.deliveredPerSec), y: Math.max(0.1, st.latency.p99), pass: st.pass }))
  }))
  const xs = series.flatMap((se) => se.points.map((p) => p.x))
  const xMin = 10 ** Math.floor(Math.log10(Math.min(...xs, 1000)))
  const xMax = 10 ** Math.ceil(Math.log10(Math.max(...xs, 10_000)))
  const ys = series.flatMap((se) => se.points.map((p) => p.y))
  const yMin = 10 ** Math.floor(Math.log10(Math.max(0.1, Math.min(...ys, 10))))
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...ys, 1000)))
  const px = (x: number): number => M.left + (Math.log10(x / xMin) / Math.log10(xMax / xMin)) * (W - M.left - M.right)
  const py = (y: number): number => H - M.bottom - (Math.log10(Math.min(yMax, y) / yMin) / Math.log10(yMax / yMin)) * (H - M.top - M.bottom)
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${M.left}" y="20" font-size="14" font-weight="bold">p99 latency against delivered messages per second</text>`,
    `<text x="${M.left}" y="34" fill="#444444">${escape(s.title)}</text>`
  ]
  for (let x = xMin; x <= xMax; x *= 10) {
    out.push(`<line x1="${px(x)}" y1="${M.top}" x2="${px(x)}" y2="${H - M.bottom}" stroke="#e5e5e5"/>`)
    out.push(`<text x="${px(x)}" y="${H - M.bottom + 18}" text-anchor="middle">${x >= 1e6 ? `${x / 1e6}M` : x >= 1e3 ? `${x / 1e3}k` : x}</text>`)
  }
  for (let y = yMin; y <= yMax; y *= 10) {
    out.push(`<line x1="${M.left}" y1="${py(y)}" x2="${W - M.right}" y2="${py(y)}" stroke="#e5e5e5"/>`)
    out.push(`<text x="${M.left - 8}" y="${py(y) + 4}" text-anchor="end">${y < 1 ? y.toFixed(1) : y} ms</text>`)
  }
  out.push(`<line x1="${M.left}" y1="${py(100)}" x2="${W - M.right}" y2="${py(100)}" stroke="#cc0000" stroke-dasharray="6 4"/>`)
  out.push(`<text x="${W - M.right - 4}" y="${py(100) - 5}" text-anchor="end" fill="#cc0000">p99 bound 100 ms</text>`)
  out.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 14}" text-anchor="middle">delivered messages per second (log)</text>`)
  out.push(`<text transform="translate(16 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">p99 send → receive (log)</text>`)
  series.forEach((se, i) => {
    const color = COLORS[i % COLORS.length] as string
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${se.points.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ')}"/>`)
    for (const p of se.points) {
      out.push(p.pass
        ? `<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="4" fill="${color}"/>`
        : `<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="4" fill="#ffffff" stroke="${color}" stroke-width="2"/>`)
    }
    const ly = M.top + 10 + i * 22
    out.push(`<line x1="${W - M.right + 15}" y1="${ly}" x2="${W - M.right + 40}" y2="${ly}" stroke="${color}" stroke-width="2"/>`)
    out.push(`<text x="${W - M.right + 46}" y="${ly + 4}">${escape(se.label)}</text>`)
  })
  const ly = M.top + 10 + series.length * 22 + 10
  out.push(`<text x="${W - M.right + 15}" y="${ly}" fill="#666666">open circle: failed step</text>`)
  out.push('</svg>')
  return out.join('\n') + '\n'
}

function escape (s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
}
