#!/usr/bin/env python3
"""Writes the golden vectors of Protocol/PROTOCOL.md §12 into Protocol/vectors/.

Written from PROTOCOL.md alone, independently of the Swift codec, so that the Swift tests (which
decode every file and encode it back) cross-check the spec with two implementations.

Usage: scripts/gen-vectors.py [output-dir]     (default: Protocol/vectors next to this script's repo)
       scripts/gen-vectors.py --check [dir]   (exit 1 unless dir holds exactly these vectors)

Compressed frames use zlib level 6 with memLevel 9 (as the Swift encoder does); any valid zlib
stream is acceptable on the wire, so only encoders that want byte-identical output need to match.
"""
import hashlib
import json
import os
import struct
import sys
import zlib

# ---------------------------------------------------------------------------------------------
# §2 field types

def u8(v): return struct.pack(">B", v)
def u16(v): return struct.pack(">H", v)
def u32(v): return struct.pack(">I", v)
def u64(v): return struct.pack(">Q", v)

def str8(s):
    b = s.encode("utf-8")
    assert len(b) <= 255
    return u8(len(b)) + b

def str16(s, limit=65535):
    b = s.encode("utf-8")
    assert len(b) <= limit
    return u16(len(b)) + b

def id8(s):
    b = s.encode("utf-8")
    assert 1 <= len(b) <= 255
    return str8(s)

# ---------------------------------------------------------------------------------------------
# §3 frames

COMPRESSED = 0x01

def deflate(data, level=6, mem_level=9, zdict=None):
    if zdict is None:
        c = zlib.compressobj(level, zlib.DEFLATED, 15, mem_level, zlib.Z_DEFAULT_STRATEGY)
    else:
        c = zlib.compressobj(level, zlib.DEFLATED, 15, mem_level, zlib.Z_DEFAULT_STRATEGY, zdict)
    return c.compress(data) + c.flush()

def frame(msg_type, payload, compress=False):
    flags = 0
    if compress:
        assert len(payload) >= 1
        payload = u32(len(payload)) + deflate(payload)
        flags |= COMPRESSED
    return u32(2 + len(payload)) + u8(msg_type) + u8(flags) + payload

# ---------------------------------------------------------------------------------------------
# §7.2 documents (for BATCH articles)

def canonical_rendering(pub, category, title, paragraphs):
    year, month, day, hour, minute = pub
    text = "Veröffentlichungsdatum: %02d.%02d.%04d %02d:%02d / %s\n\n%s\n\n%s" % (
        day, month, year, hour, minute, category, title, title)
    body = "\n\n".join(paragraphs)
    if body:
        text += "\n\n" + body
    return text.encode("utf-8")

def document(pub, category, title, paragraphs, source=None):
    year, month, day, hour, minute = pub
    body = "\n\n".join(paragraphs).encode("utf-8")
    flags = 0x01 if source is not None else 0
    out = u8(1) + u8(flags) + u16(year) + u8(month) + u8(day) + u8(hour) + u8(minute)
    out += str16(category) + str16(title) + u32(len(body)) + body
    if source is not None:
        out += u32(len(source)) + source
    return out

def article_fields(pub, category, title, paragraphs, source):
    year, month, day, hour, minute = pub
    return {
        "publication": {"year": year, "month": month, "day": day, "hour": hour, "minute": minute},
        "category": category, "title": title, "body": "\n\n".join(paragraphs),
        "source": source.decode("utf-8"),
    }

# ---------------------------------------------------------------------------------------------
# Values shared by several vectors

STORE_ID = bytes.fromhex("5f0c3a1e9b7d4c2a8e6f1d0b3c5a7e92")
DIGEST = hashlib.sha256(b"articlesync golden digest").digest()
SOURCE_A = canonical_rendering((2025, 4, 10, 21, 17), "Welt Nachrichten", "Gespräche in Istanbul",
                               ["Die Delegationen trafen sich am Donnerstag.", "Ein weiteres Treffen ist geplant."])
SOURCE_B = "Veröffentlichungsdatum: 01.03.2025 08:05 / Wirtschaft\r\n\r\nZinsen steigen\r\n\r\nDie Notenbank hob den Leitzins an.\r\n".encode("utf-8")
DICTIONARY = ("Veröffentlichungsdatum: / Welt Nachrichten Wirtschaft Politik "
              "Die Bundesregierung teilte am Donnerstag mit, dass ").encode("utf-8")

