// Piscina worker: the authorization step of one request (policy decision
// and identity headers, authorize-step.ts) off the main thread. This is the
// measured alternative, not what the proxy runs: bench/micro/offload.ts has
// the numbers and the verdict. The policy is compiled once per worker from
// workerData (AuthorizeSettings); each task is an AuthorizeTask, cloned
// into the worker, so the caller's claims are flattened again here and the
// worker keeps its own assertion cache.
import { workerData } from 'node:worker_threads';
import { AuthorizeStep, type AuthorizeOutcome, type AuthorizeSettings, type AuthorizeTask } from './authorize-step.js';

const step = new AuthorizeStep(workerData as AuthorizeSettings);

export default function authorize(task: AuthorizeTask): AuthorizeOutcome {
  return step.run(task);
}
