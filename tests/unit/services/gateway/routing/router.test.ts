import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assignVersion, deploymentVersions, stickyUnit, validateDeployment, type DeploymentSpec } from '../../../../../src/services/gateway/routing/router.js';

const canary20: DeploymentSpec = { id: 'd', production: 'prod', canary: { version: 'can', weight: 0.2 }, shadow: null };

describe('router', () => {
  it('canary weight 0.2 over 2,000 users routes 20% ± 3% of users to the canary, each user always to the same version', () => {
    const first = new Map<string, string>();
    let canary = 0;
    for (let u = 0; u < 2000; u++) {
      const a = assignVersion(canary20, `user:${u}`);
      first.set(`user:${u}`, a.version);
      if (a.version === 'can') {
        assert.equal(a.arm, 'canary');
        canary++;
      }
    }
    const share = canary / 2000;
    assert.ok(share >= 0.17 && share <= 0.23, `canary share ${share}`);
    for (let round = 0; round < 3; round++) {
      for (const [user, version] of first) assert.equal(assignVersion(canary20, user).version, version, `${user} is sticky`);
    }
  });

  it('a new canary draws a fresh sample of users, and weights 0 and 1 route everyone', () => {
    const other: DeploymentSpec = { ...canary20, canary: { version: 'can2', weight: 0.2 } };
    let both = 0;
    for (let u = 0; u < 2000; u++) {
      if (assignVersion(canary20, `u${u}`).arm === 'canary' && assignVersion(other, `u${u}`).arm === 'canary') both++;
    }
    // independent 20% samples overlap in ~4% of users, not 20%
    assert.ok(both / 2000 < 0.08, `overlap ${both / 2000}`);
    for (let u = 0; u < 200; u++) {
      assert.equal(assignVersion({ ...canary20, canary: { version: 'can', weight: 0 } }, `u${u}`).version, 'prod');
      assert.equal(assignVersion({ ...canary20, canary: { version: 'can', weight: 1 } }, `u${u}`).version, 'can');
      assert.equal(assignVersion({ ...canary20, canary: null }, `u${u}`).version, 'prod');
    }
  });

  it('stickyUnit is uniform enough: deciles of 10,000 keys each within 10% ± 1.5%', () => {
    const bins = new Array(10).fill(0);
    for (let i = 0; i < 10_000; i++) {
      const u = stickyUnit(`k${i}`, 'salt');
      assert.ok(u >= 0 && u < 1);
      bins[Math.floor(u * 10)]++;
    }
    for (const b of bins) assert.ok(b > 850 && b < 1150, `bin ${b}`);
  });

  it('validates deployments and lists versions to load', () => {
    assert.throws(() => validateDeployment({ ...canary20, canary: { version: 'can', weight: 1.5 } }), /canary.weight/);
    assert.throws(() => validateDeployment({ ...canary20, canary: { version: 'prod', weight: 0.5 } }), /differ/);
    assert.deepEqual(deploymentVersions({ ...canary20, shadow: 'sh' }), ['prod', 'can', 'sh']);
  });
});
