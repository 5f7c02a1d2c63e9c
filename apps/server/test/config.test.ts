import t from 'tap'
import { ConfigError, loadConfig } from '../src/config.ts'

const secret = 'a-secret-of-at-least-thirty-two-characters'

t.test('the environment picks the mode, and a bad setting is refused by name', async (t) => {
  t.equal(loadConfig({}).mode, 'embedded')
  const cluster = loadConfig({ DATABASE_URL: 'postgres://db/pan', REDIS_URL: 'redis://cache:6379', JWT_SECRET: secret, PAN_MIGRATE: 'false', PAN_TRUST_PROXY: '10.0.0.0/8' })
  t.match(cluster, { mode: 'cluster', REDIS_URL: 'redis://cache:6379', PAN_MIGRATE: false, PAN_TRUST_PROXY: '10.0.0.0/8', PAN_CATCHUP_MS: 1000 })
  t.throws(() => loadConfig({ PAN_CATCHUP_MS: '10' }), { name: 'ConfigError', message: /PAN_CATCHUP_MS/ })
  t.equal(loadConfig({}).PAN_COMMIT_LANES, undefined, 'commit lanes default by mode')
  t.equal(loadConfig({ PAN_COMMIT_LANES: '4' }).PAN_COMMIT_LANES, 4)
  t.throws(() => loadConfig({ PAN_COMMIT_LANES: '0' }), { name: 'ConfigError', message: /PAN_COMMIT_LANES/ })
  t.throws(() => loadConfig({ DATABASE_URL: 'postgres://db/pan' }), { message: /JWT_SECRET is required/ })
})

t.test('REDIS_URL without DATABASE_URL is refused: replicas would each keep their own seqs', async (t) => {
  t.throws(() => loadConfig({ REDIS_URL: 'redis://cache:6379' }), ConfigError)
  t.throws(() => loadConfig({ REDIS_URL: 'redis://cache:6379' }), { message: /REDIS_URL needs DATABASE_URL/ })
})