vectors = []

def hexs(b): return b.hex()

def add(name, msg_type, type_name, direction, payload, description, fields, compress=False, round_trip=True, extra=None):
    data = frame(msg_type, payload, compress)
    number = len(vectors) + 1
    entry = {
        "file": "%02d-%s.bin" % (number, name),
        "type": "0x%02X" % msg_type,
        "name": type_name,
        "direction": direction,
        "flags": "0x%02X" % (COMPRESSED if compress else 0),
        "description": description,
        "fields": fields,
        "payloadHex": hexs(payload),
        "roundTrip": round_trip,
    }
    if extra:
        entry.update(extra)
    vectors.append((entry, data))

# ---------------------------------------------------------------------------------------------
# §5.1 HELLO

def hello(min_v, max_v, features, token, agent):
    return b"ASYN" + u16(min_v) + u16(max_v) + u64(features) + str16(token, 1024) + str8(agent)

add("hello", 0x01, "HELLO", "client→server", hello(1, 1, 0x3, "", "articlesync/1.0"),
    "HELLO for version 1 with DICTIONARY and DELTA, no token",
    {"magic": "4153594e", "minVersion": 1, "maxVersion": 1, "features": 3, "token": "", "agent": "articlesync/1.0"})

add("hello-token-trailing", 0x01, "HELLO", "client→server",
    hello(1, 3, 0x1 | 0x8000000000000000, "tok_3f9a", "pyclient/0.1") + bytes.fromhex("00010203"),
    "HELLO from a later client (versions 1-3, an unknown feature bit), with a token and 4 trailing bytes "
    "that version 1 ignores; decodes to these fields, re-encoding drops the trailing bytes",
    {"magic": "4153594e", "minVersion": 1, "maxVersion": 3, "features": 0x8000000000000001,
     "token": "tok_3f9a", "agent": "pyclient/0.1", "trailingHex": "00010203"},
    round_trip=False)

# §5.3 PULL

def pull(store, since, budget, wait, flags):
    return store + u64(since) + u32(budget) + u32(wait) + u8(flags)

add("pull-bootstrap", 0x02, "PULL", "client→server", pull(bytes(16), 0, 0, 0, 0),
    "PULL from an empty replica: no store yet, since 0, default budget, no wait, no deltas",
    {"storeId": hexs(bytes(16)), "sinceRevision": 0, "budget": 0, "waitMillis": 0, "flags": 0})

add("pull-resume", 0x02, "PULL", "client→server", pull(STORE_ID, 42, 65536, 30000, 0x01),
    "PULL resuming from revision 42 with a 64 KiB budget, a 30 s long poll and ACCEPT_DELTAS",
    {"storeId": hexs(STORE_ID), "sinceRevision": 42, "budget": 65536, "waitMillis": 30000, "flags": 1})

# §5.7 PUSH

def push_entries():
    put = u8(1) + id8("gespraeche-istanbul") + u64(0) + u32(len(SOURCE_A)) + SOURCE_A
    delete = u8(2) + id8("alte-meldung") + u64(17)
    put_any = u8(1) + id8("zinsen") + u64(0xFFFFFFFFFFFFFFFF) + u32(len(SOURCE_B)) + SOURCE_B
    return u32(3) + put + delete + put_any

PUSH_FIELDS = {"count": 3, "entries": [
    {"op": 1, "id": "gespraeche-istanbul", "expectedRevision": 0, "sourceHex": hexs(SOURCE_A)},
    {"op": 2, "id": "alte-meldung", "expectedRevision": 17},
    {"op": 1, "id": "zinsen", "expectedRevision": 0xFFFFFFFFFFFFFFFF, "sourceHex": hexs(SOURCE_B)},
]}

add("push", 0x03, "PUSH", "client→server", push_entries(),
    "PUSH of a new article (expects none), a DELETE expecting revision 17, and a PUT with ANY (CRLF source)",
    PUSH_FIELDS)

add("push-compressed", 0x03, "PUSH", "client→server", push_entries(),
    "the same PUSH in a compressed frame (zlib level 6, memLevel 9)", PUSH_FIELDS, compress=True)

# §5.9 VERIFY

add("verify-head", 0x04, "VERIFY", "client→server", u64(0xFFFFFFFFFFFFFFFF),
    "VERIFY of the head", {"atRevision": 0xFFFFFFFFFFFFFFFF})
