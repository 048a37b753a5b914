// Piscina worker: signs X-Pomerium-Jwt-Assertion on a cache miss
// (assertion-mint.ts) off the main thread, which keeps the cache and sends
// only the misses. The measured alternative, not what the proxy runs:
// bench/micro/offload.ts has the numbers and the verdict. The key is read
// once per worker from workerData (SigningSettings); each task is a MintTask.
import { workerData } from 'node:worker_threads';
import type { SignedAssertion } from '../src/identity/assertion.js';
import { AssertionMinter, type MintTask, type SigningSettings } from './assertion-mint.js';

const minter = new AssertionMinter(workerData as SigningSettings);

export default function sign(task: MintTask): SignedAssertion {
  return minter.mint(task);
}
