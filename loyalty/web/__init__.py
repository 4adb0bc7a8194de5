"""The owner's page (mobile-first, zh-CN with an English switch): plain HTML, CSS and JavaScript
served from this package, no build step and nothing fetched from a CDN."""