add("verify-at-revision", 0x04, "VERIFY", "client→server", u64(42),
    "VERIFY at revision 42", {"atRevision": 42})

# §5.11 GET_DICTIONARY

DICTIONARY_ID = zlib.adler32(DICTIONARY)
add("get-dictionary", 0x05, "GET_DICTIONARY", "client→server", u32(DICTIONARY_ID),
    "GET_DICTIONARY for the dictionary of 21-dictionary.bin", {"dictionaryId": DICTIONARY_ID})

# §5.13 PING / PONG

add("ping", 0x10, "PING", "either", u64(0x0123456789ABCDEF), "PING", {"nonce": 0x0123456789ABCDEF})
add("ping-compressed", 0x10, "PING", "either", u64(7),
    "PING in a compressed frame (any message may be compressed)", {"nonce": 7}, compress=True)
add("pong", 0x11, "PONG", "either", u64(0x0123456789ABCDEF), "PONG answering 10-ping.bin", {"nonce": 0x0123456789ABCDEF})

# §5.14 ERROR

ERROR_TEXT = "frame of 4294967295 bytes exceeds the limit of 16777216 bytes"
add("error", 0x7F, "ERROR", "either", u16(2) + str16(ERROR_TEXT, 1024),
    "ERROR FRAME_TOO_LARGE", {"code": 2, "message": ERROR_TEXT})

# §5.2 WELCOME

add("welcome", 0x81, "WELCOME", "server→client",
    u16(1) + u64(0x3) + STORE_ID + u64(47) + u64(12) + u32(16777216) + u8(2) + str8("articlesyncd/1.0"),
    "WELCOME: version 1, DICTIONARY and DELTA in force, head 47, horizon 12, role WRITE",
    {"version": 1, "features": 3, "storeId": hexs(STORE_ID), "headRevision": 47, "horizon": 12,
     "maxFrameLength": 16777216, "role": 2, "agent": "articlesyncd/1.0"})

# §5.4 BATCH with RAW, ZLIB, DELTA and a tombstone

PUB_A = (2025, 4, 10, 21, 17)
PARAS_A = ["Die Delegationen trafen sich am Donnerstag.", "Ein weiteres Treffen ist geplant."]
DOC_A = document(PUB_A, "Welt Nachrichten", "Gespräche in Istanbul", PARAS_A)  # source = rendering
HASH_A = hashlib.sha256(SOURCE_A).digest()

PUB_B = (2025, 3, 1, 8, 5)
DOC_B = document(PUB_B, "Wirtschaft", "Zinsen steigen", ["Die Notenbank hob den Leitzins an."], source=SOURCE_B)
HASH_B = hashlib.sha256(SOURCE_B).digest()
ZLIB_B = deflate(DOC_B, level=9)

PUB_C = (2025, 4, 11, 6, 30)
PARAS_C_OLD = ["Der Wetterdienst erwartet Sturm im Norden."]
PARAS_C_NEW = ["Der Wetterdienst erwartet Sturm im Norden.", "Am Abend soll der Wind nachlassen."]
SOURCE_C_OLD = canonical_rendering(PUB_C, "Wetter", "Sturmwarnung", PARAS_C_OLD)
SOURCE_C_NEW = canonical_rendering(PUB_C, "Wetter", "Sturmwarnung", PARAS_C_NEW)
DOC_C = document(PUB_C, "Wetter", "Sturmwarnung", PARAS_C_NEW)
HASH_C_OLD = hashlib.sha256(SOURCE_C_OLD).digest()
HASH_C = hashlib.sha256(SOURCE_C_NEW).digest()
DELTA_C = deflate(DOC_C, level=9, zdict=SOURCE_C_OLD)

batch = u64(40) + u64(47) + u32(4)
batch += u8(1) + u64(41) + id8("gespraeche-istanbul") + HASH_A + u8(0) + u32(len(DOC_A)) + u32(len(DOC_A)) + DOC_A
batch += u8(1) + u64(43) + id8("zinsen") + HASH_B + u8(1) + u32(len(DOC_B)) + u32(len(ZLIB_B)) + ZLIB_B
batch += u8(1) + u64(45) + id8("sturmwarnung") + HASH_C + u8(2) + HASH_C_OLD + u32(len(DOC_C)) + u32(len(DELTA_C)) + DELTA_C
batch += u8(2) + u64(47) + id8("alte-meldung")

