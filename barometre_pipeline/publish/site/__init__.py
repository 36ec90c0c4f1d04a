"""The field actors' site: a static, offline, bilingual visualisation of the published aggregates.

``write_site(export_dir, data_dir)`` builds ``<export_dir>/site/`` atomically from the Parquet
exports; see ``build`` for the layout, ``views`` for what each page shows and ``static/site.js``
for the filters and charts.
"""

from barometre_pipeline.publish.site.build import SITE_DIR, render_site, write_site

__all__ = ["SITE_DIR", "render_site", "write_site"]
