// Raw JSON, pretty-printed, in a block or in a side drawer.
import { Code, Drawer, ScrollArea } from '@mantine/core';

export function JsonBlock({ value, mah = 400 }: { value: unknown; mah?: number }) {
  return (
    <ScrollArea.Autosize mah={mah}>
      <Code block style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}>
        {value === undefined ? 'null' : JSON.stringify(value, null, 2)}
      </Code>
    </ScrollArea.Autosize>
  );
}

export function JsonDrawer({
  title,
  value,
  opened,
  onClose,
}: {
  title: string;
  value: unknown;
  opened: boolean;
  onClose: () => void;
}) {
  return (
    <Drawer opened={opened} onClose={onClose} title={title} position="right" size="lg">
      <JsonBlock value={value} mah={10000} />
    </Drawer>
  );
}
