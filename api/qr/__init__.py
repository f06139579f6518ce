"""一企一码: signed, optionally encrypted, revocable QR codes that resolve to role-filtered dossiers.

| module | job |
|---|---|
| `token.py` | the binary token: layout, base32, Ed25519 signature, AES-GCM summary |
| `keyring.py` | signing and AES keys with ids, rotation, retirement (`qr-keyring.json`, mode 600) |
| `registry.py` | issued codes and the revocation list (`qr.sqlite3`, mode 600) |
| `entities.py` | the six kinds of entity, their facts, fingerprints, region membership |
| `service.py` | issue, verify, revoke, re-issue; placards and batch exports |
| `render.py` | QR symbols (segno, level M), PNG/SVG placards, the PDF sheet |
| `ratelimit.py` | token buckets per client address |
| `config.py` | settings from the environment |
| `policy.py` | what the public sees when it scans (RISKGRAPH_PUBLIC_SCAN) |

The HTTP side is `api/routes/qr/` (scan, actions, codes); the mobile page a phone gets for
`Accept: text/html` is `riskgraph.web`; the command line is `cli/qr.py`.
"""
