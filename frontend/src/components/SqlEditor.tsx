// The SQL editor of the Reports page: CodeMirror 6 with PostgreSQL highlighting, completion
// of the report schema's views and columns, history, bracket matching, and Ctrl/Cmd-Enter
// to run. It is its own chunk (React.lazy in ReportsPage), loaded when the editor is first
// shown, so CodeMirror never weighs on the first page load.
import { useEffect, useRef } from 'react';
import { useComputedColorScheme } from '@mantine/core';
import { EditorState, Compartment } from '@codemirror/state';
import {
  EditorView,
  drawSelection,
  highlightActiveLine,
  keymap,
  lineNumbers,
  placeholder as cmPlaceholder,
} from '@codemirror/view';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { bracketMatching, HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { autocompletion, closeBrackets, completionKeymap } from '@codemirror/autocomplete';
import { sql, PostgreSQL, type SQLNamespace } from '@codemirror/lang-sql';
import { tags as t } from '@lezer/highlight';
import type { SchemaObject } from '../api/reports';

const light = HighlightStyle.define([
  { tag: t.keyword, color: '#7048e8', fontWeight: '600' },
  { tag: [t.string, t.special(t.string)], color: '#2b8a3e' },
  { tag: [t.number, t.bool, t.null], color: '#c2255c' },
  { tag: t.comment, color: '#868e96', fontStyle: 'italic' },
  { tag: [t.typeName, t.standard(t.name)], color: '#1971c2' },
  { tag: t.operator, color: '#495057' },
]);
const dark = HighlightStyle.define([
  { tag: t.keyword, color: '#b197fc', fontWeight: '600' },
  { tag: [t.string, t.special(t.string)], color: '#8ce99a' },
  { tag: [t.number, t.bool, t.null], color: '#faa2c1' },
  { tag: t.comment, color: '#909296', fontStyle: 'italic' },
  { tag: [t.typeName, t.standard(t.name)], color: '#74c0fc' },
  { tag: t.operator, color: '#c1c2c5' },
]);

function themeFor(scheme: 'light' | 'dark') {
  return [
    EditorView.theme(
      {
        '&': {
          fontSize: '13px',
          border: `1px solid ${scheme === 'dark' ? '#424242' : '#ced4da'}`,
          borderRadius: '4px',
          backgroundColor: scheme === 'dark' ? '#1a1b1e' : '#fff',
          color: scheme === 'dark' ? '#c1c2c5' : '#212529',
        },
        '&.cm-focused': { outline: '2px solid #228be6' },
        '.cm-content': { fontFamily: 'ui-monospace, Menlo, Consolas, monospace', minHeight: '140px' },
        '.cm-gutters': {
          backgroundColor: scheme === 'dark' ? '#25262b' : '#f8f9fa',
          color: '#868e96',
          border: 'none',
        },
        '.cm-activeLine': { backgroundColor: scheme === 'dark' ? '#25262b80' : '#f1f3f580' },
      },
      { dark: scheme === 'dark' },
    ),
    syntaxHighlighting(scheme === 'dark' ? dark : light),
  ];
}

/** The report schema as lang-sql's completion namespace: views with their columns. */
export function completionSchema(objects: SchemaObject[]): SQLNamespace {
  const ns: Record<string, string[]> = {};
  for (const o of objects) if (o.what === 'view') ns[o.name] = o.columns.map((c) => c.name);
  return ns;
}

export default function SqlEditor({
  value,
  onChange,
  onRun,
  schema,
}: {
  value: string;
  onChange: (v: string) => void;
  onRun: () => void;
  schema: SchemaObject[];
}) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const scheme = useComputedColorScheme('light');
  const theme = useRef(new Compartment());
  const lang = useRef(new Compartment());
  // The latest callbacks, for the editor's listeners made once.
  const cb = useRef({ onChange, onRun });
  cb.current = { onChange, onRun };

  useEffect(() => {
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: value,
        extensions: [
          lineNumbers(),
          history(),
          drawSelection(),
          highlightActiveLine(),
          bracketMatching(),
          closeBrackets(),
          autocompletion(),
          cmPlaceholder('select status, count(*) from runs group by 1'),
          keymap.of([
            { key: 'Mod-Enter', run: () => (cb.current.onRun(), true) },
            ...defaultKeymap,
            ...historyKeymap,
            ...completionKeymap,
            indentWithTab,
          ]),
          lang.current.of(sql({ dialect: PostgreSQL })),
          theme.current.of(themeFor(scheme)),
          EditorView.lineWrapping,
          EditorView.contentAttributes.of({ 'aria-label': 'SQL', 'data-testid': 'sql-editor' }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) cb.current.onChange(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
    // Made once; value, scheme and schema reach it through the effects below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  // A value set from outside (a saved report opened) replaces the text.
  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value)
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
  }, [value]);

  useEffect(() => {
    view.current?.dispatch({ effects: theme.current.reconfigure(themeFor(scheme)) });
  }, [scheme]);

  useEffect(() => {
    view.current?.dispatch({
      effects: lang.current.reconfigure(
        sql({ dialect: PostgreSQL, schema: completionSchema(schema), defaultSchema: 'report' }),
      ),
    });
  }, [schema]);

  return <div ref={host} />;
}
