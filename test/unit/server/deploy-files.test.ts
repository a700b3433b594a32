// Why: the deployment files (deploy/, Dockerfile; docs/OPERATIONS.md "Deployment") are read by
// tools this machine cannot run (Docker, Kubernetes, systemd), so what can be checked here is
// checked: every config file and seed list parses as `everwrite start` would parse it, names only
// settings it knows, and gives each member the zone its Kubernetes StatefulSet is pinned to; the
// image runs unprivileged with a volume and a health check on /health.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startSettingNames } from '../../../src/cli/start-settings.ts';
import { parseSeed as parseMember } from '../../../src/server/view-boot.ts';

const read = (path: string): string => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');

function checkConfig(config: Record<string, unknown>, where: string): ReturnType<typeof parseMember>[] {
  for (const name of Object.keys(config))
    assert.ok((startSettingNames as readonly string[]).includes(name), `${where}: ${name} is a start setting`);
  const seeds = String(config.seeds).split(',').map(parseMember);
  assert.equal(seeds.length, 3, where);
  assert.deepEqual(
    seeds.map((seed) => seed.zone),
    ['a', 'b', 'c'],
    `${where}: three zones`,
  );
  return seeds;
}

test('the systemd unit reads a config file and an environment file that start understands', () => {
  const unit = read('deploy/systemd/everwrite.service');
  assert.match(unit, /^ExecStart=.*everwrite\.mjs start --config \/etc\/everwrite\/everwrite\.json$/m);
  assert.match(unit, /^User=everwrite$/m);
  checkConfig(JSON.parse(read('deploy/systemd/everwrite.json')) as Record<string, unknown>, 'everwrite.json');
  const environment = read('deploy/systemd/node.env')
    .split('\n')
    .filter((line) => /^[A-Z]/.test(line))
    .map((line) => line.split('=')[0] as string);
  const known = new Set(
    startSettingNames.map((name) => `EVERWRITE_${name.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`),
  );
  for (const name of environment) assert.ok(known.has(name), `${name} is read by start`);
});

test('the Kubernetes ConfigMap seeds name each StatefulSet pod at its headless-service address and pinned zone', () => {
  const manifest = read('deploy/kubernetes/everwrite.yaml');
  const json = /everwrite\.json: \|\n((?: {4}.*\n)+)/.exec(manifest)?.[1];
  assert.ok(json !== undefined, 'the ConfigMap holds everwrite.json');
  const seeds = checkConfig(JSON.parse(json) as Record<string, unknown>, 'ConfigMap');
  for (const seed of seeds) {
    const zone = seed.zone as string;
    assert.equal(seed.id, `everwrite-${zone}-0`);
    assert.equal(seed.host, `everwrite-${zone}-0.everwrite.everwrite.svc.cluster.local`);
    const statefulSet =
      manifest.split('\n---\n').find((document) => document.includes(`name: everwrite-${zone}\n`)) ?? '';
    assert.match(statefulSet, /kind: StatefulSet/);
    assert.match(statefulSet, new RegExp(`key: topology.kubernetes.io/zone, operator: In, values: \\["${zone}"\\]`));
    assert.match(statefulSet, new RegExp(`name: EVERWRITE_ZONE, value: "${zone}"`));
    assert.match(statefulSet, /readinessProbe:\n\s+httpGet: \{ path: \/health/);
    assert.match(statefulSet, /volumeClaimTemplates/);
    assert.match(statefulSet, /secretName: everwrite-secret/);
  }
  assert.match(manifest, /clusterIP: None\n\s+# [^\n]*\n\s+publishNotReadyAddresses: true/);
});

test('the Compose cluster and the image: three nodes, a secret, volumes, unprivileged, health on /health', () => {
  const compose = read('deploy/compose/compose.yaml');
  const seeds = /EVERWRITE_SEEDS: "([^"]+)"/.exec(compose)?.[1] ?? '';
  checkConfig({ seeds }, 'compose');
  for (const node of ['n1', 'n2', 'n3']) assert.match(compose, new RegExp(`EVERWRITE_NODE_ID: ${node}`));
  const dockerfile = read('Dockerfile');
  assert.equal(dockerfile.match(/^FROM /gm)?.length, 2, 'multi-stage');
  assert.match(dockerfile, /^USER node$/m);
  assert.match(dockerfile, /^VOLUME \["\/var\/lib\/everwrite"\]$/m);
  assert.match(dockerfile, /^HEALTHCHECK .*\n.*\/health/m);
});
