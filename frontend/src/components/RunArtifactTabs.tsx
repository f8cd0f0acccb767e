// The run page's tabs for what a run leaves behind (issue 19): its tables (leaderboards),
// its artifacts and checkpoints, and its request snapshot. Kept here so the run page only
// names them: Mantine's Tabs find these Tab and Panel elements through context.
import { Tabs } from '@mantine/core';
import { RequestSnapshot } from './RequestSnapshot';
import { RunArtifacts } from './RunArtifacts';
import { RunTables } from './RunTables';

export function RunArtifactTabs() {
  return (
    <>
      <Tabs.Tab value="tables">Tables</Tabs.Tab>
      <Tabs.Tab value="artifacts">Artifacts</Tabs.Tab>
      <Tabs.Tab value="request">Request</Tabs.Tab>
    </>
  );
}

export function RunArtifactPanels({
  project,
  run,
  succeeded,
}: {
  project: string;
  run: string;
  succeeded: boolean;
}) {
  return (
    <>
      <Tabs.Panel value="tables" pt="sm">
        <RunTables project={project} run={run} />
      </Tabs.Panel>
      <Tabs.Panel value="artifacts" pt="sm">
        <RunArtifacts project={project} run={run} succeeded={succeeded} />
      </Tabs.Panel>
      <Tabs.Panel value="request" pt="sm">
        <RequestSnapshot project={project} run={run} />
      </Tabs.Panel>
    </>
  );
}
