# Vectors for the "du" marker of invite links (docs/PROTOCOL.md §1), computed
# independently of the Rust code: the marker ".du" after the base64url part.
import base64, json, struct
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b'=').decode()
room, secret = bytes(range(16)), bytes(range(0x40, 0x60))
appt = struct.pack('>IHH', 1796216400, 900, 3000)
v1 = '1' + b64(room + secret)
v2 = '2' + b64(room + secret + appt)
valid = [
    {"fragment": v1, "version": 1, "address": "formal"},
    {"fragment": v1 + ".du", "version": 1, "address": "informal"},
    {"fragment": v2, "version": 2, "address": "formal"},
    {"fragment": v2 + ".du", "version": 2, "address": "informal"},
]
for case in valid:
    case["room_id"], case["invite_secret"] = room.hex(), secret.hex()
invalid = [
    {"fragment": v1 + ".", "error": "unknown_marker"},
    {"fragment": v1 + ".Du", "error": "unknown_marker"},
    {"fragment": v1 + ".sie", "error": "unknown_marker"},
    {"fragment": v1 + ".du.du", "error": "unknown_marker"},
    {"fragment": v2 + ".dux", "error": "unknown_marker"},
    {"fragment": v1 + "du", "error": "too_long"},
    {"fragment": v1[:-1] + ".du", "error": "truncated"},
    {"fragment": v1 + "~du", "error": "bad_encoding"},
]
print(json.dumps({"about": "The 'du' marker of invite links (version 1 and 2), computed with Python: shared/tests/vectors/link/gen_address.py", "valid": valid, "invalid": invalid}, indent=2))
