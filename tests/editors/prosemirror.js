// ChatGPT / Claude style composer: ProseMirror on `#prompt-textarea`.
import './theme.js';
import { EditorState } from 'prosemirror-state';
import { EditorView } from 'prosemirror-view';
import { schema } from 'prosemirror-schema-basic';

const mount = document.getElementById('prompt-textarea');
const view = new EditorView({ mount }, { state: EditorState.create({ schema }) });
window.__editorText = () => view.state.doc.textBetween(0, view.state.doc.content.size, '\n', '\n');
window.__editor = view;
