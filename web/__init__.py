"""The mobile pages behind a code (一企一码): what a phone shows when it scans a placard.

`api/` stays JSON; this package renders HTML for the scan route's `Accept: text/html` and serves the
page's own fragments and assets. Everything a person reads is Chinese and comes from the ontology
(classes' and properties' rdfs:label@zh) and the vocabularies (skos:prefLabel@zh): no internal
name, code or notation reaches the page.

| module | job |
|---|---|
| `labels.py` | Chinese labels for classes, properties, values, colours, states (via ontology/model.py) |
| `view.py` | what one caller sees and may do on one code: the dossier, tasks, dangers, forms |
| `pages.py` | Jinja2 rendering of the page and its fragments |
| `routes.py` | `/m/…` fragments and assets, `/sw.js` (the offline service worker) |
| `desk.py`, `desk_labels.py` | the bureau's desk pages under `/pages/…` (shells the JSON API fills) and their labels JSON |
| `docs.py` | `/docs` and `/redoc` with their assets served from the `fastapi-offline` package (no CDN) |
| `map.py` | `/map`, the one map (一张图): boundaries by regional risk, every layer, clustering; `/map/static/…` its assets |
| `templates/`, `static/` | the pages, their CSS and JS (no CDN: everything is served by the service) |
| `static/vendor/` | ECharts, Leaflet and Leaflet.markercluster, minified, with their licence files |
| `static/map/` | the map's script, styles and region boundaries (scripts/build_region_geometry.py) |
"""
