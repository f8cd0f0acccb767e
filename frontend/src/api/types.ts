// Names for the schemas of openapi/openapi.json. The shapes come from the generated
// schema.gen.ts (`npm run gen:api`), never written by hand.
import type { components, operations } from './schema.gen';

type S = components['schemas'];
export type User = S['User'];
export type Project = S['Project'];
export type Member = S['Member'];
export type Token = S['Token'];
export type NewToken = S['NewToken'];
export type Me = S['Me'];
export type Attempt = S['Attempt'];
export type RunError = S['RunError'];
export type Run = S['Run'];
export type RunStatus = NonNullable<Run['status']>;
export type RunEvent = S['Event'];
export type EventLevel = NonNullable<RunEvent['level']>;
export type Worker = S['Worker'];
export type WorkerEvent = S['WorkerEvent'];
export type WorkerSession = S['WorkerSession'];
/** GET /workers/{id}: the worker, its runs in flight, registrations and resource samples. */
export type WorkerDetail = operations['getWorker']['responses'][200]['content']['application/json'];
export type Role = NonNullable<Project['role']>;
export type AuditEntry = S['AuditEntry'];

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export const RUN_STATUSES: RunStatus[] = [
  'queued',
  'running',
  'retrying',
  'succeeded',
  'failed',
  'cancelled',
];

// Reporting (issue 7): built-in reports, failure groups, anomalies, ad-hoc SQL.
export type ReportThroughput = S['ReportThroughput'];
export type ThroughputRow = ReportThroughput['items'][number];
export type ReportDurations = S['ReportDurations'];
export type DurationRow = ReportDurations['items'][number];
export type ReportFailureRate = S['ReportFailureRate'];
export type FailureRateRow = ReportFailureRate['items'][number];
export type FailureGroups = S['FailureGroups'];
export type FailureGroup = FailureGroups['items'][number];
export type Anomalies = S['Anomalies'];
export type Anomaly = NonNullable<Anomalies['items']>[number];
export type AnomalyKind = NonNullable<Anomaly['anomaly']>;
export type AnomalyThresholds = S['AnomalyThresholds'];
export type QueryResult = S['QueryResult'];
export type SavedReport = S['SavedReport'];
export type ChartSpec = S['Chart'];

// The agent-lightning store's views (issue 16): rollouts, their attempts, resources.
export type Rollout = S['Rollout'];
export type RolloutAttempt = S['RolloutAttempt'];
export type ResourcesSummary = S['ResourcesSummary'];
export type ResourcesVersions = S['ResourcesVersions'];
export type ResourcesVersion = NonNullable<ResourcesVersions['versions']>[number];
export type Experiment = S['Experiment'];
export type ExperimentState = NonNullable<Experiment['desired_state']>;
export type FlagSchema = S['FlagSchema'];
export type FlagSchemaPath = S['FlagSchemaPath'];
