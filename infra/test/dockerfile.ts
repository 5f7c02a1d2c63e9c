/**
 * Just enough of a Dockerfile parser for the tests: instructions with their line continuations
 * joined, stages (FROM … AS name) with global ARG defaults substituted, ENV pairs and exec-form
 * (JSON) arguments. No Docker engine runs where the tests do; the workflow's job builds for real.
 */
export interface Instruction {
  /** Upper-case keyword: FROM, RUN, COPY, … */
  keyword: string
  /** Everything after the keyword, continuations joined with a space. */
  args: string
  /** 1-based line of the keyword. */
  line: number
}

export interface Stage {
  /** The image after substituting global ARG defaults, e.g. `node:20.20.2-bookworm-slim`. */
  from: string
  name: string | undefined
  instructions: Instruction[]
}

export interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  globalArgs: Record<string, string>
  stages: Stage[]
}

export function parseDockerfile (text: string): Dockerfile {
  const instructions: Instruction[] = []
  let current: Instruction | undefined
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim()
    if (current === undefined && (line === '' || line.startsWith('#'))) return
    if (current !== undefined && line.startsWith('#')) return // comments inside a continuation
    const continued = line.endsWith('\\')
    const body = continued ? line.slice(0, -1).trim() : line
    if (current === undefined) {
      const match = /^(\w+)\s*(.*)$/.exec(body)
      if (match === null) throw new Error(`line ${index + 1}: not an instruction: ${raw}`)
      current = { keyword: (match[1] as string).toUpperCase(), args: match[2] as string, line: index + 1 }
    } else if (body !== '') {
      current.args = `${current.args} ${body}`.trim()
    }
    if (!continued) {
      instructions.push(current)
      current = undefined
    }
  })
  if (current !== undefined) instructions.push(current)

  const globalArgs: Record<string, string> = {}
  const stages: Stage[] = []
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const match = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args)
      if (match === null) throw new Error(`line ${instruction.line}: cannot read FROM ${instruction.args}`)
      const from = (match[1] as string).replace(/\$\{?(\w+)\}?/g, (_, name: string) => globalArgs[name] ?? '')
      stages.push({ from, name: match[2], instructions: [] })
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`line ${instruction.line}: ${instruction.keyword} before the first FROM`)
      const [name, value] = instruction.args.split('=', 2)
      globalArgs[(name as string).trim()] = unquote((value ?? '').trim())
    } else {
      (stages.at(-1) as Stage).instructions.push(instruction)
    }
  }
  return { globalArgs, stages }
}

/** The `KEY=value` pairs of a stage's ENV instructions, in order (later ones win). */
export function stageEnv (stage: Stage): Record<string, string> {
  const env: Record<string, string> = {}
  for (const instruction of stage.instructions.filter((i) => i.keyword === 'ENV')) {
    const words = splitWords(instruction.args)
    if (words.length > 0 && !(words[0] as string).includes('=')) {
      // Legacy form: ENV KEY value with spaces
      env[words[0] as string] = words.slice(1).join(' ')
      continue
    }
    for (const word of words) {
      const eq = word.indexOf('=')
      env[word.slice(0, eq)] = word.slice(eq + 1)
    }
  }
  return env
}

/** Exec-form arguments (`["node", "dist/server.js"]`), or undefined for the shell form. */
export function execForm (args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined
  const parsed: unknown = JSON.parse(args)
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) throw new Error(`not a JSON string array: ${args}`)
  return parsed as string[]
}

/** Splits on unquoted whitespace; quotes are removed, backslash escapes kept literal. */
function splitWords (text: string): string[] {
  const words: string[] = []
  let word = ''
  let quote: string | undefined
  let inWord = false
  for (const char of text) {
    if (quote !== undefined) {
      if (char === quote) quote = undefined
      else word += char
    } else if (char === '"' || char === "'") {
      quote = char
      inWord = true
    } else if (/\s/.test(char)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
    } else {
      word += char
      inWord = true
    }
  }
  if (inWord) words.push(word)
  return words
}

function unquote (value: string): string {
  return /^(["']).*\1$/.test(value) ? value.slice(1, -1) : value
}
