# Vectors for version-2 (appointment) invite links, computed independently of the Rust code.
import base64, json, struct
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b'=').decode()
def frag(room, secret, start, before, length):
    return '2' + b64(room + secret + struct.pack('>IHH', start, before, length))
valid = []
for room, secret, start, before, length in [
    (bytes(16), bytes(32), 1796216400, 900, 3000),
    (bytes([0x07]*16), bytes([0x22]*32), 1796216400, 0, 60),
    (bytes([0xff]*16), bytes([0xff]*32), 4294967295, 7200, 43200),
]:
    valid.append({"fragment": frag(room, secret, start, before, length), "room_id": room.hex(), "invite_secret": secret.hex(),
                  "starts": start, "opens_before": before, "length": length, "opens": start - before, "closes": start + length})
good = frag(bytes(16), bytes(32), 1796216400, 900, 3000)
# Flip the two spare bits of the last character: same bytes, another spelling.
alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
last = alphabet.index(good[-1]); noncanon = good[:-1] + alphabet[last | 1]
invalid = [
    {"fragment": good[:-1], "error": "truncated"},
    {"fragment": good + "A", "error": "too_long"},
    {"fragment": noncanon, "error": "bad_encoding"},
    {"fragment": frag(bytes(16), bytes(32), 1796216400, 7201, 3000), "error": "bad_appointment"},
    {"fragment": frag(bytes(16), bytes(32), 1796216400, 900, 59), "error": "bad_appointment"},
    {"fragment": frag(bytes(16), bytes(32), 1796216400, 900, 43201), "error": "bad_appointment"},
    {"fragment": frag(bytes(16), bytes(32), 100, 900, 3000), "error": "bad_appointment"},
    {"fragment": "2" + good[1:65], "error": "truncated"},
    {"fragment": "3" + good[1:], "error": "unknown_version"},
]
print(json.dumps({"about": "Version-2 invite links (with an appointment), computed with Python's base64 and struct: shared/tests/vectors/link/gen_appointments.py", "valid": valid, "invalid": invalid}, indent=2))
