/**
 * Work sent to one node (src/cluster/node-tasks.ts) on a real redis-server through BullMQ: it runs once
 * and its answer comes back; the same interaction sent again is not run again; work its node does not
 * take in time is taken back and never runs, not even when the node comes back; work whose node leaves
 * the cluster while it runs is reported lost.
 */
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openEngine, type ClusterEngine } from '../../src/cluster/engine.js';
import { NodeTasks } from '../../src/cluster/node-tasks.js';
import type { RoutedWork } from '../../src/discord/routed.js';
import { REDIS_INSTALL, redisMissing, startRedis, type RedisInstance } from '../support/redis-process.js';
import { describeRequiring } from '../support/server-suite.js';

const log = pino({ level: 'silent' });
const timings = { takeMs: 1_000, answerMs: 60_000, checkMs: 200, lockDurationMs: 10_000 };
const workFor = (id: string): RoutedWork => ({ interaction: { id, applicationId: 'app', token: 'token' }, task: { kind: 'command', name: 'clip', args: { id } } });

describeRequiring('work sent to one node of a cluster', redisMissing(), REDIS_INSTALL, () => {
  let redis: RedisInstance;
  let engine: ClusterEngine;
  const tasks: NodeTasks[] = [];

  /** A node's tasks: `run` records each interaction it is given. */
  function nodeTasks(nodeId: string, run: (work: RoutedWork) => Promise<boolean>): NodeTasks {
    const made = new NodeTasks({ engine, nodeId, run, timings, log });
    tasks.push(made);
    return made;
  }

  beforeAll(async () => {
    redis = await startRedis();
    engine = openEngine(redis.url, log);
  });

  afterAll(async () => {
    for (const t of tasks) await t.close();
    await engine?.close();
    await redis?.stop();
  });

  it('runs the work once on its node and brings the answer back; the same interaction again runs nothing', async () => {
    const ran: string[] = [];
    const target = nodeTasks('node-b', async (work) => {
      ran.push(work.interaction.id);
      return true;
    });
    target.start();
    const gateway = nodeTasks('node-a', async () => true);
    const alive = async () => true;
    expect(await gateway.send('node-b', workFor('i-1'), alive)).toBe('answered');
    expect(await gateway.send('node-b', workFor('i-1'), alive)).toBe('answered');
    expect(ran).toEqual(['i-1']);
  });

  it('takes back work its node did not take in time, so that node finds nothing to do when it comes back', async () => {
    const ran: string[] = [];
    const late = nodeTasks('node-c', async (work) => {
      ran.push(work.interaction.id);
      return true;
    });
    const gateway = nodeTasks('node-a2', async () => true);
    expect(await gateway.send('node-c', workFor('i-2'), async () => true)).toBe('not-taken');
    late.start();
    // A job it could still find would be taken within a moment; the next one shows the worker works.
    expect(await gateway.send('node-c', workFor('i-3'), async () => true)).toBe('answered');
    expect(ran).toEqual(['i-3']);
  });

  it('reports work lost when its node leaves the cluster while it runs', async () => {
    let release!: () => void;
    const stuck = new Promise<boolean>((resolve) => (release = () => resolve(true)));
    let started = false;
    const dying = nodeTasks('node-d', async () => {
      started = true;
      return stuck;
    });
    dying.start();
    const gateway = nodeTasks('node-a3', async () => true);
    // In the cluster until it took the work, gone from the node records afterwards.
    expect(await gateway.send('node-d', workFor('i-4'), async () => !started)).toBe('lost');
    release();
  });
});