add("batch", 0x82, "BATCH", "server→client", batch,
    "BATCH (40, 47]: a RAW article (source = canonical rendering), a ZLIB article (HAS_SOURCE, CRLF source, "
    "zlib level 9 memLevel 9), a DELTA article (zlib level 9 memLevel 9 with the previous source as preset "
    "dictionary) and a tombstone",
    {"fromRevision": 40, "toRevision": 47, "count": 4, "changes": [
        {"kind": 1, "revision": 41, "id": "gespraeche-istanbul", "contentHash": hexs(HASH_A), "encoding": 0,
         "documentLength": len(DOC_A), "dataLength": len(DOC_A), "dataHex": hexs(DOC_A),
         "document": article_fields(PUB_A, "Welt Nachrichten", "Gespräche in Istanbul", PARAS_A, SOURCE_A),
         "documentHex": hexs(DOC_A)},
        {"kind": 1, "revision": 43, "id": "zinsen", "contentHash": hexs(HASH_B), "encoding": 1,
         "documentLength": len(DOC_B), "dataLength": len(ZLIB_B), "dataHex": hexs(ZLIB_B),
         "document": article_fields(PUB_B, "Wirtschaft", "Zinsen steigen", ["Die Notenbank hob den Leitzins an."], SOURCE_B),
         "documentHex": hexs(DOC_B)},
        {"kind": 1, "revision": 45, "id": "sturmwarnung", "contentHash": hexs(HASH_C), "encoding": 2,
         "baseHash": hexs(HASH_C_OLD), "baseSourceHex": hexs(SOURCE_C_OLD),
         "documentLength": len(DOC_C), "dataLength": len(DELTA_C), "dataHex": hexs(DELTA_C),
         "document": article_fields(PUB_C, "Wetter", "Sturmwarnung", PARAS_C_NEW, SOURCE_C_NEW),
         "documentHex": hexs(DOC_C)},
        {"kind": 2, "revision": 47, "id": "alte-meldung"},
    ]})

# §5.5 CAUGHT_UP

add("caught-up", 0x83, "CAUGHT_UP", "server→client", u64(47), "CAUGHT_UP at head 47", {"headRevision": 47})

# §5.6 SNAPSHOT_REQUIRED

SNAPSHOT_TEXT = "revision 5 is below the horizon 12: pull again from revision 0"
add("snapshot-required", 0x84, "SNAPSHOT_REQUIRED", "server→client",
    u8(1) + STORE_ID + u64(47) + u64(12) + str16(SNAPSHOT_TEXT),
    "SNAPSHOT_REQUIRED, reason BELOW_HORIZON",
    {"reason": 1, "storeId": hexs(STORE_ID), "headRevision": 47, "horizon": 12, "message": SNAPSHOT_TEXT})

# §5.8 PUSH_RESULT

results = [(0, 48, ""), (1, 30, "unchanged"), (2, 21, "expected revision 3, the article is at 21"),
           (3, 0, "line 1: no date line"), (4, 0, "no live article \"weg\"")]
payload = u64(48) + u32(len(results))
for status, revision, message in results:
    payload += u8(status) + u64(revision) + str16(message)
add("push-result", 0x85, "PUSH_RESULT", "server→client", payload,
    "PUSH_RESULT with one result of each status: APPLIED, UNCHANGED, CONFLICT, INVALID, NOT_FOUND",
    {"headRevision": 48, "count": len(results),
     "results": [{"status": s, "revision": r, "message": m} for s, r, m in results]})

# §5.10 VERIFY_RESULT

add("verify-result", 0x86, "VERIFY_RESULT", "server→client", u8(0) + u64(42) + u64(1234) + DIGEST,
    "VERIFY_RESULT OK at revision 42", {"status": 0, "revision": 42, "articleCount": 1234, "digest": hexs(DIGEST)})
add("verify-result-below-horizon", 0x86, "VERIFY_RESULT", "server→client", u8(1) + u64(47) + u64(0) + bytes(32),
    "VERIFY_RESULT BELOW_HORIZON (revision = the head, no count, zero digest)",
    {"status": 1, "revision": 47, "articleCount": 0, "digest": hexs(bytes(32))})

# §5.12 DICTIONARY

add("dictionary", 0x87, "DICTIONARY", "server→client", u32(DICTIONARY_ID) + u32(len(DICTIONARY)) + DICTIONARY,
    "DICTIONARY whose id is the Adler-32 of its bytes",
    {"dictionaryId": DICTIONARY_ID, "length": len(DICTIONARY), "bytesHex": hexs(DICTIONARY)})

