// The app's global keys (lib/keyboard.ts does the work): `/` search, j/k rows, Enter
// open, `?` this help, Esc closes the shell's own menu (drawers and dialogs close
// themselves). Nothing fires while the user types in a field or holds a modifier.
import { useEffect, useState } from 'react';
import { Kbd, Modal, Table } from '@mantine/core';
import { focusSearch, forgetRow, isTypingTarget, moveRow, openRow, SHORTCUTS } from '../lib/keyboard';
import './keyboard.css';

export function KeyboardShortcuts({ onEscape }: { onEscape?: () => void }) {
  const [help, setHelp] = useState(false);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        forgetRow();
        onEscape?.();
        return;
      }
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || isTypingTarget(e.target)) return;
      // A dialog open (a drawer, the help): its own keys, not the list's behind it.
      if (document.querySelector('[role="dialog"]') && e.key !== '?') return;
      let done = false;
      if (e.key === '/') done = focusSearch();
      else if (e.key === 'j') done = moveRow(1) !== null;
      else if (e.key === 'k') done = moveRow(-1) !== null;
      else if (e.key === 'Enter' && !(e.target instanceof Element && e.target.closest('a,button,[role="button"]')))
        done = openRow();
      else if (e.key === '?') {
        setHelp((h) => !h);
        done = true;
      }
      if (done) e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onEscape]);
  return (
    <Modal opened={help} onClose={() => setHelp(false)} title="Keyboard shortcuts" data-testid="kb-help">
      <Table fz="sm" data-testid="kb-help-table">
        <Table.Tbody>
          {SHORTCUTS.map((s) => (
            <Table.Tr key={s.keys}>
              <Table.Td>
                <Kbd>{s.keys}</Kbd>
              </Table.Td>
              <Table.Td>{s.what}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Modal>
  );
}
