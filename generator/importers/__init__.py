"""Importers: other systems' sites and exports read into ordinary newshub files.

The build never learns about them: each writes site.toml, Markdown and page bundles."""
