// Perplexity style composer: Lexical (plain text) on `[data-lexical-editor]`.
import './theme.js';
import { createEditor, $getRoot } from 'lexical';
import { registerPlainText } from '@lexical/plain-text';

const editor = createEditor({ namespace: 'composer', onError: (e) => { throw e; } });
editor.setRootElement(document.getElementById('ask-input'));
registerPlainText(editor);
window.__editorText = () => editor.getEditorState().read(() => $getRoot().getTextContent());
window.__editor = editor;
