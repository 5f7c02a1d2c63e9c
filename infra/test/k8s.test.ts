import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { isRecord, parseYamlStream, record, repoPath } from './helpers.ts'
import { kubectlKustomize, podContainers, podSpec, renderKustomization, type Resource } from './kustomize.ts'
import { checkServerEnv } from './server-config.ts'

/**
 * Renders each overlay of infra/k8s (with `kubectl kustomize` where kubectl is installed, and with
 * the test's own renderer, which must then agree) and checks what a rollout depends on: probes,
 * the drain fitting the grace period, security context, resources, the objects referring to each
 * other, the migration Job, and the settings passing the server's own validation.
 */

const secretTemplate = parseYamlStream(readFileSync(repoPath('infra/k8s/base/secret.template.yaml'), 'utf8'))[0] as Resource
const overlays = { dev: 'pan-dev', prod: 'pan' } as const

for (const [overlay, namespace] of Object.entries(overlays)) {
  t.test(`overlay ${overlay}`, async (t) => {
    const dir = repoPath(`infra/k8s/overlays/${overlay}`)
    const own = renderKustomization(dir)
    const kubectl = await kubectlKustomize(dir)
    if (kubectl === undefined) {
      t.comment('kubectl is not installed: checking the rendering of the test\'s own kustomize subset (infra/test/kustomize.ts)')
    } else {
      t.same(sorted(own), sorted(kubectl), 'the test\'s renderer agrees with kubectl kustomize')
    }
    const objects = kubectl ?? own
    const find = (kind: string, name: string): Resource => {
      const found = objects.find((o) => o.kind === kind && o.metadata.name === name)
      if (found === undefined) throw new Error(`${overlay}: no ${kind} ${name}`)
      return found
    }

    const expected = ['ConfigMap/pan-config', 'Deployment/pan', 'Service/pan', 'Ingress/pan', 'HorizontalPodAutoscaler/pan',
      'PodDisruptionBudget/pan', 'Job/pan-migrate', ...(overlay === 'dev' ? ['Secret/pan-secrets'] : [])]
    t.same(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(), expected.sort(), 'the objects')
    t.ok(objects.every((o) => o.metadata.namespace === namespace), `all in namespace ${namespace}`)
    if (overlay === 'prod') t.notOk(objects.some((o) => o.kind === 'Secret'), 'production ships no Secret: it comes from the secret store')

    const configMap = find('ConfigMap', 'pan-config')
    const config = record(configMap.data, 'ConfigMap data') as Record<string, string>
    const secret = overlay === 'dev' ? find('Secret', 'pan-secrets') : secretTemplate
    const secretData = record(secret.stringData, 'Secret stringData') as Record<string, string>
    t.same(Object.keys(secretData).sort(), Object.keys(record(secretTemplate.stringData, 'template')).sort(), 'the Secret has the template\'s keys')
    const server = checkServerEnv(t, { ...config, ...secretData }, `${overlay}: ConfigMap + Secret`)
    t.equal(server?.mode, 'cluster', 'cluster mode')
    t.equal(server?.PAN_MIGRATE, false, 'replicas do not migrate: the Job does')
    t.equal(server?.HOST, '0.0.0.0', 'listening on the pod network')

    const deployment = find('Deployment', 'pan')
    const spec = record(deployment.spec, 'Deployment spec')
    const pod = podSpec(deployment) as Record<string, unknown>
    const podLabels = record(record(record(spec.template, 'template').metadata, 'template metadata').labels, 'pod labels')
    const [container] = podContainers(deployment) as [Record<string, unknown>]
    t.equal(spec.replicas, undefined, 'no replicas in the Deployment: the HPA owns the count')
    t.same(record(spec.selector, 'selector').matchLabels, pick(podLabels, record(spec.selector, 'selector').matchLabels), 'the selector matches the pod labels')
    t.match(record(spec.strategy, 'strategy'), { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0 } }, 'rolling updates never dip below capacity')

    const ports = container.ports as Array<Record<string, unknown>>
    t.ok(ports.some((p) => p.name === 'http' && p.containerPort === server?.PORT), `container port http = PORT (${server?.PORT ?? '?'})`)
    t.match(container.readinessProbe, { httpGet: { path: '/readyz', port: 'http' } }, 'readiness on /readyz')
    t.match(container.livenessProbe, { httpGet: { path: '/healthz', port: 'http' } }, 'liveness on /healthz')
    const startup = record(container.startupProbe, 'startupProbe')
    t.match(startup, { httpGet: { path: '/healthz', port: 'http' } }, 'a startup probe on /healthz')
    t.ok(Number(startup.periodSeconds) * Number(startup.failureThreshold) >= 120,
      'it waits 2+ minutes: with PAN_MIGRATE=false the server listens only once the Job has migrated')

    const preStop = record(record(container.lifecycle, 'lifecycle').preStop, 'preStop')
    const sleep = record(preStop.exec, 'preStop.exec').command as string[]
    t.equal(sleep[0], 'sleep', 'a preStop pause')
    const pauseSeconds = Number(sleep[1])
    const drainSeconds = (server?.PAN_DRAIN_MS ?? 10_000) / 1000
    const grace = Number(pod.terminationGracePeriodSeconds)
    t.ok(grace >= pauseSeconds + drainSeconds + 10,
      `terminationGracePeriodSeconds ${grace} ≥ preStop ${pauseSeconds} s + drain ${drainSeconds} s + the server's 10 s to close`)

    const resources = record(container.resources, 'resources')
    t.match(resources, { requests: { cpu: /./, memory: /./ }, limits: { memory: /./ } }, 'cpu and memory requests, a memory limit')
    checkSecurity(t, pod, container, 'Deployment')
    t.match(container.envFrom, [{ configMapRef: { name: 'pan-config' } }, { secretRef: { name: 'pan-secrets' } }], 'settings from pan-config and pan-secrets')
    t.match(container.env, [{ name: 'PAN_REPLICA_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }], 'PAN_REPLICA_ID is the pod name')

    const image = String(container.image)
    if (overlay === 'prod') t.match(image, /^[\w.-]+(:\d+)?\/[\w./-]+:\d+\.\d+\.\d+$/, `production runs a released version from a registry (${image})`)
    else t.match(image, /:dev$/, `dev runs the local build (${image})`)

    const service = find('Service', 'pan')
    const serviceSpec = record(service.spec, 'Service spec')
    t.same(serviceSpec.selector, pick(podLabels, serviceSpec.selector), 'the Service selects the pods')
    const servicePort = (serviceSpec.ports as Array<Record<string, unknown>>)[0] as Record<string, unknown>
    t.equal(servicePort.targetPort, 'http', 'to the named container port')

    const ingress = find('Ingress', 'pan')
    const annotations = record(ingress.metadata.annotations, 'Ingress annotations') as Record<string, string>
    const heartbeatSeconds = (server?.PAN_HEARTBEAT_MS ?? 30_000) / 1000
    for (const timeout of ['proxy-read-timeout', 'proxy-send-timeout']) {
      const seconds = Number(annotations[`nginx.ingress.kubernetes.io/${timeout}`])
      t.ok(seconds >= 3600 && seconds > 2 * heartbeatSeconds, `${timeout} ${seconds} s: idle WebSockets (pinged every ${heartbeatSeconds} s) stay open`)
    }
    const ingressSpec = record(ingress.spec, 'Ingress spec')
    const backend = JSON.stringify(ingressSpec.rules)
    t.ok(backend.includes('"name":"pan"') && backend.includes(`"port":{"name":"${String(servicePort.name)}"}`), 'the Ingress routes to the Service port')
    const hosts = (ingressSpec.rules as Array<Record<string, unknown>>).map((r) => r.host)
    const tlsHosts = (ingressSpec.tls as Array<Record<string, unknown>>).flatMap((entry) => entry.hosts as string[])
    t.same(tlsHosts, hosts, 'TLS for every host')

    const hpa = record(find('HorizontalPodAutoscaler', 'pan').spec, 'HPA spec')
    t.same(hpa.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'pan' }, 'the HPA scales the Deployment')
    t.ok(Number(hpa.minReplicas) >= (overlay === 'prod' ? 3 : 1) && Number(hpa.minReplicas) <= Number(hpa.maxReplicas),
      `replicas ${String(hpa.minReplicas)}..${String(hpa.maxReplicas)}`)
    t.match(record(record(hpa.behavior, 'behavior').scaleDown, 'scaleDown'), { policies: [{ type: 'Pods', value: 1 }] }, 'scale down one pod at a time')

    const pdb = record(find('PodDisruptionBudget', 'pan').spec, 'PDB spec')
    t.same(record(pdb.selector, 'PDB selector').matchLabels, pick(podLabels, record(pdb.selector, 'PDB selector').matchLabels), 'the PDB covers the pods')
    t.equal(pdb.maxUnavailable, 1, 'one voluntary disruption at a time, and never none (node drains must not block)')

    const job = find('Job', 'pan-migrate')
    const jobPod = podSpec(job) as Record<string, unknown>
    const [migrate] = podContainers(job) as [Record<string, unknown>]
    t.same(migrate.args, ['node', 'dist/pan.js', 'migrate'], 'the Job runs the migration CLI')
    t.equal(migrate.image, image, 'from the same image as the replicas')
    t.same(migrate.envFrom, container.envFrom, 'with the same settings')
    t.ok(['Never', 'OnFailure'].includes(String(jobPod.restartPolicy)), `restartPolicy ${String(jobPod.restartPolicy)}`)
    t.ok(Number(record(job.spec, 'Job spec').backoffLimit) > 0, 'retried on failure (Postgres may come up after it)')
    t.match(migrate.resources, { requests: { cpu: /./, memory: /./ }, limits: { memory: /./ } }, 'with resources')
    checkSecurity(t, jobPod, migrate, 'Job')
  })
}

function checkSecurity (t: Test, pod: Record<string, unknown>, container: Record<string, unknown>, what: string): void {
  const podSecurity = record(pod.securityContext, `${what} pod securityContext`)
  t.equal(podSecurity.runAsNonRoot, true, `${what}: runAsNonRoot`)
  t.ok(Number(podSecurity.runAsUser) > 0, `${what}: a non-zero uid`)
  t.match(container.securityContext, { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    `${what}: read-only root filesystem, no privilege escalation, no capabilities`)
}

/** The entries of `labels` named by `selector`, to compare with the selector itself. */
function pick (labels: Record<string, unknown>, selector: unknown): Record<string, unknown> {
  if (!isRecord(selector)) return {}
  return Object.fromEntries(Object.keys(selector).map((key) => [key, labels[key]]))
}

function sorted (objects: Resource[]): Resource[] {
  return [...objects].sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`))
}
