import { render } from 'preact';
import { App } from './app';
import { applyTheme, storedTheme, systemTheme } from './theme';
import './styles/theme.css';
import './styles/base.css';
import './styles/layout.css';
import './styles/sign-in.css';
import './styles/sidebar.css';
import './styles/messages.css';
import './styles/composer.css';

// Before the first render, so a stored dark choice does not flash light (no inline script may do it).
applyTheme(storedTheme() ?? systemTheme());

const root = document.getElementById('app');
if (root !== null) render(<App />, root);
