"""sync_protocol: the wire of yiciban — canonical bytes, hash chains, signed checkpoints, age sealing, acks,
downstream bundles and trust. Pure: standard library and ``cryptography`` only; bytes in, objects or errors out.
See docs/PROTOCOL.md.
"""

PROTOCOL_VERSION = 1
