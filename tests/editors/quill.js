// Gemini style composer: Quill inside `rich-textarea`, the editable `.ql-editor`.
import './theme.js';
import Quill from 'quill/core';

const quill = new Quill(document.querySelector('rich-textarea > div'), {});
window.__editorText = () => quill.getText().replace(/\n$/, '');
window.__editor = quill;