# §7.3 a ZLIB article whose zlib header names the store dictionary of 21-dictionary.bin (FDICT):
# what every real article looks like on the wire

PUB_D = (2025, 4, 12, 9, 0)
PARAS_D = ["Die Bundesregierung teilte am Donnerstag mit, dass die Gespräche weitergehen."]
SOURCE_D = canonical_rendering(PUB_D, "Welt Nachrichten", "Gespräche gehen weiter", PARAS_D)
DOC_D = document(PUB_D, "Welt Nachrichten", "Gespräche gehen weiter", PARAS_D)
HASH_D = hashlib.sha256(SOURCE_D).digest()
ZLIB_D = deflate(DOC_D, level=9, zdict=DICTIONARY)
assert ZLIB_D[1] & 0x20, "FDICT must be set"
assert struct.unpack(">I", ZLIB_D[2:6])[0] == DICTIONARY_ID

add("batch-zlib-dictionary", 0x82, "BATCH", "server→client",
    u64(47) + u64(48) + u32(1)
    + u8(1) + u64(48) + id8("gespraeche-gehen-weiter") + HASH_D + u8(1) + u32(len(DOC_D)) + u32(len(ZLIB_D)) + ZLIB_D,
    "BATCH (47, 48]: a ZLIB article compressed with the store dictionary of 21-dictionary.bin (FDICT set, "
    "DICTID = its Adler-32; zlib level 9 memLevel 9)",
    {"fromRevision": 47, "toRevision": 48, "count": 1, "changes": [
        {"kind": 1, "revision": 48, "id": "gespraeche-gehen-weiter", "contentHash": hexs(HASH_D), "encoding": 1,
         "dictionaryId": DICTIONARY_ID, "documentLength": len(DOC_D), "dataLength": len(ZLIB_D), "dataHex": hexs(ZLIB_D),
         "document": article_fields(PUB_D, "Welt Nachrichten", "Gespräche gehen weiter", PARAS_D, SOURCE_D),
         "documentHex": hexs(DOC_D)}]})

# §7.4 a DELTA whose base source is longer than 32 KiB: the preset dictionary is the whole base
# (DICTID = its Adler-32), although zlib matches only against its last 32 KiB

PUB_E = (2025, 4, 13, 18, 45)
PARAS_E_OLD = ["Absatz %d: Der Haushaltsausschuss beriet bis in die Nacht über die Vorlage." % n for n in range(1, 501)]
PARAS_E_NEW = PARAS_E_OLD + ["Am Morgen wurde die Sitzung vertagt."]
SOURCE_E_OLD = canonical_rendering(PUB_E, "Politik", "Haushaltsdebatte", PARAS_E_OLD)
SOURCE_E_NEW = canonical_rendering(PUB_E, "Politik", "Haushaltsdebatte", PARAS_E_NEW)
assert len(SOURCE_E_OLD) > 32768
DOC_E = document(PUB_E, "Politik", "Haushaltsdebatte", PARAS_E_NEW)
HASH_E_OLD = hashlib.sha256(SOURCE_E_OLD).digest()
HASH_E = hashlib.sha256(SOURCE_E_NEW).digest()
DELTA_E = deflate(DOC_E, level=9, zdict=SOURCE_E_OLD)
assert struct.unpack(">I", DELTA_E[2:6])[0] == zlib.adler32(SOURCE_E_OLD)

add("batch-delta-long-base", 0x82, "BATCH", "server→client",
    u64(48) + u64(49) + u32(1)
    + u8(1) + u64(49) + id8("haushaltsdebatte") + HASH_E + u8(2) + HASH_E_OLD + u32(len(DOC_E)) + u32(len(DELTA_E)) + DELTA_E,
    "BATCH (48, 49]: a DELTA against a base source of %d bytes (over 32 KiB): the dictionary is the whole "
    "base source and DICTID its Adler-32; a client that trims the base to 32 KiB fails" % len(SOURCE_E_OLD),
    {"fromRevision": 48, "toRevision": 49, "count": 1, "changes": [
        {"kind": 1, "revision": 49, "id": "haushaltsdebatte", "contentHash": hexs(HASH_E), "encoding": 2,
         "baseHash": hexs(HASH_E_OLD), "baseSourceHex": hexs(SOURCE_E_OLD), "dictionaryId": zlib.adler32(SOURCE_E_OLD),
         "documentLength": len(DOC_E), "dataLength": len(DELTA_E), "dataHex": hexs(DELTA_E),
         "document": article_fields(PUB_E, "Politik", "Haushaltsdebatte", PARAS_E_NEW, SOURCE_E_NEW),
         "documentHex": hexs(DOC_E)}]})

