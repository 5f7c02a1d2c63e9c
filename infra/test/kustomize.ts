import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { isRecord, parseYamlStream, readYaml, record, run } from './helpers.ts'

/** A Kubernetes object as rendered. */
export type Resource = Record<string, unknown> & { kind: string, metadata: Record<string, unknown> & { name: string } }

/** `kubectl kustomize DIR`, or undefined when there is no kubectl on the PATH. */
export async function kubectlKustomize (dir: string): Promise<Resource[] | undefined> {
  let stdout: string
  try {
    ({ stdout } = await run('kubectl', ['kustomize', dir], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  return parseYamlStream(stdout).map((doc) => asResource(doc, dir))
}

// The kustomization fields infra/k8s uses; anything else is refused rather than rendered wrongly.
const SUPPORTED = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'images', 'patches'])

/**
 * kustomize for the subset infra/k8s uses, for machines without kubectl: resources (files and
 * kustomization directories), strategic-merge patches found by kind and name, `namespace`, and
 * `images`, applied in kustomize's order. Where kubectl is installed the test renders with both and
 * requires the same objects, so this stays honest.
 */
export function renderKustomization (dir: string): Resource[] {
  const kustomization = record(readYaml(join(dir, 'kustomization.yaml')), `${dir}/kustomization.yaml`)
  const unsupported = Object.keys(kustomization).filter((key) => !SUPPORTED.has(key))
  if (unsupported.length > 0) throw new Error(`${dir}: the test's renderer does not support ${unsupported.join(', ')}: extend infra/test/kustomize.ts`)

  const resources: Resource[] = []
  for (const entry of (kustomization.resources ?? []) as string[]) {
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) resources.push(...renderKustomization(path))
    else resources.push(...parseYamlStream(readFileSync(path, 'utf8')).map((doc) => asResource(doc, path)))
  }

  for (const patch of (kustomization.patches ?? []) as Array<Record<string, unknown>>) {
    if (typeof patch.path !== 'string' || patch.target !== undefined || patch.patch !== undefined) {
      throw new Error(`${dir}: only \`patches: - path: file\` (strategic merge, target by kind and name) is supported`)
    }
    const body = asResource(readYaml(join(dir, patch.path)), patch.path)
    const index = resources.findIndex((r) => r.kind === body.kind && r.metadata.name === body.metadata.name)
    if (index < 0) throw new Error(`${dir}/${patch.path}: no ${body.kind} ${body.metadata.name} to patch`)
    resources[index] = strategicMerge(resources[index], body) as Resource
  }

  if (typeof kustomization.namespace === 'string') {
    for (const resource of resources) resource.metadata.namespace = kustomization.namespace
  }

  for (const image of (kustomization.images ?? []) as Array<Record<string, string>>) {
    for (const resource of resources) {
      for (const container of podContainers(resource)) {
        const [name, tag] = splitImage(String(container.image))
        if (name !== image.name) continue
        const newTag = image.newTag ?? tag
        const suffix = image.digest !== undefined ? `@${image.digest}` : newTag !== undefined ? `:${newTag}` : ''
        container.image = `${image.newName ?? name}${suffix}`
      }
    }
  }
  return resources
}

/** The containers and init containers of a workload's pod template. */
export function podContainers (resource: Resource): Array<Record<string, unknown>> {
  const spec = podSpec(resource)
  if (spec === undefined) return []
  const list = (value: unknown): Array<Record<string, unknown>> => Array.isArray(value) ? value.filter(isRecord) : []
  return [...list(spec.initContainers), ...list(spec.containers)]
}

/** The pod spec of a Deployment, StatefulSet, DaemonSet, Job (template) or CronJob. */
export function podSpec (resource: Resource): Record<string, unknown> | undefined {
  const spec = resource.spec
  if (!isRecord(spec)) return undefined
  const template = resource.kind === 'CronJob' && isRecord(spec.jobTemplate) && isRecord(spec.jobTemplate.spec)
    ? spec.jobTemplate.spec.template
    : spec.template
  return isRecord(template) && isRecord(template.spec) ? template.spec : undefined
}

// Strategic merge: lists of objects with these keys merge item by item (as the Kubernetes types
// declare `patchMergeKey`); other lists are replaced, maps merge recursively, null deletes.
const MERGE_KEYS = ['name', 'containerPort', 'mountPath', 'port']
const MERGED_LISTS = new Set(['containers', 'initContainers', 'env', 'envFrom', 'volumes', 'volumeMounts', 'ports'])

function strategicMerge (target: unknown, patch: unknown, field = ''): unknown {
  if (isRecord(target) && isRecord(patch)) {
    const merged: Record<string, unknown> = { ...target }
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete merged[key]
      else merged[key] = key in target ? strategicMerge(target[key], value, key) : value
    }
    return merged
  }
  if (Array.isArray(target) && Array.isArray(patch) && MERGED_LISTS.has(field)) {
    const key = MERGE_KEYS.find((k) => patch.every((item) => isRecord(item) && k in item))
    if (key === undefined || field === 'envFrom') return patch
    const merged = [...target]
    for (const item of patch as Array<Record<string, unknown>>) {
      const index = merged.findIndex((existing) => isRecord(existing) && existing[key] === item[key])
      if (index < 0) merged.push(item)
      else merged[index] = strategicMerge(merged[index], item)
    }
    return merged
  }
  return patch
}

function splitImage (image: string): [string, string | undefined] {
  const at = image.indexOf('@')
  const withoutDigest = at < 0 ? image : image.slice(0, at)
  const colon = withoutDigest.lastIndexOf(':')
  return colon > withoutDigest.lastIndexOf('/') ? [withoutDigest.slice(0, colon), withoutDigest.slice(colon + 1)] : [withoutDigest, undefined]
}

function asResource (doc: unknown, where: string): Resource {
  const resource = record(doc, where)
  const metadata = record(resource.metadata, `${where}: metadata`)
  if (typeof resource.kind !== 'string' || typeof metadata.name !== 'string') throw new Error(`${where}: an object without kind or metadata.name`)
  return resource as Resource
}
