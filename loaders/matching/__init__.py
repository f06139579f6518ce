"""Entity resolution's parts: what a record and a registry entry say (`records`), which entries a
record is compared with (`blocking`), the comparison with its reasons (`compare`), the learned
score (`scorer`) and the three outcomes — link, review, no match (`decide`). `loaders/resolve.py`
puts them together for the loader and the API."""
