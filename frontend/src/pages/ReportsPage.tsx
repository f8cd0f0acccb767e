// Reports: the built-in reports as cards with charts, and ad-hoc SQL over the report
// schema with saved reports. The tab is in the URL (?tab=sql) so a link opens the editor.
import { Stack, Tabs, Title } from '@mantine/core';
import { useSearchParams } from 'react-router-dom';
import { useProject } from '../components/guards';
import { BuiltinReports } from '../components/reports/BuiltinReports';
import { SqlWorkbench } from '../components/reports/SqlWorkbench';

export default function ReportsPage() {
  const { slug } = useProject();
  const [params, setParams] = useSearchParams();
  const tab = params.get('tab') === 'sql' ? 'sql' : 'builtin';
  return (
    <Stack>
      <Title order={2}>Reports</Title>
      <Tabs
        value={tab}
        keepMounted={false}
        onChange={(t) => setParams(t === 'sql' ? { tab: 'sql' } : {}, { replace: true })}
      >
        <Tabs.List mb="md">
          <Tabs.Tab value="builtin">Built-in</Tabs.Tab>
          <Tabs.Tab value="sql">SQL</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="builtin">
          <BuiltinReports slug={slug} />
        </Tabs.Panel>
        <Tabs.Panel value="sql">
          <SqlWorkbench slug={slug} />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