# §5.6 the other two reasons

MISMATCH_TEXT = "this replica belongs to another store: pull again from revision 0"
add("snapshot-required-store-mismatch", 0x84, "SNAPSHOT_REQUIRED", "server→client",
    u8(2) + STORE_ID + u64(47) + u64(12) + str16(MISMATCH_TEXT),
    "SNAPSHOT_REQUIRED, reason STORE_MISMATCH",
    {"reason": 2, "storeId": hexs(STORE_ID), "headRevision": 47, "horizon": 12, "message": MISMATCH_TEXT})
AHEAD_TEXT = "revision 60 is ahead of the head 47: the store was restored from an older copy"
add("snapshot-required-ahead-of-server", 0x84, "SNAPSHOT_REQUIRED", "server→client",
    u8(3) + STORE_ID + u64(47) + u64(12) + str16(AHEAD_TEXT),
    "SNAPSHOT_REQUIRED, reason AHEAD_OF_SERVER",
    {"reason": 3, "storeId": hexs(STORE_ID), "headRevision": 47, "horizon": 12, "message": AHEAD_TEXT})

# §7.6 a digest that can be recomputed: the live articles of the store after the vectors above

def digest_of(entries):
    total = 0
    for article_id, content_hash in entries:
        b = article_id.encode("utf-8")
        total = (total + int.from_bytes(hashlib.sha256(bytes([len(b)]) + b + content_hash).digest(), "big")) % (1 << 256)
    return total.to_bytes(32, "big")

LIVE = [("gespraeche-istanbul", HASH_A), ("zinsen", HASH_B), ("sturmwarnung", HASH_C),
        ("gespraeche-gehen-weiter", HASH_D), ("haushaltsdebatte", HASH_E)]
REAL_DIGEST = digest_of(LIVE)
add("verify-result-digest", 0x86, "VERIFY_RESULT", "server→client", u8(0) + u64(49) + u64(len(LIVE)) + REAL_DIGEST,
    "VERIFY_RESULT OK at revision 49 with the digest (§7.6) of the live articles listed in digestEntries",
    {"status": 0, "revision": 49, "articleCount": len(LIVE), "digest": hexs(REAL_DIGEST),
     "digestEntries": [{"id": i, "contentHash": hexs(h)} for i, h in LIVE]})

# §5.4 ARTICLE_WITH_PATH (SOURCE_PATH in force): the path as imported, before the article's fields

SOURCE_PATH_A = "welt/gespräche/gespraeche-istanbul.txt"
add("batch-source-path", 0x82, "BATCH", "server→client",
    u64(49) + u64(51) + u32(2)
    + u8(3) + u64(50) + id8("gespraeche-istanbul") + str16(SOURCE_PATH_A, 4096)
    + HASH_A + u8(0) + u32(len(DOC_A)) + u32(len(DOC_A)) + DOC_A
    + u8(2) + u64(51) + id8("zinsen"),
    "BATCH (49, 51]: an ARTICLE_WITH_PATH (kind 3, SOURCE_PATH in force): the RAW article of 15-batch.bin "
    "with the path it was imported from (str16, UTF-8, after the id), then a tombstone",
    {"fromRevision": 49, "toRevision": 51, "count": 2, "changes": [
        {"kind": 3, "revision": 50, "id": "gespraeche-istanbul", "sourcePath": SOURCE_PATH_A, "contentHash": hexs(HASH_A),
         "encoding": 0, "documentLength": len(DOC_A), "dataLength": len(DOC_A), "dataHex": hexs(DOC_A)},
        {"kind": 2, "revision": 51, "id": "zinsen"}]})

# ---------------------------------------------------------------------------------------------
# Negative vectors: bytes a client sends that the server must refuse. `state` is where the server is
# when the bytes arrive: "awaiting-hello", or "ready-write" / "ready-read" (after 01-hello.bin and
# WELCOME with that role). `code` is the ERROR the server answers with; `fatal` whether it then closes.
# "sequence" vectors hold several frames: the answer is to the first frame that breaks a rule.

negatives = []

