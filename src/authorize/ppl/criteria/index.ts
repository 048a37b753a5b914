// Every criterion Postern knows, by name.
import type { CriterionSpec } from '../criterion.js';
import { accept } from './accept.js';
import { authenticatedUser } from './authenticated_user.js';
import { claim } from './claim.js';
import { clientCertificate } from './client_certificate.js';
import { corsPreflight } from './cors_preflight.js';
import { date } from './date.js';
import { dayOfWeek } from './day_of_week.js';
import { domain } from './domain.js';
import { email } from './email.js';
import { groups } from './groups.js';
import { httpMethod } from './http_method.js';
import { httpPath } from './http_path.js';
import { invalidClientCertificate } from './invalid_client_certificate.js';
import { reject } from './reject.js';
import { sourceIp } from './source_ip.js';
import { timeOfDay } from './time_of_day.js';
import { user } from './user.js';

export const CRITERIA: ReadonlyMap<string, CriterionSpec> = new Map(
  [
    accept,
    reject,
    authenticatedUser,
    email,
    domain,
    user,
    claim,
    groups,
    httpMethod,
    httpPath,
    corsPreflight,
    sourceIp,
    clientCertificate,
    invalidClientCertificate,
    date,
    dayOfWeek,
    timeOfDay,
  ].map((c) => [c.name, c]),
);
