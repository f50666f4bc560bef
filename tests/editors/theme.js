// `?theme=dark` gives the page a dark background, as sites do in dark mode.
if (new URLSearchParams(location.search).get('theme') === 'dark') document.body.classList.add('dark');