def negative(name, state, data, code, fatal, description):
    negatives.append(({"file": "n%02d-%s.bin" % (len(negatives) + 1, name), "state": state, "code": code,
                       "fatal": fatal, "description": description}, data))

def raw(msg_type, payload, flags=0, length=None):
    return u32(2 + len(payload) if length is None else length) + u8(msg_type) + u8(flags) + payload

HELLO_OK = hello(1, 1, 0x3, "", "articlesync/1.0")
negative("length-one", "awaiting-hello", u32(1) + u8(1), 1, True, "length 1, below the minimum of 2")
negative("hello-over-limit", "awaiting-hello", u32(65537) + u8(1) + u8(0), 2, True,
         "a first frame announcing 65,537 bytes: over MAX_HELLO_FRAME, refused from the length alone")
negative("reserved-flag", "awaiting-hello", raw(0x01, HELLO_OK, flags=0x02), 1, True, "HELLO with reserved flag bit 1 set")
negative("compressed-hello", "awaiting-hello", frame(0x01, HELLO_OK, compress=True), 1, True,
         "a compressed HELLO: nothing may be compressed before WELCOME")
negative("unknown-type", "awaiting-hello", raw(0x06, b""), 5, True, "message type 0x06, not defined in version 1")
negative("ping-first", "awaiting-hello", raw(0x10, u64(1)), 6, True, "PING before HELLO")
negative("bad-magic", "awaiting-hello", raw(0x01, b"ASYX" + HELLO_OK[4:]), 7, True, "HELLO with the magic ASYX")
negative("token-too-long", "awaiting-hello",
         raw(0x01, b"ASYN" + u16(1) + u16(1) + u64(3) + u16(1025) + b"t" * 1025 + str8("x")), 1, True,
         "HELLO with a token of 1,025 bytes")
negative("min-version-zero", "awaiting-hello", raw(0x01, hello(0, 1, 0, "", "x")), 1, True, "HELLO with minVersion 0")
negative("no-common-version", "awaiting-hello", raw(0x01, hello(2, 3, 0, "", "x")), 8, True, "HELLO for versions 2-3 only")
negative("second-hello-bad-magic", "ready-write", raw(0x01, b"ASYX" + HELLO_OK[4:]), 6, True,
         "a second HELLO, with a bad magic: the state is judged before the layout (UNEXPECTED_MESSAGE, not BAD_MAGIC)")
negative("pong-from-client", "ready-write", raw(0x11, u64(1)), 6, True, "a PONG: the server never sends PING")
negative("server-message-from-client", "ready-write", raw(0x83, u64(1)), 6, True, "CAUGHT_UP sent by a client")
negative("push-count-zero", "ready-write", raw(0x03, u32(0)), 19, False, "PUSH with count 0: outside the request's limits")
negative("ping-trailing-byte", "ready-write", raw(0x10, u64(1) + b"\x00"), 1, True, "PING with a byte after its nonce")
negative("inflated-length-zero", "ready-write", raw(0x10, u32(0) + deflate(u64(1)), flags=COMPRESSED), 1, True,
         "a compressed PING whose inflatedLength is 0")
negative("compressed-too-short", "ready-write", raw(0x10, b"\x00\x08", flags=COMPRESSED), 1, True,
         "a compressed payload of 2 bytes, too short for inflatedLength")
negative("frame-fdict", "ready-write", raw(0x10, u32(8) + deflate(u64(1), zdict=b"dictionary"), flags=COMPRESSED), 4, True,
         "a compressed PING whose zlib stream names a preset dictionary")
negative("not-zlib", "ready-write", raw(0x10, u32(8) + b"\x00\x01\x02\x03\x04\x05\x06\x07", flags=COMPRESSED), 4, True,
         "a compressed PING whose payload is not a zlib stream")
negative("inflated-over-limit", "ready-write", raw(0x10, u32(67108865) + deflate(u64(1)), flags=COMPRESSED), 3, True,
         "a compressed PING claiming 67,108,865 inflated bytes, over MAX_INFLATED")
negative("push-source-length-zero", "ready-write", raw(0x03, u32(1) + u8(1) + id8("a") + u64(0) + u32(0)), 1, True,
         "PUSH whose PUT has sourceLength 0")
negative("push-empty-id", "ready-write", raw(0x03, u32(1) + u8(2) + u8(0) + u64(0)), 1, True, "PUSH whose entry has an empty id")
negative("pipelined-verify", "ready-write", raw(0x04, u64(1)) + raw(0x04, u64(2)), 6, True,
         "sequence: two VERIFYs in one write; the second arrives while the first is being answered")
negative("push-on-read", "ready-read", raw(0x03, u32(1) + u8(2) + id8("a") + u64(0)), 11, False,
         "PUSH on a READ connection: FORBIDDEN, decided before the payload is decoded")
negative("read-frame-over-limit", "ready-read", u32(65537) + u8(0x04) + u8(0), 2, True,
         "a frame of 65,537 bytes on a READ connection, whose limit is MAX_HELLO_FRAME")
negative("read-inflated-over-limit", "ready-read", raw(0x04, u32(65537) + deflate(bytes(65537)), flags=COMPRESSED), 3, True,
         "a compressed VERIFY claiming 65,537 inflated bytes on a READ connection")
negative("push-count-over-limit", "ready-write", raw(0x03, u32(10001)), 19, False,
         "PUSH announcing 10,001 entries and holding none: judged from count alone, before any entry is read")
negative("hello-layout-before-version", "awaiting-hello",
         raw(0x01, b"ASYN" + u16(2) + u16(3) + u64(0) + u16(1025) + b"t" * 1025 + str8("x")), 1, True,
         "HELLO for versions 2-3 with a token of 1,025 bytes: the layout is judged before the versions")
negative("bad-magic-before-layout", "awaiting-hello", raw(0x01, b"ASYX" + u16(1)), 7, True,
         "HELLO with the magic ASYX and nothing whole after it: the magic is judged first, on the bytes there")
negative("magic-cut-short", "awaiting-hello", raw(0x01, b"ASY"), 1, True,
         "HELLO of three bytes that begin the magic: a truncated layout, not a bad magic")

# ---------------------------------------------------------------------------------------------

def check(directory):
    """Exits non-zero unless `directory` holds exactly the vectors and manifest this script writes."""
    import tempfile
    with tempfile.TemporaryDirectory() as fresh:
        write(fresh, quiet=True)
        names = sorted(os.listdir(fresh))
        present = sorted(n for n in os.listdir(directory) if n.endswith(".bin") or n == "manifest.json")
        differ = [n for n in names if n not in present
                  or open(os.path.join(fresh, n), "rb").read() != open(os.path.join(directory, n), "rb").read()]
        extra = [n for n in present if n not in names]
    if differ or extra:
        print("gen-vectors: %s differs from the spec's vectors: %s" % (directory, ", ".join(differ + extra)))
        sys.exit(1)
    print("gen-vectors: %d vectors and manifest.json in %s match" % (len(names) - 1, os.path.normpath(directory)))

def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(here, "..", "Protocol", "vectors")
    if len(sys.argv) > 1 and sys.argv[1] == "--check":
        check(sys.argv[2] if len(sys.argv) > 2 else default)
        return
    write(sys.argv[1] if len(sys.argv) > 1 else default)

def write(out, quiet=False):
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        if name.endswith(".bin"):
            os.remove(os.path.join(out, name))
    for entry, data in vectors + negatives:
        with open(os.path.join(out, entry["file"]), "wb") as f:
            f.write(data)
    manifest = {
        "protocol": "articlesync wire protocol, version 1 (Protocol/PROTOCOL.md)",
        "generator": "scripts/gen-vectors.py",
        "notes": [
            "Each file is one complete frame, length prefix included.",
            "Integers are JSON numbers; u64 values may exceed 2^53, so parse them as 64-bit integers.",
            "Byte fields are lower-case hex. payloadHex is the payload before compression.",
            "roundTrip false: decoding gives these fields; encoding them without trailingHex (which version 1 "
            "ignores and never writes) gives the vector without its trailing bytes.",
            "Compressed frames use zlib level 6, memLevel 9, windowBits 15; ZLIB and DELTA article data "
            "use level 9, memLevel 9. Any valid zlib stream is acceptable on the wire: only an encoder "
            "that wants byte-identical output must use the same settings (and zlib 1.2.x / 1.3.x).",
        ],
        "vectors": [entry for entry, _ in vectors],
        "negative": [entry for entry, _ in negatives],
    }
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, ensure_ascii=False)
        f.write("\n")
    if not quiet:
        print("wrote %d vectors, %d negative vectors and manifest.json to %s" % (len(vectors), len(negatives), os.path.normpath(out)))

if __name__ == "__main__":
    main()
